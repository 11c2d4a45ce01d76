<?php
/*
 * The side-by-side benchmark: runs the matrix against a running smtp-sink
 * and writes the markdown report. Started by bench/run.sh, which installs
 * the packages, builds the extension and owns the sink.
 *
 *   php bench/bench.php --ext=SO --port=P --sink-out=FILE --work=DIR
 *                       --results=FILE --command="..." [--started=UNIXTIME]
 *   php bench/bench.php --report-only=bench/RESULTS.json [--results=bench/RESULTS.md]
 *
 * Tuning (environment):
 *   BENCH_RUNS=N        runs per cell (default 5 for 1 KiB, 3 for larger); the table shows their median
 *   BENCH_SECONDS=1.0   length of one rate run (at least BENCH_MIN_* messages)
 *   BENCH_CG_N=100      callgrind: N for the PHP clients (runs N and 2N)
 *   BENCH_ONLY=a,b      only these rows (ids as in rows() below)
 *   BENCH_SKIP=x,y      skip sections: rate, callgrind, memory, persistent
 *   BENCH_SIZES=1024,.. only these message sizes
 */

declare(strict_types=1);

const KIB = 1024;
const MIB = 1048576;
const RUN_TIMEOUT = 300.0;       // seconds one driver run may take
const CG_TIMEOUT = 900.0;        // seconds one callgrind run may take
const STREAM_MEM_TARGET = 256 * KIB;  // issue: growth under 256 KiB from a stream
const STRING_CHUNK = 64 * KIB;        // "one chunk": the DATA encoder's step (BODY_CHUNK in smtpsock_session.c)

$opt = getopt('', ['ext:', 'port:', 'sink-out:', 'work:', 'results:', 'command:', 'started:', 'msmtprc:', 'report-only:']);
if (isset($opt['report-only'])) {
    // render RESULTS.md again from a RESULTS.json (after a change of the report's format)
    $R = json_decode((string) file_get_contents($opt['report-only']), true);
    if (!is_array($R) || !isset($R['meta'])) {
        fwrite(STDERR, "bench.php: {$opt['report-only']} is not a RESULTS.json\n");
        exit(2);
    }
    $B = $R['meta'] + ['dir' => __DIR__];
    $md = report($B, $R);
    file_put_contents($opt['results'] ?? 'php://stdout', $md . "\n");
    exit(0);
}
foreach (['ext', 'port', 'sink-out', 'work', 'results', 'msmtprc'] as $k) {
    if (!isset($opt[$k])) {
        fwrite(STDERR, "bench.php: missing --$k\n");
        exit(2);
    }
}
$B = [
    'ext' => $opt['ext'],
    'port' => (int) $opt['port'],
    'sink' => $opt['sink-out'],
    'work' => $opt['work'],
    'results' => $opt['results'],
    'command' => $opt['command'] ?? 'bash bench/run.sh',
    'started' => (float) ($opt['started'] ?? microtime(true)),
    'msmtprc' => $opt['msmtprc'],
    'php' => PHP_BINARY,
    'dir' => __DIR__,
    'runs' => getenv('BENCH_RUNS') ? max(1, (int) getenv('BENCH_RUNS')) : null, // null: 5 for 1 KiB, 3 for larger
    'load_start' => sys_getloadavg(),
    'seconds' => max(0.05, (float) (getenv('BENCH_SECONDS') ?: 1.0)),
    'cg_n' => max(2, (int) (getenv('BENCH_CG_N') ?: 100)),
    'only' => array_filter(explode(',', (string) getenv('BENCH_ONLY'))),
    'skip' => array_filter(explode(',', (string) getenv('BENCH_SKIP'))),
];
$sizes = [KIB, 100 * KIB, 10 * MIB];
if (getenv('BENCH_SIZES')) {
    $sizes = array_map('intval', explode(',', (string) getenv('BENCH_SIZES')));
}
$B['sizes'] = $sizes;
@mkdir($B['work'] . '/runs', 0755, true);
$LOG = $B['work'] . '/bench.log';

function say(string $s): void
{
    global $LOG;
    fwrite(STDERR, $s . "\n");
    file_put_contents($LOG, $s . "\n", FILE_APPEND);
}

/* ---- the rows ------------------------------------------------------------------------ */

function rows(): array
{
    $r = [];
    $r[] = ['id' => 'smtpsock-send', 'label' => 'smtpsock `SmtpSocket::send()`', 'kind' => 'php', 'client' => 'smtpsock_send', 'nodelay' => 0, 'ext' => true,
        'note' => 'sets TCP_NODELAY itself'];
    $r[] = ['id' => 'smtpsock-send-nopoll', 'label' => 'smtpsock `SmtpSocket::send()`, `busy_poll` 0', 'kind' => 'php', 'client' => 'smtpsock_send', 'nodelay' => 0, 'ext' => true,
        'args' => ['busy_poll' => 0], 'variant' => true, 'note' => 'busy polling off: the protocol alone'];
    $r[] = ['id' => 'smtpsock-mail', 'label' => 'smtpsock `smtp_mail()`', 'kind' => 'php', 'client' => 'smtpsock_mail', 'nodelay' => 0, 'ext' => true,
        'note' => 'sets TCP_NODELAY itself'];
    foreach ([['phpmailer', 'PHPMailer'], ['symfony', 'Symfony Mailer'], ['netsmtp', 'PEAR Net_SMTP'], ['pearmail', 'PEAR Mail (smtp)']] as [$c, $l]) {
        $r[] = ['id' => $c, 'label' => "$l, as shipped", 'kind' => 'php', 'client' => $c, 'nodelay' => 0];
        $r[] = ['id' => "$c-nodelay", 'label' => "$l + TCP_NODELAY", 'kind' => 'php', 'client' => $c, 'nodelay' => 1];
    }
    $r[] = ['id' => 'msmtp', 'label' => '`mail()` via msmtp', 'kind' => 'php', 'client' => 'msmtp', 'nodelay' => 0, 'msmtp' => true,
        'na' => ['reuse' => 'one msmtp process, so one connection, per message']];
    $r[] = ['id' => 'smtp-source', 'label' => 'Postfix `smtp-source` (C reference)', 'kind' => 'source', 'sessions' => 1];
    $r[] = ['id' => 'smtp-source-4', 'label' => '`smtp-source -s 4` (4 sessions: the sink\'s limit)', 'kind' => 'source', 'sessions' => 4, 'reference' => true];
    // the instruction target's reference: the PHP clients' 1 KiB message, read
    // once from a file (-F) instead of generated per message (-l); callgrind only
    $r[] = ['id' => 'smtp-source-file', 'label' => 'Postfix `smtp-source -F` (the same 1 KiB message from a file)', 'kind' => 'source', 'sessions' => 1,
        'file' => true, 'cg_only' => true];
    return $r;
}

