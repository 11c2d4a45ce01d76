<?php
/*
 * The round-trip benchmark (issue 12): messages per second through
 * bench/delay_proxy at several round-trip times, and k, the round trips per
 * message, as the slope of the time per message between two RTTs. Started
 * by `bash bench/run.sh rtt`, which builds the extension(s) and the proxy,
 * starts smtp-sink and the test Postfix, and stops them afterwards.
 *
 *   php bench/rtt.php --ext=SO --work=DIR --sink-port=P --sink-out=FILE
 *       --postfix-dir=DIR --proxy=BIN --results=FILE
 *       [--sid=ROOT --ext84=SO_INSIDE_ROOT] [--command=...] [--started=T]
 *   php bench/rtt.php --from-json=RESULTS-rtt.json --results=RESULTS-rtt.md
 *       (the report again from a run's JSON; nothing is measured)
 *
 * Every PHP run is a fresh process (bench/driver.php): one warm-up message
 * (which opens the connection for "reused"), then N messages timed. PHP 8.4
 * runs happen inside the Debian sid root (scripts/sid-root.sh run), whose
 * /tmp is ROOT/tmp on the host. After every run the server's own count is
 * checked: smtp-sink's -c counters (messages and sessions), or for Postfix
 * every Maildir copy (counted, then removed) and the MAIL commands of its
 * log's disconnect lines.
 *
 * Environment: BENCH_RTTS ("1 5 20 50", ms), RTT_MSGS (20: messages per run
 * at 20 ms and above; more at lower RTTs, see msgs_for()), RTT_RUNS (1),
 * RTT_RUNS_SMTPSOCK (3, or RTT_RUNS if more: runs per cell of smtpsock's own clients),
 * RTT_SERVERS (postfix,sink,sink-nopipe,postfix-tls,bdat-sink), RTT_MODES
 * (reuse,reuse10,many,persist,new,tls), RTT_CLIENTS (client ids, all),
 * RTT_PHP ("8.2 8.4"), RTT_PROXY_RT (10: the proxies run SCHED_FIFO at this
 * priority, 0: nice -10 only), RTT_RUN_RTT (1: after every run, NOOP round
 * trips through the same proxy measure the RTT k divides by; 0: the
 * calibration at the start only).
 */

declare(strict_types=1);

const RUN_TIMEOUT = 600.0;
const DELIVERY_TIMEOUT = 120.0;
const SIZE = 1024;
/* sendMany() cells send this many times a cell's messages, in one call: a
 * call of n messages ends with one more round trip (the last message's final
 * reply), which would add 1/n to k measured on one call of 20 */
const MANY_FACTOR = 5;

$opt = getopt('', ['ext:', 'ext84:', 'sid:', 'work:', 'sink-port:', 'sink-out:', 'postfix-dir:', 'proxy:', 'bdat-sink:', 'results:', 'command:', 'started:', 'from-json:']);
if (isset($opt['from-json'], $opt['results'])) {
    // php bench/rtt.php --from-json=RESULTS-rtt.json --results=RESULTS-rtt.md:
    // the report again from a run's JSON (nothing is measured)
    $R = json_decode((string) file_get_contents($opt['from-json']), true);
    file_put_contents($opt['results'], report($R) . "\n");
    exit(0);
}
foreach (['ext', 'work', 'sink-port', 'sink-out', 'postfix-dir', 'proxy', 'results'] as $k) {
    if (!isset($opt[$k])) {
        fwrite(STDERR, "rtt.php: missing --$k\n");
        exit(2);
    }
}
$list = fn (string $env, string $def) => array_values(array_filter(preg_split('/[\s,]+/', trim((string) (getenv($env) ?: $def))), 'strlen'));
$B = [
    'ext' => $opt['ext'],
    'ext84' => $opt['ext84'] ?? '',
    'sid' => $opt['sid'] ?? '',
    'work' => $opt['work'] . '/rtt',
    'sink_out' => $opt['sink-out'],
    'pfdir' => $opt['postfix-dir'],
    'proxy' => $opt['proxy'],
    'results' => $opt['results'],
    'command' => $opt['command'] ?? 'bash bench/run.sh rtt',
    'started' => (float) ($opt['started'] ?? microtime(true)),
    'php' => PHP_BINARY,
    'dir' => __DIR__,
    'root' => dirname(__DIR__),
    'rtts' => array_map('floatval', $list('BENCH_RTTS', '1 5 20 50')),
    'msgs' => max(2, (int) (getenv('RTT_MSGS') ?: 20)),
    'runs' => max(1, (int) (getenv('RTT_RUNS') ?: 1)),
    // runs per cell of smtpsock's own clients (the cells with targets): the
    // median of several keeps one stall of this shared VM out of k
    'runs_own' => max(1, (int) (getenv('RTT_RUNS_SMTPSOCK') ?: max(3, (int) getenv('RTT_RUNS')))),
    'run_rtt' => getenv('RTT_RUN_RTT') !== '0',
    'servers' => $list('RTT_SERVERS', 'postfix,sink,sink-nopipe,postfix-tls,bdat-sink'),
    'bdat_sink' => $opt['bdat-sink'] ?? '',
    'modes' => $list('RTT_MODES', 'reuse,reuse10,many,persist,new,tls'),
    'clients' => $list('RTT_CLIENTS', ''),
    'phps' => $list('RTT_PHP', '8.2 8.4'),
    'load_start' => sys_getloadavg(),
    'git' => trim((string) shell_exec('git -C ' . escapeshellarg(dirname(__DIR__)) . ' rev-parse HEAD 2>/dev/null')),
    'git_dirty' => trim((string) shell_exec('git -C ' . escapeshellarg(dirname(__DIR__)) . ' status --porcelain --untracked-files=no 2>/dev/null')) !== '',
];
sort($B['rtts']);
$B['pfport'] = (int) trim((string) file_get_contents($B['pfdir'] . '/port'));
@mkdir($B['work'], 0755, true);
$LOG = $B['work'] . '/bench.log';
// the PHP 8.4 runs: a folder inside the sid root (its /tmp), seen from both sides
$B['inner'] = '';
if ($B['sid'] !== '' && $B['ext84'] !== '' && in_array('8.4', $B['phps'], true)) {
    $B['inner'] = '/tmp/rtt-work-' . getmypid();
    @mkdir($B['sid'] . $B['inner'], 0755, true);
    copy($B['sid'] . $B['ext84'], $B['sid'] . $B['inner'] . '/smtpsock.so');
} else {
    $B['phps'] = array_values(array_diff($B['phps'], ['8.4']));
}

function say(string $s): void
{
    global $LOG;
    fwrite(STDERR, $s . "\n");
    file_put_contents($LOG, $s . "\n", FILE_APPEND);
}

/** Messages per run at $rtt ms: RTT_MSGS at 20 ms and above, more below (about
 * the same time per run), at most 5x. */
