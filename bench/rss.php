<?php
/*
 * Run a command and report its maximal resident set size.
 *
 *   php rss.php OUT_JSON -- COMMAND [ARG...]
 *
 * Writes {"rc": exit code, "seconds": wall time, "maxrss_kib": N} to
 * OUT_JSON, where N is getrusage(RUSAGE_CHILDREN)'s ru_maxrss: the largest
 * RSS among the waited-for children, here the command (and anything it
 * waited for). Used for the C reference client, which has no PHP inside.
 */

declare(strict_types=1);

$out = $argv[1] ?? '';
$sep = array_search('--', $argv, true);
if ($out === '' || $sep === false || !isset($argv[$sep + 1])) {
    fwrite(STDERR, "usage: php rss.php OUT_JSON -- COMMAND [ARG...]\n");
    exit(2);
}
$cmd = array_slice($argv, $sep + 1);
$t0 = hrtime(true);
$p = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => STDOUT, 2 => STDERR], $pipes);
if (!is_resource($p)) {
    file_put_contents($out, json_encode(['rc' => 127, 'seconds' => 0, 'maxrss_kib' => 0]) . "\n");
    exit(1);
}
$rc = proc_close($p);
$seconds = (hrtime(true) - $t0) / 1e9;
$ru = getrusage(1);
file_put_contents($out, json_encode(['rc' => $rc, 'seconds' => $seconds, 'maxrss_kib' => (int) $ru['ru_maxrss']]) . "\n");
exit($rc === 0 ? 0 : 1);