function selected_rows(array $B): array
{
    $rows = rows();
    if ($B['only']) {
        $rows = array_values(array_filter($rows, fn ($r) => in_array($r['id'], $B['only'], true)));
    }
    return $rows;
}

function cells(array $B): array
{
    $c = [];
    foreach ($B['sizes'] as $size) {
        foreach (['reuse', 'new'] as $conn) {
            foreach ([1, 10] as $rcpts) {
                $c[] = ['size' => $size, 'conn' => $conn, 'rcpts' => $rcpts, 'key' => "$size/$conn/$rcpts"];
            }
        }
    }
    return $c;
}

function runs_for(array $B, int $size): int
{
    return $B['runs'] ?? ($size <= KIB ? 5 : 3);
}

function min_messages(int $size): int
{
    return $size >= MIB ? 2 : ($size >= 100 * KIB ? 3 : 5);
}

/* ---- processes ------------------------------------------------------------------------ */

/** Run a command (argv array) with a time limit; output goes to $log. Returns [rc, seconds]. */
function run_proc(array $cmd, string $log, float $timeout, ?array $env = null): array
{
    // fd 3 is a pipe the child never writes to: it reaches EOF when the child
    // (and whatever inherited it) has exited, so we wait in select() without
    // waking up, and take no CPU from the client and the sink on 2 cores
    $spec = [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'], 2 => ['file', $log, 'a'], 3 => ['pipe', 'w']];
    $t0 = hrtime(true);
    $p = proc_open($cmd, $spec, $pipes, null, $env);
    if (!is_resource($p)) {
        return [127, 0.0];
    }
    $done = false;
    while (!$done) {
        $left = $timeout - (hrtime(true) - $t0) / 1e9;
        if ($left <= 0) {
            break;
        }
        $r = [$pipes[3]];
        $w = $e = null;
        $sec = (int) $left;
        if (@stream_select($r, $w, $e, $sec, (int) (($left - $sec) * 1e6)) === false) {
            usleep(1000); // EINTR
            continue;
        }
        if ($r && fread($pipes[3], 8192) === '' && feof($pipes[3])) {
            $done = true;
        }
    }
    $el = (hrtime(true) - $t0) / 1e9;
    if (!$done) {
        proc_terminate($p, 9);   // the process we started, by its handle (pid)
        file_put_contents($log, "bench: killed after {$timeout}s\n", FILE_APPEND);
    }
    fclose($pipes[3]);
    $rc = proc_close($p);
    return [$done ? $rc : 124, $el];
}

function php_cmd(array $B, array $row, array $args, array $extraIni = []): array
{
    $cmd = [$B['php'], '-d', 'memory_limit=-1', '-d', 'display_errors=stderr'];
    if (!empty($row['ext'])) {
        array_push($cmd, '-d', 'extension=' . $B['ext'],
            '-d', 'smtpsock.host=127.0.0.1', '-d', 'smtpsock.port=' . $B['port'],
            '-d', 'smtpsock.from=bench@example.org', '-d', 'smtpsock.timeout=60');
    }
    if (!empty($row['msmtp'])) {
        array_push($cmd, '-d', 'sendmail_path=/usr/bin/msmtp -C ' . $B['msmtprc'] . ' -t -i');
    }
    foreach ($extraIni as $k => $v) {
        array_push($cmd, '-d', "$k=$v");
    }
    $cmd[] = $B['dir'] . '/driver.php';
    foreach (($row['args'] ?? []) + $args as $k => $v) {
        $cmd[] = "--$k=$v";
    }
    return $cmd;
}

/* ---- the sink's counters ----------------------------------------------------------------- */

/** [sessions ended, messages] from the tail of smtp-sink -c's output. */
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

/** Wait until the sink counted $msgs more messages (and $sess more ended sessions). */
function sink_wait(string $file, array $before, int $msgs, int $sess, float $timeout = 3.0): array
{
    $t0 = microtime(true);
    do {
        $now = sink_counts($file);
        $d = [$now[0] - $before[0], $now[1] - $before[1]];
        if ($d[1] >= $msgs && $d[0] >= $sess) {
            return $d;
        }
        usleep(5000);
    } while (microtime(true) - $t0 < $timeout);
    return $d;
}

/* ---- one rate run ---------------------------------------------------------------------------- */

/** @return array{ok:bool, rate?:float, messages?:int, seconds?:float, error?:string, sessions?:int} */
function rate_run(array $B, array $row, array $cell, int $i, ?int $sourceCount = null): array
{
    static $seq = 0;
    $seq++;
    $tag = sprintf('%04d-%s-%s-%s-%d-r%d', $seq, $row['id'], $cell['size'], $cell['conn'], $cell['rcpts'], $i);
    $log = "{$B['work']}/runs/$tag.log";
    $before = sink_counts($B['sink']);
    if ($row['kind'] === 'source') {
        $n = $sourceCount ?? 1;
        $cmd = ['smtp-source', '-s', (string) $row['sessions'], '-m', (string) $n, '-l', (string) $cell['size'],
            '-r', (string) $cell['rcpts'], '-f', 'bench@example.org', '-t', 'rcpt@example.org', '-M', 'bench.example.org'];
        if ($cell['conn'] === 'reuse') {
            $cmd[] = '-d';
        }
        $cmd[] = '127.0.0.1:' . $B['port'];
        [$rc, $el] = run_proc($cmd, $log, RUN_TIMEOUT);
        if ($rc !== 0) {
            return ['ok' => false, 'error' => "smtp-source exited $rc: " . tail_of($log)];
        }
        $sessExpect = $cell['conn'] === 'reuse' ? $row['sessions'] : $n;
        $d = sink_wait($B['sink'], $before, $n, $sessExpect);
        if ($d[1] < $n) {
            return ['ok' => false, 'error' => "the sink counted {$d[1]} of $n messages"];
        }
        return ['ok' => true, 'rate' => $n / $el, 'messages' => $n, 'seconds' => $el, 'sessions' => $d[0], 'sent_total' => $n];
    }
    $out = "{$B['work']}/runs/$tag.json";
    $args = ['client' => $row['client'], 'port' => $B['port'], 'size' => $cell['size'], 'rcpts' => $cell['rcpts'],
        'conn' => $cell['conn'], 'nodelay' => $row['nodelay'], 'mode' => 'rate', 'seconds' => $B['seconds'],
        'min' => min_messages($cell['size']), 'out' => $out, 'tmpdir' => $B['work']];
    @unlink($out);
    [$rc, $el] = run_proc(php_cmd($B, $row, $args), $log, RUN_TIMEOUT);
    $res = json_decode((string) @file_get_contents($out), true);
    if (!is_array($res)) {
        return ['ok' => false, 'error' => "driver exited $rc without a result: " . tail_of($log)];
    }
    if (!$res['ok']) {
        $t = tail_of($log);
        if ($t !== '(no output)') {
            $res['error'] .= " [log: $t]";
        }
        return $res;
    }
    $sessExpect = $cell['conn'] === 'reuse' ? 1 : $res['sent_total'];
    $d = sink_wait($B['sink'], $before, $res['sent_total'], $sessExpect);
    if ($d[1] < $res['sent_total']) {
        return ['ok' => false, 'error' => "the client reported {$res['sent_total']} messages sent, the sink counted {$d[1]}"];
    }
    $res['sessions'] = $d[0];
    return $res;
}

function tail_of(string $log): string
{
    $t = trim((string) @file_get_contents($log));
    $lines = array_values(array_filter(explode("\n", $t), fn ($l) => trim($l) !== ''));
    return $lines ? substr(trim(end($lines)), 0, 300) : '(no output)';
}

/* ---- sections ------------------------------------------------------------------------------------ */

function section_rates(array $B, array &$R): void
{
    $rows = array_values(array_filter(selected_rows($B), fn ($r) => empty($r['cg_only'])));
    foreach (cells($B) as $cell) {
        $key = $cell['key'];
        // smtp-source sends a fixed count: size it for about BENCH_SECONDS from a short probe
        $srcCount = [];
        foreach ($rows as $row) {
            if ($row['kind'] !== 'source') {
                continue;
            }
            $probeN = max($row['sessions'], $cell['size'] >= MIB ? 2 : ($cell['size'] >= 100 * KIB ? 20 : 200));
            $p = rate_run($B, $row, $cell, 0, $probeN);
            $srcCount[$row['id']] = $p['ok']
                ? max(min_messages($cell['size']), $row['sessions'], (int) round($p['rate'] * $B['seconds']))
                : $probeN;
        }
        for ($i = 1; $i <= runs_for($B, $cell['size']); $i++) {
            foreach ($rows as $row) {
                $slot = &$R['rates'][$row['id']][$key];
                $slot ??= ['runs' => [], 'errors' => [], 'sessions' => []];
                if (isset($row['na'][$cell['conn']])) {
                    $slot['na'] = $row['na'][$cell['conn']];
                    continue;
                }
                if ($slot['errors'] && $i > 1) {
                    continue; // failed once: "error", don't spend more time
                }
                $res = rate_run($B, $row, $cell, $i, $srcCount[$row['id']] ?? null);
                if ($res['ok']) {
                    $slot['runs'][] = $res['rate'];
                    $slot['sessions'][] = $res['sessions'];
                    $slot['sent'][] = $res['sent_total'];
                } else {
                    $slot['errors'][] = $res['error'];
                }
                say(sprintf('  %-16s %-24s run %d: %s', $row['id'], $key, $i,
                    $res['ok'] ? sprintf('%.1f msg/s (%d msgs, %.2fs, %d sessions)', $res['rate'], $res['messages'], $res['seconds'], $res['sessions'])
                               : 'ERROR ' . $res['error']));
                unset($slot);
            }
        }
    }
}

/**
 * The file for `smtp-source -F`: the message that bench/driver.php's smtpsock
 * clients send at 1 KiB and 1 recipient (raw_message(recipients(1), make_body(1024))
 * there, built the same way here; Date and Message-ID fixed), with LF line
 * ends: smtp-source appends CRLF to every line (and dot-stuffs), so the wire
 * carries the same bytes. Written once into the work directory.
 */
function message_file(array $B): string
{
    $path = $B['work'] . '/message-1k.txt';
    if (!is_file($path)) {
        $text = str_repeat('lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ', 2);
        $line = substr($text, 0, 76) . "\n";
        $n = intdiv(KIB, 78);                 // on the wire: 13 lines of 76 octets and CRLF ...
        $rest = KIB - $n * 78;                // ... and 10 octets: x padding and CRLF
        $body = str_repeat($line, $n) . str_repeat('x', $rest - 2) . "\n";
        $head = "From: bench@example.org\nTo: rcpt1@example.org\nSubject: smtpsock benchmark\nMIME-Version: 1.0\n"
            . "Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: 7bit\n"
            . "Date: Thu, 26 Nov 2026 12:00:00 +0000\nMessage-ID: <0123456789abcdef@example.org>\n\n";
        file_put_contents($path, $head . $body);
    }
    return $path;
}

/** Sum of Ir over every callgrind output file matching $glob. */
function callgrind_total(string $glob): ?int
{
    $files = glob($glob) ?: [];
    if (!$files) {
        return null;
    }
    $sum = 0;
    foreach ($files as $f) {
        $t = (string) file_get_contents($f);
        if (preg_match('/^summary:\s+(\d+)/m', $t, $m) || preg_match('/^totals:\s+(\d+)/m', $t, $m)) {
            $sum += (int) $m[1];
        } else {
            return null;
        }
    }
    return $sum;
}

function section_callgrind(array $B, array &$R): void
{
    $cell = ['size' => KIB, 'conn' => 'reuse', 'rcpts' => 1];
    foreach (selected_rows($B) as $row) {
        if (!empty($row['reference'])) {
            continue;
        }
        // one variant per library: TCP_NODELAY only changes waiting, not instructions
        if ($row['kind'] === 'php' && in_array($row['client'], ['phpmailer', 'symfony', 'netsmtp', 'pearmail'], true) && !$row['nodelay']) {
            continue;
        }
        $conn = isset($row['na']['reuse']) ? 'new' : 'reuse';
        $n = $row['kind'] === 'source' ? 10 * $B['cg_n'] : (!empty($row['msmtp']) ? max(2, intdiv($B['cg_n'], 10)) : $B['cg_n']);
        $tot = [];
        $err = null;
        foreach ([$n, 2 * $n] as $count) {
            $dir = "{$B['work']}/cg-{$row['id']}-$count";
            @mkdir($dir, 0755, true);
            array_map('unlink', glob("$dir/*") ?: []);
            $log = "$dir/log";
            $vg = ['valgrind', '--tool=callgrind', '--trace-children=yes', "--callgrind-out-file=$dir/cg.%p.out"];
            $before = sink_counts($B['sink']);
            if ($row['kind'] === 'source') {
                $payload = !empty($row['file']) ? ['-F', message_file($B)] : ['-l', '1024'];
                $cmd = array_merge($vg, ['smtp-source', '-d', '-m', (string) $count], $payload, ['-f', 'bench@example.org',
                    '-t', 'rcpt@example.org', '-M', 'bench.example.org', '127.0.0.1:' . $B['port']]);
                [$rc] = run_proc($cmd, $log, CG_TIMEOUT);
                $expect = $count;
                if ($rc !== 0) {
                    $err = "smtp-source under valgrind exited $rc: " . tail_of($log);
                    break;
                }
            } else {
                $out = "$dir/result.json";
                $args = ['client' => $row['client'], 'port' => $B['port'], 'size' => KIB, 'rcpts' => 1, 'conn' => $conn,
                    'nodelay' => $row['nodelay'], 'mode' => 'count', 'count' => $count, 'out' => $out, 'tmpdir' => $B['work']];
                [$rc] = run_proc(array_merge($vg, php_cmd($B, $row, $args)), $log, CG_TIMEOUT);
                $res = json_decode((string) @file_get_contents($out), true);
                if (!is_array($res) || !$res['ok']) {
                    $err = is_array($res) ? $res['error'] . ' [log: ' . tail_of($log) . ']' : "driver under valgrind exited $rc: " . tail_of($log);
                    break;
                }
                $expect = $res['sent_total'];
            }
            $d = sink_wait($B['sink'], $before, $expect, 0);
            if ($d[1] < $expect) {
                $err = "the sink counted {$d[1]} of $expect messages";
                break;
            }
            $t = callgrind_total("$dir/cg.*.out");
            if ($t === null) {
                $err = 'no callgrind totals in ' . $dir;
                break;
            }
            $tot[$count] = $t;
            $files = count(glob("$dir/cg.*.out") ?: []);
            say(sprintf('  callgrind %-16s %5d msgs: %d Ir in %d process(es)', $row['id'], $count, $t, $files));
        }
        $R['callgrind'][$row['id']] = $err !== null
            ? ['error' => $err]
            : ['n' => $n, 'ir_n' => $tot[$n], 'ir_2n' => $tot[2 * $n], 'per_msg' => ($tot[2 * $n] - $tot[$n]) / $n,
               'conn' => $conn, 'startup' => 2 * $tot[$n] - $tot[2 * $n]];
        if ($err !== null) {
            say("  callgrind {$row['id']}: ERROR $err");
        }
    }
}

function section_memory(array $B, array &$R): void
{
    $list = [];
    foreach (selected_rows($B) as $row) {
        if (!empty($row['reference']) || !empty($row['cg_only'])) {
            continue;
        }
        if (($row['kind'] === 'php' && $row['nodelay']) || !empty($row['variant'])) {
            continue; // TCP_NODELAY and busy polling do not change memory
        }
        if (($row['client'] ?? '') === 'smtpsock_send') {
            foreach (['string' => 'message in a string', 'file' => 'message in a file stream', 'temp' => 'message in php://temp'] as $b => $l) {
                $list[] = [$row, $b, "smtpsock `SmtpSocket::send()`, $l", "{$row['id']}-$b"];
            }
            continue;
        }
        $list[] = [$row, 'string', $row['label'] . ($row['id'] === 'smtpsock-mail' ? ', message in a string' : ''), $row['id']];
    }
    foreach ($list as [$row, $body, $label, $id]) {
        $dir = "{$B['work']}/mem";
        @mkdir($dir, 0755, true);
        $log = "$dir/$id.log";
        $out = "$dir/$id.json";
        @unlink($out);
        $before = sink_counts($B['sink']);
        if ($row['kind'] === 'source') {
            $cmd = [$B['php'], $B['dir'] . '/rss.php', $out, '--', 'smtp-source', '-d', '-m', '1', '-l', (string) (10 * MIB),
                '-f', 'bench@example.org', '-t', 'rcpt@example.org', '-M', 'bench.example.org', '127.0.0.1:' . $B['port']];
            run_proc($cmd, $log, RUN_TIMEOUT);
            $res = json_decode((string) @file_get_contents($out), true);
            $entry = is_array($res) && $res['rc'] === 0
                ? ['label' => $label, 'peak_growth' => null, 'maxrss_kib' => $res['maxrss_kib'], 'children_maxrss_kib' => null]
                : ['label' => $label, 'error' => 'smtp-source failed: ' . tail_of($log)];
            $expect = 1;
        } else {
            $conn = isset($row['na']['reuse']) ? 'new' : 'reuse';
            $args = ['client' => $row['client'], 'port' => $B['port'], 'size' => 10 * MIB, 'rcpts' => 1, 'conn' => $conn,
                'nodelay' => $row['nodelay'], 'mode' => 'memory', 'body' => $body, 'out' => $out, 'tmpdir' => $B['work']];
            [$rc] = run_proc(php_cmd($B, $row, $args), $log, RUN_TIMEOUT);
            $res = json_decode((string) @file_get_contents($out), true);
            if (is_array($res) && $res['ok']) {
                $entry = ['label' => $label, 'peak_growth' => $res['peak_growth'], 'maxrss_kib' => $res['maxrss_kib'],
                    'children_maxrss_kib' => !empty($row['msmtp']) ? $res['children_maxrss_kib'] : null];
                $expect = $res['sent_total'];
            } else {
                $entry = ['label' => $label, 'error' => is_array($res) ? $res['error'] . ' [log: ' . tail_of($log) . ']' : "driver exited $rc: " . tail_of($log)];
                $expect = 0;
            }
        }
        if (!isset($entry['error'])) {
            $d = sink_wait($B['sink'], $before, $expect, 0);
            if ($d[1] < $expect) {
                $entry = ['label' => $label, 'error' => "the sink counted {$d[1]} of $expect messages"];
            }
        }
        $R['memory'][$id] = $entry;
        say(sprintf('  memory %-24s %s', $id, isset($entry['error']) ? 'ERROR ' . $entry['error']
            : sprintf('growth %s, max RSS %d KiB', $entry['peak_growth'] === null ? '-' : fmt_bytes($entry['peak_growth']), $entry['maxrss_kib'])));
    }
}

function free_port(): int
{
    $s = stream_socket_server('tcp://127.0.0.1:0', $en, $es);
    $name = stream_socket_get_name($s, false);
    fclose($s);
    return (int) substr($name, strrpos($name, ':') + 1);
}

function section_persistent(array $B, array &$R): void
{
    if (!in_array('smtpsock-send', array_column(selected_rows($B), 'id'), true)) {
        return;
    }
    $requests = 5;
    $cases = [
        'socket-1' => ['SmtpSocket, `persistent => true`', ['api' => 'socket', 'persistent' => '1'], []],
        'mail-1' => ['`smtp_mail()`, `smtpsock.persistent=1`', ['api' => 'mail'], ['smtpsock.persistent' => '1']],
        'socket-0' => ['SmtpSocket, `persistent => false` (control)', ['api' => 'socket', 'persistent' => '0'], []],
    ];
    foreach ($cases as $id => [$label, $query, $ini]) {
        $hp = free_port();
        $log = "{$B['work']}/persist-$id.log";
        $cmd = [$B['php'], '-d', 'extension=' . $B['ext'], '-d', 'smtpsock.host=127.0.0.1', '-d', 'smtpsock.port=' . $B['port'],
            '-d', 'smtpsock.from=bench@example.org'];
        foreach ($ini as $k => $v) {
            array_push($cmd, '-d', "$k=$v");
        }
        array_push($cmd, '-S', "127.0.0.1:$hp", $B['dir'] . '/persist_router.php');
        $before = sink_counts($B['sink']);
        $p = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'], 2 => ['file', $log, 'a']], $pipes, null,
            ['PHP_CLI_SERVER_WORKERS' => '1', 'PATH' => getenv('PATH')]);
        $entry = ['label' => $label, 'requests' => $requests];
        try {
            if (!is_resource($p)) {
                throw new RuntimeException('could not start php -S');
            }
            $up = false;
            for ($i = 0; $i < 200 && !$up; $i++) {
                $c = @stream_socket_client("tcp://127.0.0.1:$hp", $en, $es, 0.2);
                if ($c) {
                    fclose($c);
                    $up = true;
                } else {
                    usleep(25000);
                }
            }
            if (!$up) {
                throw new RuntimeException('php -S did not start: ' . tail_of($log));
            }
            $ctx = stream_context_create(['http' => ['timeout' => 30, 'ignore_errors' => true]]);
            for ($i = 1; $i <= $requests; $i++) {
                $q = http_build_query($query + ['port' => $B['port'], 'n' => $i]);
                $body = @file_get_contents("http://127.0.0.1:$hp/?$q", false, $ctx);
                if (trim((string) $body) !== 'ok') {
                    throw new RuntimeException("request $i: " . trim((string) ($body === false ? 'no answer' : $body)));
                }
            }
            $d = sink_wait($B['sink'], $before, $requests, 0);
            $entry['messages'] = $d[1];
            $entry['open_during'] = null;
        } catch (Throwable $e) {
            $entry['error'] = $e->getMessage();
        } finally {
            if (is_resource($p)) {
                proc_terminate($p, 15); // our php -S, by its handle
                proc_close($p);
            }
        }
        // every connection the server held has ended now: the sink counted each as a session
        $d = sink_wait($B['sink'], $before, 0, $requests, 1.5);
        $entry['connections'] = $d[0];
        $R['persistent'][$id] = $entry;
        say(sprintf('  persistent %-9s %s', $id, isset($entry['error']) ? 'ERROR ' . $entry['error']
            : "{$entry['messages']} messages in $requests requests over {$entry['connections']} TCP connection(s)"));
    }
}

