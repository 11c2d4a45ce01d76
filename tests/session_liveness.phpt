--TEST--
Long-lived sessions (scripted server): a session reused after idling writes an RSET in front of its transaction; when that shows the server had gone (end of stream, reset, 421) the message is sent once more on a new connection, and once any other reply has come it never is; a busy session (no RSET in front) whose server went before any reply is resent only when none of the message was written; without PIPELINING a MAIL without reply is redone, anything later is not; the object sends the next message
--EXTENSIONS--
smtpsock
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';

$G = ['send' => "220 scripted ESMTP\r\n"];
$caps = [
    'bdat' => "250-scripted\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
    'data' => "250-scripted\r\n250 PIPELINING\r\n",
    'lockstep' => "250-scripted\r\n250 8BITMIME\r\n",
];
$msg = fn(string $w) => "Subject: $w\r\n\r\n$w\r\n";
$M = ['expect' => 'MAIL', 'send' => "250 2.1.0 ok\r\n"];
$R = ['expect' => 'RCPT', 'send' => "250 2.1.5 ok\r\n"];
$RSET = ['expect' => 'RSET', 'send' => "250 2.0.0 ok\r\n"];
// a whole accepted message, per kind of server
$ok = function (string $kind, string $w, string $qid) use ($M, $R, $msg): array {
    if ($kind === 'bdat') {
        return [$M, $R, ['expect' => 'BDAT ' . strlen($msg($w)) . ' LAST'], ['read_bytes' => strlen($msg($w)), 'send' => "250 2.0.0 Ok: queued as $qid\r\n"]];
    }
    return [$M, $R, ['expect' => 'DATA', 'send' => "354 go\r\n"], ['read_data' => true, 'send' => "250 2.0.0 Ok: queued as $qid\r\n"]];
};
$n2 = strlen($msg('two'));

// name => [server kind, what the first connection does with message two (after message one), replayed?, idle seconds]
$cases = [
    '421 and close while idle, seen before writing' => ['bdat', [['send' => "421 4.4.2 idle timeout\r\n"], ['close' => true]], true, 0.3],
    'closed, RSET unanswered'      => ['bdat', [['expect' => 'RSET'], ['close' => true]], true, 1.2],
    'reset at RSET'                => ['bdat', [['expect' => 'RSET'], ['reset' => true]], true, 1.2],
    '421 to RSET'                  => ['bdat', [['expect' => 'RSET', 'send' => "421 4.4.2 closing\r\n"], ['close' => true]], true, 1.2],
    'closed mid-reply to RSET'     => ['bdat', [['expect' => 'RSET', 'send' => "250-2.0.0 o"], ['close' => true]], false, 1.2],
    'RSET answered, closed at MAIL' => ['bdat', [$RSET, ['expect' => 'MAIL'], ['close' => true]], false, 1.2],
    'RSET answered, 421 to MAIL'   => ['bdat', [$RSET, ['expect' => 'MAIL', 'send' => "421 4.3.0 bye\r\n"]], false, 1.2],
    'closed at RCPT'               => ['bdat', [$RSET, $M, ['expect' => 'RCPT'], ['close' => true]], false, 1.2],
    'closed in the BDAT chunk'     => ['bdat', [$RSET, $M, $R, ['expect' => 'BDAT'], ['read_bytes' => 5], ['close' => true]], false, 1.2],
    'closed after BDAT LAST'       => ['bdat', [$RSET, $M, $R, ['expect' => 'BDAT'], ['read_bytes' => $n2], ['close' => true]], false, 1.2],
    '421 after BDAT LAST'          => ['bdat', [$RSET, $M, $R, ['expect' => 'BDAT'], ['read_bytes' => $n2, 'send' => "421 4.3.0 lost\r\n"]], false, 1.2],
    'DATA: closed, RSET unanswered' => ['data', [['expect' => 'RSET'], ['close' => true]], true, 1.2],
    'DATA: closed after the dot'   => ['data', [$RSET, $M, $R, ['expect' => 'DATA', 'send' => "354 go\r\n"], ['read_data' => true], ['close' => true]], false, 1.2],
    // busy (used again at once, so no RSET in front); gone before any reply
    'busy, closed after BDAT LAST, no reply'  => ['bdat', [['expect' => 'MAIL'], ['expect' => 'RCPT'], ['expect' => 'BDAT'], ['read_bytes' => $n2], ['close' => true]], false, 0.0],
    'busy, DATA: closed before the 354'       => ['data', [['expect' => 'MAIL'], ['expect' => 'RCPT'], ['expect' => 'DATA'], ['close' => true]], true, 0.0],
    'no PIPELINING: 421 while idle' => ['lockstep', [['send' => "421 4.4.2 idle timeout\r\n"], ['close' => true]], true, 0.3],
    'no PIPELINING: MAIL unanswered' => ['lockstep', [['expect' => 'MAIL'], ['close' => true]], true, 0.3],
    'no PIPELINING: closed at RCPT' => ['lockstep', [$M, ['expect' => 'RCPT'], ['close' => true]], false, 0.3],
];

