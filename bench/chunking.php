<?php
/*
 * The "chunking" part of the benchmark: smtp_mail() beside SmtpSocket::send()
 * against a server that offers CHUNKING (the test suite's Postfix) and one
 * that does not (smtp-sink), each on loopback and through bench/delay_proxy
 * at a 20 ms round trip. Started by `bash bench/run.sh chunking`, which owns
 * the servers and the proxies.
 *
 *   php bench/chunking.php --ext=SO --work=DIR --sink-port=P --sink-out=FILE
 *       --postfix-dir=DIR --proxy=BIN --results=FILE [--command=...] [--started=T]
 *
 * Every run is a fresh PHP process (bench/driver.php, mode "rate"); the two
 * clients take turns run by run. After each run the bench checks that the
 * server got every message: smtp-sink's counters, or Postfix's Maildir (every
 * delivered copy counted, then removed) and Postfix's own per-session command
 * counts from its log (which also give BDAT commands per message).
 *
 * Environment: CHUNKING_RUNS (3), BENCH_SECONDS (1.0), CHUNKING_SIZES
 * (1024,102400,10485760), CHUNKING_RTT (20, ms), CHUNKING_ONLY (targets:
 * sink,sink-rtt,postfix,postfix-rtt).
 */

declare(strict_types=1);

const KIB = 1024;
const MIB = 1048576;
const RUN_TIMEOUT = 300.0;
const DELIVERY_TIMEOUT = 180.0;

$opt = getopt('', ['ext:', 'work:', 'sink-port:', 'sink-out:', 'postfix-dir:', 'proxy:', 'results:', 'command:', 'started:']);
foreach (['ext', 'work', 'sink-port', 'sink-out', 'postfix-dir', 'proxy', 'results'] as $k) {
    if (!isset($opt[$k])) {
        fwrite(STDERR, "chunking.php: missing --$k\n");
        exit(2);
    }
}
$B = [
    'ext' => $opt['ext'],
    'work' => $opt['work'],
    'sink_out' => $opt['sink-out'],
    'pfdir' => $opt['postfix-dir'],
    'proxy' => $opt['proxy'],
    'results' => $opt['results'],
    'command' => $opt['command'] ?? 'bash bench/run.sh chunking',
    'started' => (float) ($opt['started'] ?? microtime(true)),
    'php' => PHP_BINARY,
    'dir' => __DIR__,
    'runs' => max(1, (int) (getenv('CHUNKING_RUNS') ?: 3)),
    'seconds' => max(0.05, (float) (getenv('BENCH_SECONDS') ?: 1.0)),
    'rtt' => (float) (getenv('CHUNKING_RTT') ?: 20),
    'sizes' => array_map('intval', explode(',', (string) (getenv('CHUNKING_SIZES') ?: '1024,102400,10485760'))),
    'only' => array_filter(explode(',', (string) getenv('CHUNKING_ONLY'))),
    'load_start' => sys_getloadavg(),
];
$B['pfport'] = (int) trim((string) file_get_contents($B['pfdir'] . '/port'));
$B['maildir'] = $B['pfdir'] . '/Maildir';
$B['maillog'] = $B['pfdir'] . '/log/maillog';
@mkdir($B['work'] . '/chunking', 0755, true);
$LOG = $B['work'] . '/chunking/bench.log';

function say(string $s): void
{
    global $LOG;
    fwrite(STDERR, $s . "\n");
    file_put_contents($LOG, $s . "\n", FILE_APPEND);
}

/* ---- processes -------------------------------------------------------------------------- */

