<?php
/*
 * The framework user's gain: the same messages through each framework's own
 * SMTP code and through its smtpsock bridge, on one reused connection, to a
 * real Postfix (PIPELINING + CHUNKING), on loopback and through
 * bench/delay_proxy at a round-trip time (default 20 ms).
 *
 *   php -d extension=modules/smtpsock.so bench/frameworks.php [--rtt=20] [--n-loop=300] [--n-rtt=60]
 *       [--runs=3] [--results=bench/RESULTS-frameworks.md] [--append]
 *
 * (bash bench/run.sh frameworks builds the extension and the proxy and runs
 * it.) Pairs: Symfony Mailer's smtp:// transport against smtpsock:// (the
 * same Email objects: text, HTML, a 2 KiB attachment, a UTF-8 subject), and
 * PHPMailer with SMTPKeepAlive against Smtpsock\Bridge\PHPMailer\PHPMailer
 * with the same settings. Each run is a child PHP process that makes the
 * messages first and times only the sending of all of them (connection
 * included); the median of --runs runs is reported, with the ratio within
 * the same run set. Every run is checked at the server: its N messages are
 * counted in Postfix's Maildir by a token each run carries.
 *
 * Starts a private Postfix (tests/inc/postfix-instance.sh) and a delay proxy,
 * stops both by their own handles on exit. Needs root (Postfix).
 */

declare(strict_types=1);

const ROOT = __DIR__ . '/..';

$opt = getopt('', ['child:', 'port:', 'n:', 'token:', 'rtt:', 'n-loop:', 'n-rtt:', 'runs:', 'results:', 'proxy:', 'bridges:', 'append']);
$bridges = $opt['bridges'] ?? (getenv('SMTPSOCK_BRIDGES') ?: ROOT . '/bridges');

if (isset($opt['child'])) {
    exit(child((string) $opt['child'], (int) $opt['port'], (int) $opt['n'], (string) $opt['token'], $bridges));
}

/* ---- a child: N messages through one client, timed ---------------------------------------- */

function child(string $client, int $port, int $n, string $token, string $bridges): int
{
    $attachment = str_repeat("smtpsock benchmark attachment line\n", 60);   // about 2 KiB
    $subject = "Bench \u{00e9}t\u{00e9} $token";
    $text = str_repeat("Hello from the framework benchmark.\n", 20);
    $html = '<p>' . str_repeat('Hello from the framework benchmark. ', 20) . '</p>';

    if (str_starts_with($client, 'symfony')) {
        require_once 'Symfony/Component/Mailer/autoload.php';
        require_once $bridges . '/symfony-mailer/autoload.php';
        $factories = [new Smtpsock\Bridge\Symfony\SmtpsockTransportFactory()];
        foreach (Symfony\Component\Mailer\Transport::getDefaultFactories() as $f) {
            $factories[] = $f;
        }
        $dsn = $client === 'symfony_smtpsock' ? "smtpsock://127.0.0.1:$port" : "smtp://127.0.0.1:$port";
        $transport = (new Symfony\Component\Mailer\Transport($factories))->fromString($dsn);
        $emails = [];
        for ($i = 0; $i < $n; $i++) {
            $emails[] = (new Symfony\Component\Mime\Email())
                ->from('bench@example.org')->to("r$i@example.org")
                ->subject("$subject #$i")->text($text)->html($html)
                ->attach($attachment, 'notes.txt', 'text/plain');
        }
        $t0 = hrtime(true);
        foreach ($emails as $e) {
            $transport->send($e);
        }
        $t = (hrtime(true) - $t0) / 1e9;
        if (is_callable([$transport, 'stop'])) {   // private in Symfony 5.4; the destructor stops it
            $transport->stop();
        }
        unset($transport);
    } else {
        require_once 'libphp-phpmailer/autoload.php';
        require_once $bridges . '/phpmailer/autoload.php';
        $class = $client === 'phpmailer_smtpsock' ? Smtpsock\Bridge\PHPMailer\PHPMailer::class : PHPMailer\PHPMailer\PHPMailer::class;
        $m = new $class(true);
        $m->isSMTP();
        $m->Host = '127.0.0.1';
        $m->Port = $port;
        $m->SMTPAutoTLS = false;
        $m->SMTPKeepAlive = true;
        $m->CharSet = 'UTF-8';
        $m->setFrom('bench@example.org');
        $t = 0.0;
        $t0 = hrtime(true);
        for ($i = 0; $i < $n; $i++) {
            $m->clearAllRecipients();
            $m->clearAttachments();
            $m->addAddress("r$i@example.org");
            $m->Subject = "$subject #$i";
            $m->isHTML(true);
            $m->Body = $html;
            $m->AltBody = $text;
            $m->addStringAttachment($attachment, 'notes.txt', 'base64', 'text/plain');
            $m->send();
        }
        $t = (hrtime(true) - $t0) / 1e9;   // message building included: both sides build the same way
        $m->smtpClose();
    }
    echo json_encode(['seconds' => $t, 'n' => $n]), "\n";
    return 0;
}

