--TEST--
International addresses: SMTPUTF8 to a real Postfix (send() and smtp_mail(), read back from the Maildir), a scripted server without SMTPUTF8 (a non-ASCII local part fails before MAIL), invalid UTF-8 is a ValueError (false plus a warning for smtp_mail()), BODY=8BITMIME for an 8-bit body only when offered
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php require __DIR__ . '/inc/smtpsock_test.inc'; if ($r = smtpsock_test_postfix_skip_reason()) die("skip $r"); ?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix();
$log = [];
$s = new SmtpSocket($pf['host'], $pf['port'], ['timeout' => 10,
    'logger' => function ($d, $l) use (&$log) { $log[] = "$d $l"; }]);

// Postfix with smtputf8_enable = yes: the addresses go as they are, MAIL FROM carries SMTPUTF8
echo "offers SMTPUTF8: ", ($s->ehlo() && isset($s->getCapabilities()['SMTPUTF8'])) ? 'yes' : 'no', "\n";
$tok = smtpsock_test_token();
$r = $s->send('jörg@bücher.example', ['ünïcode@example.org', 'ann@dömäin.example'],
    "From: jörg@bücher.example\r\nTo: ünïcode@example.org\r\nSubject: utf8 $tok\r\n\r\nGrüße\r\n");
echo "accepted: ", implode(',', $r['accepted']), "\n";
$mail = implode(' | ', array_filter($log, fn($l) => str_starts_with($l, '> MAIL')));
echo "MAIL: ", preg_replace('/SIZE=\d+/', 'SIZE=n', $mail), "\n";
$msgs = smtpsock_test_wait_messages($pf['maildir'], $tok, 2);
$got = [];
foreach ($msgs as $m) {
    $got[] = $m['delivered_to'] . ' from ' . $m['return_path'] . (str_contains($m['body'], 'Grüße') ? ', body intact' : ', body changed');
}
sort($got);
echo implode("\n", $got), "\n";

// smtp_mail(): same rules; invalid UTF-8 is false plus a warning
ini_set('smtpsock.host', $pf['host'] . ':' . $pf['port']);
set_error_handler(function ($no, $str) {
    echo "warning: ", preg_replace_callback('/[\x80-\xff]/', fn($m) => sprintf('\\x%02X', ord($m[0])), $str), "\n";
    return true;
});
$tok = smtpsock_test_token();
var_dump(smtp_mail('zoë@example.org', "mail $tok", "Ünïcode\n", ['From' => 'émile@example.com']));
$m = smtpsock_test_wait_messages($pf['maildir'], $tok, 1)[0];
echo $m['delivered_to'], ' from ', $m['return_path'], "\n";
var_dump(smtp_mail("bad\xC3@example.org", "x", "x\n", ['From' => 'a@example.com']));
var_dump(smtp_mail('ann@example.org', "x", "x\n", ['From' => 'a@example.com'], "-f bad\xFF@example.com"));
restore_error_handler();

// invalid UTF-8: ValueError for send(), mailFrom(), rcptTo()
foreach ([fn() => $s->send("a\xC3\x28@example.com", 'ann@example.org', "x"),
          fn() => $s->send('a@example.com', ['ann@example.org', "b\xED\xA0\x80@example.org"], "x"),
          fn() => $s->mailFrom("\xC0\xAF@example.com"),
          fn() => $s->rcptTo("x@\xFF.example")] as $f) {
    try { $f(); echo "no error?!\n"; } catch (ValueError $e) { echo get_class($e), ": ", $e->getMessage(), "\n"; }
}
$s->quit();

// a server without SMTPUTF8, with 8BITMIME
$srv = smtpsock_test_scripted([
    ['send' => "220 scripted ESMTP\r\n"],
    ['expect' => 'EHLO', 'send' => "250-scripted\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"],
    ['expect' => 'MAIL FROM:', 'send' => "250 2.1.0 Ok\r\n"],
    ['expect' => 'RCPT TO:', 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'DATA', 'send' => "354 go\r\n"],
    ['read_data' => true, 'send' => "250 2.0.0 Ok: queued as A1\r\n"],
    ['expect' => 'MAIL FROM:', 'send' => "250 2.1.0 Ok\r\n"],
    ['expect' => 'RCPT TO:', 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'DATA', 'send' => "354 go\r\n"],
    ['read_data' => true, 'send' => "250 2.0.0 Ok: queued as A2\r\n"],
    ['expect' => 'QUIT', 'send' => "221 bye\r\n"],
]);
$t = new SmtpSocket('127.0.0.1', $srv->port, ['timeout' => 5]);
$t->send('a@example.com', 'ann@example.org', "Subject: 8bit\r\n\r\ncafé\r\n");
foreach (['jörg@example.com' => 'ann@example.org', 'a@example.com' => 'zoë@example.org'] as $from => $to) {
    try {
        $t->send($from, $to, "Subject: x\r\n\r\nx\r\n");
        echo "sent?!\n";
    } catch (SmtpSocketException $e) {
        echo "no SMTPUTF8: ", $e->getCode(), " ", $e->getMessage(), "\n";
    }
}
$t->send('a@example.com', 'ann@example.org', "Subject: ascii\r\n\r\nplain\r\n");
$t->quit();
$tr = $srv->transcript();
echo preg_replace('/SIZE=\d+/', 'SIZE=n', implode("\n", preg_grep('/^(MAIL|RCPT)/', explode("\r\n", $tr)))), "\n";

