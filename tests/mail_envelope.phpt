--TEST--
smtp_mail(): envelope sender order (-f, smtpsock.from, sendmail_from, From:), refused recipients and sender, warnings carry the reply
--EXTENSIONS--
smtpsock
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix();
ini_set('smtpsock.host', $pf['host'] . ':' . $pf['port']);
set_error_handler(function ($no, $str) { echo "warning: $str\n"; return true; });

function rp(string $tok, ...$args) {
    global $pf;
    $r = smtp_mail('ann@example.org', "sender $tok", "x\n", ...$args);
    $m = smtpsock_test_wait_messages($pf['maildir'], $tok, 1)[0];
    echo var_export($r, true), " Return-Path: ", $m['return_path'], "\n";
}
ini_set('sendmail_from', 'ini-sendmail@example.com');
ini_set('smtpsock.from', 'ini-smtpsock@example.com');
rp($t = smtpsock_test_token(), ['From' => 'header@example.com'], '-f flag@example.com');
rp($t = smtpsock_test_token(), ['From' => 'header@example.com'], '-fjoined@example.com -oi');
rp($t = smtpsock_test_token(), ['From' => 'header@example.com'], "-oi -f '<quoted@example.com>'");
rp($t = smtpsock_test_token(), ['From' => 'header@example.com']);
ini_set('smtpsock.from', '');
rp($t = smtpsock_test_token(), ['From' => 'header@example.com']);
ini_set('sendmail_from', '');
rp($t = smtpsock_test_token(), ['From' => '"Head, Er" <header@example.com>']);
rp($t = smtpsock_test_token(), "From: folded\r\n <folded@example.com>");

// some recipients refused: the others still get it, the warning names the refused ones
$tok = smtpsock_test_token();
var_dump(smtp_mail("ok1@example.org, reject-me@example.org, ok2@example.org", "partial $tok", "x\n", ['From' => 'a@example.com']));
foreach (smtpsock_test_wait_messages($pf['maildir'], $tok, 2) as $m) echo $m['delivered_to'], "\n";

// every recipient refused; sender refused; a deferral (4xx)
var_dump(smtp_mail("reject-1@example.org", "none", "x\n", ['From' => 'a@example.com']));
var_dump(smtp_mail("ann@example.org", "refused sender", "x\n", ['From' => 'refused-sender@example.com']));
var_dump(smtp_mail("defer-1@example.org", "deferred", "x\n", ['From' => 'a@example.com']));
// and the connection is still good for the next one
$tok = smtpsock_test_token();
var_dump(smtp_mail("ann@example.org", "after failures $tok", "x\n", ['From' => 'a@example.com']));
echo count(smtpsock_test_wait_messages($pf['maildir'], $tok, 1)), " delivered\n";
?>
--EXPECTF--
true Return-Path: flag@example.com
true Return-Path: joined@example.com
true Return-Path: quoted@example.com
true Return-Path: ini-smtpsock@example.com
true Return-Path: ini-sendmail@example.com
true Return-Path: header@example.com
true Return-Path: folded@example.com
warning: smtp_mail(): The message was sent to the accepted recipients, but some were refused: reject-me@example.org: 550 5.1.1 <reject-me@example.org>%s
bool(false)
ok1@example.org
ok2@example.org
warning: smtp_mail(): every recipient was refused: 550 5.1.1 <reject-1@example.org>%s
bool(false)
warning: smtp_mail(): sender refused: 553 5.7.1 %s
bool(false)
warning: smtp_mail(): every recipient was refused: 450 4.2.0 %s
bool(false)
bool(true)
1 delivered
