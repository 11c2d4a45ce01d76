--TEST--
sendMany() faults against scripted servers: the connection closed at each stage mid-window (DATA with PIPELINING, CHUNKING windows, atomic, the liveness RSET of a reused session, no reconnection possible): a message any of whose content was written gets code 0 "may have been delivered" and is never sent again; the messages none of whose content was written go on a new connection (transcript per connection); without PIPELINING a reused session gets no RSET in front and a gone server's first MAIL sends the message on the next connection; refusals per message
--EXTENSIONS--
smtpsock
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';

const EHLO_DATA = "250-scripted\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n";
const EHLO_BDAT = "250-scripted\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 ENHANCEDSTATUSCODES\r\n";

function hello(string $ehlo): array
{
    return [['send' => "220 scripted ESMTP\r\n"], ['expect' => 'EHLO', 'send' => $ehlo]];
}
// one whole DATA transaction for message $n; $rset: an RSET in front
function data_tx(int $n, bool $rset = false): array
{
    return array_merge($rset ? [['expect' => 'RSET', 'send' => "250 2.0.0 Ok\r\n"]] : [], [
        ['expect' => "MAIL FROM:<a@example.com>", 'send' => "250 2.1.0 Ok\r\n"],
        ['expect' => "RCPT TO:<m$n@example.org>", 'send' => "250 2.1.5 Ok\r\n"],
        ['expect' => 'DATA', 'send' => "354 go\r\n"],
        ['read_data' => true, 'send' => "250 2.0.0 Ok: queued as QID$n\r\n"],
    ]);
}
function bdat_tx(int $n, bool $rset = false, bool $reply = true): array
{
    $steps = $rset ? [['expect' => 'RSET'] + ($reply ? ['send' => "250 2.0.0 Ok\r\n"] : [])] : [];
    foreach ([["MAIL FROM:<a@example.com>", "250 2.1.0 Ok\r\n"], ["RCPT TO:<m$n@example.org>", "250 2.1.5 Ok\r\n"],
              ["BDAT 4 LAST", null]] as [$e, $r]) {
        $steps[] = ['expect' => $e] + ($reply && $r ? ['send' => $r] : []);
    }
    $steps[] = ['read_bytes' => 4] + ($reply ? ['send' => "250 2.0.0 Ok: queued as QID$n\r\n"] : []);
    return $steps;
}
function msgs(array $ns, array $opts = []): array
{
    $m = [];
    foreach ($ns as $n) {
        $m["m$n"] = ['from' => 'a@example.com', 'to' => "m$n@example.org", 'message' => "m$n\r\n"] + ($opts ? ['options' => $opts] : []);
    }
    return $m;
}
function show(string $case, array $res, SmtpsockScriptedServer $srv, int $conns): void
{
    $out = [];
    foreach ($res as $k => $r) {
        $out[] = $k . ':' . ($r['error'] === null ? 'ok ' . $r['queue_id']
            : $r['error']->getCode() . (str_contains($r['error']->getMessage(), 'may have been delivered') ? ' maybe' : ' ' . $r['error']->getMessage()));
    }
    echo "$case: ", implode(', ', $out), "\n";
    $srv->wait(5);
    for ($c = 1; $c <= $conns; $c++) {
        preg_match_all('/^RCPT TO:<(m\d+)@|^(RSET)|^(BDAT \d+ LAST)|^(DATA)/m', $srv->transcript($c), $mm, PREG_SET_ORDER);
        echo "  connection $c: ", implode(' ', array_map(fn($x) => end($x), $mm)) ?: '-', "\n";
    }
}
function client(SmtpsockScriptedServer $srv): SmtpSocket
{
    return new SmtpSocket($srv->host, $srv->port, ['timeout' => 5, 'security' => 'none']);
}

// DATA with PIPELINING
// (a) closed after m0's MAIL was read: nothing of any content written: all three on the new connection
$srv = smtpsock_test_scripted(array_merge(hello(EHLO_DATA), [['expect' => 'MAIL'], ['close' => true], ['next_connection' => true]],
    hello(EHLO_DATA), data_tx(0), data_tx(1, true), data_tx(2, true)), ['connections' => 2]);