function msgs_for(array $B, float $rtt): int
{
    return (int) max($B['msgs'], min(5 * $B['msgs'], round($B['msgs'] * 20 / max($rtt, 1.0))));
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

function start_proxy(array $B, int $port, float $rtt, string $name): array
{
    $stats = "{$B['work']}/proxy-$name.json";
    @unlink($stats);
    $rt = (int) (getenv('RTT_PROXY_RT') === false ? 10 : getenv('RTT_PROXY_RT'));
    $p = proc_open(array_merge([$B['proxy'], '-S', $stats], $rt > 0 ? ['-r', (string) $rt] : [], [(string) $rtt, "127.0.0.1:$port"]),
        [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['file', "{$B['work']}/proxy-$name.log", 'a']], $pipes);
    $pport = (int) trim((string) fgets($pipes[1]));
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

function free_port(): int
{
    $s = stream_socket_server('tcp://127.0.0.1:0');
    $n = stream_socket_get_name($s, false);
    fclose($s);
    return (int) substr($n, strrpos($n, ':') + 1);
}

/**
 * Start a sink with -c counters on a free loopback port ($argv(port) is its
 * command), its output appended to $out; up to 5 ports are tried. Its
 * handle goes to $procs (stopped at exit). The port, or an exception.
 */
function start_sink(callable $argv, string $out, string $what, array &$procs): int
{
    for ($try = 0; $try < 5; $try++) {
        $p = free_port();
        $h = proc_open($argv($p), [0 => ['file', '/dev/null', 'r'], 1 => ['file', $out, 'a'], 2 => ['file', $out . '.err', 'a']], $pp);
        for ($j = 0; $j < 50; $j++) {
            if (answers_220($p)) {
                $procs[] = $h;
                return $p;
            }
            usleep(100000);
        }
        proc_terminate($h, 15);
        proc_close($h);
    }
    throw new RuntimeException("$what did not start");
}

function answers_220(int $port): bool
{
    $c = @stream_socket_client("tcp://127.0.0.1:$port", $en, $es, 1);
    if (!$c) {
        return false;
    }
    $l = (string) fgets($c);
    fclose($c);
    return str_starts_with($l, '220');
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
    foreach (['new', 'cur', 'tmp'] as $sub) {
        foreach (@scandir("$maildir/$sub") ?: [] as $n) {
            if ($n[0] !== '.') {
                $f[] = "$maildir/$sub/$n";
            }
        }
    }
    return $f;
}

/** Postfix's per-session counts in the log after byte $from: [sessions, mail, new offset]. */
function postfix_counts(string $log, int $from): array
{
    clearstatcache(true, $log);
    $t = (string) @file_get_contents($log, false, null, $from);
    $s = $m = 0;
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
    }
    return [$s, $m, $from + strlen($t)];
}

/** The server's state before a run. */
function server_mark(array $S): array
{
    if ($S['kind'] === 'sink') {
        return ['sink' => sink_counts($S['out'])];
    }
    clearstatcache();
    return ['log' => (int) @filesize($S['maillog'])];
}

/**
 * Wait until the server has counted $sent messages (x $rcpts copies for
 * Postfix) since $mark; [ok, text]. $sessions: connections expected to have
 * ended (null: not checked).
 */
function server_check(array $S, array $mark, int $sent, int $rcpts, ?int $sessions): array
{
    $t0 = microtime(true);
    if ($S['kind'] === 'sink') {
        do {
            $now = sink_counts($S['out']);
            $got = $now[1] - $mark['sink'][1];
            $ses = $now[0] - $mark['sink'][0];
            if ($got >= $sent && ($sessions === null || $ses >= $sessions)) {
                break;
            }
            usleep(5000);
        } while (microtime(true) - $t0 < 10);
        usleep(20000);
        $now = sink_counts($S['out']);
        $got = $now[1] - $mark['sink'][1];
        $ses = $now[0] - $mark['sink'][0];
        $txt = "smtp-sink counted $got messages, $ses sessions";
        return [$got === $sent && ($sessions === null || $ses === $sessions), $txt];
    }
    $want = $sent * $rcpts;
    do {
        $files = maildir_files($S['maildir']);
        $pc = postfix_counts($S['maillog'], $mark['log']);
        if (count($files) >= $want && $pc[1] >= $sent && ($sessions === null || $pc[0] >= $sessions)) {
            break;
        }
        usleep(20000);
    } while (microtime(true) - $t0 < DELIVERY_TIMEOUT);
    usleep(100000);   // anything beyond what was sent would show now
    $files = maildir_files($S['maildir']);
    $pc = postfix_counts($S['maillog'], $mark['log']);
    array_map('unlink', $files);
    $txt = sprintf('Postfix: %d MAIL in %d sessions (log), %d Maildir copies', $pc[1], $pc[0], count($files));
    return [count($files) === $want && $pc[1] === $sent && ($sessions === null || $pc[0] === $sessions), $txt];
}

/* ---- one run ---------------------------------------------------------------------------------- */

/**
 * One timed run of client $C in cell $cell through proxy port $port at $rtt.
 * ['ok', 'messages', 'seconds', 'sent', 'check'] or ['ok' => false, 'error'].
 */
function run_one(array $B, array $C, array $cell, array $S, int $port, float $rtt, int $i): array
{
    static $seq = 0;
    $seq++;
    $n = msgs_for($B, $rtt) * ($cell['factor'] ?? 1);
    $tag = sprintf('%04d-%s-%s-%s-%g-r%d', $seq, $S['id'], $cell['id'], $C['id'], $rtt, $i);
    $log = "{$B['work']}/$tag.log";
    $rcpts = $cell['rcpts'];
    $mark = server_mark($S);
    $new = in_array($cell['mode'], ['new', 'tls'], true);

    if ($C['kind'] === 'smtp-source') {
        // two runs, n1 and n1 + n: the difference removes connect, greeting,
        // EHLO and QUIT of "reused" and the process start
        $n1 = max(2, intdiv($n, 4));
        $t = [];
        foreach ([$n1, $n1 + $n] as $m) {
            $cmd = ['smtp-source', '-s', '1', '-m', (string) $m, '-l', (string) SIZE, '-r', (string) $rcpts,
                '-f', 'bench@example.org', '-t', 'rcpt@example.org'];
            if ($cell['mode'] === 'reuse') {
                $cmd[] = '-d';
            }
            $cmd[] = "127.0.0.1:$port";
            [$rc, $sec] = run_proc($cmd, $log, RUN_TIMEOUT);
            if ($rc !== 0) {
                return ['ok' => false, 'error' => "smtp-source exited $rc: " . trim((string) @file_get_contents($log))];
            }
            $t[] = $sec;
        }
        $sent = 2 * $n1 + $n;
        [$ok, $txt] = server_check($S, $mark, $sent, $rcpts, $cell['mode'] === 'reuse' ? 2 : $sent);
        if (!$ok) {
            return ['ok' => false, 'error' => "sent $sent to $rcpts rcpts; $txt"];
        }
        return ['ok' => true, 'messages' => $n, 'seconds' => $t[1] - $t[0], 'sent' => $sent, 'check' => $txt];
    }

    if ($cell['mode'] === 'persist') {
        return run_persist($B, $C, $S, $port, $n, $log, $mark);
    }

    $in84 = $C['php'] === '8.4';
    $wdir = $in84 ? $B['inner'] : $B['work'];
    $out = "$wdir/$tag.json";
    $hostOut = $in84 ? $B['sid'] . $out : $out;
    $ext = $in84 ? $B['inner'] . '/smtpsock.so' : $B['ext'];
    $cmd = [$in84 ? 'php8.4' : $B['php'], '-d', 'memory_limit=-1', '-d', 'display_errors=stderr', '-d', 'extension=' . $ext,
        '-d', 'smtpsock.host=127.0.0.1', '-d', "smtpsock.port=$port", '-d', 'smtpsock.from=bench@example.org',
        '-d', 'smtpsock.timeout=60'];
    $args = ['--client=' . $C['driver'], "--port=$port", '--size=' . SIZE, "--rcpts=$rcpts",
        '--conn=' . ($new ? 'new' : 'reuse'), "--out=$out", "--tmpdir=$wdir"];
    if ($cell['mode'] === 'many') {
        $args[] = '--mode=batch';
        $args[] = "--count=$n";
    } else {
        array_push($args, '--mode=rate', '--seconds=0', "--min=$n", "--max=$n");
    }
    foreach ($C['args'] as $a) {
        $args[] = $a;
    }
    if ($cell['mode'] === 'tls') {
        $ca = $in84 ? $B['inner'] . '/ca.pem' : $S['ca'];
        array_push($args, '--user=' . $S['user'], '--password=' . $S['password'], "--cafile=$ca");
        array_push($cmd, '-d', 'smtpsock.security=starttls', '-d', 'smtpsock.username=' . $S['user'],
            '-d', 'smtpsock.password=' . $S['password'], '-d', 'smtpsock.auth=PLAIN', '-d', "openssl.cafile=$ca");
    }
    $cmd[] = $B['dir'] . '/driver.php';
    $cmd = array_merge($cmd, $args);
    if ($in84) {
        $cmd = array_merge(['bash', $B['root'] . '/scripts/sid-root.sh', 'run'], $cmd);
    }
    [$rc, ] = run_proc($cmd, $log, RUN_TIMEOUT);
    $res = json_decode((string) @file_get_contents($hostOut), true);
    @unlink($hostOut);
    if (!is_array($res) || !$res['ok']) {
        // what reached the server anyway is removed, so the next run counts from zero
        if ($S['kind'] === 'postfix') {
            usleep(500000);
            array_map('unlink', maildir_files($S['maildir']));
        }
        $err = is_array($res) ? $res['error'] : "driver exited $rc: " . trim((string) @file_get_contents($log));
        return ['ok' => false, 'error' => $err, 'no_api' => str_contains($err, 'no API')];
    }
    $sent = (int) $res['sent_total'];          // the warm-up message included
    // Symfony Mailer as shipped reconnects after every 100 messages
    // (EsmtpTransport::setRestartThreshold(100)): a new session per 100
    $sessions = $new ? $sent : ($C['driver'] === 'symfony' ? intdiv($sent - 1, 100) + 1 : 1);
    [$ok, $txt] = server_check($S, $mark, $sent, $rcpts, $sessions);
    if (!$ok) {
        return ['ok' => false, 'error' => "sent $sent to $rcpts rcpts; $txt"];
    }
    return ['ok' => true, 'messages' => (int) $res['messages'], 'seconds' => (float) $res['seconds'], 'sent' => $sent, 'check' => $txt];
}

/** Persistent connection resumed by the next request: one `php -S` worker
 * (like a PHP-FPM child), a warm-up request, then $n requests timed, each
 * sending one message; the HTTP side is local (not through the proxy). */
function run_persist(array $B, array $C, array $S, int $port, int $n, string $log, array $mark): array
{
    $http = free_port();
    $cmd = [$B['php'], '-d', 'extension=' . $B['ext'], '-d', 'smtpsock.host=127.0.0.1', '-d', "smtpsock.port=$port",
        '-d', 'smtpsock.from=bench@example.org', '-d', 'smtpsock.persistent=1', '-d', 'smtpsock.timeout=60',
        '-d', 'display_errors=stderr', '-S', "127.0.0.1:$http", $B['dir'] . '/persist_router.php'];
    $p = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['file', $log, 'a'], 2 => ['file', $log, 'a']], $pipes);
    $api = $C['driver'] === 'smtpsock_mail' ? 'mail' : 'socket';
    $get = function (int $i) use ($http, $api, $port): string {
        $r = @file_get_contents("http://127.0.0.1:$http/?api=$api&persistent=1&port=$port&size=" . SIZE . "&n=$i");
        return $r === false ? 'error: no HTTP answer' : trim($r);
    };
    $res = null;
    try {
        $t0 = microtime(true);
        while (!@stream_socket_client("tcp://127.0.0.1:$http", $en, $es, 0.2)) {
            if (microtime(true) - $t0 > 10) {
                $res = ['ok' => false, 'error' => 'php -S did not start'];
                break;
            }
            usleep(20000);
        }
        if ($res === null) {
            $sent = 0;
            $w = $get(0);
            $sent++;
            if ($w !== 'ok') {
                $res = ['ok' => false, 'error' => "warm-up request: $w"];
            } else {
                $t = hrtime(true);
                for ($i = 1; $i <= $n; $i++) {
                    $r = $get($i);
                    $sent++;
                    if ($r !== 'ok') {
                        $res = ['ok' => false, 'error' => "request $i: $r"];
                        break;
                    }
                }
                $el = (hrtime(true) - $t) / 1e9;
                $res ??= ['ok' => true, 'messages' => $n, 'seconds' => $el, 'sent' => $sent];
            }
        }
    } finally {
        proc_terminate($p, 15);   // the php -S we started, by its handle
        proc_close($p);
    }
    if (!$res['ok']) {
        if ($S['kind'] === 'postfix') {
            usleep(500000);
            array_map('unlink', maildir_files($S['maildir']));
        }
        return $res;
    }
    // one connection for all requests: the session ends when the worker stops
    [$ok, $txt] = server_check($S, $mark, $res['sent'], 1, 1);
    if (!$ok) {
        return ['ok' => false, 'error' => "sent {$res['sent']}; $txt (1 session expected)"];
    }
    return $res + ['check' => $txt];
}

