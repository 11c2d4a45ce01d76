--TEST--
PHP 8.6 stream errors: a context whose error_mode is Exception or Silent changes nothing in how TLS and connect failures are reported (SmtpSocketException code 0 with the cause; no StreamException escapes; no warning; the next message goes through)
--EXTENSIONS--
smtpsock
openssl
--SKIPIF--
<?php
if (!enum_exists('StreamErrorMode')) die('skip PHP 8.6 stream errors API (StreamErrorMode) not present');
require __DIR__ . '/inc/smtpsock_test.inc';
if ($r = smtpsock_test_postfix_tls_skip_reason()) die("skip $r");
?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix_tls();
$certs = smtpsock_test_certs();
set_error_handler(function ($no, $str) { echo "  unexpected warning: $str\n"; return true; });

function attempt(string $label, string $host, int $port, array $ssl, StreamErrorMode $mode, array $opts = []): void {
    global $pf;
    $given = ['ssl' => $ssl, 'stream' => ['error_mode' => $mode]];
    $ctx = stream_context_create($given);
    $s = new SmtpSocket($host, $port, $opts + ['timeout' => 5, 'context' => $ctx,
        'username' => $pf['user'], 'password' => $pf['password']]);
    $tok = smtpsock_test_token();
    try {
        $s->send($pf['user'], 'ann@example.org', "Subject: $label $tok\r\n\r\nx\r\n");
        $m = smtpsock_test_wait_messages($pf['maildir'], $tok, 1);
        printf("%-40s delivered (%d)\n", "$label, {$mode->name}:", count($m));
    } catch (SmtpSocketException $e) {
        $msg = $e->getMessage();
        printf("%-40s SmtpSocketException code %d, %s\n", "$label, {$mode->name}:", $e->getCode(),
            match (true) {
                str_contains($msg, 'certificate verify failed') => 'names the certificate failure',
                str_contains($msg, 'refused') => 'names the connect failure',
                default => "says: $msg",
            });
    } catch (Throwable $e) {
        printf("%-40s %s escaped: %s\n", "$label, {$mode->name}:", get_class($e), $e->getMessage());
    }
    // the user's context is the user's: the session works on a copy
    if (stream_context_get_options($ctx) != $given) {
        echo "  the context was changed: ", str_replace("\n", " ", print_r(stream_context_get_options($ctx), true)), "\n";
    }
}

$closed = stream_socket_server('tcp://127.0.0.1:0');
$closedPort = (int) substr(strrchr(stream_socket_get_name($closed, false), ':'), 1);
fclose($closed);

foreach ([StreamErrorMode::Exception, StreamErrorMode::Silent, StreamErrorMode::Error] as $mode) {
    attempt('STARTTLS, wrong CA', 'localhost', $pf['port'], ['cafile' => $certs['ca_other']], $mode);
    attempt('implicit TLS, wrong CA', "tls://localhost:{$pf['smtps_port']}", 25, ['cafile' => $certs['ca_other']], $mode);
    attempt('connect refused', '127.0.0.1', $closedPort, ['cafile' => $pf['ca']], $mode);
    attempt('STARTTLS, right CA', 'localhost', $pf['port'], ['cafile' => $pf['ca']], $mode);
}
var_dump(error_get_last());
// none of the session's own stream errors is kept for the user
var_dump(stream_last_errors());
?>
--EXPECT--
STARTTLS, wrong CA, Exception:           SmtpSocketException code 0, names the certificate failure
implicit TLS, wrong CA, Exception:       SmtpSocketException code 0, names the certificate failure
connect refused, Exception:              SmtpSocketException code 0, names the connect failure
STARTTLS, right CA, Exception:           delivered (1)
STARTTLS, wrong CA, Silent:              SmtpSocketException code 0, names the certificate failure
implicit TLS, wrong CA, Silent:          SmtpSocketException code 0, names the certificate failure
connect refused, Silent:                 SmtpSocketException code 0, names the connect failure
STARTTLS, right CA, Silent:              delivered (1)
STARTTLS, wrong CA, Error:               SmtpSocketException code 0, names the certificate failure
implicit TLS, wrong CA, Error:           SmtpSocketException code 0, names the certificate failure
connect refused, Error:                  SmtpSocketException code 0, names the connect failure
STARTTLS, right CA, Error:               delivered (1)
NULL
array(0) {
}