show('data, closed after MAIL', client($srv)->sendMany(msgs([0, 1, 2])), $srv, 2);

// (b) closed after m0's end of data, before its reply: m0 may have been delivered; m1 (MAIL, RCPT, DATA
// written with m0's end of data) and m2 go on the new connection
$srv = smtpsock_test_scripted(array_merge(hello(EHLO_DATA), array_slice(data_tx(0), 0, 3), [['read_data' => true], ['close' => true],
    ['next_connection' => true]], hello(EHLO_DATA), data_tx(1), data_tx(2, true)), ['connections' => 2]);
show('data, closed after the end of data', client($srv)->sendMany(msgs([0, 1, 2])), $srv, 2);

// (c) m0 accepted, closed after m1's DATA: m1 not begun
$srv = smtpsock_test_scripted(array_merge(hello(EHLO_DATA), data_tx(0), [['expect' => 'RSET'], ['expect' => 'MAIL'], ['expect' => 'RCPT'],
    ['expect' => 'DATA'], ['close' => true], ['next_connection' => true]], hello(EHLO_DATA), data_tx(1), data_tx(2, true)), ['connections' => 2]);
show('data, closed after the next DATA', client($srv)->sendMany(msgs([0, 1, 2])), $srv, 2);

// (d) closed by a 421 in place of m1's 354
$srv = smtpsock_test_scripted(array_merge(hello(EHLO_DATA), data_tx(0), [['expect' => 'RSET', 'send' => "250 2.0.0 Ok\r\n"],
    ['expect' => 'MAIL', 'send' => "250 2.1.0 Ok\r\n"], ['expect' => 'RCPT', 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'DATA', 'send' => "421 4.3.2 shutting down\r\n"], ['close' => true], ['next_connection' => true]],
    hello(EHLO_DATA), data_tx(1), data_tx(2, true)), ['connections' => 2]);
show('data, 421 for DATA', client($srv)->sendMany(msgs([0, 1, 2])), $srv, 2);

// CHUNKING, a window of 4: every message written at once
// (e) every command and chunk read, no reply, closed: all may have been delivered, none sent again
$srv = smtpsock_test_scripted(array_merge(hello(EHLO_BDAT), bdat_tx(0, false, false), bdat_tx(1, true, false), bdat_tx(2, true, false),
    [['close' => true]]), ['connections' => 1]);
show('bdat, closed before any reply', client($srv)->sendMany(msgs([0, 1, 2]), ['window' => 4]), $srv, 2);

// (f) m0 and m1 answered, then closed: m2 and m3 may have been delivered
$srv = smtpsock_test_scripted(array_merge(hello(EHLO_BDAT), bdat_tx(0), bdat_tx(1, true), bdat_tx(2, true, false), bdat_tx(3, true, false),
    [['close' => true]]), ['connections' => 1]);
show('bdat, closed mid-window', client($srv)->sendMany(msgs([0, 1, 2, 3]), ['window' => 4]), $srv, 2);

// (g) window 2 of 4 messages: m2 and m3 wait for room; closed after m0's reply and m1's chunk: m1 may have been
// delivered, m2 (written after m0's reply) too; m3 goes on the new connection
$srv = smtpsock_test_scripted(array_merge(hello(EHLO_BDAT), bdat_tx(0), bdat_tx(1, true, false), bdat_tx(2, true, false), [['close' => true],
    ['next_connection' => true]], hello(EHLO_BDAT), bdat_tx(3)), ['connections' => 2]);
show('bdat window 2, closed', client($srv)->sendMany(msgs([0, 1, 2, 3]), ['window' => 2]), $srv, 2);