/* ---- formatting ----------------------------------------------------------------------------------- */

function median(array $v): float
{
    sort($v);
    $n = count($v);
    return $n % 2 ? $v[intdiv($n, 2)] : ($v[$n / 2 - 1] + $v[$n / 2]) / 2;
}

function fmt_rate(float $r): string
{
    return $r >= 100 ? number_format($r, 0, '.', ',') : number_format($r, 1);
}

function fmt_bytes(int|float $b): string
{
    if (abs($b) >= MIB) {
        return number_format($b / MIB, 1) . ' MiB';
    }
    return number_format($b / KIB, 0) . ' KiB';
}

function size_label(int $s): string
{
    return $s >= MIB ? ($s / MIB) . ' MiB' : ($s / KIB) . ' KiB';
}

function cell_value(array $R, string $row, string $key): ?float
{
    $s = $R['rates'][$row][$key] ?? null;
    if (!$s || !empty($s['errors']) || !empty($s['na']) || !$s['runs']) {
        return null;
    }
    return median($s['runs']);
}

function cell_text(array $R, string $row, string $key, int $size): string
{
    $s = $R['rates'][$row][$key] ?? null;
    if (!$s) {
        return '-';
    }
    if (!empty($s['na'])) {
        return 'n/a';
    }
    if (!empty($s['errors'])) {
        return 'error';
    }
    $m = median($s['runs']);
    $t = fmt_rate($m);
    if ($size >= 100 * KIB) {
        $t .= ' (' . number_format($m * $size / 1e6, 1) . ' MB/s)';
    }
    return $t;
}

