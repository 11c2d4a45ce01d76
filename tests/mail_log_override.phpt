--TEST--
smtp_mail(): mail.add_x_header and mail.log like mail(); smtpsock.override_mail=1 routes an unmodified mail() call through SMTP
--EXTENSIONS--
smtpsock
--INI--
smtpsock.override_mail=1
mail.add_x_header=1
sendmail_path=/bin/false
mail.log={PWD}/mail_log_override.maillog
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix();
ini_set('smtpsock.host', $pf['host'] . ':' . $pf['port']);
$logfile = ini_get('mail.log');
@unlink($logfile);
ini_set('smtpsock.password', 'never-logged-Secret');

$tok = smtpsock_test_token();
var_dump(smtp_mail('ann@example.org', "via smtp_mail $tok", "one\n", "From: a@example.com\r\nX-Tok: $tok"));
$tok2 = smtpsock_test_token();
// an unmodified call to the engine's mail(): sendmail_path is /bin/false, so only SMTP can deliver it
var_dump(mail('bob@example.org', "via mail $tok2", "two\n", ['From' => 'b@example.com']));

$m = smtpsock_test_wait_messages($pf['maildir'], $tok, 1)[0];
echo implode("\n", smtpsock_test_header($m, 'X-PHP-Originating-Script')), "\n";
$m2 = smtpsock_test_wait_messages($pf['maildir'], $tok2, 1)[0];
echo $m2['delivered_to'], " ", $m2['return_path'], " ", $m2['body'];
$log = file_get_contents($logfile);
unlink($logfile);
echo preg_replace(['/^\[[^\]]+\] /m', '/\[[^\]]*mail_log_override\.php:\d+\]/'], ['[DATE] ', '[FILE:LINE]'], $log);
var_dump(str_contains($log, 'never-logged'));
?>
--EXPECTF--
bool(true)
bool(true)
%d:mail_log_override.php
bob@example.org b@example.com two
[DATE] smtp_mail() on [FILE:LINE]: To: ann@example.org -- Headers: From: a@example.com  X-Tok: %s -- Subject: via smtp_mail %s -- Queue-ID: %s
[DATE] mail() on [FILE:LINE]: To: bob@example.org -- Headers: From: b@example.com -- Subject: via mail %s -- Queue-ID: %s
bool(false)
