--TEST--
Stream bodies over BDAT (real Postfix, CHUNKING): a 24 MiB file sent with memory_limit=16M arrives with exact bytes in 1 MiB chunks, CRLF across a chunk boundary, dots and bare LF handled; a stream that fails mid-message delivers nothing and the same object sends the next message; without CHUNKING the stream goes with DATA, and the same 24 MiB file with DATA (chunking off, real Postfix) arrives exact with memory growing by less than 512 KiB
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
if ($r = smtpsock_test_postfix_skip_reason()) die("skip $r");
?>
--INI--
memory_limit=16M
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix();

/* The message: headers, then lines of varying length (some starting with a
 * dot, some ending in a bare LF) until 24 MiB; byte 1 MiB - 1 is the CR of
 * a CRLF whose LF is the first byte of the second chunk. Written in pieces,
 * never held whole. */
$token = smtpsock_test_token();
$file = tempnam(sys_get_temp_dir(), 'smtpsock-stream-');
$fh = fopen($file, 'wb');
$head = "From: a@example.org\r\nTo: b@example.org\r\nSubject: stream $token\r\n\r\n";
fwrite($fh, $head);
$written = strlen($head);
$target = 24 << 20;
$expect = hash_init('sha256');           // what Maildir must hold: CRLF and bare LF both as LF
hash_update($expect, str_replace("\r\n", "\n", $head));
$i = 0;
while ($written < $target) {
    $i++;
    $len = ($i * 7919) % 997;
    $line = ($i % 13 === 0 ? '.' : '') . substr(str_repeat("line $i of the stream body; ", 40), 0, $len);
    $eol = $i % 101 === 0 ? "\n" : "\r\n";
    if ($written < (1 << 20) && $written + strlen($line) + 2 > (1 << 20)) {
        // pad so that this line's CRLF straddles the first chunk boundary
        $line = str_repeat('p', (1 << 20) - 1 - $written);
        $eol = "\r\n";
    }
    fwrite($fh, $line . $eol);
    hash_update($expect, $line . "\n");
    $written += strlen($line) + strlen($eol);
}
fclose($fh);
$expect = hash_final($expect);
var_dump(filesize($file) >= $target);
$fh = fopen($file, 'rb');
fseek($fh, (1 << 20) - 1);
var_dump(fread($fh, 2) === "\r\n");
fclose($fh);

$log = [];
$s = new SmtpSocket($pf['host'], $pf['port'], ['timeout' => 30,
    'logger' => function ($d, $l) use (&$log) { if ($d === '>') { $log[] = $l; } }]);
$before = memory_get_usage();
$fh = fopen($file, 'rb');
$r = $s->send('a@example.org', 'b@example.org', $fh);
fclose($fh);
$peak = memory_get_peak_usage();
echo "accepted: ", implode(',', $r['accepted']), "\n";
var_dump($r['queue_id'] !== null);
$bdat = array_values(array_filter($log, fn($l) => str_starts_with($l, 'BDAT')));
echo "DATA used: ", count(preg_grep('/^DATA$/', $log)), "\n";
echo "BDAT chunks: ", count($bdat) >= 24 ? 'at least 24' : count($bdat), "\n";
echo "last marked once, at the end: ", (count(preg_grep('/ LAST$/', $bdat)) === 1 && str_ends_with(end($bdat), ' LAST')) ? 'yes' : 'no', "\n";
$sizes = array_map(fn($l) => (int) explode(' ', $l)[1], $bdat);
echo "every chunk at most 1 MiB + its line ends: ", max($sizes) <= (1 << 20) + 40000 ? 'yes' : 'no', "\n";
echo "memory grew by less than 4 MiB: ", ($peak - $before) < (4 << 20) ? 'yes' : 'no (' . ($peak - $before) . ')', "\n";

/* The same file with DATA (chunking off): read and encoded 32 KiB at a
 * time, so memory stays flat whatever the size. */
$dlog = [];
$sd = new SmtpSocket($pf['host'], $pf['port'], ['timeout' => 30, 'chunking' => false,
    'logger' => function ($d, $l) use (&$dlog) { if ($d === '>') { $dlog[] = $l; } }]);
$sd->noop();
memory_reset_peak_usage();
$before = memory_get_usage();
$fh = fopen($file, 'rb');
$r = $sd->send('a@example.org', 'b@example.org', $fh);
fclose($fh);
$peak = memory_get_peak_usage();
echo "DATA: accepted: ", implode(',', $r['accepted']), ", DATA used: ", count(preg_grep('/^DATA$/', $dlog)),
    ", BDAT used: ", count(preg_grep('/^BDAT/', $dlog)), "\n";
