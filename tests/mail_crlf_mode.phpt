--TEST--
smtp_mail(): mail()'s sendmail-pipe settings (mail.cr_lf_mode from PHP 8.5, mail.mixed_lf_and_crlf, sendmail_path) leave the wire alone: every line of the message ends in CRLF
--EXTENSIONS--
smtpsock
--INI--
mail.cr_lf_mode=lf
mail.mixed_lf_and_crlf=1
sendmail_path=/bin/false
smtpsock.from=sender@example.com
smtpsock.timeout=5
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';

// On PHP 8.5+ the setting exists and is in force: mail() would pipe LF line
// ends to sendmail. Before 8.5 it is unknown and the line reads "(none)".
$mode = ini_get('mail.cr_lf_mode');
echo "mail.cr_lf_mode=lf in force where PHP has it: ",
    PHP_VERSION_ID < 80500 || $mode === 'lf' ? 'yes' : "no ($mode)", "\n";

$srv = smtpsock_test_scripted([
    ['send' => "220 scripted ESMTP\r\n"],
    ['expect' => 'EHLO', 'send' => "250-scripted\r\n250 8BITMIME\r\n"],
    ['expect' => 'MAIL FROM:<sender@example.com>', 'send' => "250 2.1.0 Ok\r\n"],
    ['expect' => 'RCPT TO:<ann@example.org>', 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'DATA', 'send' => "354 go ahead\r\n"],
    ['read_data' => true, 'send' => "250 2.0.0 Ok: queued as 4XyZ1\r\n"],
    ['expect' => 'QUIT', 'send' => "221 2.0.0 Bye\r\n"],
]);
ini_set('smtpsock.host', "127.0.0.1:{$srv->port}");

// LF-separated header string, a body mixing LF, CRLF and bare CR
var_dump(smtp_mail('ann@example.org', 'line ends', "one\ntwo\r\nthree\rfour\n",
    "X-First: 1\nX-Second: 2\r\nX-Third: 3"));

$t = $srv->transcript();
$start = strpos($t, "DATA\r\n");
$end = strpos($t, "\r\n.\r\n");
$data = substr($t, $start + 6, $end - $start - 6 + 2);
echo "bare LF: ", preg_match('/(?<!\r)\n/', $data), ", bare CR: ", preg_match('/\r(?!\n)/', $data), "\n";
foreach (['X-First: 1', 'X-Second: 2', 'X-Third: 3', 'Subject: line ends'] as $h) {
    echo $h, ": ", str_contains($data, "\r\n$h\r\n") || str_starts_with($data, "$h\r\n") ? 'CRLF' : 'missing', "\n";
}
echo "body: ", json_encode(substr($data, strpos($data, "\r\n\r\n") + 4)), "\n";
?>
--EXPECT--
mail.cr_lf_mode=lf in force where PHP has it: yes
bool(true)
bare LF: 0, bare CR: 0
X-First: 1: CRLF
X-Second: 2: CRLF
X-Third: 3: CRLF
Subject: line ends: CRLF
body: "one\r\ntwo\r\nthree\r\nfour\r\n"
