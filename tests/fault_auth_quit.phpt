--TEST--
Faults during AUTH and QUIT (scripted server): 421, close, stall, 454/534 with status, malformed and endless challenges; the session is dropped or kept as it must be and the same object sends the next message
--EXTENSIONS--
smtpsock
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$G = ['send' => "220 scripted ESMTP\r\n"];
$E = ['expect' => 'EHLO', 'send' => "250-scripted\r\n250 AUTH LOGIN\r\n"];
$U = ['expect' => 'AUTH LOGIN', 'send' => "334 VXNlcm5hbWU6\r\n"];
$GOOD = [$G, $E, $U, ['expect' => base64_encode('u@example.org'), 'send' => "334 UGFzc3dvcmQ6\r\n"],
    ['expect' => base64_encode('pw-Secret-9'), 'send' => "235 2.7.0 ok\r\n"],
    ['expect' => 'MAIL', 'send' => "250 ok\r\n"], ['expect' => 'RCPT', 'send' => "250 ok\r\n"],
    ['expect' => 'DATA', 'send' => "354 go\r\n"], ['read_data' => true, 'send' => "250 2.0.0 queued\r\n"],
    ['expect' => 'QUIT', 'send' => "221 bye\r\n"]];

$cases = [
    'AUTH 421'            => [$G, $E, ['expect' => 'AUTH', 'send' => "421 4.3.2 shutting down\r\n"]],
    'AUTH closed'         => [$G, $E, ['expect' => 'AUTH'], ['close' => true]],
    'AUTH stall'          => [$G, $E, ['expect' => 'AUTH'], ['sleep' => 1.6]],
    'AUTH 454'            => [$G, $E, ['expect' => 'AUTH', 'send' => "454 4.7.0 temporary authentication failure\r\n"], ['expect' => 'QUIT', 'send' => "221 bye\r\n"]],
    'AUTH 534'            => [$G, $E, ['expect' => 'AUTH', 'send' => "534 5.7.9 authentication mechanism is too weak\r\n"], ['expect' => 'QUIT', 'send' => "221 bye\r\n"]],
    'challenge not base64' => [$G, $E, ['expect' => 'AUTH', 'send' => "334 !!not*base64!!\r\n"], ['drain' => 1]],
    'endless challenges'  => [$G, $E, $U, ['expect' => '', 'send' => "334 VXNlcm5hbWU6\r\n"], ['expect' => '', 'send' => "334 VXNlcm5hbWU6\r\n"], ['drain' => 1]],
    'closed mid-exchange' => [$G, $E, $U, ['expect' => ''], ['close' => true]],
];
foreach ($cases as $name => $steps) {
    $srv = smtpsock_test_scripted(array_merge($steps, [['next_connection' => true]], $GOOD), ['on_mismatch' => 'continue']);
    $s = new SmtpSocket($srv->host, $srv->port, ['timeout' => 1.0, 'username' => 'u@example.org', 'password' => 'pw-Secret-9']);
    $t = microtime(true);
    try {
        $s->send('a@example.org', 'b@example.org', "x\r\n");
        $out = 'SENT?!';
    } catch (SmtpSocketException $e) {
        $out = sprintf("%d %s: %s", $e->getSmtpCode(), $e->getEnhancedStatus() ?? '-', preg_replace('/127\.0\.0\.1:\d+/', 'HOST', $e->getMessage()));
    }
    $slow = microtime(true) - $t > 2.5 ? ' SLOW' : '';
    $conn = $s->isConnected() ? 'kept' : 'dropped';
    if ($s->isConnected()) {
        $s->quit();   // the server's script expects a new connection for the good dialog
    }
    try { $next = $s->send('a@example.org', 'b@example.org', "x\r\n")['reply']; $s->quit(); }
    catch (SmtpSocketException $e) { $next = 'FAILED: ' . $e->getMessage(); }
    printf("%-22s %s | %s%s | next: %s\n", $name, $out, $conn, $slow, $next);
    $srv->stop();
}

echo "-- QUIT\n";
foreach (['500 to QUIT' => [['expect' => 'QUIT', 'send' => "500 5.5.1 what?\r\n"]],
          'closed at QUIT' => [['expect' => 'QUIT'], ['close' => true]]] as $name => $steps) {
    $srv = smtpsock_test_scripted(array_merge([$G, ['expect' => 'EHLO', 'send' => "250 scripted\r\n"], ['expect' => 'NOOP', 'send' => "250 ok\r\n"]], $steps));
    $s = new SmtpSocket($srv->host, $srv->port, ['timeout' => 1.0]);
    $s->noop();
    try { $s->quit(); echo "$name: quit() returned\n"; }
    catch (SmtpSocketException $e) { echo "$name: ", $e->getSmtpCode(), " ", preg_replace('/127\.0\.0\.1:\d+/', 'HOST', $e->getMessage()), "\n"; }
    var_dump($s->isConnected());
    $srv->stop();
}
?>
--EXPECT--
AUTH 421               421 4.3.2: server closed the session: 421 4.3.2 shutting down | dropped | next: 250 2.0.0 queued
AUTH closed            0 -: connection closed by HOST | dropped | next: 250 2.0.0 queued
AUTH stall             0 -: timed out after 1 s waiting for a reply from HOST | dropped | next: 250 2.0.0 queued
AUTH 454               454 4.7.0: AUTH LOGIN failed: 454 4.7.0 temporary authentication failure | kept | next: 250 2.0.0 queued
AUTH 534               534 5.7.9: AUTH LOGIN failed: 534 5.7.9 authentication mechanism is too weak | kept | next: 250 2.0.0 queued
challenge not base64   0 -: AUTH LOGIN with HOST failed: invalid AUTH challenge from the server | dropped | next: 250 2.0.0 queued
endless challenges     0 -: AUTH LOGIN with HOST failed: more AUTH challenges than the mechanism has | dropped | next: 250 2.0.0 queued
closed mid-exchange    0 -: connection closed by HOST | dropped | next: 250 2.0.0 queued
-- QUIT
500 to QUIT: 500 QUIT refused: 500 5.5.1 what?
bool(false)
closed at QUIT: 0 connection closed by HOST
bool(false)
