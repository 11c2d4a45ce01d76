--TEST--
Sessions (scripted server): pipelined send() with a refused middle recipient, SIZE limit refused before sending, a command line too long refused naming MAIL or RCPT, smtp_mail() reusing one connection, host failover, warnings, IPv6
--EXTENSIONS--
smtpsock
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$G = ['send' => "220 scripted ESMTP\r\n"];
$EP = ['expect' => 'EHLO', 'send' => "250-scripted\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 ENHANCEDSTATUSCODES\r\n"];

echo "-- pipelined: one write, replies matched to commands\n";
$srv = smtpsock_test_scripted([$G, $EP,
    // silent until DATA has arrived: a client that waited for the MAIL reply would time out
    ['expect' => 'MAIL FROM:<a@example.org> SIZE='],
    ['expect' => 'RCPT TO:<r1@example.org>'], ['expect' => 'RCPT TO:<r2@example.org>'], ['expect' => 'RCPT TO:<r3@example.org>'],
    ['expect' => 'DATA', 'send' => "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 <r2@example.org> unknown\r\n250 2.1.5 ok\r\n354 go\r\n"],
    ['read_data' => true, 'send' => "250 2.0.0 queued\r\n"],
    ['expect' => 'QUIT', 'send' => "221 bye\r\n"]]);
$s = new SmtpSocket($srv->host, $srv->port, ['timeout' => 2]);
var_dump($s->send('a@example.org', ['r1@example.org', 'r2@example.org', 'r3@example.org'], "Subject: p\r\n\r\nbody\r\n"));
$s->quit();
$srv->wait();
echo str_replace("\r\n", "\n", preg_replace('/SIZE=\d+/', 'SIZE=N', strstr($srv->transcript(), 'MAIL')));

echo "-- SIZE: a message over the server's limit is refused before MAIL\n";
$srv = smtpsock_test_scripted([$G, $EP, ['expect' => 'QUIT', 'send' => "221 bye\r\n"]]);
$s = new SmtpSocket($srv->host, $srv->port, ['timeout' => 2]);
try { $s->send('a@example.org', 'b@example.org', str_repeat("x", 2000)); }
catch (SmtpSocketException $e) { echo $e->getSmtpCode(), ": ", $e->getMessage(), "\n"; }
$s->quit();
$srv->wait();
var_dump(str_contains($srv->transcript(), 'MAIL'));

echo "-- a command line over 2048 octets: refused before anything of the message, naming MAIL or RCPT\n";
$srv = smtpsock_test_scripted([$G, $EP, ['expect' => 'QUIT', 'send' => "221 bye\r\n"]]);
$s = new SmtpSocket($srv->host, $srv->port, ['timeout' => 2]);
$long = str_repeat('a', 2100) . '@example.org';
foreach ([[$long, 'b@example.org'], ['a@example.org', $long]] as [$f, $t]) {
    try { $s->send($f, $t, "x"); echo "sent\n"; }
    catch (SmtpSocketException $e) { echo $e->getSmtpCode(), ": ", $e->getMessage(), "\n"; }
}
$s->quit();
$srv->wait();
var_dump(str_contains($srv->transcript(), 'MAIL'));

echo "-- smtp_mail(): consecutive calls share one connection; QUIT at request end\n";
$one = [['expect' => 'MAIL FROM:<s@example.com>', 'send' => "250 ok\r\n"], ['expect' => 'RCPT', 'send' => "250 ok\r\n"],
        ['expect' => 'DATA', 'send' => "354 go\r\n"], ['read_data' => true, 'send' => "250 2.0.0 queued\r\n"]];
$srv = smtpsock_test_scripted(array_merge([$G, ['expect' => 'EHLO', 'send' => "250 scripted\r\n"]], $one, $one, $one,
    [['expect' => 'QUIT', 'send' => "221 bye\r\n"]]), ['connections' => 1]);
ini_set('smtpsock.host', "127.0.0.1:{$srv->port}");
ini_set('smtpsock.timeout', '2');
ini_set('smtpsock.from', 's@example.com');
for ($i = 0; $i < 3; $i++) var_dump(smtp_mail("r$i@example.org", "n$i", "body $i"));
$t = $srv->transcript();
echo substr_count($t, 'EHLO'), " EHLO, ", substr_count($t, 'MAIL FROM'), " MAIL\n";