function machine_facts(array $B): array
{
    $cpu = 'unknown';
    foreach (@file('/proc/cpuinfo') ?: [] as $l) {
        if (str_starts_with($l, 'model name')) {
            $cpu = trim(substr($l, strpos($l, ':') + 1));
            break;
        }
    }
    $ver = function (string $pkg): string {
        $v = trim((string) @shell_exec('dpkg-query -W -f=\'${Version}\' ' . escapeshellarg($pkg) . ' 2>/dev/null'));
        return $v !== '' ? $v : '?';
    };
    $rev = trim((string) @shell_exec('git -C ' . escapeshellarg(dirname($B['dir'])) . ' rev-parse --short HEAD 2>/dev/null'));
    if ($rev !== '') {
        $dirty = trim((string) @shell_exec('git -C ' . escapeshellarg(dirname($B['dir'])) . ' status --porcelain --untracked-files=no 2>/dev/null'));
        $rev .= $dirty !== '' ? ' (with local changes)' : '';
    }
    return [
        'nproc' => trim((string) shell_exec('nproc')),
        'cpu' => $cpu,
        'kernel' => php_uname('r'),
        'os' => trim((string) @shell_exec('. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"')),
        'php' => PHP_VERSION,
        'rev' => $rev,
        'versions' => [
            'Postfix (smtp-sink, smtp-source)' => $ver('postfix'),
            'PHPMailer' => $ver('libphp-phpmailer'),
            'Symfony Mailer' => $ver('php-symfony-mailer'),
            'Net_SMTP' => $ver('php-net-smtp'),
            'PEAR Mail' => $ver('php-mail'),
            'msmtp' => $ver('msmtp'),
            'valgrind' => $ver('valgrind'),
        ],
    ];
}

