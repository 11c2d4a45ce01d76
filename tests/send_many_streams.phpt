--TEST--
sendMany(): stream messages are read as they are written (one BDAT chunk per piece with CHUNKING, the body after the 354 with DATA), delivered byte for byte; a stream that fails mid-message fails that message only (BDAT: RSET; DATA: the connection is dropped, the end of data never written, and the messages after it go on a new connection)
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php require __DIR__ . '/inc/smtpsock_test.inc'; if ($r = smtpsock_test_postfix_skip_reason()) die("skip $r"); ?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix();

final class FailingStream
{
    public $context;
    private int $reads = 0;
    public function stream_open(string $path, string $mode, int $options, ?string &$opened): bool { return true; }
    public function stream_read(int $count): string|false
    {
        return ++$this->reads === 1 ? "Subject: half\r\nX-N: 9\r\n\r\n" . str_repeat("h", 1000) . "\r\n" : false;
    }
    public function stream_eof(): bool { return false; }
    public function stream_stat(): array { return []; }
}
stream_wrapper_register('failing', FailingStream::class);

foreach (['bdat' => [], 'data' => ['chunking' => false]] as $mode => $opts) {
    $log = [];
    $s = new SmtpSocket($pf['host'], $pf['port'], $opts + ['timeout' => 20,
        'logger' => function ($d, $l) use (&$log) { $log[] = "$d $l"; }]);
    $tok = smtpsock_test_token();
    $bodies = [];
    $msgs = [];
    foreach ([0 => 300000, 1 => 10, 2 => 0] as $n => $size) {
        $bodies[$n] = "Subject: $tok $n\r\nX-N: $n\r\n\r\n" . substr(str_repeat("line of text.\r\n.dot\nbare\r\n\xC3\xA9", (int) ($size / 20) + 1), 0, $size);
        $f = fopen('php://temp', 'w+');
        fwrite($f, $bodies[$n]);
        rewind($f);
        $msgs[$n] = ['from' => 'a@example.com', 'to' => 'ann@example.org', 'message' => $f];
    }
    $msgs[3] = ['from' => 'a@example.com', 'to' => 'ann@example.org', 'message' => fopen('failing://x', 'r')];
    $bodies[4] = "Subject: $tok 4\r\nX-N: 4\r\n\r\nafter\r\n";
    $msgs[4] = ['from' => 'a@example.com', 'to' => 'ann@example.org', 'message' => $bodies[4]];
    $res = $s->sendMany($msgs);
    foreach ($res as $k => $r) {
        echo "$mode $k: ", $r['error'] ? $r['error']->getCode() . ' ' . $r['error']->getMessage() : 'ok', "\n";
    }
    $got = smtpsock_test_wait_messages($pf['maildir'], $tok, 4);
    $exact = [];
    foreach ($got as $m) {
        preg_match('/^X-N: (\d+)$/m', $m['raw'], $mm);
        $n = (int) $mm[1];
        $want = str_replace("\r\n", "\n", $bodies[$n]);
        if (!str_ends_with($want, "\n")) {
            $want .= "\n";
        }
        $exact[] = $n . (str_ends_with(str_replace("\r\n", "\n", $m['raw']), $want) ? '' : '(differs)');
    }
    sort($exact);
    echo "$mode delivered: ", implode(',', $exact), "\n";
    $bdat = count(array_filter($log, fn($l) => str_starts_with($l, '> BDAT')));
    $conns = count(array_filter($log, fn($l) => str_starts_with($l, '> EHLO')));
    echo "$mode BDAT commands: ", $bdat > 5 ? 'several' : $bdat, ", connections: $conns\n";
}
?>
--EXPECT--
bdat 0: ok
bdat 1: ok
bdat 2: ok
bdat 3: 0 could not read the message stream; the message was not sent
bdat 4: ok
bdat delivered: 0,1,2,4
bdat BDAT commands: several, connections: 1
data 0: ok
data 1: ok
data 2: ok
data 3: 0 could not read the message stream; the message was not sent
data 4: ok
data delivered: 0,1,2,4
data BDAT commands: 0, connections: 2