/* ---- the parent ------------------------------------------------------------------------------- */

function say(string $s): void
{
    fwrite(STDERR, $s . "\n");
}

function maildir_count(string $maildir, string $token): int
{
    $n = 0;
    foreach (glob("$maildir/{new,cur}/*", GLOB_BRACE) ?: [] as $f) {
        $head = (string) @file_get_contents($f, false, null, 0, 8192);
        $n += str_contains($head, $token) ? 1 : 0;
    }
    return $n;
}

function run_child(string $client, int $port, int $n, string $token, string $bridges): ?float
{
    $ext = null;
    foreach (explode("\n", (string) file_get_contents('/proc/self/maps')) as $l) {
        if (preg_match('#\s(/\S*smtpsock\.so)$#', $l, $m)) {
            $ext = $m[1];
        }
    }
    // the php.ini this PHP reads (mbstring, iconv...: Symfony Mime needs them), plus the extension
    $cmd = [PHP_BINARY, '-d', 'extension=' . $ext, '-d', 'memory_limit=512M'];
    $cmd = array_merge($cmd, [__FILE__, "--child=$client", "--port=$port", "--n=$n", "--token=$token", "--bridges=$bridges"]);
    $p = proc_open($cmd, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    $out = stream_get_contents($pipes[1]);
    $err = stream_get_contents($pipes[2]);
    $rc = proc_close($p);
    $j = json_decode(trim((string) $out), true);
    if ($rc !== 0 || !is_array($j)) {
        say("  $client failed (exit $rc): " . trim($err . ' ' . $out));
        return null;
    }
    return (float) $j['seconds'];
}

function median(array $v): float
{
    sort($v);
    $c = count($v);
    return $c % 2 ? $v[intdiv($c, 2)] : ($v[$c / 2 - 1] + $v[$c / 2]) / 2;
}

$rtt = (float) ($opt['rtt'] ?? 20);
$nLoop = (int) ($opt['n-loop'] ?? 300);
$nRtt = (int) ($opt['n-rtt'] ?? 60);
$runs = (int) ($opt['runs'] ?? 3);
$results = $opt['results'] ?? ROOT . '/bench/RESULTS-frameworks.md';
$proxyBin = $opt['proxy'] ?? null;
if (!extension_loaded('smtpsock')) {
    fwrite(STDERR, "load the extension: php -d extension=modules/smtpsock.so bench/frameworks.php\n");
    exit(2);
}
if (!is_file($bridges . '/symfony-mailer/autoload.php') || !is_file($bridges . '/phpmailer/autoload.php')) {
    fwrite(STDERR, "no bridges in $bridges\n");
    exit(2);
}

$work = sys_get_temp_dir() . '/smtpsock-fwbench-' . getmypid();
@mkdir($work, 0755, true);
if ($proxyBin === null) {
    $proxyBin = "$work/delay_proxy";
    exec('gcc -O2 -std=c11 -Wall -Wextra -Werror -o ' . escapeshellarg($proxyBin) . ' ' . escapeshellarg(ROOT . '/bench/delay_proxy.c'), $o, $rc);
    if ($rc !== 0) {
        fwrite(STDERR, "could not build bench/delay_proxy.c\n");
        exit(1);
    }
}
$pfdir = "$work/postfix";
$script = ROOT . '/tests/inc/postfix-instance.sh';
$pfport = (int) trim((string) shell_exec('bash ' . escapeshellarg($script) . ' start ' . escapeshellarg($pfdir)));
if ($pfport <= 0) {
    fwrite(STDERR, "could not start Postfix\n");
    exit(1);
}
$proxy = null;
register_shutdown_function(function () use ($script, $pfdir, &$proxy, $work) {
    if ($proxy) {
        proc_terminate($proxy['proc'], 15);
        proc_close($proxy['proc']);
    }
    shell_exec('bash ' . escapeshellarg($script) . ' stop ' . escapeshellarg($pfdir));
    shell_exec('rm -rf ' . escapeshellarg($work));
});
$p = proc_open([$proxyBin, (string) $rtt, "127.0.0.1:$pfport"], [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['file', "$work/proxy.log", 'a']], $pp);
$pxport = (int) trim((string) fgets($pp[1]));
if ($pxport <= 0) {
    fwrite(STDERR, "delay_proxy did not start\n");
    exit(1);
}
$proxy = ['proc' => $p];

$versions = [
    'php' => PHP_VERSION,
];
$dpkg = fn(string $pkg) => trim((string) shell_exec('dpkg-query -W -f=\'${Version}\' ' . escapeshellarg($pkg) . ' 2>/dev/null'));
$versions['php-symfony-mailer'] = $dpkg('php-symfony-mailer');
$versions['libphp-phpmailer'] = $dpkg('libphp-phpmailer');

$pairs = [
    'Symfony Mailer' => ['symfony_own', 'symfony_smtpsock'],
    'PHPMailer (SMTPKeepAlive)' => ['phpmailer_own', 'phpmailer_smtpsock'],
];
$nets = ['loopback' => [$pfport, $nLoop], "RTT $rtt ms" => [$pxport, $nRtt]];
$R = [];
$checked = true;
foreach ($pairs as $label => $clients) {
    foreach ($nets as $net => [$port, $n]) {
        $times = [];
        for ($r = 0; $r < $runs; $r++) {
            foreach ($clients as $c) {     // interleaved: the two sides see the same machine state
                $token = "fw" . bin2hex(random_bytes(5));
                $t = run_child($c, $port, $n, $token, $bridges);
                $deadline = microtime(true) + 60;
                while (($got = maildir_count("$pfdir/Maildir", $token)) < $n && microtime(true) < $deadline) {
                    usleep(200000);
                }
                if ($got !== $n) {
                    say("  $c: Postfix has $got of $n messages");
                    $checked = false;
                }
                if ($t !== null) {
                    $times[$c][] = $t;
                }
                say(sprintf('%-20s %-12s run %d: %s', $c, $net, $r + 1, $t === null ? 'failed' : sprintf('%.1f msg/s', $n / $t)));
            }
        }
        foreach ($clients as $c) {
            $R[$label][$net][$c] = isset($times[$c]) ? $n / median($times[$c]) : null;
        }
    }
}

$md = (isset($opt['append']) ? "\n" : "# Frameworks: their own SMTP code against their smtpsock bridge\n\n")
    . "## PHP " . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION . "\n\nMeasured " . gmdate('Y-m-d H:i') . " UTC on this machine (git " . trim((string) shell_exec('git -C ' . escapeshellarg(ROOT) . ' rev-parse --short HEAD 2>/dev/null')) . ") with\n"
    . "`php -d extension=modules/smtpsock.so bench/frameworks.php --rtt=$rtt --n-loop=$nLoop --n-rtt=$nRtt --runs=$runs`\n"
    . "(PHP {$versions['php']}, php-symfony-mailer {$versions['php-symfony-mailer']}, libphp-phpmailer {$versions['libphp-phpmailer']}).\n\n"
    . "One reused connection to a private Postfix (PIPELINING, CHUNKING); each message text + HTML + a 2 KiB attachment, UTF-8 subject;\n"
    . "messages per second, median of $runs runs, the two sides of a pair run alternately. Through `bench/delay_proxy` each chunk\n"
    . "is forwarded RTT/2 after it arrived, each way. Every run's messages were counted in Postfix's Maildir: "
    . ($checked ? "all there" : "SOME MISSING (see the log)") . ".\n\n"
    . "| framework | network | own SMTP code | through smtpsock | gain |\n| --- | --- | ---: | ---: | ---: |\n";
foreach ($R as $label => $byNet) {
    foreach ($byNet as $net => $v) {
        [$own, $ss] = array_values($v);
        $md .= sprintf("| %s | %s | %s | %s | %s |\n", $label, $net,
            $own === null ? 'failed' : sprintf('%.1f', $own), $ss === null ? 'failed' : sprintf('%.1f', $ss),
            $own && $ss ? sprintf('%.2fx', $ss / $own) : '-');
    }
}
file_put_contents($results, $md, isset($opt['append']) ? FILE_APPEND : 0);
echo $md;
exit($checked ? 0 : 1);