function report(array $B, array $R): string
{
    $meta = $R['meta'];
    $f = $meta['facts'];
    $wall = $meta['wall'];
    $rows = selected_rows($B);
    $o = [];
    $o[] = '# smtpsock benchmark results';
    $o[] = '';
    $o[] = '- Date: ' . $meta['date'] . '; whole run (install check, build, bench) took ' . sprintf('%d min %02d s', intdiv((int) $wall, 60), (int) $wall % 60) . '.';
    $o[] = "- Command: `{$B['command']}`";
    $o[] = "- Machine: {$f['nproc']} CPUs (`nproc`), {$f['cpu']}, Linux {$f['kernel']}, {$f['os']}";
    $o[] = "- PHP {$f['php']} (CLI)" . ($f['rev'] !== '' ? "; smtpsock at git {$f['rev']}" : '');
    $v = [];
    foreach ($f['versions'] as $k => $ver) {
        $v[] = "$k $ver";
    }
    $o[] = '- Packages: ' . implode(', ', $v);
    $o[] = sprintf('- Load average (1 min) at the start and end of the bench: %.2f, %.2f (other work on the machine shows up in the rates, not in the instruction counts)',
        $meta['load_start'], $meta['load_end']);
    $o[] = sprintf('- Method: one smtp-sink on 127.0.0.1 (PIPELINING, no CHUNKING/SIZE/STARTTLS); each cell is the median of %s runs of about %.1f s each (at least 5 / 3 / 2 messages for 1 KiB / 100 KiB / 10 MiB), one fresh process per run, clients interleaved, a warm-up message before the clock starts; every run is checked against the sink\'s own message counter. See bench/README.md.',
        $B['runs'] ?? '5 (1 KiB) or 3 (larger)', $B['seconds']);
    $o[] = '';

    if (!empty($R['rates'])) {
        $o[] = '## Messages per second';
        $o[] = '';
        $o[] = 'Body size as given plus the client\'s own headers; MB/s = messages per second x body size / 10^6. "reused": one connection for all messages; "new": a connection per message.';
        foreach ($B['sizes'] as $size) {
            $o[] = '';
            $o[] = '### ' . size_label($size);
            $o[] = '';
            $o[] = '| client | reused, 1 rcpt | reused, 10 rcpts | new, 1 rcpt | new, 10 rcpts |';
            $o[] = '| --- | ---: | ---: | ---: | ---: |';
            foreach ($rows as $row) {
                if (!empty($row['cg_only'])) {
                    continue;
                }
                $line = '| ' . $row['label'] . ' |';
                foreach (['reuse', 'new'] as $conn) {
                    foreach ([1, 10] as $rc) {
                        $line .= ' ' . cell_text($R, $row['id'], "$size/$conn/$rc", $size) . ' |';
                    }
                }
                $o[] = $line;
            }
        }
        $o[] = '';
    }

    if (!empty($R['callgrind'])) {
        $o[] = '## Instructions per message (1 KiB, reused connection, 1 recipient)';
        $o[] = '';
        $o[] = '`valgrind --tool=callgrind --trace-children=yes`, user-space instructions of the whole process and its children, (Ir(2N) - Ir(N)) / N so that start-up cancels out. PHP libraries are measured with TCP_NODELAY set (it changes waiting, not work); `mail()` via msmtp counts the PHP process, `sh` and one msmtp per message.';
        $o[] = '';
        $o[] = '| client | N | instructions / message | start-up (instructions) |';
        $o[] = '| --- | ---: | ---: | ---: |';
        foreach ($rows as $row) {
            $c = $R['callgrind'][$row['id']] ?? null;
            if (!$c) {
                continue;
            }
            $label = preg_replace('/, as shipped$| \+ TCP_NODELAY$/', '', $row['label']) . (($c['conn'] ?? 'reuse') === 'new' ? ' (new connection per message)' : '');
            $o[] = isset($c['error']) ? "| $label | | error | |"
                : sprintf('| %s | %d | %s | %s |', $label, $c['n'], number_format($c['per_msg'], 0, '.', ','), number_format($c['startup'], 0, '.', ','));
        }
        $o[] = '';
    }

    if (!empty($R['memory'])) {
        $o[] = '## Peak memory for one 10 MiB message';
        $o[] = '';
        $o[] = 'Growth: `memory_get_peak_usage()` during the send over `memory_get_usage()` just before it (the message, the library and an open connection already in place). Max RSS: `getrusage()` of the whole process after the send (it includes PHP itself and the 10 MiB message); for msmtp also the largest child.';
        $o[] = '';
        $o[] = '| client | PHP peak growth | max RSS |';
        $o[] = '| --- | ---: | ---: |';
        foreach ($R['memory'] as $m) {
            if (isset($m['error'])) {
                $o[] = "| {$m['label']} | error | error |";
                continue;
            }
            $rss = fmt_bytes($m['maxrss_kib'] * KIB) . ($m['children_maxrss_kib'] !== null ? ' (+ msmtp ' . fmt_bytes($m['children_maxrss_kib'] * KIB) . ')' : '');
            $o[] = sprintf('| %s | %s | %s |', $m['label'], $m['peak_growth'] === null ? 'n/a (C)' : fmt_bytes($m['peak_growth']), $rss);
        }
        $o[] = '';
    }

    if (!empty($R['persistent'])) {
        $o[] = '## Persistent connections';
        $o[] = '';
        $o[] = 'One `php -S` process (one worker, like a PHP-FPM child) serves 5 requests, each sending one message; the sink counts the TCP connections it saw end once the server has stopped.';
        $o[] = '';
        $o[] = '| case | requests | messages at the sink | TCP connections |';
        $o[] = '| --- | ---: | ---: | ---: |';
        foreach ($R['persistent'] as $p) {
            $o[] = isset($p['error']) ? "| {$p['label']} | {$p['requests']} | error | {$p['connections']} |"
                : "| {$p['label']} | {$p['requests']} | {$p['messages']} | {$p['connections']} |";
        }
        $o[] = '';
    }

    $o = array_merge($o, targets($B, $R));

    $notes = notes($B, $R);
    if ($notes) {
        $o[] = '## Notes from this run';
        $o[] = '';
        foreach ($notes as $n) {
            $o[] = "- $n";
        }
        $o[] = '';
    }
    return implode("\n", $o);
}

