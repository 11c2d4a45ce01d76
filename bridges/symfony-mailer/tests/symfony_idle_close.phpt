--TEST--
Symfony Mailer bridge: a long-running loop on one transport whose relay closes the idle connection between two messages (421 and close, as Postfix's smtpd_timeout does): nothing lost, the next message goes on a new connection, each with its queue id
--XFAIL--
Waits for the extension's replay of a transaction on a connection the relay closed while idle (SPEC 6, Long-lived sessions; being finished on main): without it the first message after the 421 fails
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php
require __DIR__ . '/symfony.inc';
if ($r = symfony_bridge_skip_reason()) die("skip $r");
?>
--FILE--
<?php
require __DIR__ . '/symfony.inc';
symfony_bridge_load();

use Symfony\Component\Mime\Email;

$G = ['send' => "220 scripted ESMTP\r\n"];
$E = ['expect' => 'EHLO', 'send' => "250-scripted\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n"];
$msg = fn(string $id) => [
    ['expect' => 'MAIL FROM:<app@example.com>', 'send' => "250 2.1.0 Ok\r\n"],
    ['expect' => 'RCPT TO:<ann@example.org>', 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'DATA', 'send' => "354 go\r\n"],
    ['read_data' => true, 'send' => "250 2.0.0 Ok: queued as $id\r\n"],
];
// first connection: one message, then the relay times the idle client out;
// second connection: the next two messages
$srv = smtpsock_test_scripted(array_merge([$G, $E], $msg('AAA111'),
    [['sleep' => 0.3], ['send' => "421 4.4.2 scripted Error: timeout exceeded\r\n"], ['close' => true], ['next_connection' => true], $G, $E],
    $msg('BBB222'), $msg('CCC333'), [['expect' => 'QUIT', 'send' => "221 2.0.0 Bye\r\n"]]));

$transport = symfony_bridge_transport("smtpsock://{$srv->host}:{$srv->port}?timeout=5");
$ids = [];
foreach ([1, 2, 3] as $i) {
    $email = (new Email())->from('app@example.com')->to('ann@example.org')->subject("loop $i")->text("message $i\n");
    try {
        $ids[] = $transport->send($email)->getMessageId();
    } catch (Throwable $e) {
        $ids[] = get_class($e) . ': ' . $e->getMessage();
    }
    if ($i === 1) {
        usleep(800000);   // idle: the relay gives up on the connection meanwhile
    }
}
echo "queue ids: ", implode(', ', $ids), "\n";
$transport->stop();
$srv->wait(5);
echo "server script done: ", $srv->exitCode() === 0 ? 'yes' : 'no: ' . $srv->log(), "\n";
$t = $srv->transcript();
echo "subjects sent: ", implode(',', array_map(fn($m) => $m[1], preg_match_all('/^Subject: loop (\d)/m', $t, $mm, PREG_SET_ORDER) ? $mm : [])), "\n";
echo "connections: ", $srv->transcript(1) !== '' && $srv->transcript(2) !== '' ? 2 : 'not 2', "\n";
?>
--EXPECT--
queue ids: AAA111, BBB222, CCC333
server script done: yes
subjects sent: 1,2,3
connections: 2
