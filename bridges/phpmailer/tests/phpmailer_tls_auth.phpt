--TEST--
PHPMailer bridge: SMTPSecure=tls + SMTPAuth with SMTPOptions (the test CA), AuthType, an ssl:// Host entry (implicit TLS), a certificate for another name refused, a wrong password (ErrorInfo, exception), SMTPDebug output without the secret
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php
require __DIR__ . '/phpmailer.inc';
if ($r = phpmailer_bridge_skip_reason()) die("skip $r");
if ($r = smtpsock_test_postfix_tls_skip_reason()) die("skip $r");
?>
--FILE--
<?php
require __DIR__ . '/phpmailer.inc';
phpmailer_bridge_load();

use PHPMailer\PHPMailer\Exception;
use Smtpsock\Bridge\PHPMailer\PHPMailer;

ob_start();
$tls = smtpsock_test_postfix_tls();
$secret = $tls['password'];
$debug = [];
$make = function (string $tok, array $settings = []) use ($tls, &$debug): PHPMailer {
    $mail = new PHPMailer(true);
    $mail->isSMTP();
    $mail->Host = $tls['host'];
    $mail->Port = $tls['port'];
    $mail->SMTPSecure = PHPMailer::ENCRYPTION_STARTTLS;
    $mail->SMTPAuth = true;
    $mail->Username = $tls['user'];
    $mail->Password = $tls['password'];
    $mail->SMTPOptions = ['ssl' => ['cafile' => $tls['ca']]];
    $mail->Timeout = 10;
    $mail->SMTPDebug = 4;
    $mail->Debugoutput = function ($str, $level) use (&$debug) { $debug[] = $str; };
    foreach ($settings as $k => $v) {
        $mail->$k = $v;
    }
    $mail->setFrom('app@example.com');
    $mail->addAddress('ann@example.org');
    $mail->Subject = "tls $tok";
    $mail->Body = "body $tok";
    return $mail;
};

$tok = smtpsock_test_token();
$mail = $make($tok);
echo "starttls+auth: send() ", var_export($mail->send(), true), "\n";
$m = smtpsock_test_wait_messages($tls['maildir'], $tok, 1)[0];
echo "  over TLS, authenticated: ", preg_match('/using TLSv1\.[23].*Authenticated sender/s', implode(' ', smtpsock_test_header($m, 'Received'))) ? 'yes' : 'no', "\n";
echo "  debug: STARTTLS ", count(array_filter($debug, fn($l) => $l === 'CLIENT -> SERVER: STARTTLS')), ", AUTH ",
    count(array_filter($debug, fn($l) => str_starts_with($l, 'CLIENT -> SERVER: AUTH'))), ", *** ",
    count(array_filter($debug, fn($l) => str_contains($l, '***'))) > 0 ? 'yes' : 'no', "\n";

// AuthType picks the mechanism
$debug = [];
$tok = smtpsock_test_token();
$make($tok, ['AuthType' => 'LOGIN'])->send();
echo "AuthType LOGIN: ", count(array_filter($debug, fn($l) => str_starts_with($l, 'CLIENT -> SERVER: AUTH LOGIN'))), "\n";

// ssl:// in Host: implicit TLS on that entry's port
$tok = smtpsock_test_token();
$make($tok, ['Host' => "ssl://{$tls['host']}:{$tls['smtps_port']}", 'SMTPSecure' => ''])->send();
$m = smtpsock_test_wait_messages($tls['maildir'], $tok, 1)[0];
echo "ssl:// host: over TLS ", preg_match('/using TLSv1\.[23]/', implode(' ', smtpsock_test_header($m, 'Received'))) ? 'yes' : 'no', "\n";

// a certificate for another name: refused before AUTH
$mail = $make(smtpsock_test_token(), ['SMTPOptions' => ['ssl' => ['cafile' => $tls['ca'], 'peer_name' => 'other.example']]]);
try {
    $mail->send();
    echo "wrong name: sent?!\n";
} catch (Exception $e) {
    echo "wrong name: refused, ", str_contains($e->getMessage(), 'SMTP connect() failed') ? 'connect failed' : $e->getMessage(), "\n";
}

// wrong password: without exceptions, send() false and ErrorInfo; with them, the exception
$wrong = 'Wr0ng-' . $secret;
$mail = $make(smtpsock_test_token(), ['Password' => $wrong]);
try {
    $mail->send();
} catch (Exception $e) {
    echo "wrong password: ", str_contains($e->getMessage(), '535') ? '535' : $e->getMessage(), ", ",
        str_starts_with($e->getMessage(), 'SMTP Error: Could not authenticate.') ? "PHPMailer's wording" : $e->getMessage(), "\n";
    $leak = str_contains($e->getMessage() . $mail->ErrorInfo . implode("\n", $debug), $wrong);
    echo "  wrong password shown: ", $leak ? 'yes' : 'no', "\n";
}
$out = ob_get_clean();
echo $out;
$all = $out . implode("\n", $debug);
echo "secret in output or debug: ", str_contains($all, $secret) || str_contains($all, base64_encode($secret)) ? 'yes' : 'no', "\n";
?>
--EXPECT--
starttls+auth: send() true
  over TLS, authenticated: yes
  debug: STARTTLS 1, AUTH 1, *** yes
AuthType LOGIN: 1
ssl:// host: over TLS yes
wrong name: refused, connect failed
wrong password: 535, PHPMailer's wording
  wrong password shown: no
secret in output or debug: no