function targets(array $B, array $R): array
{
    $o = ['## Targets (issue "Speed"): smtpsock vs smtp-source, same run', ''];
    $o[] = '| target | smtp-source | `send()` | | `smtp_mail()` | |';
    $o[] = '| --- | ---: | ---: | --- | ---: | --- |';
    $rateRow = function (string $what, string $key, float $min, bool $bytes) use ($R, &$o) {
        [$size] = explode('/', $key);
        $src = cell_value($R, 'smtp-source', $key);
        if ($src === null && !isset($R['rates']['smtp-source'][$key])) {
            return;
        }
        $line = "| $what: at least {$min}x |" . ($src === null ? ' error |'
            : ' ' . ($bytes ? number_format($src * (int) $size / 1e6, 1) . ' MB/s' : fmt_rate($src) . ' msg/s') . ' |');
        foreach (['smtpsock-send', 'smtpsock-mail'] as $id) {
            $v = cell_value($R, $id, $key);
            if (!isset($R['rates'][$id][$key])) {
                $line .= ' - | |';   // not part of this run (BENCH_ONLY / BENCH_SIZES)
            } elseif ($v === null || $src === null) {
                $line .= ' error | FAIL |';
            } else {
                $ratio = $v / $src;
                $line .= sprintf(' %.2fx | %s |', $ratio, $ratio >= $min ? 'PASS' : 'FAIL');
            }
        }
        $o[] = $line;
    };
    $rateRow('1 KiB, reused, 1 rcpt', KIB . '/reuse/1', 2.5, false);
    $rateRow('1 KiB, reused, 10 rcpts', KIB . '/reuse/10', 4.5, false);
    $rateRow('1 KiB, new connection, 1 rcpt', KIB . '/new/1', 2.0, false);
    $rateRow('1 KiB, new connection, 10 rcpts', KIB . '/new/10', 2.0, false);
    foreach ([100 * KIB, 10 * MIB] as $size) {
        foreach (['reuse' => 'reused', 'new' => 'new connection'] as $conn => $cl) {
            foreach ([1, 10] as $rc) {
                $rateRow(size_label($size) . ", $cl, $rc rcpt" . ($rc > 1 ? 's' : '') . ', byte rate', "$size/$conn/$rc", 0.9, true);
            }
        }
    }
    // instructions: the issue's target is smtp-source -F (the message from a
    // file); the row against smtp-source -l (payload generated per message) stays beside it
    foreach (['smtp-source-file' => '`smtp-source -F` (message from a file)', 'smtp-source' => 'smtp-source (`-l 1024`)'] as $ref => $refLabel) {
        if (!isset($R['callgrind'][$ref])) {
            continue;
        }
        $src = $R['callgrind'][$ref]['per_msg'] ?? null;
        $line = "| instructions / 1 KiB message, reused: no more than $refLabel |" . ($src === null ? ' error |' : ' ' . number_format($src, 0, '.', ',') . ' |');
        foreach (['smtpsock-send', 'smtpsock-mail'] as $id) {
            $v = $R['callgrind'][$id]['per_msg'] ?? null;
            if (!isset($R['callgrind'][$id])) {
                $line .= ' - | |';
            } elseif ($v === null || $src === null) {
                $line .= ' error | FAIL |';
            } else {
                $line .= sprintf(' %s (%.2fx) | %s |', number_format($v, 0, '.', ','), $v / $src, $v <= $src ? 'PASS' : 'FAIL');
            }
        }
        $o[] = $line;
    }
    if (!empty($R['memory'])) {
        $m = $R['memory'];
        $cell = function (?array $e, int $limit, bool $strictlyBelow): string {
            if (!$e) {
                return ' - | |';
            }
            if (isset($e['error'])) {
                return ' error | FAIL |';
            }
            $ok = $strictlyBelow ? $e['peak_growth'] < $limit : $e['peak_growth'] <= $limit;
            return ' ' . fmt_bytes($e['peak_growth']) . ' | ' . ($ok ? 'PASS' : 'FAIL') . ' |';
        };
        $o[] = '| 10 MiB from a file stream: peak growth under ' . fmt_bytes(STREAM_MEM_TARGET) . ' | |' . $cell($m['smtpsock-send-file'] ?? null, STREAM_MEM_TARGET, true) . ' | |';
        $o[] = '| 10 MiB from php://temp: peak growth under ' . fmt_bytes(STREAM_MEM_TARGET) . ' | |' . $cell($m['smtpsock-send-temp'] ?? null, STREAM_MEM_TARGET, true) . ' | |';
        $o[] = '| 10 MiB from a string: growth no more than one chunk (' . fmt_bytes(STRING_CHUNK) . ') | |'
            . $cell($m['smtpsock-send-string'] ?? null, STRING_CHUNK, false) . $cell($m['smtpsock-mail'] ?? null, STRING_CHUNK, false);
    }
    if (!empty($R['persistent'])) {
        $p = $R['persistent'];
        $pc = function (?array $e): string {
            if (!$e) {
                return ' - | |';
            }
            if (isset($e['error'])) {
                return ' error | FAIL |';
            }
            return " {$e['connections']} for {$e['requests']} requests | " . ($e['connections'] === 1 && $e['messages'] >= $e['requests'] ? 'PASS' : 'FAIL') . ' |';
        };
        $o[] = '| persistent: later requests reuse the connection (1 TCP connection) | |' . $pc($p['socket-1'] ?? null) . $pc($p['mail-1'] ?? null);
    }
    $o[] = '';
    $o[] = 'The string-memory target counts one chunk as ' . fmt_bytes(STRING_CHUNK) . ' (the step in which smtpsock encodes a body); the ratios use the medians above.';
    $o[] = '';
    return $o;
}

