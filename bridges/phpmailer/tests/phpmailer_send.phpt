--TEST--
PHPMailer bridge: isSMTP() sending through SmtpSocket::send() with PHPMailer's settings and behaviour: the message PHPMailer built arrives byte-exact (stock PHPMailer adds an empty line at the end), Host list with a dead first host, the per-recipient callback, a partial refusal (ErrorInfo, send() false, accepted recipients get it), exceptions mode, getLastTransactionID(), SMTPKeepAlive (one connection, smtpClose()), dsn, SMTPDebug
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
phpmailer_bridge_load();

use PHPMailer\PHPMailer\Exception;

$pf = smtpsock_test_postfix();
$attachment = random_bytes(2000) . "\n.\n";
$compose = function (PHPMailer\PHPMailer\PHPMailer $mail, string $tok) use ($pf, $attachment): void {
    $mail->isSMTP();
    $mail->Host = "{$pf['host']}";
    $mail->Port = $pf['port'];
    $mail->Timeout = 10;
    $mail->CharSet = 'UTF-8';
    $mail->setFrom('reports@example.com', 'Berichte Köln');
    $mail->addAddress('ann@example.org', 'Ann Lee');
    $mail->addCC('bob@example.org');
    $mail->addBCC('dave@example.org');
    $mail->Subject = "Grüße – $tok";
    $mail->isHTML(true);
    $mail->Body = "<p>Alles grün ✓ $tok</p>";
    $mail->AltBody = "Alles grün ✓ $tok\n.\nEnde\n";
    $mail->addStringAttachment($attachment, 'daten.bin');
};

// the same composition through stock PHPMailer and through the subclass: each
// delivered copy is exactly the message PHPMailer built (getSentMIMEMessage())
foreach ([PHPMailer\PHPMailer\PHPMailer::class, Smtpsock\Bridge\PHPMailer\PHPMailer::class] as $class) {
    $tok = smtpsock_test_token();
    $mail = new $class(true);
    $compose($mail, $tok);
    $ok = $mail->send();
    $msgs = smtpsock_test_wait_messages($pf['maildir'], $tok, 3);
    $built = str_replace("\r\n", "\n", $mail->getSentMIMEMessage());
    $exact = count(array_filter($msgs, fn($m) => phpmailer_bridge_strip_trace($m['raw']) === $built));
    // PHPMailer's own SMTP class writes "\r\n.\r\n" after a message that ends with CRLF: one empty line more
    $plusLine = count(array_filter($msgs, fn($m) => phpmailer_bridge_strip_trace($m['raw']) === $built . "\n"));
    echo $class, ": send() ", var_export($ok, true),
        ", delivered to ", implode(',', array_map(fn($m) => $m['delivered_to'], $msgs)),
        ", sender ", $msgs[0]['return_path'] ?? '?', ", byte-exact $exact of 3, with an empty line added $plusLine\n";
}
preg_match('/\bid ([0-9A-Za-z]+)/', implode(' ', smtpsock_test_header($msgs[0], 'Received')), $rid);
echo "getLastTransactionID() is the queue id: ", $mail->getLastTransactionID() === ($rid[1] ?? '?') ? 'yes' : 'no',
    ", also through getSMTPInstance(): ", $mail->getSMTPInstance()->getLastTransactionID() === ($rid[1] ?? '?') ? 'yes' : 'no', "\n";

// Host list: the first host is dead; Sender is the envelope sender; the callback per recipient
$calls = [];
$mail = new Smtpsock\Bridge\PHPMailer\PHPMailer();
$tok = smtpsock_test_token();
$mail->isSMTP();
$mail->Host = '127.0.0.1:' . phpmailer_bridge_dead_port() . ";{$pf['host']}:{$pf['port']}";
$mail->Port = 1;   // both hosts name their own port
$mail->Timeout = 5;
$mail->setFrom('app@example.com');
$mail->Sender = 'bounces@example.com';
$mail->addAddress('ann@example.org');
$mail->addAddress('reject-1@example.org');
$mail->addCC('bob@example.org');
$mail->Subject = "partial $tok";
$mail->Body = "body $tok";
$mail->action_function = function ($isSent, $to, $cc, $bcc, $subject, $body, $from, $extra) use (&$calls) {
    $calls[] = $to[0][0] . '=' . ($isSent ? 'sent' : 'refused') . ($isSent && $extra['smtp_transaction_id'] ? '+id' : '');
};
$mail->dsn = 'FAILURE,DELAY';
$mail->SMTPDebug = 2;
$mail->Debugoutput = function ($str, $level) use (&$debug) { $debug[] = $str; };
$debug = [];
$ok = $mail->send();
echo "partial: send() ", var_export($ok, true), "\n";
echo "  ErrorInfo: ", preg_replace('/\s+/', ' ', $mail->ErrorInfo), "\n";
echo "  callbacks: ", implode(' ', $calls), "\n";
$msgs = smtpsock_test_wait_messages($pf['maildir'], $tok, 2);
echo "  delivered to ", implode(',', array_map(fn($m) => $m['delivered_to'], $msgs)), ", envelope sender ", $msgs[0]['return_path'], "\n";
echo "  debug: ", count(array_filter($debug, fn($l) => str_starts_with($l, 'CLIENT -> SERVER: RCPT TO:') && str_contains($l, 'NOTIFY=FAILURE,DELAY'))), " RCPT with NOTIFY, ",
    count(array_filter($debug, fn($l) => str_starts_with($l, 'SERVER -> CLIENT: 250'))) > 0 ? 'server lines' : 'no server lines', "\n";

