--TEST--
WordPress path: PHPMailer's isMail() (what wp_mail() uses) with a Sender (-f), custom headers, Cc, Reply-To, a UTF-8 subject and an attachment, in a PHP started with smtpsock.override_mail=1 and sendmail_path=/bin/false: mail() goes over SMTP to Postfix; the message arrives with the right envelope sender, headers and a byte-exact body
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php
require __DIR__ . '/phpmailer.inc';
if ($r = phpmailer_bridge_skip_reason()) die("skip $r");
if ($r = smtpsock_test_postfix_skip_reason()) die("skip $r");
?>
--FILE--
<?php
require __DIR__ . '/phpmailer.inc';

$pf = smtpsock_test_postfix();
$tok = smtpsock_test_token();
$dir = smtpsock_test_mkdtemp('smtpsock-wp-');
register_shutdown_function(fn() => smtpsock_test_rmtree($dir));
$attachment = random_bytes(1500) . "\r\n.\r\n";
file_put_contents("$dir/invoice.pdf", $attachment);

// what a WordPress site runs (wp_mail() configures PHPMailer this way), in a
// PHP whose mail() is routed through smtp_mail() (system-level setting: -d)
file_put_contents("$dir/site.php", '<?php
require "' . PHPMAILER_BRIDGE_AUTOLOAD . '";
$mail = new PHPMailer\PHPMailer\PHPMailer(true);
$mail->isMail();
$mail->CharSet = "UTF-8";
$mail->setFrom("wordpress@example.com", "Mein Blog", false);
$mail->Sender = "bounces@example.com";   // -f, as plugins set it
$mail->addAddress("ann@example.org", "Ann Lee");
$mail->addCC("bob@example.org");
$mail->addReplyTo("support@example.com");
$mail->addCustomHeader("X-WP-Plugin", "smtpsock-test");
$mail->Subject = "Neuer Kommentar – Grüße ' . $tok . '";
$mail->Body = "Hallo Ann,\n\nein neuer Kommentar.\n.\nEnde ' . $tok . '\n";
$mail->addAttachment("' . $dir . '/invoice.pdf");
var_dump($mail->send());
file_put_contents("' . $dir . '/sent.eml", $mail->getSentMIMEMessage());
');

$maps = (string) @file_get_contents('/proc/self/maps');
$ext = preg_match('#\s(/\S*/smtpsock\.so)$#m', $maps, $m) ? $m[1] : 'smtpsock';
$php = getenv('TEST_PHP_EXECUTABLE') ?: PHP_BINARY;
[$rc, $out, $err] = smtpsock_test_run([$php, '-d', "extension=$ext", '-d', 'smtpsock.override_mail=1',
    '-d', "smtpsock.host={$pf['host']}:{$pf['port']}", '-d', 'smtpsock.timeout=10',
    '-d', 'sendmail_path=/bin/false', '-d', 'display_errors=stderr', "$dir/site.php"]);
echo "site: exit $rc, ", trim($out), trim($err) !== '' ? ", stderr: " . trim($err) : '', "\n";

$msgs = smtpsock_test_wait_messages($pf['maildir'], $tok, 2);
echo "delivered to ", implode(',', array_map(fn($m) => $m['delivered_to'], $msgs)), ", envelope sender ", $msgs[0]['return_path'] ?? '?', "\n";
$m = $msgs[0];
foreach (['From', 'To', 'Cc', 'Reply-To', 'X-WP-Plugin'] as $h) {
    echo "$h: ", implode(' | ', smtpsock_test_header($m, $h)), "\n";
}
echo "Subject: ", iconv_mime_decode(smtpsock_test_header($m, 'Subject')[0] ?? '', 0, 'UTF-8') === "Neuer Kommentar – Grüße $tok" ? 'UTF-8 ok' : 'wrong', "\n";
// the body is exactly PHPMailer's (Postfix stores LF line ends)
$sent = str_replace("\r\n", "\n", (string) file_get_contents("$dir/sent.eml"));
$sentBody = substr($sent, strpos($sent, "\n\n") + 2);
echo "body byte-exact: ", $m['body'] === $sentBody ? 'yes' : 'no', "\n";
echo "attachment intact: ", str_contains($m['body'], chunk_split(base64_encode($attachment), 76, "\n")) ? 'yes' : 'no', "\n";
// every header PHPMailer made arrives once, unchanged (Bcc: none here)
$sentHeaders = smtpsock_test_parse_message($sent)['header_list'];
$got = array_map(fn($h) => strtolower($h[0]) . ': ' . $h[1], $m['header_list']);
$missing = array_filter($sentHeaders, fn($h) => !in_array(strtolower($h[0]) . ': ' . $h[1], $got, true));
echo "PHPMailer's headers missing or changed: ", $missing ? json_encode(array_values($missing)) : 'none', "\n";
?>
--EXPECT--
site: exit 0, bool(true)
delivered to ann@example.org,bob@example.org, envelope sender bounces@example.com
From: Mein Blog <wordpress@example.com>
To: Ann Lee <ann@example.org>
Cc: bob@example.org
Reply-To: support@example.com
X-WP-Plugin: smtpsock-test
Subject: UTF-8 ok
body byte-exact: yes
attachment intact: yes
PHPMailer's headers missing or changed: none