function cell_label(string $key): string
{
    [$size, $conn, $rc] = explode('/', $key);
    return size_label((int) $size) . ($conn === 'reuse' ? ' reused' : ' new') . ", $rc rcpt" . ($rc === '1' ? '' : 's');
}

function notes(array $B, array $R): array
{
    $n = [];
    $labels = array_column(rows(), 'label', 'id');
    foreach ($R['rates'] ?? [] as $id => $cells) {
        $multi = $fewer = [];
        foreach ($cells as $key => $s) {
            foreach (array_unique($s['errors'] ?? []) as $e) {
                $n[] = "{$labels[$id]}, " . cell_label($key) . ': error: ' . str_replace('|', '/', $e);
            }
            if (!empty($s['errors']) || empty($s['sessions'])) {
                continue;
            }
            [, $conn] = explode('/', $key);
            if ($conn === 'new') {
                foreach ($s['sessions'] as $i => $sess) {
                    $sent = $s['sent'][$i] ?? 0;
                    if ($sess < $sent) {
                        $fewer[] = cell_label($key) . ": $sess for $sent messages";
                        break;
                    }
                }
            } elseif (max($s['sessions']) > ($id === 'smtp-source-4' ? 4 : 1)) {
                $multi[] = cell_label($key) . ': up to ' . max($s['sessions']);
            }
        }
        if ($fewer) {
            $n[] = "{$labels[$id]}: fewer connections than messages in a \"new connection\" cell (" . implode('; ', $fewer) . ')';
        }
        if ($multi) {
            $n[] = "{$labels[$id]}: more than one connection in a run of a \"reused\" cell (" . implode('; ', $multi) . ')'
                . (str_starts_with($id, 'symfony') ? '; Symfony Mailer reconnects every 100 messages by default (`SmtpTransport::setRestartThreshold()`), kept as shipped' : '');
        }
    }
    foreach ($R['callgrind'] ?? [] as $id => $c) {
        if (isset($c['error'])) {
            $n[] = "callgrind, {$labels[$id]}: " . str_replace('|', '/', $c['error']);
        }
    }
    foreach ($R['memory'] ?? [] as $m) {
        if (isset($m['error'])) {
            $n[] = "memory, {$m['label']}: " . str_replace('|', '/', $m['error']);
        }
    }
    foreach ($R['persistent'] ?? [] as $p) {
        if (isset($p['error'])) {
            $n[] = "persistent, {$p['label']}: " . str_replace('|', '/', $p['error']);
        }
    }
    return $n;
}

