--TEST--
Persistent connections: later requests of the same PHP process send over the first request's connection (checked by an RSET written in front of the transaction, no extra round trip), for smtp_mail() and SmtpSocket; a dead one is replaced
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php if (!function_exists('proc_open')) die('skip proc_open needed'); ?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$G = ['send' => "220 scripted ESMTP\r\n"];
$E = ['expect' => 'EHLO', 'send' => "250-scripted\r\n250 PIPELINING\r\n"];
$msg = [['expect' => 'MAIL', 'send' => "250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go\r\n"], ['expect' => 'RCPT'], ['expect' => 'DATA'],
        ['read_data' => true, 'send' => "250 2.0.0 queued\r\n"]];
// a resumed connection: RSET, MAIL, RCPT, DATA arrive in one write
$rset = [['expect' => 'RSET', 'send' => "250 2.0.0 ok\r\n"]];
// ONE connection serves three requests; a second connection (after the server drops the first) serves the fourth;
// the fifth finds the second gone only when its RSET gets no reply: sent on a third, once
$srv = smtpsock_test_scripted(array_merge([$G, $E], $msg, $rset, $msg, $rset, $msg, [['close' => true], ['next_connection' => true], $G, $E], $msg,
    [['expect' => 'RSET'], ['close' => true], ['next_connection' => true], $G, $E], $msg,
    [['drain' => 5]]), ['time_limit' => 60, 'stray_rset' => 'strict']);

$doc = sys_get_temp_dir() . '/smtpsock-persist-' . getmypid();
@mkdir($doc);
file_put_contents("$doc/mail.php", '<?php echo var_export(smtp_mail("r@example.org", "s", "b"), true), " ", ini_get("smtpsock.persistent");');
file_put_contents("$doc/socket.php", '<?php $s = new SmtpSocket("127.0.0.1", (int)$_GET["port"], ["persistent" => true, "timeout" => 3]);
echo $s->send("s@example.com", "r@example.org", "x")["reply"];');
// a free port for the built-in web server
$sock = stream_socket_server('tcp://127.0.0.1:0');
$wport = (int)substr(strrchr(stream_socket_get_name($sock, false), ':'), 1);
fclose($sock);
$php = getenv('TEST_PHP_EXECUTABLE') ?: PHP_BINARY;
// the module this process loaded, however run-tests loaded it
preg_match('#\s(/\S*smtpsock\.so)$#m', file_get_contents('/proc/self/maps'), $so);
$cmd = [$php, '-n', '-d', 'extension=' . $so[1],
    '-d', 'smtpsock.persistent=1', '-d', "smtpsock.host=127.0.0.1:{$srv->port}", '-d', 'smtpsock.from=s@example.com',
    '-d', 'smtpsock.timeout=3', '-S', "127.0.0.1:$wport", '-t', $doc];
$web = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
for ($i = 0; $i < 50 && !@fsockopen('127.0.0.1', $wport); $i++) usleep(100000);

$get = fn($path) => @file_get_contents("http://127.0.0.1:$wport/$path");
echo "request 1: ", $get('mail.php'), "\n";
echo "request 2: ", $get('mail.php'), "\n";
echo "request 3: ", $get("socket.php?port={$srv->port}"), "\n";
// the server closed that connection: the liveness check sees it before anything is written, and a new one is made
echo "request 4: ", $get('mail.php'), "\n";
echo "request 5: ", $get('mail.php'), "\n";

proc_terminate($web);
proc_close($web);
$srv->wait(10);
$t = $srv->transcript();
echo "connections used: ", substr_count($t, 'EHLO'), ", messages: ", substr_count($t, 'MAIL FROM'), ", RSET checks: ", substr_count($t, 'RSET'), ", NOOP: ", substr_count($t, 'NOOP'), ", QUIT: ", substr_count($t, 'QUIT'), "\n";
echo "first connection: ", substr_count($srv->transcript(1), 'MAIL FROM'), " messages\n";
echo "third connection: ", substr_count($srv->transcript(3), 'MAIL FROM'), " message, data sent ", substr_count($srv->transcript(3), "\r\n.\r\n"), " time(s)\n";
// the check goes in the same write as the transaction: RSET directly followed by MAIL
echo "RSET in front of MAIL: ", preg_match_all("/RSET\r\nMAIL FROM/", $srv->transcript(1)), "\n";
array_map('unlink', glob("$doc/*"));
rmdir($doc);
?>
--EXPECTF--
request 1: true 1
request 2: true 1
request 3: 250 2.0.0 queued
request 4: true 1
request 5: true 1
connections used: 3, messages: %d, RSET checks: 3, NOOP: 0, QUIT: 0
first connection: 3 messages
third connection: 1 message, data sent 1 time(s)
RSET in front of MAIL: 2
