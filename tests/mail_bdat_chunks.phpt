--TEST--
smtp_mail() against a CHUNKING server (the real Postfix): a message of ordinary size is one BDAT LAST chunk, its generated headers, the caller's headers and the body framed as one; Postfix's own command count says so
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
if (($reason = smtpsock_test_postfix_skip_reason()) !== null) die("skip $reason");
if (!function_exists('proc_open')) die('skip proc_open needed');
?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix();
$token = smtpsock_test_token();

// One request (a PHP process of its own, so that its connection ends with
// QUIT and Postfix logs the session's command counts): a 1 KiB message with
// headers as an array and bare LF lines, then a 100 KiB one with headers as
// a string and CRLF lines, over the same connection.
$child = <<<'PHP'
$t = $argv[1];
$a = smtp_mail('ann@example.org', "one $t", str_repeat(str_repeat('a', 63) . "\n", 16),
    ['From' => 'sender@example.com', 'X-Token' => $t]);
$b = smtp_mail('ann@example.org', "two $t", str_repeat(str_repeat('b', 1022) . "\r\n", 100),
    "From: sender@example.com\r\nX-Token: $t");
echo var_export($a, true), ' ', var_export($b, true);
PHP;
$php = getenv('TEST_PHP_EXECUTABLE') ?: PHP_BINARY;
preg_match('#\s(/\S*smtpsock\.so)$#m', file_get_contents('/proc/self/maps'), $so);
$cmd = [$php, '-n', '-d', 'extension=' . $so[1], '-d', "smtpsock.host={$pf['host']}:{$pf['port']}",
    '-d', 'smtpsock.timeout=10', '-r', $child, $token];
$proc = proc_open($cmd, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
$out = stream_get_contents($pipes[1]);
$err = stream_get_contents($pipes[2]);
proc_close($proc);
echo "sent: $out", $err !== '' ? " ($err)" : '', "\n";

$msgs = smtpsock_test_wait_messages($pf['maildir'], $token, 2);
echo "delivered: ", count($msgs), "\n";

// The queue ids from the Received headers; the smtpd process that logged
// "<id>: client=" logs the session's counts in its next "disconnect" line.
$log = dirname($pf['maildir']) . '/log/maillog';
$ids = [];
foreach ($msgs as $m) {
    $received = implode(' ', smtpsock_test_header($m, 'Received'));
    if (preg_match('/ with E?SMTP\S* id ([0-9A-Za-z]+)/', $received, $mm)) {
        $ids[] = $mm[1];
    }
}
$counts = null;
$pids = [];
for ($deadline = microtime(true) + 15; $counts === null && microtime(true) < $deadline; usleep(50000)) {
    $lines = file($log, FILE_IGNORE_NEW_LINES) ?: [];
    $pids = [];
    foreach ($lines as $i => $line) {
        foreach ($ids as $id) {
            if (preg_match('#postfix/smtpd\[(\d+)\]: ' . $id . ': client=#', $line, $mm)) {
                $pids[$id] = [(int)$mm[1], $i];
            }
        }
    }
    if (count($pids) !== 2 || count(array_unique(array_column($pids, 0))) !== 1) {
        continue;
    }
    [$pid, $from] = $pids[$ids[0]];
    foreach (array_slice($lines, $from, null, true) as $line) {
        if (preg_match('#postfix/smtpd\[' . $pid . '\]: disconnect from .* commands=#', $line)) {
            preg_match_all('#\b(mail|rcpt|bdat|data)=(\d+)(?:/(\d+))?#', $line, $mm, PREG_SET_ORDER);
            $counts = [];
            foreach ($mm as $c) {
                $counts[$c[1]] = (int)($c[3] ?? $c[2]);   // n/m: m commands, n of them accepted
            }
            break;
        }
    }
}
echo "one connection: ", count($pids) === 2 && count(array_unique(array_column($pids, 0))) === 1 ? 'yes' : 'no', "\n";
if ($counts === null) {
    echo "no disconnect line for the session in $log\n";
} else {
    echo "MAIL commands: ", $counts['mail'] ?? 0, ", BDAT commands: ", $counts['bdat'] ?? 0,
        ", DATA commands: ", $counts['data'] ?? 0, "\n";
    echo "BDAT commands per message: ", ($counts['bdat'] ?? 0) / max(1, $counts['mail'] ?? 0), "\n";
}

// what arrived: the generated fields, then the caller's, then the body
// (the Maildir keeps lines with LF)
usort($msgs, static fn($x, $y) => smtpsock_test_header($x, 'Subject') <=> smtpsock_test_header($y, 'Subject'));
foreach ($msgs as $m) {
    $subject = smtpsock_test_header($m, 'Subject')[0] ?? '';
    $names = array_column($m['header_list'], 0);
    $names = array_values(array_diff($names, ['Return-Path', 'X-Original-To', 'Delivered-To', 'Received']));
    $want = str_starts_with($subject, 'one')
        ? str_repeat(str_repeat('a', 63) . "\n", 16)
        : str_repeat(str_repeat('b', 1022) . "\n", 100);
    echo substr($subject, 0, 3), ": ", implode(', ', $names), "; body ",
        $m['body'] === $want ? 'exact' : 'DIFFERS (' . strlen($m['body']) . ' octets)', "\n";
}
?>
--EXPECT--
sent: true true
delivered: 2
one connection: yes
MAIL commands: 2, BDAT commands: 2, DATA commands: 0
BDAT commands per message: 1
one: To, Subject, Date, Message-ID, From, X-Token; body exact
two: To, Subject, Date, Message-ID, From, X-Token; body exact