echo "DATA: memory grew by less than 512 KiB: ", ($peak - $before) < (512 << 10) ? 'yes' : 'no (' . ($peak - $before) . ')', "\n";
$sd->quit();

/* A stream that fails after 3 MiB: an exception, nothing delivered, the
 * object still sends. */
class FailingStream {
    public $context;
    private int $left = 3 << 20;
    private bool $first = true;
    public function stream_open($path, $mode, $options, &$opened) { return true; }
    public function stream_read($n) {
        if ($this->left <= 0) { return false; }     // a read error after 3 MiB
        $n = min($n, $this->left);
        $this->left -= $n;
        if ($this->first) {
            $this->first = false;
            return str_pad("Subject: broken\r\n\r\n", $n, 'x');
        }
        return str_repeat('y', $n);
    }
    public function stream_eof() { return false; }
    public function stream_stat() { return []; }
}
stream_wrapper_register('failing', 'FailingStream');
$broken = smtpsock_test_token();
$fh = fopen("failing://$broken", 'rb');
try {
    $s->send('a@example.org', 'b@example.org', $fh);
    echo "sent?!\n";
} catch (SmtpSocketException $e) {
    echo get_class($e), " ", $e->getCode(), ": ", $e->getMessage(), "\n";
}
fclose($fh);
$next = smtpsock_test_token();
$r = $s->send('a@example.org', 'b@example.org', "Subject: after $next\r\n\r\nafter\r\n");
echo "after the failure: ", implode(',', $r['accepted']), "\n";

ini_set('memory_limit', '256M');
$msgs = smtpsock_test_wait_messages($pf['maildir'], $token, 2, 60);
foreach ($msgs as $m) {
    $raw = $m['raw'];
    $start = strpos($raw, "From: a@example.org\n");
    echo "delivered bytes exact: ", hash('sha256', substr($raw, $start)) === $expect ? 'yes' : 'no', "\n";
}
smtpsock_test_wait_messages($pf['maildir'], $next, 1);
$stray = 0;
foreach (glob($pf['maildir'] . '/{new,cur}/*', GLOB_BRACE) as $f) {
    if (str_contains((string) file_get_contents($f, false, null, 0, 4096), 'Subject: broken')) {
        $stray++;
    }
}
echo "broken message delivered: $stray\n";

/* Without CHUNKING (a scripted server): the same kind of stream goes with DATA. */
$srv = smtpsock_test_scripted([
    ['send' => "220 scripted ESMTP\r\n"],
    ['expect' => 'EHLO', 'send' => "250-scripted\r\n250 PIPELINING\r\n"],
    ['expect' => 'MAIL FROM:<a@example.org>'], ['expect' => 'RCPT TO:<b@example.org>'],
    ['expect' => 'DATA', 'send' => "250 ok\r\n250 ok\r\n354 go\r\n"],
    ['read_data' => true, 'send' => "250 2.0.0 Ok: queued as 4XyZ12\r\n"],
    ['expect' => 'QUIT', 'send' => "221 bye\r\n"],
]);
$d = new SmtpSocket($srv->host, $srv->port, ['timeout' => 5]);
$fh = fopen('php://memory', 'w+b');
fwrite($fh, "Subject: data\r\n\r\n.dot\r\nend\r\n");
rewind($fh);
$r = $d->send('a@example.org', 'b@example.org', $fh);
echo "DATA server: ", $r['queue_id'], "\n";
$d->quit();
$srv->wait();
echo "dot stuffed: ", str_contains($srv->transcript(), "\r\n..dot\r\n") ? 'yes' : 'no', "\n";
unlink($file);
?>
--EXPECTF--
bool(true)
bool(true)
accepted: b@example.org
bool(true)
DATA used: 0
BDAT chunks: at least 24
last marked once, at the end: yes
every chunk at most 1 MiB + its line ends: yes
memory grew by less than 4 MiB: yes
DATA: accepted: b@example.org, DATA used: 1, BDAT used: 0
DATA: memory grew by less than 512 KiB: yes
SmtpSocketException 0: could not read the message stream; the message was not sent
after the failure: b@example.org
delivered bytes exact: yes
delivered bytes exact: yes
broken message delivered: 0
DATA server: 4XyZ12
dot stuffed: yes
