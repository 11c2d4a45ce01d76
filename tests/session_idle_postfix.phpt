--TEST--
Long-lived sessions against a real relay: Postfix with smtpd_timeout = 2s closes idle sessions (421, then end of stream); the next send() and the next smtp_mail() of the same request go through on a new connection, every message delivered exactly once
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
if ($r = smtpsock_test_postfix_skip_reason()) die("skip $r");
?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix_with("smtpd_timeout = 2s");

$lines = [];
$s = new SmtpSocket($pf['host'], $pf['port'], ['timeout' => 10,
    'logger' => function ($d, $l) use (&$lines) { $lines[] = "$d $l"; }]);
$tok = [];
foreach (['first', 'after idling'] as $i => $what) {
    if ($i) {
        sleep(3);      // longer than smtpd_timeout: Postfix says 421 and closes
    }
    $tok[$what] = smtpsock_test_token();
    $r = $s->send('a@example.org', 'b@example.org', "Subject: {$tok[$what]}\r\n\r\n$what\r\n");
    echo "send() $what: ", implode(',', $r['accepted']), ", queue id ", $r['queue_id'] !== null ? 'given' : 'missing', "\n";
}
$log = implode("\n", $lines);
echo "Postfix closed the idle session: ", str_contains($log, 'timeout exceeded') ? 'yes' : 'no', "\n";
echo "greetings seen: ", preg_match_all('/^< 220 /m', $log), "\n";

ini_set('smtpsock.host', $pf['host']);
ini_set('smtpsock.port', (string) $pf['port']);
ini_set('smtpsock.from', 'a@example.org');
ini_set('smtpsock.timeout', '10');
foreach (['smtp_mail first', 'smtp_mail after idling'] as $i => $what) {
    if ($i) {
        sleep(3);
    }
    $tok[$what] = smtpsock_test_token();
    var_dump(smtp_mail('b@example.org', $tok[$what], $what));
}

foreach ($tok as $what => $t) {
    smtpsock_test_wait_messages($pf['maildir'], $t, 1);
}
usleep(500000);     // a duplicate would be delivered by now
foreach ($tok as $what => $t) {
    $n = 0;
    foreach (glob($pf['maildir'] . '/{new,cur}/*', GLOB_BRACE) as $f) {
        $n += str_contains((string) file_get_contents($f), $t) ? 1 : 0;
    }
    echo "$what: delivered $n time(s)\n";
}
?>
--EXPECT--
send() first: b@example.org, queue id given
send() after idling: b@example.org, queue id given
Postfix closed the idle session: yes
greetings seen: 2
bool(true)
bool(true)
first: delivered 1 time(s)
after idling: delivered 1 time(s)
smtp_mail first: delivered 1 time(s)
smtp_mail after idling: delivered 1 time(s)