// a server that does not offer 8BITMIME: no BODY= even for an 8-bit body
$srv = smtpsock_test_scripted([
    ['send' => "220 scripted ESMTP\r\n"],
    ['expect' => 'EHLO', 'send' => "250-scripted\r\n250 ENHANCEDSTATUSCODES\r\n"],
    ['expect' => 'MAIL FROM:', 'send' => "250 2.1.0 Ok\r\n"],
    ['expect' => 'RCPT TO:', 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'DATA', 'send' => "354 go\r\n"],
    ['read_data' => true, 'send' => "250 2.0.0 Ok\r\n"],
    ['expect' => 'QUIT', 'send' => "221 bye\r\n"],
]);
$t = new SmtpSocket('127.0.0.1', $srv->port, ['timeout' => 5]);
$t->send('a@example.com', 'ann@example.org', "Subject: 8bit\r\n\r\ncafé\r\n");
$t->quit();
echo implode("\n", preg_grep('/^MAIL/', explode("\r\n", $srv->transcript()))), "\n";

// smtp_mail() against a server without SMTPUTF8: false plus a warning, no MAIL sent
$srv = smtpsock_test_scripted([
    ['send' => "220 scripted ESMTP\r\n"],
    ['expect' => 'EHLO', 'send' => "250-scripted\r\n250 8BITMIME\r\n"],
    ['expect' => 'QUIT', 'send' => "221 bye\r\n"],
], ['on_mismatch' => 'continue']);
ini_set('smtpsock.host', '127.0.0.1:' . $srv->port);
set_error_handler(function ($no, $str) { echo "warning: $str\n"; return true; });
var_dump(smtp_mail('zoë@example.org', 'x', "x\n", ['From' => 'a@example.com']));
restore_error_handler();
echo "commands: ", implode(',', array_map(fn($l) => substr($l, 0, 4), array_filter(explode("\r\n", $srv->transcript())))), "\n";
?>
--EXPECT--
offers SMTPUTF8: yes
accepted: ünïcode@example.org,ann@dömäin.example
MAIL: > MAIL FROM:<jörg@bücher.example> SMTPUTF8 BODY=8BITMIME SIZE=n
ann@dömäin.example from jörg@bücher.example, body intact
ünïcode@example.org from jörg@bücher.example, body intact
bool(true)
zoë@example.org from émile@example.com
warning: smtp_mail(): The recipient "bad\xC3@example.org" is not valid UTF-8
bool(false)
warning: smtp_mail(): The envelope sender "bad\xFF@example.com" is not valid UTF-8
bool(false)
ValueError: SmtpSocket::send(): Argument #1 ($from) must be valid UTF-8
ValueError: SmtpSocket::send(): Argument #2 ($recipients) must be valid UTF-8
ValueError: SmtpSocket::mailFrom(): Argument #1 ($sender) must be valid UTF-8
ValueError: SmtpSocket::rcptTo(): Argument #1 ($recipient) must be valid UTF-8
no SMTPUTF8: 0 sender "jörg@example.com" has a non-ASCII local part and the server does not offer SMTPUTF8; message not sent
no SMTPUTF8: 0 recipient "zoë@example.org" has a non-ASCII local part and the server does not offer SMTPUTF8; message not sent
MAIL FROM:<a@example.com> BODY=8BITMIME
RCPT TO:<ann@example.org>
MAIL FROM:<a@example.com>
RCPT TO:<ann@example.org>
MAIL FROM:<a@example.com>
warning: smtp_mail(): recipient "zoë@example.org" has a non-ASCII local part and the server does not offer SMTPUTF8; message not sent
bool(false)
commands: EHLO