// (h) atomic: the content waits for the envelope replies; closed after the RCPT: not begun, sent again
$srv = smtpsock_test_scripted(array_merge(hello(EHLO_BDAT), [['expect' => 'MAIL', 'send' => "250 2.1.0 Ok\r\n"], ['expect' => 'RCPT'],
    ['close' => true], ['next_connection' => true]], hello(EHLO_BDAT), [['expect' => 'MAIL', 'send' => "250 2.1.0 Ok\r\n"],
    ['expect' => 'RCPT', 'send' => "250 2.1.5 Ok\r\n"], ['expect' => 'BDAT 4 LAST'], ['read_bytes' => 4, 'send' => "250 2.0.0 Ok: queued as QID0\r\n"]],
    [['expect' => 'RSET', 'send' => "250 2.0.0 Ok\r\n"], ['expect' => 'MAIL', 'send' => "250 2.1.0 Ok\r\n"], ['expect' => 'RCPT', 'send' => "250 2.1.5 Ok\r\n"], ['expect' => 'BDAT 4 LAST'],
    ['read_bytes' => 4, 'send' => "250 2.0.0 Ok: queued as QID1\r\n"]]), ['connections' => 2]);
show('atomic, closed after RCPT', client($srv)->sendMany(msgs([0, 1], ['atomic' => true])), $srv, 2);

// (i) a reused session whose server has gone: the RSET in front of the first transaction meets the end
// of the stream; nothing of it was taken, so every message goes on the new connection
$srv = smtpsock_test_scripted(array_merge(hello(EHLO_BDAT), bdat_tx(0), [['close' => true], ['next_connection' => true]],
    hello(EHLO_BDAT), bdat_tx(1), bdat_tx(2, true)), ['connections' => 2]);
$c = client($srv);
$first = $c->sendMany(msgs([0]));
usleep(200000);
$res = $first + $c->sendMany(msgs([1, 2]));
show('reused, server gone', $res, $srv, 2);

// (i2) the same without PIPELINING: no RSET in front (it would cost a round trip per call); the
// first MAIL meets the end of the stream, nothing of the message was written, so it goes on the
// new connection, once
const EHLO_PLAIN = "250-scripted\r\n250 ENHANCEDSTATUSCODES\r\n";
$srv = smtpsock_test_scripted(array_merge(hello(EHLO_PLAIN), data_tx(0), [['close' => true], ['next_connection' => true]],
    hello(EHLO_PLAIN), data_tx(1), data_tx(2)), ['connections' => 2]);
$c = client($srv);
$first = $c->sendMany(msgs([0]));
usleep(200000);
$res = $first + $c->sendMany(msgs([1, 2]));
show('no pipelining, reused, server gone', $res, $srv, 2);
// ... and alive: the second call goes straight to MAIL on the same connection
$srv = smtpsock_test_scripted(array_merge(hello(EHLO_PLAIN), data_tx(0), data_tx(1)), ['connections' => 1]);
$c = client($srv);
$res = $c->sendMany(msgs([0])) + $c->sendMany(msgs([1]));
show('no pipelining, reused', $res, $srv, 1);

// (j) the new connection cannot be made: each message not begun gets the connection's error
$srv = smtpsock_test_scripted(array_merge(hello(EHLO_DATA), [['expect' => 'MAIL'], ['close' => true]]), ['connections' => 1]);
$res = client($srv)->sendMany(msgs([0, 1]));
foreach ($res as $k => $r) {
    echo "no reconnection: $k: ", get_class($r['error']), ' ', $r['error']->getCode(), ' ',
        preg_match('/connect|refused/i', $r['error']->getMessage()) ? 'connection error' : $r['error']->getMessage(), "\n";
}

