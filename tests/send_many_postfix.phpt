--TEST--
sendMany() against Postfix (PIPELINING + CHUNKING): a window of pipelined transactions, keys kept, results in order, refusals per message without stopping the others, malformed elements as ValueError/TypeError results; every message delivered exactly once with its exact bytes; windows of 1 and 1000; argument errors before anything is sent
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php require __DIR__ . '/inc/smtpsock_test.inc'; if ($r = smtpsock_test_postfix_skip_reason()) die("skip $r"); ?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix();
$log = [];
$s = new SmtpSocket($pf['host'], $pf['port'], ['timeout' => 20,
    'logger' => function ($d, $l) use (&$log) { $log[] = "$d $l"; }]);

function body(string $tok, int $i): string
{
    // bare LF, a leading dot, 8-bit octets: what arrives must be these bytes, CRLF-normalised
    return "Subject: many $tok $i\r\nX-N: $i\r\n\r\nline one of $i\n.leading dot\r\n\xC3\xA9t\xC3\xA9\r\n" . str_repeat("x", $i * 37) . "\r\n";
}

$tok = smtpsock_test_token();
$msgs = [];
for ($i = 0; $i < 40; $i++) {
    $to = match (true) {
        $i === 5 => 'reject-1@example.org',                          // every recipient refused
        $i === 9 => ['ann@example.org', 'reject-2@example.org'],     // partly
        default => 'ann@example.org',
    };
    $from = $i === 13 ? 'refused-sender@example.com' : 'a@example.com';
    $msgs["k$i"] = ['from' => $from, 'to' => $to, 'message' => body($tok, $i)];
}
$msgs['bad-type'] = 'not an array';
$msgs['bad-addr'] = ['from' => 'a@example.com', 'to' => "x\r\n@example.org", 'message' => 'x'];
$msgs['bad-key'] = ['from' => 'a@example.com', 'to' => 'ann@example.org', 'message' => 'x', 'cc' => 'y'];
$msgs[77] = ['from' => 'a@example.com', 'to' => 'ann@example.org', 'message' => body($tok, 77), 'options' => ['atomic' => true]];
$msgs[78] = ['from' => 'a@example.com', 'to' => ['ann@example.org', 'reject-3@example.org'], 'message' => body($tok, 78), 'options' => ['atomic' => true]];

$res = $s->sendMany($msgs);
echo "same keys in the same order: ", array_keys($res) === array_keys($msgs) ? 'yes' : 'no', "\n";
$ok = $bad = [];
foreach ($res as $k => $r) {
    echo str_pad((string) $k, 9), implode(',', array_keys($r)), ' ';
    if ($r['error'] === null) {
        $ok[] = $k;
        echo "ok ", count($r['accepted']), " queue_id ", $r['queue_id'] !== null ? 'set' : 'null',
            $r['rejected'] ? ' rejected ' . implode(',', array_keys($r['rejected'])) : '', "\n";
    } else {
        echo get_class($r['error']), " ", $r['error']->getCode(), " ", $r['error']->getMessage(),
            $r['error'] instanceof SmtpSocketException && $r['error']->getRejected() ? ' rejected: ' . implode(',', array_keys($r['error']->getRejected())) : '', "\n";
    }
}
// several transactions in flight at once: MAIL of a later message written before an earlier final reply came
$sent = $recv = 0; $overlap = 0; $inflight = 0;
foreach ($log as $l) {
    if (str_starts_with($l, '> MAIL FROM')) { $inflight++; $overlap = max($overlap, $inflight); }
    if (preg_match('/^< 250 2\.0\.0 Ok: \d+ bytes queued/', $l) || preg_match('/^< 5\d\d /', $l) && false) { $inflight--; }
}
echo "transactions in flight at most: ", $overlap > 10 ? '> 10' : $overlap, "\n";

$got = smtpsock_test_wait_messages($pf['maildir'], $tok, count($ok));
$byN = [];
foreach ($got as $m) {
    preg_match('/^X-N: (\d+)$/m', $m['raw'], $mm);
    $byN[(int) $mm[1]][] = $m;
}
$exact = 0;
foreach ($ok as $k) {
    $n = is_int($k) ? $k : (int) substr($k, 1);
    $want = str_replace(["\r\n", "\n"], ["\n", "\n"], body($tok, $n));
    $m = $byN[$n] ?? [];
    if (count($m) === 1 && str_ends_with(str_replace("\r\n", "\n", $m[0]['raw']), $want)) {
        $exact++;
    } else {
        echo "message $k: ", count($m), " copies\n";
    }
}
echo "delivered exactly once with their exact bytes: $exact of ", count($ok), "; others: ", count($got) - count($ok), "\n";
usleep(300000);
echo "nothing else arrived: ", count(smtpsock_test_wait_messages($pf['maildir'], $tok, count($ok), 0.5)) === count($ok) ? 'yes' : 'no', "\n";