/* ---- calibration: NOOP round trips ----------------------------------------------------------- */

function noop_rtt(array $B, int $port, int $n = 200): ?float
{
    $v = noop_samples($B, $port, $n);
    return $v ? median($v) : null;
}

/**
 * $n NOOP round trips (ms each) through $port from a fresh PHP process (one
 * `SmtpSocket`, `busy_poll` 0), or [] when it failed.
 */
function noop_samples(array $B, int $port, int $n): array
{
    $code = '$s = new SmtpSocket("127.0.0.1", (int) $argv[1], ["busy_poll" => 0, "timeout" => 30, "security" => "none"]); $s->ehlo(); $v = [];'
        . ' for ($i = 0; $i < (int) $argv[2]; $i++) { $t = hrtime(true); $s->noop(); $v[] = (hrtime(true) - $t) / 1e6; }'
        . ' echo json_encode($v); $s->quit();';
    $p = proc_open([$B['php'], '-n', '-d', 'extension=' . $B['ext'], '-r', $code, (string) $port, (string) $n],
        [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    $out = trim((string) stream_get_contents($pipes[1]));
    fclose($pipes[1]);
    fclose($pipes[2]);
    proc_close($p);
    $v = json_decode($out, true);
    return is_array($v) && count($v) === $n ? array_map('floatval', $v) : [];
}

/** The mean of $v without its lowest and highest 10 %. */
function trimmed_mean(array $v): float
{
    sort($v);
    $cut = intdiv(count($v), 10);
    $v = array_slice($v, $cut, count($v) - 2 * $cut);
    return array_sum($v) / count($v);
}

/**
 * The RTT a run saw: NOOP round trips through the same proxy to the same
 * server right after the run (the proxy's and the machine's wake-up cost
 * drifts with the load and with the RTT itself, so one calibration at the
 * start does not describe every cell). ['n', 'median', 'tmean'] or null.
 */
function run_rtt(array $B, int $port, float $rtt): ?array
{
    $n = $rtt <= 1 ? 100 : ($rtt <= 5 ? 60 : ($rtt <= 20 ? 30 : 20));
    $v = noop_samples($B, $port, $n);
    return $v ? ['n' => $n, 'median' => round(median($v), 4), 'tmean' => round(trimmed_mean($v), 4)] : null;
}

/* ---- servers, clients, cells -------------------------------------------------------------- */

$servers = [];
$procs = [];       // smtp-sink -p, started here
$proxies = [];
$R = ['meta' => $B, 'versions' => [], 'calibration' => [], 'cells' => [], 'skipped' => []];
$want = fn (string $k, array $set) => in_array($k, $set, true);

try {
    // versions of what is measured
    $R['versions']['8.2'] = ['php' => PHP_VERSION] + array_combine(['phpmailer', 'symfony', 'netsmtp'], array_map(
        fn ($p) => trim((string) shell_exec("dpkg-query -W -f '\${Version}' $p 2>/dev/null")), ['libphp-phpmailer', 'php-symfony-mailer', 'php-net-smtp']));
    if (in_array('8.4', $B['phps'], true)) {
        $v = (string) shell_exec('bash ' . escapeshellarg($B['root'] . '/scripts/sid-root.sh')
            . " run sh -c \"php8.4 -r 'echo PHP_VERSION;'; echo; dpkg-query -W -f '\\\${Package}=\\\${Version}\\n' libphp-phpmailer php-symfony-mailer php-net-smtp\" 2>/dev/null");
        $lines = explode("\n", trim($v));
        $pkg = [];
        foreach (array_slice($lines, 1) as $l) {
            [$k, $val] = explode('=', $l, 2) + [1 => '?'];
            $pkg[$k] = $val;
        }
        $R['versions']['8.4'] = ['php' => $lines[0] ?? '?', 'phpmailer' => $pkg['libphp-phpmailer'] ?? '?',
            'symfony' => $pkg['php-symfony-mailer'] ?? '?', 'netsmtp' => $pkg['php-net-smtp'] ?? '?'];
    }
    $hasMany = [];
    foreach ($B['phps'] as $pv) {
        $c = $pv === '8.4'
            ? ['bash', $B['root'] . '/scripts/sid-root.sh', 'run', 'php8.4', '-n', '-d', 'extension=' . $B['inner'] . '/smtpsock.so']
            : [$B['php'], '-n', '-d', 'extension=' . $B['ext']];
        $c = array_merge($c, ['-r', 'echo method_exists("SmtpSocket", "sendMany") ? "yes" : "no";']);
        $p = proc_open($c, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pp);
        $hasMany[$pv] = trim((string) stream_get_contents($pp[1])) === 'yes';
        fclose($pp[1]);
        fclose($pp[2]);
        proc_close($p);
    }
    $R['meta']['has_send_many'] = $hasMany;

    if ($want('postfix', $B['servers'])) {
        $servers['postfix'] = ['id' => 'postfix', 'kind' => 'postfix', 'port' => $B['pfport'], 'maildir' => $B['pfdir'] . '/Maildir',
            'maillog' => $B['pfdir'] . '/log/maillog', 'label' => 'the test Postfix (PIPELINING, CHUNKING)'];
    }
    if ($want('sink', $B['servers'])) {
        $servers['sink'] = ['id' => 'sink', 'kind' => 'sink', 'port' => (int) $opt['sink-port'], 'out' => $B['sink_out'],
            'label' => 'smtp-sink (PIPELINING, no CHUNKING)'];
    }
    if ($want('sink-nopipe', $B['servers'])) {
        // -p: do not announce PIPELINING; -c: running counters (checked after every run)
        $out = $B['work'] . '/sink-nopipe.out';
        $port = start_sink(fn (int $p) => ['smtp-sink', '-c', '-p', '-u', 'postfix', "127.0.0.1:$p", '1024'], $out, 'smtp-sink -p', $procs);
        $servers['sink-nopipe'] = ['id' => 'sink-nopipe', 'kind' => 'sink', 'port' => $port, 'out' => $out,
            'label' => 'smtp-sink -p (no PIPELINING, no CHUNKING)'];
    }
    if ($want('bdat-sink', $B['servers']) && $want('many', $B['modes']) && $B['bdat_sink'] !== '') {
        // bench/bdat_sink.c: PIPELINING and CHUNKING and nothing else to do, so
        // that sendMany()'s window, not the server, sets the pace (the test
        // Postfix syncs every message to disk); -c: smtp-sink's counters
        $out = $B['work'] . '/bdat-sink.out';
        $port = start_sink(fn (int $p) => [$B['bdat_sink'], '-c', "127.0.0.1:$p"], $out, 'bench/bdat_sink', $procs);
        $servers['bdat-sink'] = ['id' => 'bdat-sink', 'kind' => 'sink', 'port' => $port, 'out' => $out,
            'label' => 'bench/bdat_sink (PIPELINING, CHUNKING; discards every message)'];
    }
    if ($want('postfix-tls', $B['servers']) && $want('tls', $B['modes'])) {
        // the test suite's Postfix + Dovecot (STARTTLS, AUTH after it); started
        // and stopped (at exit, by its own stop command) by the test helper
        require_once $B['root'] . '/tests/inc/smtpsock_test.inc';
        $reason = smtpsock_test_postfix_tls_skip_reason();
        if ($reason !== null) {
            $R['skipped'][] = "STARTTLS + AUTH: $reason";
        } else {
            $t = smtpsock_test_postfix_tls();
            $servers['postfix-tls'] = ['id' => 'postfix-tls', 'kind' => 'postfix', 'port' => $t['port'], 'maildir' => $t['maildir'],
                'maillog' => $t['dir'] . '/log/maillog', 'ca' => $t['ca'], 'user' => $t['user'], 'password' => $t['password'],
                'label' => 'the test Postfix + Dovecot (STARTTLS, then AUTH; PIPELINING, CHUNKING)'];
            if ($B['inner'] !== '') {
                copy($t['ca'], $B['sid'] . $B['inner'] . '/ca.pem');
            }
            array_map('unlink', maildir_files($t['maildir']));
        }
    }
    if (isset($servers['postfix'])) {
        array_map('unlink', maildir_files($servers['postfix']['maildir']));
    }

    // clients
    $clients = [];
    foreach ($B['phps'] as $pv) {
        $sfx = $pv === '8.2' ? '' : "@$pv";
        $ver = $R['versions'][$pv];
        $lib = fn ($k) => preg_replace('/^(\d+\.\d+(?:\.\d+)?).*/', '$1', (string) $ver[$k]);
        $clients[] = ['id' => "send$sfx", 'kind' => 'php', 'php' => $pv, 'driver' => 'smtpsock_send', 'args' => [],
            'label' => "smtpsock `send()` (PHP $pv)", 'modes' => ['reuse', 'reuse10', 'persist', 'new', 'tls']];
        $clients[] = ['id' => "many$sfx", 'kind' => 'php', 'php' => $pv, 'driver' => 'smtpsock_many', 'args' => [],
            'label' => "smtpsock `sendMany()` (PHP $pv)", 'modes' => ['many'], 'no_api' => !$hasMany[$pv]];
        $clients[] = ['id' => "mail$sfx", 'kind' => 'php', 'php' => $pv, 'driver' => 'smtpsock_mail', 'args' => [],
            'label' => "smtpsock `smtp_mail()` (PHP $pv)", 'modes' => ['reuse', 'reuse10', 'persist', 'new', 'tls']];
        $clients[] = ['id' => "phpmailer$sfx", 'kind' => 'php', 'php' => $pv, 'driver' => 'phpmailer', 'args' => [],
            'label' => 'PHPMailer ' . $lib('phpmailer'), 'modes' => ['reuse', 'reuse10', 'new', 'tls']];
        $clients[] = ['id' => "symfony$sfx", 'kind' => 'php', 'php' => $pv, 'driver' => 'symfony', 'args' => [],
            'label' => 'Symfony Mailer ' . $lib('symfony'), 'modes' => ['reuse', 'reuse10', 'new', 'tls']];
        $clients[] = ['id' => "netsmtp$sfx", 'kind' => 'php', 'php' => $pv, 'driver' => 'netsmtp', 'args' => [],
            'label' => 'Net_SMTP ' . $lib('netsmtp') . ' as shipped', 'modes' => ['reuse', 'reuse10', 'new', 'tls']];
        $clients[] = ['id' => "netsmtp-pipe$sfx", 'kind' => 'php', 'php' => $pv, 'driver' => 'netsmtp', 'args' => ['--pipelining=1', '--nodelay=1'],
            'label' => 'Net_SMTP ' . $lib('netsmtp') . ', pipelining + TCP_NODELAY', 'modes' => ['reuse', 'reuse10', 'new']];
        if ($pv === '8.2') {
            $clients[] = ['id' => 'smtp-source', 'kind' => 'smtp-source', 'php' => null, 'driver' => '', 'args' => [],
                'label' => 'Postfix `smtp-source`', 'modes' => ['reuse', 'reuse10', 'new']];
        }
    }
    if ($B['clients']) {
        $clients = array_values(array_filter($clients, fn ($c) => in_array($c['id'], $B['clients'], true)));
    }
    $R['meta']['client_defs'] = $clients;

    $cellsFor = [
        'postfix' => [['id' => 'reuse', 'mode' => 'reuse', 'rcpts' => 1], ['id' => 'reuse10', 'mode' => 'reuse', 'rcpts' => 10],
            ['id' => 'many', 'mode' => 'many', 'rcpts' => 1, 'factor' => MANY_FACTOR], ['id' => 'persist', 'mode' => 'persist', 'rcpts' => 1],
            ['id' => 'new', 'mode' => 'new', 'rcpts' => 1]],
        'sink' => [['id' => 'reuse', 'mode' => 'reuse', 'rcpts' => 1], ['id' => 'many', 'mode' => 'many', 'rcpts' => 1, 'factor' => MANY_FACTOR],
            ['id' => 'persist', 'mode' => 'persist', 'rcpts' => 1], ['id' => 'new', 'mode' => 'new', 'rcpts' => 1]],
        'postfix-tls' => [['id' => 'tls', 'mode' => 'tls', 'rcpts' => 1]],
        // 25 times the messages of a cell: at 500 a second and more, 20 would be one window
        'bdat-sink' => [['id' => 'many', 'mode' => 'many', 'rcpts' => 1, 'factor' => 25]],
    ];
    $cellsFor['sink-nopipe'] = $cellsFor['sink'];

    // proxies: one per server and RTT, all started up front
    foreach ($servers as $sid => $S) {
        foreach ($B['rtts'] as $rtt) {
            $proxies["$sid@$rtt"] = start_proxy($B, $S['port'], $rtt, "$sid-$rtt");
        }
    }
    // calibration: 200 NOOP round trips to the Postfix (or the first server),
    // directly and through a proxy of its own at each RTT (and always at 1 ms,
    // where the proxy's own error matters most), started for that check alone
    $calS = $servers['postfix'] ?? reset($servers);
    foreach (array_unique(array_merge([1.0], $B['rtts'])) as $rtt) {
        $px = start_proxy($B, $calS['port'], $rtt, "calibrate-$rtt");
        $direct = noop_rtt($B, $calS['port']);
        $via = noop_rtt($B, $px['port']);
        $stats = stop_proxy($px);
        $R['calibration'][(string) $rtt] = ['rtt' => $rtt, 'server' => $calS['id'], 'direct_ms' => $direct, 'via_ms' => $via, 'proxy' => $stats];
        say(sprintf('calibration at %g ms (%s): NOOP median %.4f ms direct, %.4f ms through the proxy (added %.4f ms, %+.2f%%); proxy hand-over error mean %+.1f us, p99 < %d us',
            $rtt, $calS['id'], $direct, $via, $via - $direct, (($via - $direct) / $rtt - 1) * 100, $stats['error_us_mean'] ?? NAN, $stats['abs_error_us_p99'] ?? -1));
    }

    // the cells, most wanted first
    $order = [['postfix', 'reuse'], ['postfix', 'new'], ['sink', 'reuse'], ['sink', 'new'], ['sink-nopipe', 'reuse'], ['sink-nopipe', 'new'],
        ['postfix', 'many'], ['bdat-sink', 'many'], ['sink', 'many'], ['sink-nopipe', 'many'], ['postfix', 'persist'], ['sink', 'persist'], ['sink-nopipe', 'persist'],
        ['postfix-tls', 'tls'], ['postfix', 'reuse10']];
    foreach ($order as [$sid, $cellId]) {
        if (!isset($servers[$sid])) {
            continue;
        }
        $S = $servers[$sid];
        foreach (array_filter($cellsFor[$sid], fn ($c) => $c['id'] === $cellId) as $cell) {
            $modeKey = $cell['id'] === 'reuse10' ? 'reuse10' : $cell['mode'];
            if (!$want($modeKey, $B['modes'])) {
                continue;
            }
            foreach ($clients as $C) {
                $cmode = $cell['id'] === 'reuse10' ? 'reuse10' : $cell['mode'];
                if (!in_array($cmode, $C['modes'], true)) {
                    continue;
                }
                if ($cmode === 'persist' && $C['php'] !== '8.2') {
                    continue;   // php -S with the 8.2 build only
                }
                $key = "$sid/{$cell['id']}/{$C['id']}";
                if (!empty($C['no_api'])) {
                    $R['cells'][$key] = ['server' => $sid, 'cell' => $cell['id'], 'client' => $C['id'], 'no_api' => true, 'runs' => []];
                    say("$key: no API (SmtpSocket::sendMany() does not exist in this build)");
                    continue;
                }
                $runs = [];
                $nruns = str_starts_with($C['driver'], 'smtpsock_') ? $B['runs_own'] : $B['runs'];
                for ($i = 1; $i <= $nruns; $i++) {
                    foreach ($B['rtts'] as $rtt) {
                        $r = run_one($B, $C, $cell, $S, $proxies["$sid@$rtt"]['port'], $rtt, $i);
                        if ($r['ok'] && $B['run_rtt']) {
                            $r['rtt'] = run_rtt($B, $proxies["$sid@$rtt"]['port'], $rtt);
                        }
                        $runs[(string) $rtt][] = $r;
                        say(sprintf('%-40s %5g ms run %d: %s', $key, $rtt, $i, $r['ok']
                            ? sprintf('%.2f ms/msg, %.1f msg/s (%d msgs; %s)%s', 1000 * $r['seconds'] / $r['messages'],
                                $r['messages'] / $r['seconds'], $r['messages'], $r['check'],
                                isset($r['rtt']) ? sprintf('; NOOP after it %.3f ms (trimmed mean of %d)', $r['rtt']['tmean'], $r['rtt']['n']) : '')
                            : 'ERROR ' . $r['error']));
                    }
                }
                $R['cells'][$key] = ['server' => $sid, 'cell' => $cell['id'], 'client' => $C['id'], 'runs' => $runs,
                    'cal' => array_map(fn ($c) => $c['via_ms'], $R['calibration']), 'measured_at' => gmdate('Y-m-d H:i') . ' UTC'];
            }
        }
    }
} finally {
    // RTT_MERGE=FILE.json: keep the cells of an earlier run's JSON that this
    // run did not measure (each cell carries its own calibration)
    $merge = (string) getenv('RTT_MERGE');
    if ($merge !== '' && is_array($old = json_decode((string) @file_get_contents($merge), true))) {
        $mine = $R['cells'];
        $rerun = array_keys($mine);
        $R['cells'] = [];
        foreach ($old['cells'] ?? [] as $k => $c) {
            $R['cells'][$k] = $mine[$k] ?? ($c + ['from_run' => $old['meta']['command'] . ' at ' . gmdate('Y-m-d H:i', (int) $old['meta']['started']) . ' UTC']);
            unset($mine[$k]);
        }
        $R['cells'] += $mine;
        $R['merged'] = ['file' => $merge, 'command' => $old['meta']['command'] ?? '?', 'started' => $old['meta']['started'] ?? 0,
            'git' => $old['meta']['git'] ?? '?', 'calibration' => $old['calibration'] ?? [], 'rerun' => $rerun];
        $R['meta']['versions_old'] = $old['versions'] ?? [];
        $R['meta']['has_send_many'] = ($R['meta']['has_send_many'] ?? []) + ($old['meta']['has_send_many'] ?? []);
    }
    foreach ($proxies as $name => $px) {
        $R['proxy_stats'][$name] = stop_proxy($px);
    }
    foreach ($procs as $h) {
        proc_terminate($h, 15);   // smtp-sink -p, started here, by its handle
        proc_close($h);
    }
    if ($B['inner'] !== '' && is_dir($B['sid'] . $B['inner'])) {
        array_map('unlink', glob($B['sid'] . $B['inner'] . '/*') ?: []);
        @rmdir($B['sid'] . $B['inner']);
    }
    $R['meta']['load_end'] = sys_getloadavg();
    $R['meta']['finished'] = microtime(true);
    $R['meta']['servers'] = $servers;
    if (!empty($R['merged'])) {
        // the earlier run's servers and clients too (labels, order)
        $R['meta']['servers'] = array_replace($old['meta']['servers'] ?? [], $servers);
        $defs = [];
        foreach (array_merge($old['meta']['client_defs'] ?? [], $R['meta']['client_defs'] ?? []) as $d) {
            $defs[$d['id']] = $d;
        }
        $R['meta']['client_defs'] = array_values($defs);
        $R['versions'] = array_replace($old['versions'] ?? [], $R['versions']);
    }
    foreach ($R['meta']['servers'] as &$s) {
        unset($s['password']);
    }
    unset($s);
    file_put_contents(preg_replace('/\.md$/', '.json', $B['results']), json_encode($R, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES) . "\n");
    file_put_contents($B['results'], report($R) . "\n");
}
echo report($R), "\n";

/* ---- the report ------------------------------------------------------------------------------ */

function median(array $v): float
{
    sort($v);
    $n = count($v);
    return $n % 2 ? $v[intdiv($n, 2)] : ($v[$n / 2 - 1] + $v[$n / 2]) / 2;
}

/** Median ms per message at one RTT, or null when a run failed / none ran. */
function ms_at(array $c, string $rtt): ?float
{
    $v = [];
    foreach ($c['runs'][$rtt] ?? [] as $r) {
        if (!$r['ok']) {
            return null;
        }
        $v[] = 1000 * $r['seconds'] / $r['messages'];
    }
    return $v ? median($v) : null;
}

/**
 * The RTT the runs of a cell saw at $rtt: the median over its runs of the
 * 10 %-trimmed mean NOOP round trip measured right after each run, or null
 * when a run has none (an older JSON, or RTT_RUN_RTT=0).
 */
function rtt_seen(array $c, string $rtt): ?float
{
    $v = [];
    foreach ($c['runs'][$rtt] ?? [] as $r) {
        if (!isset($r['rtt']['tmean'])) {
            return null;
        }
        $v[] = (float) $r['rtt']['tmean'];
    }
    return $v ? median($v) : null;
}

/** The RTT of the calibration (NOOP median through the proxy), else nominal. */
function rtt_measured(array $R, string $rtt): float
{
    return (float) ($R['calibration'][$rtt]['via_ms'] ?? $rtt);
}

/** k between two RTTs: the slope of time per message against the measured RTT. */
function k_between(array $R, array $c, string $a, string $b): ?float
{
    $ta = ms_at($c, $a);
    $tb = ms_at($c, $b);
    if ($ta === null || $tb === null) {
        return null;
    }
    // the RTT each run saw (NOOPs through its proxy right after it), else
    // the calibration of the benchmark run that measured this cell
    $ra = rtt_seen($c, $a);
    $rb = rtt_seen($c, $b);
    if ($ra !== null && $rb !== null) {
        $d = $rb - $ra;
    } elseif (isset($c['cal'][$a], $c['cal'][$b])) {
        $d = (float) $c['cal'][$b] - (float) $c['cal'][$a];
    } elseif (!empty($c['from_run']) && isset($R['merged']['calibration'][$a]['via_ms'], $R['merged']['calibration'][$b]['via_ms'])) {
        $d = (float) $R['merged']['calibration'][$b]['via_ms'] - (float) $R['merged']['calibration'][$a]['via_ms'];
    } else {
        $d = rtt_measured($R, $b) - rtt_measured($R, $a);
    }
    return $d > 0 ? ($tb - $ta) / $d : null;
}

/** The pair the headline k uses: 5 and 20 ms when both ran, else the two largest. */
function k_pair(array $rtts): ?array
{
    $s = array_map(fn ($r) => (string) $r, $rtts);
    if (in_array('5', $s, true) && in_array('20', $s, true)) {
        return ['5', '20'];
    }
    return count($s) >= 2 ? [$s[count($s) - 2], $s[count($s) - 1]] : null;
}

function cell_error(array $c): ?string
{
    foreach ($c['runs'] as $rtt => $runs) {
        foreach ($runs as $r) {
            if (!$r['ok']) {
                return $r['error'];
            }
        }
    }
    return null;
}

function report(array $R): string
{
    $B = $R['meta'];
    $rtts = array_map(fn ($r) => (string) $r, $B['rtts']);
    $pair = k_pair($B['rtts']);
    $o = [];
    $o[] = '# Round trips per message through a delay proxy (issue 12)';
    $o[] = '';
    $o[] = sprintf('Generated by `%s` on %s (%s, %d CPUs shared with other work), measuring commit %s%s; RTTs %s ms; %s; in %.0f s; load average %s at the start, %s at the end.',
        $B['command'], gmdate('Y-m-d H:i', (int) $B['started']) . ' UTC', php_uname('r'), (int) shell_exec('nproc'),
        $B['git'] !== '' ? '`' . substr($B['git'], 0, 12) . '`' : '(unknown)', !empty($B['git_dirty']) ? ' with uncommitted changes' : '',
        implode(', ', $rtts), ($B['runs_own'] ?? $B['runs']) === $B['runs'] ? sprintf('%d run(s) per cell', $B['runs'])
            : sprintf('%d runs per cell of smtpsock\'s clients, %d per cell of the others (k from the median time per message over a cell\'s runs)', $B['runs_own'], $B['runs']),
        ($B['finished'] ?? microtime(true)) - $B['started'],
        implode(' ', array_map(fn ($x) => sprintf('%.2f', $x), $B['load_start'])),
        implode(' ', array_map(fn ($x) => sprintf('%.2f', $x), $B['load_end'] ?? [])));
    if (!empty($R['merged'])) {
        $m = $R['merged'];
        $o[] = '';
        $o[] = sprintf('This report merges runs: the cells marked "(re-run)" were measured by the run above; every other cell was kept from '
            . 'the JSON of the earlier run `%s` of %s UTC (commit %s) (`RTT_MERGE`), which may itself have kept cells of earlier runs. '
            . 'Each cell\'s k uses the calibration of the run that measured it; the earlier run\'s calibration is listed under "The delay proxy". '
            . 'The cells by the run that measured them (and when):', $m['command'], gmdate('Y-m-d H:i', (int) $m['started']),
            '`' . substr((string) $m['git'], 0, 12) . '`');
        $by = [];
        foreach ($R['cells'] as $c) {
            $run = $c['from_run'] ?? 'this run';
            $by[$run][] = $c['measured_at'] ?? '?';
        }
        foreach ($by as $run => $when) {
            sort($when);
            $o[] = sprintf('- %s: %d cell(s), measured %s to %s', $run === 'this run' ? 'this run' : "`$run`", count($when), reset($when), end($when));
        }
    }
    $o[] = '';
    $vs = [];
    foreach ($R['versions'] as $pv => $v) {
        $vs[] = sprintf('PHP %s: %s (PHPMailer %s, Symfony Mailer %s, Net_SMTP %s)', $pv, $v['php'], $v['phpmailer'], $v['symfony'], $v['netsmtp']);
    }
    $o[] = 'Versions (Debian packages): ' . implode('; ', $vs) . '. `sendMany()` present: '
        . implode(', ', array_map(fn ($k, $v) => "PHP $k " . ($v ? 'yes' : 'no'), array_keys($B['has_send_many'] ?? []), $B['has_send_many'] ?? [])) . '.';
    $o[] = '';
    $o[] = 'Each cell: messages per second (1 KiB, time per message = the timed run / its messages; a warm-up message before the clock) '
        . 'at each RTT, and k, the round trips per message: the slope of the time per message between two RTTs, divided by the difference '
        . 'of the RTTs the runs saw (so the proxy\'s and the server\'s own fixed costs cancel): right after each run, NOOP round trips from a new `SmtpSocket` '
        . 'through the same proxy to the same server (100 at 1 ms, 60 at 5, 30 at 20, 20 at 50), their mean without the lowest and highest 10 %; per RTT the median over the cell\'s runs. '
        . 'The calibration at the start (below) is kept for cells measured without it. '
        . ($pair ? "The headline k is between {$pair[0]} and {$pair[1]} ms. " : '')
        . 'Messages per run: ' . implode(', ', array_map(fn ($r) => msgs_for($B, (float) $r) . " at $r ms", $rtts)) . '. '
        . '"reused": one connection for the run (connect and QUIT outside the clock); "new": connect, greeting, EHLO, message and QUIT per message; '
        . '"persistent": one `php -S` worker, one HTTP request per message, `SmtpSocket` with `persistent` or `smtp_mail()` with `smtpsock.persistent=1` (the HTTP request is local, not delayed). '
        . '`sendMany()` cells send ' . MANY_FACTOR . ' times as many messages in one call (bdat_sink: 25 times), since a call of n messages ends with one more round trip '
        . '(the last message\'s final reply): its floor is (n + 1) / n round trips per message, so the call\'s closing round trip weighs 1/' . (MANY_FACTOR * 20) . ' at 20 ms. '
        . '`smtp-source` runs twice (n/4 and n/4 + n messages) and the difference is timed, which removes its connection set-up in "reused". '
        . 'Every run was checked at the server (messages, and sessions: 1 for reused/persistent, one per message for new): '
        . 'Postfix by its Maildir copies and the MAIL counts of its log, smtp-sink by its `-c` counters; a run that does not match is an error, not a figure.';
    $o[] = '';
    $modeLabel = ['reuse' => 'reused connection, 1 rcpt', 'reuse10' => 'reused connection, 10 rcpts', 'many' => '`sendMany()`, 1 rcpt (default window)',
        'persist' => 'persistent connection resumed by the next request, 1 rcpt', 'new' => 'new plain connection per message (incl. connect and QUIT), 1 rcpt',
        'tls' => 'new connection per message, STARTTLS (TLS 1.3) + AUTH PLAIN, 1 rcpt'];
    $labels = [];
    foreach ($B['client_defs'] ?? [] as $c) {
        $labels[$c['id']] = $c['label'] . (str_contains($c['label'], '(PHP ') || $c['php'] === null ? '' : " (PHP {$c['php']})");
    }
    $pairs = [];
    for ($i = 1; $i < count($rtts); $i++) {
        $pairs[] = [$rtts[$i - 1], $rtts[$i]];
    }
    if ($pair && !in_array($pair, $pairs, true)) {
        $pairs[] = $pair;
    }
    $bySrv = [];
    $cellOrder = ['reuse' => 0, 'reuse10' => 1, 'many' => 2, 'persist' => 3, 'new' => 4, 'tls' => 5];
    foreach ($R['cells'] as $key => $c) {
        $bySrv[$c['server']][$c['cell']][$key] = $c;
    }
    foreach ($bySrv as &$cs) {
        uksort($cs, fn ($a, $b) => ($cellOrder[$a] ?? 9) <=> ($cellOrder[$b] ?? 9));
    }
    unset($cs);
    // the summary: msg/s at 20 ms and the headline k, per client, for the main cells
    $sumCols = [['postfix', 'reuse', 'Postfix, reused'], ['postfix', 'reuse10', 'Postfix, reused, 10 rcpts'], ['postfix', 'new', 'Postfix, new'],
        ['postfix-tls', 'tls', 'Postfix, new, STARTTLS + AUTH'], ['sink', 'reuse', 'smtp-sink, reused'], ['sink', 'new', 'smtp-sink, new'],
        ['sink-nopipe', 'reuse', 'smtp-sink -p, reused'], ['sink-nopipe', 'new', 'smtp-sink -p, new'], ['postfix', 'persist', 'Postfix, persistent'],
        ['sink', 'persist', 'smtp-sink, persistent'], ['postfix', 'many', 'Postfix, `sendMany()`'], ['bdat-sink', 'many', 'bdat_sink, `sendMany()`']];
    $at = in_array('20', $rtts, true) ? '20' : end($rtts);
    if ($pair) {
        $present = array_values(array_filter($sumCols, function ($col) use ($R) {
            foreach ($R['cells'] as $c) {
                if ($c['server'] === $col[0] && $c['cell'] === $col[1]) {
                    return true;
                }
            }
            return false;
        }));
        $o[] = "## Summary: messages per second at $at ms / k ({$pair[0]}-{$pair[1]} ms)";
        $o[] = '';
        $o[] = '| client | ' . implode(' | ', array_map(fn ($c) => $c[2], $present)) . ' |';
        $o[] = '| --- |' . str_repeat(' ---: |', count($present));
        $ids = [];
        foreach ($R['cells'] as $c) {
            $ids[$c['client']] = true;
        }
        foreach ($B['client_defs'] ?? [] as $def) {
            if (!isset($ids[$def['id']])) {
                continue;
            }
            $row = '| ' . ($labels[$def['id']] ?? $def['id']) . ' |';
            foreach ($present as [$sv, $ce]) {
                $c = $R['cells']["$sv/$ce/{$def['id']}"] ?? null;
                if ($c === null) {
                    $row .= ' |';
                } elseif (!empty($c['no_api'])) {
                    $row .= ' no API |';
                } else {
                    $t = ms_at($c, $at);
                    $k = k_between($R, $c, $pair[0], $pair[1]);
                    $row .= ' ' . ($t === null ? 'error' : sprintf('%.1f', 1000 / $t)) . ' / ' . ($k === null ? '-' : sprintf('%.2f', $k)) . ' |';
                }
            }
            $o[] = $row;
        }
        $o[] = '';
    }
    $errors = [];
    foreach ($B['servers'] ?? [] as $sid => $S) {
        if (empty($bySrv[$sid])) {
            continue;
        }
        $o[] = "## {$S['label']}";
        foreach ($bySrv[$sid] as $cellId => $cells) {
            $o[] = '';
            $o[] = '### ' . ($modeLabel[$cellId] ?? $cellId);
            $o[] = '';
            $lim = [
                'postfix' => ['reuse' => '1', 'reuse10' => '1', 'many' => '1/W (window W)', 'persist' => '1', 'new' => '4 (BDAT; connect, greeting, EHLO, the transaction with QUIT not awaited)'],
                'sink' => ['reuse' => '2 (DATA, a call that waits for its own result)', 'many' => '1 (each message waits for the 354 of its DATA; the end of data goes with the next message\'s MAIL, RCPT and DATA)', 'persist' => '2 (DATA)', 'new' => '5 (DATA)'],
                'sink-nopipe' => ['reuse' => '4 (MAIL, RCPT, DATA, end of data: one command at a time)', 'many' => '4 (no liveness RSET in front of a reused connection: without PIPELINING it would be one more round trip per call)', 'persist' => '4 (+ a liveness check, waited for without PIPELINING)', 'new' => '7 (connect, greeting, EHLO, MAIL, RCPT, DATA, end of data; QUIT not awaited)'],
                'bdat-sink' => ['many' => '1/W (window W); the target: at least 10 messages per round trip (500 a second at 20 ms)'],
                'postfix-tls' => ['tls' => '8 (connect and greeting 2, EHLO, STARTTLS, the TLS 1.3 handshake, EHLO, AUTH PLAIN with its initial response, the transaction; QUIT not awaited. Issue 12 counted 7, with AUTH pipelined with MAIL: RFC 2920 section 3.1 puts a command of a later extension last in its group unless that extension says otherwise, and RFC 4954 does not, so AUTH waits for its 235)'],
            ][$sid][$cellId] ?? null;
            if ($lim !== null) {
                $o[] = "Limit: k = $lim.";
                $o[] = '';
            }
            $h = '| client |';
            $a = '| --- |';
            foreach ($rtts as $r) {
                $h .= " msg/s at $r ms |";
                $a .= ' ---: |';
            }
            foreach ($pairs as [$x, $y]) {
                $h .= " k ($x-$y ms) |";
                $a .= ' ---: |';
            }
            $o[] = $h;
            $o[] = $a;
            foreach ($cells as $key => $c) {
                $row = '| ' . ($labels[$c['client']] ?? $c['client']) . (!empty($R['merged']) && empty($c['from_run']) ? ' (re-run)' : '') . ' |';
                if (!empty($c['no_api'])) {
                    $o[] = $row . str_repeat(' no API |', count($rtts) + count($pairs));
                    continue;
                }
                foreach ($rtts as $r) {
                    $t = ms_at($c, $r);
                    $row .= $t === null ? (isset($c['runs'][$r]) ? ' error |' : ' - |') : sprintf(' %.1f |', 1000 / $t);
                }
                foreach ($pairs as [$x, $y]) {
                    $k = k_between($R, $c, $x, $y);
                    $row .= $k === null ? ' - |' : sprintf(' %.2f |', $k);
                }
                $o[] = $row;
                if (($e = cell_error($c)) !== null) {
                    $errors[] = "- $key: $e";
                }
            }
        }
        $o[] = '';
    }
    $o[] = '## Cells not measured';
    $o[] = '';
    $o[] = '- Persistent connections: only with the PHP 8.2 build (`php -S` on the host); the other libraries have no connection that outlives a request.';
    $o[] = '- STARTTLS + AUTH: only against the Postfix + Dovecot instance (smtp-sink has no STARTTLS); Net_SMTP with pipelining and `smtp-source` (no TLS) are not in that cell.';
    $o[] = '- `sendMany()` cells say "no API" when the measured build has no `SmtpSocket::sendMany()` (it is being written on branch `many`).';
    foreach ($R['skipped'] ?? [] as $s) {
        $o[] = "- $s";
    }
    $all = json_encode($R['cells']);
    if (str_contains($all, 'no complete root')) {
        $o[] = '- PHP 8.4 runs that failed with "sid-root: no complete root": the shared sid root was being changed (`scripts/sid-root.sh ensure` '
            . 'run from another checkout with another package list) while the run went on, so `scripts/sid-root.sh run` refused to start them; nothing was measured.';
    }
    if (preg_match('#symfony[^"]*"[^{}]*in 2 sessions#', $all) || str_contains($all, 'messages, 2 sessions')) {
        $o[] = '- Symfony Mailer "error" at 1 ms, reused (where not re-run): Symfony as shipped reconnects after 100 messages and the 1 ms run sends 101; '
            . 'the server received every message, but the session check of that run expected one session (it expects the restart since).';
    }
    $o[] = '';
    $o[] = '## The delay proxy';
    $o[] = '';
    $o[] = 'Calibration at the start of the run: median of 200 NOOP round trips (one `SmtpSocket`, `busy_poll` 0) to the server named, '
        . 'directly and through the proxy the cells use. "added" is what the proxy adds; its excess over the nominal RTT is the proxy\'s '
        . 'own wake-up and hand-over cost (about 0.1-0.2 ms per hop on this VM), a constant that k, a slope, does not see.';
    $o[] = '';
    $o[] = '| nominal RTT | server | NOOP direct | NOOP via proxy | added | added vs nominal | proxy: mean hand-over error per chunk | p50 / p99 | mean error vs RTT/2 |';
    $o[] = '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
    foreach ($R['calibration'] as $r => $c) {
        if ($c['direct_ms'] === null || $c['via_ms'] === null) {
            $o[] = "| $r ms | | error | | | |";
            continue;
        }
        $add = $c['via_ms'] - $c['direct_ms'];
        $p = $c['proxy'] ?? [];
        $o[] = sprintf('| %s ms | %s | %.3f ms | %.3f ms | %.3f ms | %+.1f%% | %s | %s | %s |', $r, $c['server'] ?? '',
            $c['direct_ms'], $c['via_ms'], $add, ($add / (float) $r - 1) * 100,
            isset($p['error_us_mean']) ? sprintf('%+.1f us', $p['error_us_mean']) : '?',
            isset($p['abs_error_us_p50']) ? sprintf('< %d us / < %d us', $p['abs_error_us_p50'], $p['abs_error_us_p99']) : '?',
            isset($p['error_us_mean']) ? sprintf('%+.2f%%', $p['error_us_mean'] / ((float) $r * 500) * 100) : '?');
    }
    if (!empty($R['merged']['calibration'])) {
        $o[] = '';
        $o[] = 'The earlier run\'s calibration (used by its cells):';
        $o[] = '';
        $o[] = '| nominal RTT | NOOP direct | NOOP via proxy | added | proxy: mean hand-over error per chunk | p50 / p99 |';
        $o[] = '| ---: | ---: | ---: | ---: | ---: | ---: |';
        foreach ($R['merged']['calibration'] as $r => $c) {
            $p = $c['proxy'] ?? [];
            $o[] = sprintf('| %s ms | %.3f ms | %.3f ms | %.3f ms | %s | %s |', $r, $c['direct_ms'], $c['via_ms'], $c['via_ms'] - $c['direct_ms'],
                isset($p['error_us_mean']) ? sprintf('%+.1f us', $p['error_us_mean']) : '?',
                isset($p['abs_error_us_p50']) ? sprintf('< %d us / < %d us', $p['abs_error_us_p50'], $p['abs_error_us_p99']) : '?');
        }
    }
    $o[] = '';
    $o[] = 'The proxies the cells used, over the whole run (each chunk\'s hand-over to the kernel minus its due time). Their tail is '
        . 'the machine\'s other load (2 CPUs shared by the client, the server, the proxy and other work): a chunk the proxy could '
        . 'only read or send after it was due. It adds to a run\'s time, not to k unless it differs between RTTs.';
    $o[] = '';
    $o[] = '| proxy | connections | chunks | mean | p50 | p99 | max | error at p99 vs RTT/2 |';
    $o[] = '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
    foreach ($R['proxy_stats'] ?? [] as $name => $p) {
        if (!$p || empty($p['chunks'])) {
            continue;
        }
        $rtt = (float) substr($name, strrpos($name, '@') + 1);
        $o[] = sprintf('| %s ms | %d | %d | %+.1f us | < %d us | < %d us | %d us | %.2f%% |', str_replace('@', ' @ ', $name), $p['connections'], $p['chunks'],
            $p['error_us_mean'], $p['abs_error_us_p50'], $p['abs_error_us_p99'], $p['abs_error_us_max'], $p['abs_error_us_p99'] / ($rtt * 500) * 100);
    }
    if ($errors) {
        $o[] = '';
        $o[] = '## Errors';
        $o[] = '';
        array_push($o, ...$errors);
    }
    return implode("\n", $o);
}
