--TEST--
Faults at every stage (scripted server): refusals, 421, malformed and over-long replies, close, reset, stall; the right exception, never success, bounded time and memory, and the same object sends the next message
--EXTENSIONS--
smtpsock
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';

const G = ['send' => "220 scripted ESMTP\r\n"];
const E = ['expect' => 'EHLO', 'send' => "250-scripted\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n"];
const OK = [
    ['expect' => 'MAIL FROM:<a@example.org>', 'send' => "250 2.1.0 ok\r\n"],
    ['expect' => 'RCPT TO:<b@example.org>', 'send' => "250 2.1.5 ok\r\n"],
    ['expect' => 'DATA', 'send' => "354 go\r\n"],
    ['read_data' => true, 'send' => "250 2.0.0 queued as GOOD\r\n"],
    ['expect' => 'QUIT', 'send' => "221 2.0.0 bye\r\n"],
];
$M = ['expect' => 'MAIL', 'send' => "250 2.1.0 ok\r\n"];
$R = ['expect' => 'RCPT', 'send' => "250 2.1.5 ok\r\n"];
$D = ['expect' => 'DATA', 'send' => "354 go\r\n"];
$RSET = ['expect' => 'RSET', 'send' => "250 2.0.0 reset\r\n"];

// name => [steps of the faulty dialog (after greeting+EHLO unless 'raw'), connection survives?]
$cases = [
    'greeting 554'      => [[['send' => "554 5.3.2 not now\r\n"], ['expect' => 'QUIT', 'send' => "221 bye\r\n"]], false, 'raw'],
    'greeting 421'      => [[['send' => "421 4.3.2 busy\r\n"]], false, 'raw'],
    'greeting garbage'  => [[['send' => "Hello, I am not SMTP\r\n"]], false, 'raw'],
    'greeting closed'   => [[['close' => true]], false, 'raw'],
    'EHLO 421'          => [[G, ['expect' => 'EHLO', 'send' => "421 4.7.0 go away\r\n"]], false, 'raw'],
    'MAIL 451'          => [[['expect' => 'MAIL', 'send' => "451 4.3.0 try later\r\n"], $RSET], true],
    'MAIL 421'          => [[['expect' => 'MAIL', 'send' => "421 4.4.2 timeout\r\n"]], false],
    'RCPT 550'          => [[$M, ['expect' => 'RCPT', 'send' => "550 5.1.1 no such user\r\n"], $RSET], true],
    'RCPT 421'          => [[$M, ['expect' => 'RCPT', 'send' => "421 4.3.0 shutting down\r\n"]], false],
    'DATA 554'          => [[$M, $R, ['expect' => 'DATA', 'send' => "554 5.5.1 no valid recipients\r\n"], $RSET], true],
    'DATA 421'          => [[$M, $R, ['expect' => 'DATA', 'send' => "421 4.3.0 bye\r\n"]], false],
    'final 552'         => [[$M, $R, $D, ['read_data' => true, 'send' => "552 5.3.4 message too big\r\n"]], true],
    'final 421'         => [[$M, $R, $D, ['read_data' => true, 'send' => "421 4.3.0 lost it\r\n"]], false],
    'closed in body'    => [[$M, $R, $D, ['read_bytes' => 3], ['close' => true]], false],
    'closed after dot'  => [[$M, $R, $D, ['read_data' => true], ['close' => true]], false],
    'closed mid-reply'  => [[['expect' => 'MAIL', 'send' => "250-2.1.0 part"], ['close' => true]], false],
    'closed before reply' => [[['expect' => 'MAIL'], ['close' => true]], false],
    'reset'             => [[['expect' => 'MAIL'], ['reset' => true]], false],
    'stall'             => [[['expect' => 'MAIL'], ['sleep' => 1.6]], false],
    'stall mid-reply'   => [[['expect' => 'MAIL', 'send' => "250-2.1.0 slow\r\n"], ['sleep' => 1.6]], false],
    'non-numeric code'  => [[['expect' => 'MAIL', 'send' => "2x0 ok\r\n"]], false],
    'code 600'          => [[['expect' => 'MAIL', 'send' => "600 ok\r\n"]], false],
    'code 199'          => [[['expect' => 'MAIL', 'send' => "199 ok\r\n"]], false],
    'bad separator'     => [[['expect' => 'MAIL', 'send' => "250_ok\r\n"]], false],
    'mixed codes'       => [[['expect' => 'MAIL', 'send' => "250-a\r\n251 b\r\n"]], false],
    'NUL in reply'      => [[['expect' => 'MAIL', 'send' => "250 a\0b\r\n"]], false],
    'bare CR in reply'  => [[['expect' => 'MAIL', 'send' => "250 a\rb\r\n"]], false],
    'line 8193'         => [[['expect' => 'MAIL', 'send' => "250 " . str_repeat('x', 8189) . "\r\n"]], false],
    '1001 lines'        => [[['expect' => 'MAIL', 'send' => str_repeat("250-x\r\n", 1000) . "250 x\r\n"]], false],
    '70 KiB reply'      => [[['expect' => 'MAIL', 'send' => str_repeat("250-" . str_repeat('y', 696) . "\r\n", 100) . "250 y\r\n"]], false],
    '1 MiB line'        => [[['expect' => 'MAIL', 'send' => "250 " . str_repeat('z', 1 << 20) . "\r\n"]], false],
    'endless reply'     => [[['expect' => 'MAIL'], ['flood' => ['line' => '250-more', 'bytes' => 0]]], false],
];

