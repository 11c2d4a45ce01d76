<?php
/*
 * Where the time of one STARTTLS + AUTH message on a new connection goes,
 * wait by wait (issue 12: the STARTTLS + AUTH cell of bench/rtt.php).
 *
 *   php bench/tls_waits.php --so=SMTPSOCK_SO --proxy=BIN [--rtt=50] [--messages=2]
 *
 * Starts the test suite's Postfix + Dovecot (STARTTLS, AUTH) and
 * bench/delay_proxy (BIN: `gcc -O2 -o delay_proxy bench/delay_proxy.c`) at
 * --rtt ms, then runs a child PHP with the extension SO under `strace -tt`
 * (apt-get install strace) that sends --messages messages, each on a new
 * SmtpSocket (STARTTLS, AUTH PLAIN, released without waiting for QUIT's
 * 221, as the round-trip benchmark does). For the last message it prints
 * every wait of the client longer than a quarter of the RTT (a poll() that
 * returned, up to the read after it) with what the client had written before
 * it (after STARTTLS the commands are encrypted: the waits are then the
 * TLS handshake, EHLO, AUTH and the transaction), and the total: the waits
 * are the round trips (the first is two: connect and greeting), the rest of
 * a wait past its RTTs is the server's own time.
 */

declare(strict_types=1);

$opt = getopt('', ['so:', 'proxy:', 'rtt:', 'messages:', 'child:', 'port:', 'user:', 'password:', 'ca:']);
if (isset($opt['child'])) {
    // the child: the messages themselves
    $msg = "Subject: tls_waits\r\n\r\n" . str_repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n", 15);
    for ($i = 0; $i < (int) $opt['child']; $i++) {
        fwrite(STDERR, "MESSAGE $i\n");
        $s = new SmtpSocket('127.0.0.1', (int) $opt['port'], ['timeout' => 60.0, 'security' => 'starttls',
            'username' => $opt['user'], 'password' => $opt['password'], 'auth' => 'PLAIN',
            'context' => stream_context_create(['ssl' => ['cafile' => $opt['ca']]])]);
        $s->send('tls-waits@example.org', ['rcpt@example.org'], $msg);
        unset($s);
    }
    exit(0);
}
if (!isset($opt['proxy'], $opt['so']) || !is_file($opt['so'])) {
    fwrite(STDERR, "usage: php bench/tls_waits.php --so=SMTPSOCK_SO --proxy=BIN [--rtt=50] [--messages=2]\n");
    exit(2);
}
$rtt = (float) ($opt['rtt'] ?? 50);
$n = max(1, (int) ($opt['messages'] ?? 2));
require dirname(__DIR__) . '/tests/inc/smtpsock_test.inc';
if (($why = smtpsock_test_postfix_tls_skip_reason()) !== null) {
    fwrite(STDERR, "tls_waits: $why\n");
    exit(1);
}
$t = smtpsock_test_postfix_tls();
$px = proc_open([$opt['proxy'], (string) $rtt, "127.0.0.1:{$t['port']}"], [1 => ['pipe', 'w'], 2 => ['file', '/dev/null', 'w']], $pp);
$port = (int) fgets($pp[1]);
$trace = tempnam(sys_get_temp_dir(), 'tls_waits');
$cmd = ['strace', '-tt', '-e', 'trace=read,write,recvfrom,sendto,sendmsg,recvmsg,poll,connect', '-o', $trace,
    PHP_BINARY, '-d', 'extension=' . $opt['so'],
    __FILE__, '--child=' . $n, '--port=' . $port, '--user=' . $t['user'], '--password=' . $t['password'], '--ca=' . $t['ca']];
$c = proc_open($cmd, [1 => ['file', '/dev/null', 'w'], 2 => ['pipe', 'w']], $cp);
$err = stream_get_contents($cp[2]);
$rc = proc_close($c);
proc_terminate($px);
proc_close($px);
if ($rc !== 0) {
    fwrite(STDERR, "tls_waits: the child failed ($rc): $err\n");
    exit(1);
}
// the last message: from its connect() to the process's end
$lines = file($trace, FILE_IGNORE_NEW_LINES);
unlink($trace);
$last = 0;
foreach ($lines as $i => $l) {
    if (str_contains($l, 'connect(') && str_contains($l, 'htons(' . $port . ')')) {
        $last = $i;
    }
}
$ts = fn (string $l): float => (fn ($m) => $m ? $m[1] * 3600 + $m[2] * 60 + (float) $m[3] : -1.0)(preg_match('/^(\d+):(\d+):([\d.]+) /', $l, $m) ? $m : null);
$start = $ts($lines[$last]);
$prev = $start;
$prevline = '';
$wrote = ['connect'];
$waits = 0;
$rts = 0;
$end = $start;
printf("RTT %.0f ms, message %d of %d, new connection:\n", $rtt, $n, $n);
foreach (array_slice($lines, $last + 1) as $l) {
    $t1 = $ts($l);
    if ($t1 < 0) {
        continue;
    }
    // strace -tt stamps a call when it starts: a blocking poll() shows as the
    // gap between it and the read that follows it
    if (preg_match('/^\S+ (read|recvfrom|recvmsg)\(/', $l) && preg_match('/^\S+ poll\(/', $prevline)
            && ($t1 - $prev) * 1000 > $rtt / 4) {
        $waits++;
        $rts += max(1, (int) round(($t1 - $prev) * 1000 / $rtt));
        printf("  wait %d: %6.1f ms (%d RTT) after %s\n", $waits, ($t1 - $prev) * 1000,
            max(1, (int) round(($t1 - $prev) * 1000 / $rtt)), implode(' + ', $wrote));
        $wrote = [];
    }
    if (preg_match('/^\S+ (write|sendmsg|sendto)\((\d+),/', $l, $w) && $w[2] > 2) {
        $wrote[] = preg_match('/"((?:[A-Z]{4,8}|BDAT \d+ LAST)[^"]*)/', $l, $m) ? str_replace('\\r\\n', '', $m[1]) : 'TLS records';
    }
    if (preg_match('/^\S+ (read|recvfrom|recvmsg|write|sendmsg|sendto)\(/', $l)) {
        $end = $t1;
    }
    $prev = $t1;
    $prevline = $l;
}
printf("  %d waits, %d round trips; %.1f ms in all (%.2f RTT: the rest is the client's and the server's own time)\n",
    $waits, $rts, ($end - $start) * 1000, ($end - $start) * 1000 / $rtt);