echo "-- failover: refused port, then a 554 greeting, then a good host\n";
$bad = smtpsock_test_scripted([['send' => "554 5.3.2 no service here\r\n"], ['expect' => 'QUIT', 'send' => "221 bye\r\n"]]);
$good = smtpsock_test_scripted(array_merge([$G, ['expect' => 'EHLO', 'send' => "250 scripted\r\n"]], $one, [['expect' => 'QUIT', 'send' => "221 bye\r\n"]]));
$s = new SmtpSocket("127.0.0.1:1; 127.0.0.1:{$bad->port} ;tcp://127.0.0.1:{$good->port}", 25, ['timeout' => 2]);
echo $s->send('s@example.com', 'r@example.org', "x")['reply'], "\n";
$s->quit();
echo "-- every host failing names them all\n";
$s = new SmtpSocket("127.0.0.1:1;[::1]:1", 25, ['timeout' => 2]);
try { $s->noop(); } catch (SmtpSocketException $e) { echo $e->getSmtpCode(), ": ", $e->getMessage(), "\n"; }

echo "-- smtp_mail(): failures are false + a warning naming the reply\n";
set_error_handler(function ($no, $str) { echo "warning: $str\n"; return true; });
$srv = smtpsock_test_scripted([$G, ['expect' => 'EHLO', 'send' => "250 scripted\r\n"],
    ['expect' => 'MAIL', 'send' => "250 ok\r\n"], ['expect' => 'RCPT', 'send' => "250 ok\r\n"],
    ['expect' => 'DATA', 'send' => "354 go\r\n"], ['read_data' => true, 'send' => "554 5.7.1 spam detected\r\n"],
    ['expect' => 'QUIT', 'send' => "221 bye\r\n"]]);
ini_set('smtpsock.host', "127.0.0.1:{$srv->port}");
var_dump(smtp_mail("r@example.org", "s", "b"));
ini_set('smtpsock.host', "127.0.0.1:1");
var_dump(smtp_mail("r@example.org", "s", "b"));
restore_error_handler();

echo "-- IPv6 literal, bare and bracketed\n";
$v6 = smtpsock_test_scripted(array_merge([$G, ['expect' => 'EHLO [IPv6:::1]', 'send' => "250 scripted\r\n"]], $one,
    [['expect' => 'QUIT', 'send' => "221 bye\r\n"]]), ['ipv6' => true]);
$s = new SmtpSocket('::1', $v6->port, ['timeout' => 2]);
echo $s->send('s@example.com', 'r@example.org', "x")['reply'], "\n";
$s->quit();
$v6->wait();
var_dump($v6->exitCode());
?>
--EXPECTF--
-- pipelined: one write, replies matched to commands
array(4) {
  ["accepted"]=>
  array(2) {
    [0]=>
    string(14) "r1@example.org"
    [1]=>
    string(14) "r3@example.org"
  }
  ["rejected"]=>
  array(1) {
    ["r2@example.org"]=>
    string(34) "550 5.1.1 <r2@example.org> unknown"
  }
  ["reply"]=>
  string(16) "250 2.0.0 queued"
  ["queue_id"]=>
  NULL
}
MAIL FROM:<a@example.org> SIZE=N
RCPT TO:<r1@example.org>
RCPT TO:<r2@example.org>
RCPT TO:<r3@example.org>
DATA
Subject: p

body
.
QUIT
-- SIZE: a message over the server's limit is refused before MAIL
0: message of 2002 octets exceeds the server's SIZE limit of 1000 octets; not sent
bool(false)
-- a command line over 2048 octets: refused before anything of the message, naming MAIL or RCPT
0: MAIL: command line longer than 2048 octets
0: RCPT: command line longer than 2048 octets
bool(false)
-- smtp_mail(): consecutive calls share one connection; QUIT at request end
bool(true)
bool(true)
bool(true)
1 EHLO, 3 MAIL
-- failover: refused port, then a 554 greeting, then a good host
250 2.0.0 queued
-- every host failing names them all
0: could not connect to 127.0.0.1:1: Connection refused; could not connect to [::1]:1: Connection refused
-- smtp_mail(): failures are false + a warning naming the reply
warning: smtp_mail(): message refused: 554 5.7.1 spam detected
bool(false)
warning: smtp_mail(): could not connect to 127.0.0.1:1: Connection refused
bool(false)
-- IPv6 literal, bare and bracketed
250 2.0.0 queued
int(0)