// (k) refusals at each stage, DATA with PIPELINING: sender, every recipient, DATA, end of data; one command at a time
$srv = smtpsock_test_scripted(array_merge(hello(EHLO_DATA), [
    ['expect' => 'MAIL', 'send' => "550 5.7.1 sender refused\r\n"], ['expect' => 'RCPT', 'send' => "503 5.5.1 need MAIL\r\n"],
    ['expect' => 'DATA', 'send' => "503 5.5.1 need RCPT\r\n"],
    ['expect' => 'RSET', 'send' => "250 2.0.0 Ok\r\n"], ['expect' => 'MAIL', 'send' => "250 2.1.0 Ok\r\n"],
    ['expect' => 'RCPT', 'send' => "550 5.1.1 no such user\r\n"], ['expect' => 'DATA', 'send' => "554 5.5.1 no valid recipients\r\n"],
    ['expect' => 'RSET', 'send' => "250 2.0.0 Ok\r\n"],
    ['expect' => 'MAIL', 'send' => "250 2.1.0 Ok\r\n"], ['expect' => 'RCPT', 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'DATA', 'send' => "354 go\r\n"], ['read_data' => true, 'send' => "554 5.7.1 spam\r\n"],
    ['expect' => 'RSET', 'send' => "250 2.0.0 Ok\r\n"],
    ['expect' => 'MAIL', 'send' => "250 2.1.0 Ok\r\n"], ['expect' => 'RCPT', 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'DATA', 'send' => "451 4.3.0 try later\r\n"], ['expect' => 'RSET', 'send' => "250 2.0.0 Ok\r\n"],
]), ['connections' => 1]);
show('refusals', client($srv)->sendMany(msgs([0, 1, 2, 3])), $srv, 1);
?>
--EXPECT--
data, closed after MAIL: m0:ok QID0, m1:ok QID1, m2:ok QID2
  connection 1: m0 DATA
  connection 2: m0 DATA RSET m1 DATA RSET m2 DATA
data, closed after the end of data: m0:0 maybe, m1:ok QID1, m2:ok QID2
  connection 1: m0 DATA RSET m1 DATA
  connection 2: m1 DATA RSET m2 DATA
data, closed after the next DATA: m0:ok QID0, m1:ok QID1, m2:ok QID2
  connection 1: m0 DATA RSET m1 DATA
  connection 2: m1 DATA RSET m2 DATA
data, 421 for DATA: m0:ok QID0, m1:ok QID1, m2:ok QID2
  connection 1: m0 DATA RSET m1 DATA
  connection 2: m1 DATA RSET m2 DATA
bdat, closed before any reply: m0:0 maybe, m1:0 maybe, m2:0 maybe
  connection 1: m0 BDAT 4 LAST RSET m1 BDAT 4 LAST RSET m2 BDAT 4 LAST
  connection 2: -
bdat, closed mid-window: m0:ok QID0, m1:ok QID1, m2:0 maybe, m3:0 maybe
  connection 1: m0 BDAT 4 LAST RSET m1 BDAT 4 LAST RSET m2 BDAT 4 LAST RSET m3 BDAT 4 LAST
  connection 2: -
bdat window 2, closed: m0:ok QID0, m1:0 maybe, m2:0 maybe, m3:ok QID3
  connection 1: m0 BDAT 4 LAST RSET m1 BDAT 4 LAST RSET m2 BDAT 4 LAST
  connection 2: m3 BDAT 4 LAST
atomic, closed after RCPT: m0:ok QID0, m1:ok QID1
  connection 1: m0
  connection 2: m0 BDAT 4 LAST RSET m1 BDAT 4 LAST
reused, server gone: m0:ok QID0, m1:ok QID1, m2:ok QID2
  connection 1: m0 BDAT 4 LAST
  connection 2: m1 BDAT 4 LAST RSET m2 BDAT 4 LAST
no pipelining, reused, server gone: m0:ok QID0, m1:ok QID1, m2:ok QID2
  connection 1: m0 DATA
  connection 2: m1 DATA m2 DATA
no pipelining, reused: m0:ok QID0, m1:ok QID1
  connection 1: m0 DATA m1 DATA
no reconnection: m0: SmtpSocketException 0 connection error
no reconnection: m1: SmtpSocketException 0 connection error
refusals: m0:550 sender refused: 550 5.7.1 sender refused, m1:550 every recipient was refused: 550 5.1.1 no such user, m2:554 message refused: 554 5.7.1 spam, m3:451 DATA refused: 451 4.3.0 try later
  connection 1: m0 DATA RSET m1 DATA RSET m2 DATA RSET m3 DATA RSET
