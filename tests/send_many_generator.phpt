--TEST--
sendMany() with a generator of 20,000 messages and on_result against smtp-sink (PIPELINING, DATA): constant memory (peak usage bounded whatever the count), results in order, every message accepted; the server counts every message once
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php
if (!is_executable('/usr/sbin/smtp-sink')) die('skip smtp-sink (Postfix) is not installed');
if (!function_exists('memory_reset_peak_usage')) die('skip needs memory_reset_peak_usage()');
?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
// smtp-sink on a free port; -c counts what it received (printed when it ends)
$port = 0;
for ($try = 0; $try < 20 && !$port; $try++) {
    $p = random_int(20000, 60000);
    $sock = @stream_socket_server("tcp://127.0.0.1:$p");
    if ($sock) { fclose($sock); $port = $p; }
}
$dir = smtpsock_test_mkdtemp('smtpsock-sink-');
$args = ['/usr/sbin/smtp-sink', '-c'];
if (function_exists('posix_geteuid') && posix_geteuid() === 0) {
    array_push($args, '-u', 'nobody');
}
array_push($args, "127.0.0.1:$port", '64');
$proc = proc_open($args, [0 => ['pipe', 'r'], 1 => ['file', "$dir/out", 'w'], 2 => ['file', "$dir/err", 'w']], $pipes);
for ($i = 0; $i < 100 && !@fsockopen('127.0.0.1', $port); $i++) {
    usleep(20000);
}

$N = 20000;
$s = new SmtpSocket('127.0.0.1', $port, ['timeout' => 20, 'security' => 'none']);
// warm up (connection, buffers), then measure
$s->sendMany([['from' => 'a@example.com', 'to' => 'b@example.org', 'message' => "Subject: warm\r\n\r\nx\r\n"]]);
$body = "Subject: load\r\n\r\n" . str_repeat("0123456789abcdef\r\n", 56);   // 1 KiB
$gen = function () use ($N, $body) {
    for ($i = 0; $i < $N; $i++) {
        yield "msg$i" => ['from' => 'a@example.com', 'to' => ['b@example.org'], 'message' => $body . "n=$i\r\n"];
    }
};
memory_reset_peak_usage();
$base = memory_get_usage();
$next = 0; $ok = 0; $order = true;
$ret = $s->sendMany($gen(), ['on_result' => function ($key, $r) use (&$next, &$ok, &$order) {
    $order = $order && $key === "msg$next";
    $next++;
    $ok += $r['error'] === null && $r['accepted'] === ['b@example.org'];
}]);
$peak = memory_get_peak_usage() - $base;
echo "returned: ", json_encode($ret), "\n";
echo "results: $next, accepted: $ok, in order: ", $order ? 'yes' : 'no', "\n";
echo "peak memory above the start: ", $peak < 1024 * 1024 ? 'under 1 MiB' : "$peak bytes", "\n";
$s->quit();
unset($s);
// smtp-sink -c prints its counters on stdout when it ends
proc_terminate($proc);   // SIGTERM (pcntl may be missing)
proc_close($proc);
$out = (string) @file_get_contents("$dir/out");
// "\rsess=N quit=N mesg=N" after each message; the last one counts them all (+1 for the warm-up)
preg_match_all('/mesg=(\d+)/', $out, $mm);
echo "smtp-sink counted: ", $mm[1] ? (int) end($mm[1]) - 1 : 'nothing', "\n";
smtpsock_test_rmtree($dir);
?>
--EXPECT--
returned: []
results: 20000, accepted: 20000, in order: yes
peak memory above the start: under 1 MiB
smtp-sink counted: 20000
