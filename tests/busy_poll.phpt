--TEST--
busy_poll: polls for a reply that comes within the period, backs off from a server slower than it, never polls when 0; option and INI validation
--EXTENSIONS--
smtpsock
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';

const WAITS = 30;
const DELAY = 0.002;   // the server answers each NOOP after 2 ms

/**
 * [CPU seconds (user + system), voluntary context switches] of this process
 * for WAITS NOOPs answered after DELAY. A wait that sleeps in the kernel is a
 * voluntary context switch; a wait that polls until the reply is there is not.
 */
function noops(int $busyPoll): array
{
    $steps = [['send' => "220 scripted ESMTP\r\n"], ['expect' => 'EHLO', 'send' => "250-scripted\r\n250 PIPELINING\r\n"]];
    for ($i = 0; $i < WAITS; $i++) {
        $steps[] = ['expect' => 'NOOP'];
        $steps[] = ['sleep' => DELAY];
        $steps[] = ['send' => "250 2.0.0 ok $i\r\n"];
    }
    $steps[] = ['expect' => 'QUIT', 'send' => "221 bye\r\n"];
    $srv = smtpsock_test_scripted($steps);
    $s = new SmtpSocket($srv->host, $srv->port, ['timeout' => 5, 'busy_poll' => $busyPoll]);
    $s->ehlo();
    $cpu = static function (): float {
        $r = getrusage();
        return $r['ru_utime.tv_sec'] + $r['ru_utime.tv_usec'] / 1e6 + $r['ru_stime.tv_sec'] + $r['ru_stime.tv_usec'] / 1e6;
    };
    $t = $cpu();
    $sw = getrusage()['ru_nvcsw'];
    $ok = 0;
    for ($i = 0; $i < WAITS; $i++) {
        $r = $s->noop();
        $ok += $r === "250 2.0.0 ok $i" ? 1 : 0;
        if ($i === 0 && $ok === 0) var_dump($r);
    }
    $used = [$cpu() - $t, getrusage()['ru_nvcsw'] - $sw];
    $s->quit();
    $srv->wait();
    if ($ok !== WAITS) {
        echo "busy_poll $busyPoll: only $ok of ", WAITS, " replies right\n";
    }
    return $used;
}

// Under valgrind or a debug build PHP's own work per NOOP outweighs the
// polling: the same traffic runs, the CPU bounds are checked natively only.
$native = getenv('MEMCHECK_MODE') === false;
$cpus = (int) trim((string) shell_exec('nproc 2>/dev/null'));

echo "-- busy_poll 0: every wait sleeps\n";
$off = noops(0);
echo "-- busy_poll 5000 (the 2 ms replies come within it): every wait polls\n";
$on = noops(5000);
echo "-- busy_poll 1000 (the replies come after it): polling backs off\n";
$short = noops(1000);
if ($native) {
    // off: every wait sleeps, and sleeping costs next to nothing
    if ($off[1] < WAITS - 5) printf("busy_poll 0: only %d of %d waits slept\n", $off[1], WAITS);
    if ($off[0] > 0.015) printf("busy_poll 0 used %.1f ms of CPU\n", $off[0] * 1e3);
    // polling: the replies are seen without sleeping (counted by context
    // switches, not CPU time: on a loaded machine the yields between polls
    // hand the CPU to others)
    if ($cpus >= 2 && $on[1] > 10) printf("busy_poll 5000: %d of %d waits slept: it did not poll\n", $on[1], WAITS);
    // every poll misses: it costs the period once, then 1, 3, 7, 15 waits
    // sleep (4 or 5 of the 30 waits poll: about 5 ms, 30 ms without the
    // back-off)
    if ($short[1] < WAITS - 5) printf("busy_poll 1000: only %d of %d waits slept\n", $short[1], WAITS);
    if ($short[0] > 0.015) printf("busy_poll 1000 used %.1f ms of CPU: no back-off\n", $short[0] * 1e3);
}

echo "-- option validation\n";
foreach ([-1, 10001, '50', 1.5] as $v) {
    try {
        new SmtpSocket('127.0.0.1', 25, ['busy_poll' => $v]);
        echo "accepted ", var_export($v, true), "\n";
    } catch (Throwable $e) {
        echo get_class($e), ": ", $e->getMessage(), "\n";
    }
}
echo "-- INI\n";
var_dump(ini_get('smtpsock.busy_poll'));
foreach (['abc', '-1', '10001', '7x'] as $v) {
    var_dump(ini_set('smtpsock.busy_poll', $v), ini_get('smtpsock.busy_poll'));
}
var_dump(ini_set('smtpsock.busy_poll', '0'), ini_get('smtpsock.busy_poll'));
var_dump(ini_set('smtpsock.busy_poll', '10000'), ini_get('smtpsock.busy_poll'));
?>
--EXPECT--
-- busy_poll 0: every wait sleeps
-- busy_poll 5000 (the 2 ms replies come within it): every wait polls
-- busy_poll 1000 (the replies come after it): polling backs off
-- option validation
ValueError: SmtpSocket::__construct(): Argument #3 ($options) option "busy_poll" must be between 0 and 10000 microseconds
ValueError: SmtpSocket::__construct(): Argument #3 ($options) option "busy_poll" must be between 0 and 10000 microseconds
TypeError: SmtpSocket::__construct(): Argument #3 ($options) option "busy_poll" must be of type int, string given
TypeError: SmtpSocket::__construct(): Argument #3 ($options) option "busy_poll" must be of type int, float given
-- INI
string(2) "50"
bool(false)
string(2) "50"
bool(false)
string(2) "50"
bool(false)
string(2) "50"
bool(false)
string(2) "50"
string(2) "50"
string(1) "0"
string(1) "0"
string(5) "10000"
