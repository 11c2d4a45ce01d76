--TEST--
sendMany(): the session cannot be re-entered from on_result or from the iterable (Error), and stays usable afterwards
--EXTENSIONS--
smtpsock
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$tx = fn(int $n) => [
    ['expect' => 'MAIL', 'send' => "250 2.1.0 Ok\r\n"], ['expect' => "RCPT TO:<m$n@", 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'BDAT 4 LAST'], ['read_bytes' => 4, 'send' => "250 2.0.0 Ok: queued as QID$n\r\n"],
];
$srv = smtpsock_test_scripted(array_merge([['send' => "220 scripted ESMTP\r\n"],
    ['expect' => 'EHLO', 'send' => "250-scripted\r\n250-PIPELINING\r\n250 CHUNKING\r\n"]], $tx(0),
    [['expect' => 'RSET', 'send' => "250 2.0.0 Ok\r\n"]], $tx(1), [['expect' => 'RSET', 'send' => "250 2.0.0 Ok\r\n"]], $tx(2),
    [['expect' => 'NOOP', 'send' => "250 2.0.0 Ok\r\n"], ['expect' => 'QUIT', 'send' => "221 bye\r\n"]]), ['connections' => 1]);
$s = new SmtpSocket($srv->host, $srv->port, ['security' => 'none', 'timeout' => 5]);
$m = fn(int $n) => ['from' => 'a@example.com', 'to' => "m$n@example.org", 'message' => "m$n\r\n"];

try {
    $s->sendMany([$m(0)], ['on_result' => function ($k, $r) use ($s) { $s->send('a@example.com', 'x@example.org', 'x'); }]);
} catch (Error $e) {
    echo get_class($e), ": ", $e->getMessage(), "\n";
}
$gen = (function () use ($s, $m) {
    yield 1 => $m(1);
    yield 2 => $m(2);
    $s->sendMany([$m(9)]);
    yield 3 => $m(3);
})();
$seen = [];
try {
    $s->sendMany($gen, ['on_result' => function ($k, $r) use (&$seen) { $seen[] = $k . ':' . ($r['queue_id'] ?? 'error'); }]);
} catch (Error $e) {
    echo get_class($e), ": ", $e->getMessage(), "; reported first: ", implode(' ', $seen), "\n";
}
echo "afterwards: ", $s->noop(), "\n";
$s->quit();
?>
--EXPECT--
Error: SmtpSocket cannot be used while its sendMany() runs (from on_result or the iterable)
Error: SmtpSocket cannot be used while its sendMany() runs (from on_result or the iterable); reported first: 1:QID1 2:QID2
afterwards: 250 2.0.0 Ok