/* ---- main ----------------------------------------------------------------------------------------- */

$R = ['meta' => [], 'rates' => [], 'callgrind' => [], 'memory' => [], 'persistent' => []];
$sections = ['rate' => 'section_rates', 'callgrind' => 'section_callgrind', 'memory' => 'section_memory', 'persistent' => 'section_persistent'];
foreach ($sections as $name => $fn) {
    if (in_array($name, $B['skip'], true)) {
        continue;
    }
    $t0 = microtime(true);
    say("== $name");
    try {
        $fn($B, $R);
    } catch (Throwable $e) {
        say("bench: section $name failed: " . $e->getMessage());
        $R['section_errors'][$name] = $e->getMessage();
    }
    say(sprintf('== %s took %.0f s', $name, microtime(true) - $t0));
    file_put_contents($B['work'] . '/results.json', json_encode($R, JSON_PRETTY_PRINT));
}
$R['meta'] = [
    'date' => gmdate('Y-m-d H:i') . ' UTC',
    'wall' => microtime(true) - $B['started'],
    'load_start' => $B['load_start'][0],
    'load_end' => sys_getloadavg()[0],
    'facts' => machine_facts($B),
    'command' => $B['command'],
    'runs' => $B['runs'],
    'seconds' => $B['seconds'],
    'cg_n' => $B['cg_n'],
    'sizes' => $B['sizes'],
    'only' => array_values($B['only']),
];
$md = report($B, $R);
file_put_contents($B['results'], $md . "\n");
// every run's raw figures beside the table
file_put_contents(preg_replace('/\.md$/', '', $B['results']) . '.json', json_encode($R, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES) . "\n");
echo $md, "\n";