/** Run argv with a time limit, output to $log. [exit code, seconds]. */
function run_proc(array $cmd, string $log, float $timeout): array
{
    $spec = [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'], 2 => ['file', $log, 'a'], 3 => ['pipe', 'w']];
    $t0 = hrtime(true);
    $p = proc_open($cmd, $spec, $pipes);
    if (!is_resource($p)) {
        return [127, 0.0];
    }
    $done = false;
    while (!$done && ($left = $timeout - (hrtime(true) - $t0) / 1e9) > 0) {
        $r = [$pipes[3]];
        $w = $e = null;
        if (@stream_select($r, $w, $e, (int) $left, (int) (($left - (int) $left) * 1e6)) === false) {
            usleep(1000);
            continue;
        }
        if ($r && fread($pipes[3], 8192) === '' && feof($pipes[3])) {
            $done = true;
        }
    }
    if (!$done) {
        proc_terminate($p, 9);
    }
    fclose($pipes[3]);
    $rc = proc_close($p);
    return [$done ? $rc : 124, (hrtime(true) - $t0) / 1e9];
}

/** A delay proxy to 127.0.0.1:$port at $rtt ms: [process, port, stats file]. */
function start_proxy(array $B, int $port, float $rtt, string $name): array
{
    $stats = "{$B['work']}/chunking/proxy-$name.json";
    @unlink($stats);
    $p = proc_open([$B['proxy'], '-S', $stats, (string) $rtt, "127.0.0.1:$port"],
        [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['file', "{$B['work']}/chunking/proxy-$name.log", 'a']], $pipes);
    $line = fgets($pipes[1]);
    $pport = (int) trim((string) $line);
    if (!is_resource($p) || $pport <= 0) {
        throw new RuntimeException("delay_proxy did not start (to port $port)");
    }
    return ['proc' => $p, 'pipes' => $pipes, 'port' => $pport, 'stats' => $stats, 'rtt' => $rtt];
}

function stop_proxy(array $px): ?array
{
    proc_terminate($px['proc'], 15);   // the process we started, by its handle
    foreach ($px['pipes'] as $p) {
        fclose($p);
    }
    proc_close($px['proc']);
    $j = json_decode((string) @file_get_contents($px['stats']), true);
    return is_array($j) ? $j : null;
}

/* ---- what the servers counted ----------------------------------------------------------- */

/** [sessions ended, messages] from smtp-sink -c's running counters. */
function sink_counts(string $file): array
{
    clearstatcache(true, $file);
    $size = @filesize($file) ?: 0;
    $f = @fopen($file, 'rb');
    if (!$f) {
        return [0, 0];
    }
    if ($size > 400) {
        fseek($f, $size - 400);
    }
    $t = (string) stream_get_contents($f);
    fclose($f);
    if (!preg_match_all('/sess=(\d+) quit=\d+ mesg=(\d+)\r/', $t, $m, PREG_SET_ORDER)) {
        return [0, 0];
    }
    $last = end($m);
    return [(int) $last[1], (int) $last[2]];
}

function maildir_files(string $maildir): array
{
    $f = [];
    foreach (['new', 'cur'] as $sub) {
        foreach (@scandir("$maildir/$sub") ?: [] as $n) {
            if ($n[0] !== '.') {
                $f[] = "$maildir/$sub/$n";
            }
        }
    }
    return $f;
}

/** Postfix's per-session counts in the log after byte $from: [sessions, mail, bdat, data, new offset]. */
function postfix_counts(string $log, int $from): array
{
    clearstatcache(true, $log);
    $t = (string) @file_get_contents($log, false, null, $from);
    $s = $m = $b = $d = 0;
    $end = strrpos($t, "\n");
    $t = $end === false ? '' : substr($t, 0, $end + 1);
    foreach (explode("\n", $t) as $line) {
        if (!preg_match('#postfix/smtpd\[\d+\]: disconnect from .* commands=#', $line)) {
            continue;
        }
        $s++;
        if (preg_match('#\bmail=(\d+)(?:/(\d+))?#', $line, $x)) {
            $m += (int) $x[1];
        }
        if (preg_match('#\bbdat=(\d+)(?:/(\d+))?#', $line, $x)) {
            $b += (int) ($x[2] ?? $x[1]);
        }
        if (preg_match('#\bdata=(\d+)(?:/(\d+))?#', $line, $x)) {
            $d += (int) ($x[2] ?? $x[1]);
        }
    }
    return [$s, $m, $b, $d, $from + strlen($t)];
}

/* ---- one run -------------------------------------------------------------------------------- */

function run_one(array $B, array $target, string $client, array $cell, int $i): array
{
    static $seq = 0;
    $seq++;
    $tag = sprintf('%04d-%s-%s-%d-%s-%d-r%d', $seq, $target['id'], $client, $cell['size'], $cell['conn'], $cell['rcpts'], $i);
    $log = "{$B['work']}/chunking/$tag.log";
    $out = "{$B['work']}/chunking/$tag.json";
    $isPostfix = $target['server'] === 'postfix';
    if ($isPostfix) {
        clearstatcache();
        $logFrom = (int) @filesize($B['maillog']);
    } else {
        $before = sink_counts($B['sink_out']);
    }
    $nopoll = str_ends_with($client, '0');   // send0, mail0: busy polling off
    $cmd = [$B['php'], '-d', 'memory_limit=-1', '-d', 'display_errors=stderr', '-d', 'extension=' . $B['ext'],
        '-d', 'smtpsock.host=127.0.0.1', '-d', 'smtpsock.port=' . $target['port'],
        '-d', 'smtpsock.from=bench@example.org', '-d', 'smtpsock.timeout=60',
        '-d', 'smtpsock.busy_poll=' . ($nopoll ? 0 : 50),
        $B['dir'] . '/driver.php', '--client=' . (str_starts_with($client, 'send') ? 'smtpsock_send' : 'smtpsock_mail'),
        '--port=' . $target['port'], '--size=' . $cell['size'], '--rcpts=' . $cell['rcpts'], '--conn=' . $cell['conn'],
        '--mode=rate', '--seconds=' . $B['seconds'], '--min=' . ($cell['size'] >= MIB ? 2 : ($cell['size'] >= 100 * KIB ? 3 : 5)),
        '--out=' . $out, '--tmpdir=' . $B['work']];
    if ($nopoll && str_starts_with($client, 'send')) {
        $cmd[] = '--busy_poll=0';
    }
    [$rc, ] = run_proc($cmd, $log, RUN_TIMEOUT);
    $res = json_decode((string) @file_get_contents($out), true);
    if (!is_array($res) || !$res['ok']) {
        return ['ok' => false, 'error' => is_array($res) ? $res['error'] : "driver exited $rc: " . trim((string) @file_get_contents($log))];
    }
    $sent = (int) $res['sent_total'];           // warm-up message included
    $sessions = $cell['conn'] === 'reuse' ? 1 : $sent;
    $t0 = microtime(true);
    if (!$isPostfix) {
        do {
            $now = sink_counts($B['sink_out']);
            $got = $now[1] - $before[1];
            if ($got >= $sent && $now[0] - $before[0] >= $sessions) {
                break;
            }
            usleep(5000);
        } while (microtime(true) - $t0 < 5);
        if ($got !== $sent) {
            return ['ok' => false, 'error' => "sent $sent, the sink counted $got"];
        }
        return $res + ['received' => $got];
    }
    // Postfix: every copy delivered, and the sessions' command counts
    $want = $sent * $cell['rcpts'];
    do {
        $files = maildir_files($B['maildir']);
        $pc = postfix_counts($B['maillog'], $logFrom);
        if (count($files) >= $want && $pc[1] >= $sent) {
            break;
        }
        usleep(20000);
    } while (microtime(true) - $t0 < DELIVERY_TIMEOUT);
    usleep(100000);   // anything beyond what was sent would show now
    $files = maildir_files($B['maildir']);
    $pc = postfix_counts($B['maillog'], $logFrom);
    array_map('unlink', $files);
    if (count($files) !== $want || $pc[1] !== $sent) {
        return ['ok' => false, 'error' => "sent $sent messages to {$cell['rcpts']} recipients: Postfix accepted {$pc[1]}, delivered " . count($files) . " of $want copies"];
    }
    return $res + ['received' => $sent, 'delivered' => count($files), 'pf_sessions' => $pc[0], 'bdat' => $pc[2], 'data' => $pc[3]];
}

/* ---- calibration: NOOP round trips ----------------------------------------------------------- */

function noop_rtt(array $B, int $port, int $n = 200): ?float
{
    $code = '$s = new SmtpSocket("127.0.0.1", (int) $argv[1], ["busy_poll" => 0, "timeout" => 30]); $s->ehlo(); $v = [];'
        . ' for ($i = 0; $i < (int) $argv[2]; $i++) { $t = hrtime(true); $s->noop(); $v[] = hrtime(true) - $t; }'
        . ' sort($v); echo $v[intdiv(count($v), 2)] / 1e6; $s->quit();';
    $p = proc_open([$B['php'], '-n', '-d', 'extension=' . $B['ext'], '-r', $code, (string) $port, (string) $n],
        [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    $out = trim((string) stream_get_contents($pipes[1]));
    fclose($pipes[1]);
    fclose($pipes[2]);
    proc_close($p);
    return is_numeric($out) ? (float) $out : null;
}

/* ---- the matrix ----------------------------------------------------------------------------- */

$sinkPort = (int) $opt['sink-port'];
$targets = [];
$proxies = [];
$R = ['meta' => $B, 'calibration' => [], 'cells' => []];
try {
    $want = fn (string $id) => !$B['only'] || in_array($id, $B['only'], true);
    if ($want('sink')) {
        $targets[] = ['id' => 'sink', 'server' => 'sink', 'port' => $sinkPort, 'rtt' => 0.0, 'label' => 'smtp-sink (no CHUNKING), loopback'];
    }
    if ($want('postfix')) {
        $targets[] = ['id' => 'postfix', 'server' => 'postfix', 'port' => $B['pfport'], 'rtt' => 0.0, 'label' => 'Postfix (CHUNKING), loopback'];
    }
    // the proxy's own accuracy at 1 ms, then the proxies the cells use
    foreach (array_unique([1.0, $B['rtt']]) as $rtt) {
        $px = start_proxy($B, $B['pfport'], $rtt, "calibrate-$rtt");
        $direct = noop_rtt($B, $B['pfport']);
        $via = noop_rtt($B, $px['port']);
        $stats = stop_proxy($px);
        $R['calibration'][] = ['rtt' => $rtt, 'direct_ms' => $direct, 'via_ms' => $via, 'proxy' => $stats];
        say(sprintf('calibration at %.0f ms: NOOP median %.4f ms direct, %.4f ms through the proxy (added %.4f ms, %+.2f%%)',
            $rtt, $direct, $via, $via - $direct, (($via - $direct) / $rtt - 1) * 100));
    }
    if ($want('sink-rtt')) {
        $proxies['sink'] = start_proxy($B, $sinkPort, $B['rtt'], 'sink');
        $targets[] = ['id' => 'sink-rtt', 'server' => 'sink', 'port' => $proxies['sink']['port'], 'rtt' => $B['rtt'],
            'label' => "smtp-sink (no CHUNKING), {$B['rtt']} ms RTT"];
    }
    if ($want('postfix-rtt')) {
        $proxies['postfix'] = start_proxy($B, $B['pfport'], $B['rtt'], 'postfix');
        $targets[] = ['id' => 'postfix-rtt', 'server' => 'postfix', 'port' => $proxies['postfix']['port'], 'rtt' => $B['rtt'],
            'label' => "Postfix (CHUNKING), {$B['rtt']} ms RTT"];
    }
    foreach ($targets as $t) {
        foreach ($B['sizes'] as $size) {
            foreach (['reuse', 'new'] as $conn) {
                foreach ([1, 10] as $rcpts) {
                    $cell = ['size' => $size, 'conn' => $conn, 'rcpts' => $rcpts];
                    $key = "{$t['id']}/$size/$conn/$rcpts";
                    if ($t['server'] === 'postfix' && $size >= MIB && $rcpts > 1) {
                        // ten 10 MiB Maildir copies per message would time the disk, not SMTP
                        $R['cells'][$key] = ['target' => $t['id'], 'na' => 'n/a (10 Maildir copies of 10 MiB per message)'] + $cell;
                        continue;
                    }
                    $runs = ['send' => [], 'mail' => [], 'send0' => [], 'mail0' => []];
                    for ($i = 1; $i <= $B['runs']; $i++) {
                        foreach (array_keys($runs) as $client) {
                            $r = run_one($B, $t, $client, $cell, $i);
                            $runs[$client][] = $r;
                            say(sprintf('%-12s %-5s %8d %-5s %2d rcpt  run %d: %s', $t['id'], $client, $size, $conn, $rcpts, $i,
                                $r['ok'] ? sprintf('%.2f ms/msg (%d msgs)%s', 1000 * $r['seconds'] / $r['messages'], $r['messages'],
                                    isset($r['bdat']) ? sprintf(', Postfix: %d BDAT, %d DATA for %d messages', $r['bdat'], $r['data'], $r['received']) : '')
                                    : 'ERROR ' . $r['error']));
                        }
                    }
                    $R['cells'][$key] = ['target' => $t['id'], 'runs' => $runs] + $cell;
                }
            }
        }
    }
} finally {
    foreach ($proxies as $name => $px) {
        $R['proxy_stats'][$name] = stop_proxy($px);
    }
}
$R['meta']['load_end'] = sys_getloadavg();
$R['meta']['finished'] = microtime(true);
$R['meta']['targets'] = $targets;
file_put_contents(preg_replace('/\.md$/', '.json', $B['results']), json_encode($R, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES) . "\n");
file_put_contents($B['results'], report($R) . "\n");
echo report($R), "\n";

/* ---- the report ------------------------------------------------------------------------------ */

function median(array $v): float
{
    sort($v);
    $n = count($v);
    return $n % 2 ? $v[intdiv($n, 2)] : ($v[$n / 2 - 1] + $v[$n / 2]) / 2;
}

/** Median ms per message of a client's runs, or null when any run failed. */
function ms_per_msg(array $runs): ?float
{
    $v = [];
    foreach ($runs as $r) {
        if (!$r['ok']) {
            return null;
        }
        $v[] = 1000 * $r['seconds'] / $r['messages'];
    }
    return $v ? median($v) : null;
}

function size_label(int $s): string
{
    return $s >= MIB ? ($s / MIB) . ' MiB' : ($s / KIB) . ' KiB';
}

function report(array $R): string
{
    $B = $R['meta'];
    $o = [];
    $o[] = '# smtp_mail() and SmtpSocket::send() against a CHUNKING server';
    $o[] = '';
    $o[] = sprintf('Generated by `%s` on %s (%s, %d CPUs), %d runs per cell of %.1f s each, in %.0f s; load average %s at the start, %s at the end.',
        $B['command'], gmdate('Y-m-d H:i', (int) $B['started']) . ' UTC', php_uname('r'), (int) shell_exec('nproc'),
        $B['runs'], $B['seconds'], ($B['finished'] ?? microtime(true)) - $B['started'],
        implode(' ', array_map(fn ($x) => sprintf('%.2f', $x), $B['load_start'])),
        implode(' ', array_map(fn ($x) => sprintf('%.2f', $x), $B['load_end'] ?? [])));
    $o[] = '';
    $o[] = 'Milliseconds per message (median of the runs; lower is better). `send()`: one `SmtpSocket`, a ready message; '
        . '`smtp_mail()`: one request, headers as an array (it adds Date and Message-ID). "reused": one connection for all messages of a run; '
        . '"new": connect, greeting, EHLO, message, QUIT per message. First with the default settings (busy polling on), '
        . 'then with busy polling off (`busy_poll` 0: every wait sleeps in the kernel, as in the issue\'s figures). '
        . 'Every run was checked at the server: smtp-sink\'s counters, or for Postfix every delivered Maildir copy and Postfix\'s own '
        . 'per-session command counts: the last column has the BDAT commands Postfix counted and the messages sent, over all runs of the '
        . 'cell, each run\'s 1 KiB warm-up message included (one BDAT per message of up to 1 MiB; a 10 MiB message is cut into 11 equal chunks).';
    $o[] = '';
    $o[] = '| server | size | connection | rcpts | `send()` | `smtp_mail()` | ratio | `send()`, `busy_poll` 0 | `smtp_mail()`, `busy_poll` 0 | ratio | BDAT commands / messages at Postfix: `send()`; `smtp_mail()` |';
    $o[] = '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |';
    $labels = [];
    foreach ($B['targets'] ?? [] as $t) {
        $labels[$t['id']] = $t['label'];
    }
    foreach ($R['cells'] as $c) {
        $row = [$labels[$c['target']] ?? $c['target'], size_label($c['size']), $c['conn'], $c['rcpts']];
        if (isset($c['na'])) {
            $o[] = '| ' . implode(' | ', $row) . ' | ' . $c['na'] . ' | | | | | | |';
            continue;
        }
        $bd = [];
        foreach (['send', 'mail'] as $cl) {
            $b = $n = 0;
            foreach ($c['runs'][$cl] as $r) {
                if (isset($r['bdat'])) {
                    $b += $r['bdat'];
                    $n += $r['received'];
                }
            }
            $bd[] = $n ? "$b / $n" : '-';
        }
        foreach ([['send', 'mail'], ['send0', 'mail0']] as [$sk, $mk]) {
            $s = isset($c['runs'][$sk]) ? ms_per_msg($c['runs'][$sk]) : null;
            $m = isset($c['runs'][$mk]) ? ms_per_msg($c['runs'][$mk]) : null;
            $row[] = $s === null ? 'error' : sprintf('%.2f', $s);
            $row[] = $m === null ? 'error' : sprintf('%.2f', $m);
            $row[] = $s && $m ? sprintf('%.2fx', $m / $s) : '';
        }
        $row[] = $bd[0] === '-' ? 'n/a (DATA)' : "{$bd[0]}; {$bd[1]}";
        $o[] = '| ' . implode(' | ', $row) . ' |';
    }
    $o[] = '';
    $o[] = '## Target (issue 14)';
    $o[] = '';
    $o[] = 'Against the test Postfix on a reused connection, `smtp_mail()` costs no more than 1.2x the time per message of `send()` (same run):';
    $o[] = '';
    $o[] = '| cell | `send()` ms/msg | `smtp_mail()` ms/msg | ratio | |';
    $o[] = '| --- | ---: | ---: | ---: | --- |';
    foreach ($R['cells'] as $c) {
        if ($c['target'] !== 'postfix' || $c['conn'] !== 'reuse' || $c['rcpts'] !== 1 || $c['size'] > 100 * KIB || isset($c['na'])) {
            continue;
        }
        foreach ([['send', 'mail', ''], ['send0', 'mail0', ', `busy_poll` 0']] as [$sk, $mk, $what]) {
            $s = isset($c['runs'][$sk]) ? ms_per_msg($c['runs'][$sk]) : null;
            $m = isset($c['runs'][$mk]) ? ms_per_msg($c['runs'][$mk]) : null;
            $ok = $s && $m && $m / $s <= 1.2;
            $o[] = sprintf('| %s, reused, 1 rcpt%s | %s | %s | %s | %s |', size_label($c['size']), $what,
                $s === null ? 'error' : sprintf('%.2f', $s), $m === null ? 'error' : sprintf('%.2f', $m),
                $s && $m ? sprintf('%.2fx', $m / $s) : '', $ok ? 'PASS' : 'FAIL');
        }
    }
    $o[] = '';
    $o[] = '## The delay proxy';
    $o[] = '';
    $o[] = 'Median of 200 NOOP round trips to the test Postfix (one `SmtpSocket`, busy polling off), direct and through '
        . '`bench/delay_proxy` started for that check; the proxy\'s own figures are when it handed each chunk to the kernel '
        . 'against when the chunk was due (its arrival, by the kernel\'s receive timestamp, plus RTT/2).';
    $o[] = '';
    $o[] = '| RTT set | NOOP direct | NOOP via proxy | added | error of the added time | proxy: mean (sent - due) | proxy: p50 / p99 of the error |';
    $o[] = '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
    foreach ($R['calibration'] as $c) {
        if ($c['direct_ms'] === null || $c['via_ms'] === null) {
            $o[] = sprintf('| %.0f ms | error | | | | | |', $c['rtt']);
            continue;
        }
        $add = $c['via_ms'] - $c['direct_ms'];
        $p = $c['proxy'] ?? [];
        $o[] = sprintf('| %.0f ms | %.3f ms | %.3f ms | %.3f ms | %+.1f%% | %s | %s |', $c['rtt'], $c['direct_ms'], $c['via_ms'], $add,
            ($add / $c['rtt'] - 1) * 100, isset($p['error_us_mean']) ? sprintf('%+.1f us', $p['error_us_mean']) : '?',
            isset($p['abs_error_us_p50']) ? sprintf('< %d us / < %d us', $p['abs_error_us_p50'], $p['abs_error_us_p99']) : '?');
    }
    foreach ($R['proxy_stats'] ?? [] as $name => $p) {
        if ($p) {
            $o[] = '';
            $o[] = sprintf('Proxy to %s during the cells: %d connections, %d chunks; sent minus due: mean %+.1f us, |error| p50 < %d us, p99 < %d us, max %d us.',
                $name === 'sink' ? 'smtp-sink' : 'Postfix', $p['connections'], $p['chunks'], $p['error_us_mean'],
                $p['abs_error_us_p50'], $p['abs_error_us_p99'], $p['abs_error_us_max']);
        }
    }
    $errors = [];
    foreach ($R['cells'] as $key => $c) {
        foreach ($c['runs'] ?? [] as $cl => $runs) {
            foreach ($runs as $i => $r) {
                if (!$r['ok']) {
                    $errors[] = "- $key $cl run " . ($i + 1) . ': ' . $r['error'];
                }
            }
        }
    }
    if ($errors) {
        $o[] = '';
        $o[] = '## Errors';
        $o[] = '';
        array_push($o, ...$errors);
    }
    return implode("\n", $o);
}
