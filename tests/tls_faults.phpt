--TEST--
STARTTLS faults (scripted server): 454 with auto continues in clear, with starttls fails; bytes injected after the 220; handshake aborted or garbage; a server that stops offering STARTTLS gets nothing after EHLO
--EXTENSIONS--
smtpsock
openssl
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$G = ['send' => "220 scripted ESMTP\r\n"];
$ET = ['expect' => 'EHLO', 'send' => "250-scripted\r\n250 STARTTLS\r\n"];
$OK = [['expect' => 'MAIL', 'send' => "250 ok\r\n"], ['expect' => 'RCPT', 'send' => "250 ok\r\n"],
       ['expect' => 'DATA', 'send' => "354 go\r\n"], ['read_data' => true, 'send' => "250 2.0.0 queued\r\n"],
       ['expect' => 'QUIT', 'send' => "221 bye\r\n"]];

$cases = [
    '454, security=auto' => ['auto', array_merge([$G, $ET, ['expect' => 'STARTTLS', 'send' => "454 4.7.0 TLS not available now\r\n"]], $OK)],
    '454, security=starttls' => ['starttls', [$G, $ET, ['expect' => 'STARTTLS', 'send' => "454 4.7.0 TLS not available now\r\n"], ['drain' => 2]]],
    'bytes after the 220' => ['auto', [$G, $ET, ['expect' => 'STARTTLS', 'send' => "220 2.0.0 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n"], ['drain' => 2]]],
    'handshake aborted' => ['auto', [$G, $ET, ['expect' => 'STARTTLS', 'send' => "220 2.0.0 go ahead\r\n"], ['close' => true]]],
    'handshake garbage' => ['starttls', [$G, $ET, ['expect' => 'STARTTLS', 'send' => "220 2.0.0 go ahead\r\n"], ['read_bytes' => 5],
        ['send' => "this is not a TLS server hello at all\r\n"], ['drain' => 2]]],
    'STARTTLS not offered, required' => ['starttls', [$G, ['expect' => 'EHLO', 'send' => "250-scripted\r\n250 PIPELINING\r\n"], ['drain' => 2]]],
];
set_error_handler(function ($no, $str) { echo "PHP warning leaked: $str\n"; return true; });
foreach ($cases as $name => [$security, $script]) {
    $srv = smtpsock_test_scripted($script);
    $s = new SmtpSocket($srv->host, $srv->port, ['timeout' => 2, 'security' => $security]);
    try {
        $r = $s->send('a@example.org', 'b@example.org', "Subject: x\r\n\r\nsecret body\r\n");
        $out = "sent in clear: " . $r['reply'];
    } catch (SmtpSocketException $e) {
        $out = sprintf("%d: %s", $e->getSmtpCode(), preg_replace(['/127\.0\.0\.1:\d+/', '/failed: .*/'], ['HOST', 'failed: ...'], $e->getMessage()));
    }
    $connected = $s->isConnected();
    unset($s);   // a connection left open would QUIT here: that must not happen in clear either
    $srv->wait(5);
    $t = $srv->transcript();
    // what the client sent after its STARTTLS (or after EHLO when there was none)
    $after = substr($t, strpos($t, "STARTTLS\r\n") !== false ? strpos($t, "STARTTLS\r\n") + 10 : strpos($t, "\r\n", strpos($t, 'EHLO')) + 2);
    printf("%-32s %s | then: %s\n", $name, $out, str_contains($after, 'secret body') ? 'MESSAGE IN CLEAR'
        : (preg_match('/^(MAIL|RCPT|DATA|AUTH|EHLO|HELO|QUIT|RSET|NOOP)\b/m', $after) ? 'clear-text commands' : 'no clear-text command'));
    $srv->stop();
}
?>
--EXPECT--
454, security=auto               sent in clear: 250 2.0.0 queued | then: MESSAGE IN CLEAR
454, security=starttls           454: STARTTLS refused: 454 4.7.0 TLS not available now | then: no clear-text command
bytes after the 220              0: protocol error from HOST: data received before tls handshake | then: no clear-text command
handshake aborted                0: TLS handshake with HOST failed: ... | then: no clear-text command
handshake garbage                0: TLS handshake with HOST failed: ... | then: no clear-text command
STARTTLS not offered, required   0: HOST does not offer STARTTLS, which security=starttls requires | then: no clear-text command
