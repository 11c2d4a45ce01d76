<?php
/*
 * Soak: many messages through one SmtpSocket and many smtp_mail() calls in one
 * PHP process against a real Postfix; memory must stay flat and every message
 * must be accounted for at the server (counted in its Maildir).
 *
 *   php -d extension=modules/smtpsock.so scripts/soak.php HOST PORT MAILDIR [N_SOCKET [N_MAIL]]
 *
 * Prints the figures and a last line "N passed, M failed"; exit 1 on failure.
 */
[$host, $port, $maildir] = [$argv[1], (int)$argv[2], $argv[3]];
$nSocket = (int)($argv[4] ?? 10000);
$nMail = (int)($argv[5] ?? 1000);
$passed = $failed = 0;
function check(bool $ok, string $what): void {
    global $passed, $failed;
    $ok ? $passed++ : $failed++;
    printf("%s %s\n", $ok ? 'ok  ' : 'FAIL', $what);
}
function count_token(string $maildir, string $token, int $want, float $timeout): int {
    $deadline = microtime(true) + $timeout;
    do {
        $n = 0;
        foreach (glob("$maildir/new/*") ?: [] as $f) {
            // the token is in the Subject, within the first bytes
            if (str_contains((string)file_get_contents($f, false, null, 0, 2048), $token)) $n++;
        }
        if ($n >= $want) return $n;
        usleep(200000);
    } while (microtime(true) < $deadline);
    return $n;
}

$body = str_repeat("The quick brown fox jumps over the lazy dog. 0123456789\r\n", 18);   // ~1 KiB

// 1. SmtpSocket::send(), one object, one connection
$token = 'soak' . getmypid() . 's';
$s = new SmtpSocket($host, $port, ['timeout' => 30]);
$samples = [];
$t = microtime(true);
$errors = 0;
for ($i = 0; $i < $nSocket; $i++) {
    try {
        $s->send('soak@example.com', 'soak-rcpt@example.org', "Subject: $token $i\r\nFrom: soak@example.com\r\n\r\n$body");
    } catch (SmtpSocketException $e) {
        $errors++;
    }
    if ($i % 1000 === 999) {
        gc_collect_cycles();
        $samples[] = memory_get_usage();
    }
}
$s->quit();
$elapsed = microtime(true) - $t;
printf("SmtpSocket::send(): %d messages in %.1f s (%.0f/s), %d errors\n", $nSocket, $elapsed, $nSocket / $elapsed, $errors);
printf("  memory after each 1000: %s\n", implode(' ', array_map(fn($m) => round($m / 1024) . 'K', $samples)));
$growth = $samples ? end($samples) - $samples[0] : 0;
check($errors === 0, "no send() failed");
check($growth <= 16384, sprintf("memory flat across %d messages (growth %d bytes after the first 1000)", $nSocket, $growth));
$n = count_token($maildir, "$token ", $nSocket, 120);
check($n === $nSocket, "all $nSocket messages delivered to the Maildir ($n found)");

// 2. smtp_mail(), one request
$token = 'soak' . getmypid() . 'm';
ini_set('smtpsock.host', "$host:$port");
ini_set('smtpsock.from', 'soak@example.com');
$samples = [];
$fails = 0;
$t = microtime(true);
for ($i = 0; $i < $nMail; $i++) {
    if (!@smtp_mail('soak-rcpt@example.org', "$token $i", $body, ['From' => 'soak@example.com'])) $fails++;
    if ($i % 100 === 99) {
        gc_collect_cycles();
        $samples[] = memory_get_usage();
    }
}
$elapsed = microtime(true) - $t;
printf("smtp_mail(): %d calls in %.1f s (%.0f/s), %d failed\n", $nMail, $elapsed, $nMail / $elapsed, $fails);
printf("  memory after each 100: %s\n", implode(' ', array_map(fn($m) => round($m / 1024) . 'K', $samples)));
$growth = $samples ? end($samples) - $samples[0] : 0;
check($fails === 0, "every smtp_mail() returned true");
check($growth <= 16384, sprintf("memory flat across %d calls (growth %d bytes after the first 100)", $nMail, $growth));
$n = count_token($maildir, "$token ", $nMail, 120);
check($n === $nMail, "all $nMail messages delivered to the Maildir ($n found)");

printf("peak memory: %d KiB\n", memory_get_peak_usage() / 1024);
echo "$passed passed, $failed failed\n";
exit($failed ? 1 : 0);