// the limits themselves are accepted: an 8192-octet line, 1000 lines
$cases['line 8192 (accepted)'] = [[['expect' => 'MAIL', 'send' => "250 " . str_repeat('x', 8188) . "\r\n"], $R, $D,
    ['read_data' => true, 'send' => "250 ok\r\n"]], true];
$cases['1000 lines (accepted)'] = [[['expect' => 'MAIL', 'send' => str_repeat("250-x\r\n", 999) . "250 x\r\n"], $R, $D,
    ['read_data' => true, 'send' => "250 ok\r\n"]], true];

foreach ($cases as $name => [$steps, $survives]) {
    $raw = ($cases[$name][2] ?? null) === 'raw';
    $script = $raw ? $steps : array_merge([G, E], $steps);
    if ($survives) {
        $script = array_merge($script, OK);
    } else {
        $script = array_merge($script, [['next_connection' => true], G, E], OK);
    }
    $srv = smtpsock_test_scripted($script);
    $s = new SmtpSocket($srv->host, $srv->port, ['timeout' => 1.0]);
    $mem = memory_get_usage();
    $t = microtime(true);
    $result = '';
    try {
        $r = $s->send('a@example.org', 'b@example.org', "Subject: x\r\n\r\nhello\r\n");
        $result = "sent: " . $r['reply'];
    } catch (SmtpSocketException $e) {
        $result = sprintf("%d %s: %s", $e->getSmtpCode(), $e->getEnhancedStatus() ?? '-', $e->getMessage());
    }
    $elapsed = microtime(true) - $t;
    $grew = memory_get_usage() - $mem;
    $conn = $s->isConnected() ? 'kept' : 'closed';
    // the same object, the next message
    try {
        $next = $s->send('a@example.org', 'b@example.org', "Subject: y\r\n\r\nagain\r\n")['reply'];
        $s->quit();
    } catch (SmtpSocketException $e) {
        $next = "FAILED: " . $e->getMessage();
    }
    $srv->wait(5);
    printf("%-20s %s | %s%s%s | next: %s\n", $name, preg_replace('/127\.0\.0\.1:\d+/', 'HOST', $result), $conn,
        $elapsed < 2.5 ? '' : sprintf(" SLOW %.2fs", $elapsed), $grew < 262144 ? '' : " GREW $grew", $next);
    $srv->stop();
}
?>
--EXPECT--
greeting 554         554 5.3.2: greeting refused: 554 5.3.2 not now | closed | next: 250 2.0.0 queued as GOOD
greeting 421         421 4.3.2: server closed the session: 421 4.3.2 busy | closed | next: 250 2.0.0 queued as GOOD
greeting garbage     0 -: protocol error from HOST: malformed reply | closed | next: 250 2.0.0 queued as GOOD
greeting closed      0 -: connection closed by HOST | closed | next: 250 2.0.0 queued as GOOD
EHLO 421             421 4.7.0: server closed the session: 421 4.7.0 go away | closed | next: 250 2.0.0 queued as GOOD
MAIL 451             451 4.3.0: sender refused: 451 4.3.0 try later | kept | next: 250 2.0.0 queued as GOOD
MAIL 421             421 4.4.2: server closed the session: 421 4.4.2 timeout | closed | next: 250 2.0.0 queued as GOOD
RCPT 550             550 5.1.1: every recipient was refused: 550 5.1.1 no such user | kept | next: 250 2.0.0 queued as GOOD
RCPT 421             421 4.3.0: server closed the session: 421 4.3.0 shutting down | closed | next: 250 2.0.0 queued as GOOD
DATA 554             554 5.5.1: DATA refused: 554 5.5.1 no valid recipients | kept | next: 250 2.0.0 queued as GOOD
DATA 421             421 4.3.0: server closed the session: 421 4.3.0 bye | closed | next: 250 2.0.0 queued as GOOD
final 552            552 5.3.4: message refused: 552 5.3.4 message too big | kept | next: 250 2.0.0 queued as GOOD
final 421            421 4.3.0: server closed the session: 421 4.3.0 lost it | closed | next: 250 2.0.0 queued as GOOD
closed in body       0 -: connection closed by HOST | closed | next: 250 2.0.0 queued as GOOD
closed after dot     0 -: connection closed by HOST | closed | next: 250 2.0.0 queued as GOOD
closed mid-reply     0 -: connection closed by HOST in the middle of a reply | closed | next: 250 2.0.0 queued as GOOD
closed before reply  0 -: connection closed by HOST | closed | next: 250 2.0.0 queued as GOOD
reset                0 -: connection closed by HOST | closed | next: 250 2.0.0 queued as GOOD
stall                0 -: timed out after 1 s waiting for a reply from HOST | closed | next: 250 2.0.0 queued as GOOD
stall mid-reply      0 -: timed out after 1 s waiting for a reply from HOST | closed | next: 250 2.0.0 queued as GOOD
non-numeric code     0 -: protocol error from HOST: malformed reply | closed | next: 250 2.0.0 queued as GOOD
code 600             0 -: protocol error from HOST: malformed reply | closed | next: 250 2.0.0 queued as GOOD
code 199             0 -: protocol error from HOST: malformed reply | closed | next: 250 2.0.0 queued as GOOD
bad separator        0 -: protocol error from HOST: malformed reply | closed | next: 250 2.0.0 queued as GOOD
mixed codes          0 -: protocol error from HOST: malformed reply | closed | next: 250 2.0.0 queued as GOOD
NUL in reply         0 -: protocol error from HOST: nul octet in reply | closed | next: 250 2.0.0 queued as GOOD
bare CR in reply     0 -: protocol error from HOST: malformed reply | closed | next: 250 2.0.0 queued as GOOD
line 8193            0 -: protocol error from HOST: reply line too long | closed | next: 250 2.0.0 queued as GOOD
1001 lines           0 -: protocol error from HOST: reply too long | closed | next: 250 2.0.0 queued as GOOD
70 KiB reply         0 -: protocol error from HOST: reply too long | closed | next: 250 2.0.0 queued as GOOD
1 MiB line           0 -: protocol error from HOST: reply line too long | closed | next: 250 2.0.0 queued as GOOD
endless reply        0 -: protocol error from HOST: reply too long | closed | next: 250 2.0.0 queued as GOOD
line 8192 (accepted) sent: 250 ok | kept | next: 250 2.0.0 queued as GOOD
1000 lines (accepted) sent: 250 ok | kept | next: 250 2.0.0 queued as GOOD