// window 1 and 1000, a generator with string keys, on_result
foreach ([1, 1000] as $w) {
    $tok = smtpsock_test_token();
    $gen = (function () use ($tok) {
        for ($i = 0; $i < 12; $i++) {
            yield "g$i" => ['from' => 'a@example.com', 'to' => ['ann@example.org', 'bob@example.org'], 'message' => body($tok, $i)];
        }
    })();
    $keys = [];
    $ret = $s->sendMany($gen, ['window' => $w, 'on_result' => function ($k, $r) use (&$keys) {
        $keys[] = $k . ($r['error'] ? '!' : '') . count($r['accepted']);
    }]);
    echo "window $w: returned ", json_encode($ret), " results ", implode(' ', $keys), "\n";
    echo "  delivered: ", count(smtpsock_test_wait_messages($pf['maildir'], $tok, 24)), "\n";
}

// arguments checked before anything is sent
$log = [];
foreach ([['window' => 0], ['window' => 1001], ['window' => '5'], ['on_result' => 'no_such_function'], ['foo' => 1]] as $o) {
    try {
        $s->sendMany([['from' => 'a@example.com', 'to' => 'ann@example.org', 'message' => 'x']], $o);
        echo "no error?!\n";
    } catch (Throwable $e) {
        echo get_class($e), ": ", $e->getMessage(), "\n";
    }
}
try { $s->sendMany('nope'); } catch (TypeError $e) { echo $e->getMessage(), "\n"; }
echo "written: ", count(array_filter($log, fn($l) => $l[0] === '>')), "\n";
echo "empty: ", json_encode($s->sendMany([])), " ", json_encode($s->sendMany(new ArrayIterator([]))), "\n";
// the session goes on
$r = $s->send('a@example.com', 'ann@example.org', "Subject: after\r\n\r\nx\r\n");
echo "send() after: ", $r['queue_id'] !== null ? 'ok' : 'no', "\n";
?>
--EXPECTF--
same keys in the same order: yes
k0       accepted,rejected,reply,queue_id,error ok 1 queue_id set
k1       accepted,rejected,reply,queue_id,error ok 1 queue_id set
k2       accepted,rejected,reply,queue_id,error ok 1 queue_id set
k3       accepted,rejected,reply,queue_id,error ok 1 queue_id set
k4       accepted,rejected,reply,queue_id,error ok 1 queue_id set
k5       accepted,rejected,reply,queue_id,error SmtpSocketException 550 every recipient was refused: 550 5.1.1 <reject-1@example.org>: %s rejected: reject-1@example.org
k6       accepted,rejected,reply,queue_id,error ok 1 queue_id set
k7       accepted,rejected,reply,queue_id,error ok 1 queue_id set
k8       accepted,rejected,reply,queue_id,error ok 1 queue_id set
k9       accepted,rejected,reply,queue_id,error ok 1 queue_id set rejected reject-2@example.org
k10      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k11      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k12      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k13      accepted,rejected,reply,queue_id,error SmtpSocketException 553 sender refused: 553 5.7.1 <refused-sender@example.com>: %s
k14      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k15      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k16      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k17      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k18      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k19      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k20      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k21      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k22      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k23      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k24      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k25      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k26      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k27      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k28      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k29      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k30      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k31      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k32      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k33      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k34      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k35      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k36      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k37      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k38      accepted,rejected,reply,queue_id,error ok 1 queue_id set
k39      accepted,rejected,reply,queue_id,error ok 1 queue_id set
bad-type accepted,rejected,reply,queue_id,error TypeError 0 SmtpSocket::sendMany(): each message must be of type array, string given
bad-addr accepted,rejected,reply,queue_id,error ValueError 0 SmtpSocket::sendMany(): message key "to" must be a bare address without CR, LF, NUL or angle brackets
bad-key  accepted,rejected,reply,queue_id,error ValueError 0 SmtpSocket::sendMany(): a message has the unknown key "cc" (known: from, to, message, options)
77       accepted,rejected,reply,queue_id,error ok 1 queue_id set
78       accepted,rejected,reply,queue_id,error SmtpSocketException 550 a recipient was refused; with atomic, nothing was sent: 550 5.1.1 <reject-3@example.org>: %s rejected: reject-3@example.org
transactions in flight at most: > 10
delivered exactly once with their exact bytes: 39 of 39; others: 0
nothing else arrived: yes
window 1: returned [] results g02 g12 g22 g32 g42 g52 g62 g72 g82 g92 g102 g112
  delivered: 24
window 1000: returned [] results g02 g12 g22 g32 g42 g52 g62 g72 g82 g92 g102 g112
  delivered: 24
ValueError: SmtpSocket::sendMany(): Argument #2 ($options) option "window" must be between 1 and 1000
ValueError: SmtpSocket::sendMany(): Argument #2 ($options) option "window" must be between 1 and 1000
TypeError: SmtpSocket::sendMany(): Argument #2 ($options) option "window" must be of type int, string given
TypeError: SmtpSocket::sendMany(): Argument #2 ($options) option "on_result" must be a valid callback, function "no_such_function" not found or invalid function name
ValueError: SmtpSocket::sendMany(): Argument #2 ($options) contains unknown option "foo" (known: window, on_result)
SmtpSocket::sendMany(): Argument #1 ($messages) must be of type Traversable|array, string given
written: 0
empty: [] []
send() after: ok