// exceptions mode: every recipient refused
$mail = new Smtpsock\Bridge\PHPMailer\PHPMailer(true);
$mail->isSMTP();
$mail->Host = $pf['host'];
$mail->Port = $pf['port'];
$mail->setFrom('app@example.com');
$mail->addAddress('reject-2@example.org');
$mail->Subject = 'x';
$mail->Body = 'x';
try {
    $mail->send();
    echo "exceptions: sent?!\n";
} catch (Exception $e) {
    echo "exceptions: ", get_class($e), " code ", $e->getCode(), ": ", preg_replace('/\s+/', ' ', $e->getMessage()), "\n";
    echo "  ErrorInfo set: ", $mail->ErrorInfo !== '' ? 'yes' : 'no', "\n";
}
// a refused sender
$mail->clearAddresses();
$mail->addAddress('ann@example.org');
$mail->Sender = 'refused-sender@example.com';
try {
    $mail->send();
} catch (Exception $e) {
    echo "sender refused: ", str_contains($e->getMessage(), 'refused-sender@example.com') && str_contains($e->getMessage(), '553') ? 'named, 553' : $e->getMessage(), "\n";
}
// nothing listening
$mail = new Smtpsock\Bridge\PHPMailer\PHPMailer();
$mail->isSMTP();
$mail->Host = '127.0.0.1';
$mail->Port = phpmailer_bridge_dead_port();
$mail->setFrom('app@example.com');
$mail->addAddress('ann@example.org');
$mail->Subject = 'x';
$mail->Body = 'x';
echo "no server: send() ", var_export($mail->send(), true), ", ErrorInfo: ", str_contains($mail->ErrorInfo, 'Connection refused') ? 'names the refusal' : $mail->ErrorInfo, "\n";

// SMTPKeepAlive: three messages, one connection (one greeting and EHLO), smtpClose() sends QUIT
$mail = new Smtpsock\Bridge\PHPMailer\PHPMailer(true);
$mail->isSMTP();
$mail->Host = $pf['host'];
$mail->Port = $pf['port'];
$mail->SMTPKeepAlive = true;
$mail->SMTPDebug = 1;
$debug = [];
$mail->Debugoutput = function ($str, $level) use (&$debug) { $debug[] = $str; };
$mail->setFrom('app@example.com');
$tok = smtpsock_test_token();
$ids = [];
foreach (['ann', 'bob', 'carol'] as $who) {
    $mail->clearAddresses();
    $mail->addAddress("$who@example.org");
    $mail->Subject = "keepalive $who $tok";
    $mail->Body = "hello $who";
    $mail->send();
    $ids[] = $mail->getLastTransactionID();
}
$mail->smtpClose();
echo "keepalive: ", count(smtpsock_test_wait_messages($pf['maildir'], $tok, 3)), " delivered, ",
    count(array_unique(array_filter($ids))), " queue ids, EHLO sent ",
    count(array_filter($debug, fn($l) => str_starts_with($l, 'CLIENT -> SERVER: EHLO'))), " time(s), QUIT ",
    count(array_filter($debug, fn($l) => $l === 'CLIENT -> SERVER: QUIT')), ", server lines at level 1: ",
    count(array_filter($debug, fn($l) => str_starts_with($l, 'SERVER'))), "\n";
?>
--EXPECTF--
PHPMailer\PHPMailer\PHPMailer: send() true, delivered to ann@example.org,bob@example.org,dave@example.org, sender reports@example.com, byte-exact 0 of 3, with an empty line added 3
Smtpsock\Bridge\PHPMailer\PHPMailer: send() true, delivered to ann@example.org,bob@example.org,dave@example.org, sender reports@example.com, byte-exact 3 of 3, with an empty line added 0
getLastTransactionID() is the queue id: yes, also through getSMTPInstance(): yes
partial: send() false
  ErrorInfo: SMTP Error: The following recipients failed: reject-1@example.org: 550 5.1.1 %s
  callbacks: ann@example.org=sent+id reject-1@example.org=refused bob@example.org=sent+id
  delivered to ann@example.org,bob@example.org, envelope sender bounces@example.com
  debug: 3 RCPT with NOTIFY, server lines
exceptions: PHPMailer\PHPMailer\Exception code 1: SMTP Error: The following recipients failed: reject-2@example.org: 550 5.1.1 %s
  ErrorInfo set: yes
sender refused: named, 553
no server: send() false, ErrorInfo: names the refusal
keepalive: 3 delivered, 3 queue ids, EHLO sent 1 time(s), QUIT 1, server lines at level 1: 0
