--TEST--
sendMany(): an exception from on_result or from the iterable stops the batch: nothing more is taken or sent, the messages already written are seen to their end (delivered once, not reported), the exception propagates and the session stays usable; stream messages; int, string and bool keys
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php require __DIR__ . '/inc/smtpsock_test.inc'; if ($r = smtpsock_test_postfix_skip_reason()) die("skip $r"); ?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix();
$s = new SmtpSocket($pf['host'], $pf['port'], ['timeout' => 20]);

function gen(string $tok, int $n, array &$taken, ?int $throwAt = null): Generator
{
    for ($i = 0; $i < $n; $i++) {
        if ($i === $throwAt) {
            throw new DomainException("iterable failed at $i");
        }
        $taken[] = $i;
        yield "m$i" => ['from' => 'a@example.com', 'to' => 'ann@example.org', 'message' => "Subject: $tok $i\r\nX-N: $i\r\n\r\nx\r\n"];
    }
}
function delivered(array $pf, string $tok, int $want): string
{
    $got = smtpsock_test_wait_messages($pf['maildir'], $tok, $want, 3);
    usleep(300000);
    $got = smtpsock_test_wait_messages($pf['maildir'], $tok, $want, 0.2);
    $n = array_map(fn($m) => preg_match('/^X-N: (\d+)$/m', $m['raw'], $mm) ? (int) $mm[1] : -1, $got);
    sort($n);
    return implode(',', $n);
}

// on_result throws for the second result: window 2, so m0 and m1 are written, then m2 once m0 is known
$tok = smtpsock_test_token();
$taken = []; $seen = [];
try {
    $s->sendMany(gen($tok, 10, $taken), ['window' => 2, 'on_result' => function ($k, $r) use (&$seen) {
        $seen[] = $k;
        if ($k === 'm1') {
            throw new LogicException("stop at $k");
        }
    }]);
    echo "no exception?!\n";
} catch (LogicException $e) {
    echo "on_result threw: ", $e->getMessage(), "\n";
}
echo "  reported: ", implode(',', $seen), "; taken from the generator: ", implode(',', $taken), "\n";
echo "  delivered: ", delivered($pf, $tok, 3), "\n";

// the iterable throws at its fourth element: the three before are sent and reported, then the exception
$tok = smtpsock_test_token();
$taken = []; $seen = [];
try {
    $s->sendMany(gen($tok, 10, $taken, 3), ['on_result' => function ($k, $r) use (&$seen) { $seen[] = $k . ($r['error'] ? '!' : ''); }]);
    echo "no exception?!\n";
} catch (DomainException $e) {
    echo "iterable threw: ", $e->getMessage(), "\n";
}
echo "  reported: ", implode(',', $seen) ?: 'none', "\n";
echo "  delivered: ", delivered($pf, $tok, 3), "\n";

// without on_result: the exception, no return value
$tok = smtpsock_test_token();
$taken = [];
try {
    $r = $s->sendMany(gen($tok, 5, $taken, 2));
    echo "no exception?!\n";
} catch (DomainException $e) {
    echo "iterable threw without on_result: ", $e->getMessage(), "; delivered: ", delivered($pf, $tok, 2), "\n";
}

// the session goes on
$tok = smtpsock_test_token();
$r = $s->send('a@example.com', 'ann@example.org', "Subject: $tok after\r\nX-N: 99\r\n\r\nx\r\n");
echo "send() after: ", $r['queue_id'] ? 'ok' : 'no', "; delivered: ", delivered($pf, $tok, 1), "\n";

// stream messages (read whole), an iterator with keys of every kind
$tok = smtpsock_test_token();
$f = fopen('php://memory', 'w+');
fwrite($f, "Subject: $tok stream\r\nX-N: 1\r\n\r\nfrom a stream\n.dot\r\n");
rewind($f);
$w = fopen('php://stdout', 'w');
$it = (function () use ($tok, $f, $w) {
    yield 7 => ['from' => 'a@example.com', 'to' => 'ann@example.org', 'message' => "Subject: $tok int\r\nX-N: 0\r\n\r\nx\r\n"];
    yield 'k' => ['from' => 'a@example.com', 'to' => 'ann@example.org', 'message' => $f];
    yield 'w' => ['from' => 'a@example.com', 'to' => 'ann@example.org', 'message' => $w];
    yield 'n' => ['from' => 'a@example.com', 'to' => 'ann@example.org', 'message' => 42];
    yield true => ['from' => 'a@example.com', 'to' => 'ann@example.org', 'message' => "Subject: $tok bool\r\nX-N: 2\r\n\r\nx\r\n", 'options' => ['atomic' => 'yes']];
    yield 'opts' => ['from' => 'a@example.com', 'to' => [], 'message' => 'x'];
    yield 'params' => ['from' => 'a@example.com', 'to' => 'ann@example.org', 'message' => 'x', 'options' => ['mail_params' => ['BAD KEY' => 1]]];
    yield 'utf8' => ['from' => "a\xff@example.com", 'to' => 'ann@example.org', 'message' => 'x'];
})();
$res = $s->sendMany($it);
foreach ($res as $k => $r) {
    echo var_export($k, true), ": ", $r['error'] ? get_class($r['error']) . ': ' . $r['error']->getMessage() : 'ok', "\n";
}
echo "delivered: ", delivered($pf, $tok, 2), "\n";
$got = smtpsock_test_wait_messages($pf['maildir'], "$tok stream", 1);
echo "stream body exact: ", str_ends_with(str_replace("\r\n", "\n", $got[0]['raw'] ?? ''), "\n\nfrom a stream\n.dot\n") ? 'yes' : 'no', "\n";
?>
--EXPECT--
on_result threw: stop at m1
  reported: m0,m1; taken from the generator: 0,1,2
  delivered: 0,1,2
iterable threw: iterable failed at 3
  reported: m0,m1,m2
  delivered: 0,1,2
iterable threw without on_result: iterable failed at 2; delivered: 0,1
send() after: ok; delivered: 99
7: ok
'k': ok
'w': ValueError: SmtpSocket::sendMany(): message key "message" must be a readable stream
'n': TypeError: SmtpSocket::sendMany(): message key "message" must be of type string or a stream resource, int given
1: TypeError: SmtpSocket::sendMany(): option "atomic" must be of type bool, string given
'opts': ValueError: SmtpSocket::sendMany(): message key "to" must not be empty
'params': ValueError: SmtpSocket::sendMany(): mail_params: invalid ESMTP keyword "BAD KEY"
'utf8': ValueError: SmtpSocket::sendMany(): message key "from" must be valid UTF-8
delivered: 0,1
stream body exact: yes