foreach ($cases as $name => [$kind, $fault, $replay, $idle]) {
    $E = ['expect' => 'EHLO', 'send' => $caps[$kind]];
    $second = $replay ? $ok($kind, 'two', 'TWO2') : [];
    $script = array_merge([$G, $E], $ok($kind, 'one', 'ONE1'), $fault,
        [['next_connection' => true], $G, $E], $second, $ok($kind, 'three', 'THREE3'),
        [['expect' => 'QUIT', 'send' => "221 bye\r\n"]]);
    $srv = smtpsock_test_scripted($script, ['stray_rset' => 'strict']);
    $s = new SmtpSocket($srv->host, $srv->port, ['timeout' => 2]);
    $out = [];
    $out[] = $s->send('a@example.org', 'b@example.org', $msg('one'))['queue_id'];
    usleep((int) ($idle * 1e6));
    try {
        $out[] = $s->send('a@example.org', 'b@example.org', $msg('two'))['queue_id'];
    } catch (SmtpSocketException $e) {
        $out[] = 'exception ' . $e->getCode() . ' (' . preg_replace('/127\.0\.0\.1:\d+/', 'HOST', $e->getMessage()) . ')';
    }
    try {
        $out[] = $s->send('a@example.org', 'b@example.org', $msg('three'))['queue_id'];
    } catch (SmtpSocketException $e) {
        $out[] = 'next failed: ' . $e->getMessage();
    }
    $s->quit();
    $srv->wait();
    $t1 = $srv->transcript(1);
    $t2 = $srv->transcript(2);
    $on2 = substr_count($t2, "Subject: two\r\n");
    printf("%-46s %s | two on the new connection: %d%s\n", $name, implode(', ', $out), $on2,
        ($replay ? $on2 === 1 : $on2 === 0) ? '' : '  <-- WRONG');
    if ($kind !== 'lockstep' && $idle > 1 && !str_contains($t1, "RSET\r\nMAIL FROM:<a@example.org>")) {
        echo "  no RSET in front of the transaction\n";
    }
}
?>
--EXPECT--
421 and close while idle, seen before writing  ONE1, TWO2, THREE3 | two on the new connection: 1
closed, RSET unanswered                        ONE1, TWO2, THREE3 | two on the new connection: 1
reset at RSET                                  ONE1, TWO2, THREE3 | two on the new connection: 1
421 to RSET                                    ONE1, TWO2, THREE3 | two on the new connection: 1
closed mid-reply to RSET                       ONE1, exception 0 (connection closed by HOST in the middle of a reply), THREE3 | two on the new connection: 0
RSET answered, closed at MAIL                  ONE1, exception 0 (connection closed by HOST), THREE3 | two on the new connection: 0
RSET answered, 421 to MAIL                     ONE1, exception 421 (server closed the session: 421 4.3.0 bye), THREE3 | two on the new connection: 0
closed at RCPT                                 ONE1, exception 0 (connection closed by HOST), THREE3 | two on the new connection: 0
closed in the BDAT chunk                       ONE1, exception 0 (connection closed by HOST), THREE3 | two on the new connection: 0
closed after BDAT LAST                         ONE1, exception 0 (connection closed by HOST), THREE3 | two on the new connection: 0
421 after BDAT LAST                            ONE1, exception 421 (server closed the session: 421 4.3.0 lost), THREE3 | two on the new connection: 0
DATA: closed, RSET unanswered                  ONE1, TWO2, THREE3 | two on the new connection: 1
DATA: closed after the dot                     ONE1, exception 0 (connection closed by HOST), THREE3 | two on the new connection: 0
busy, closed after BDAT LAST, no reply         ONE1, exception 0 (connection closed by HOST), THREE3 | two on the new connection: 0
busy, DATA: closed before the 354              ONE1, TWO2, THREE3 | two on the new connection: 1
no PIPELINING: 421 while idle                  ONE1, TWO2, THREE3 | two on the new connection: 1
no PIPELINING: MAIL unanswered                 ONE1, TWO2, THREE3 | two on the new connection: 1
no PIPELINING: closed at RCPT                  ONE1, exception 0 (connection closed by HOST), THREE3 | two on the new connection: 0
