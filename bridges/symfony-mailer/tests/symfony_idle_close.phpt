--TEST--
Symfony Mailer bridge: a long-running loop on one transport whose relay closes the idle connection between two messages (a scripted 421 and close; a real Postfix with smtpd_timeout = 2s): nothing lost, nothing sent twice, the next message goes on a new connection, each with its queue id
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php
require __DIR__ . '/symfony.inc';
if ($r = symfony_bridge_skip_reason()) die("skip $r");
if ($r = smtpsock_test_postfix_skip_reason()) die("skip $r");
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
        usleep(1500000);   // idle: the relay gives up on the connection meanwhile
    }
}
echo "queue ids: ", implode(', ', $ids), "\n";
$transport->stop();
$srv->wait(5);
echo "server script done: ", $srv->exitCode() === 0 ? 'yes' : 'no: ' . $srv->log(), "\n";
$t = $srv->transcript();
echo "subjects sent: ", implode(',', array_map(fn($m) => $m[1], preg_match_all('/^Subject: loop (\d)/m', $t, $mm, PREG_SET_ORDER) ? $mm : [])), "\n";
echo "connections: ", $srv->transcript(1) !== '' && $srv->transcript(2) !== '' ? 2 : 'not 2', "\n";

// a real relay: Postfix closing sessions idle for more than 2 s (421 4.4.2 ... timeout exceeded)
$pf = smtpsock_test_postfix_with('smtpd_timeout = 2s');
$transport = symfony_bridge_transport("smtpsock://{$pf['host']}:{$pf['port']}?timeout=10");
$tok = smtpsock_test_token();
$ids = [];
foreach ([1, 2, 3] as $i) {
    if ($i > 1) {
        sleep(3);
    }
    $sent = $transport->send((new Email())->from('app@example.com')->to('ann@example.org')->subject("idle $i $tok")->text("message $i\n"));
    $ids[] = $sent->getMessageId();
    $debug[$i] = $sent->getDebug();
}
$msgs = smtpsock_test_wait_messages($pf['maildir'], $tok, 3);
sleep(1);   // a message sent twice would arrive now
$msgs = smtpsock_test_wait_messages($pf['maildir'], $tok, 3, 0.5);
echo "Postfix: ", count($msgs), " delivered, subjects ", implode(',', array_map(fn($m) => substr(smtpsock_test_header($m, 'Subject')[0], 5, 1), $msgs)),
    ", ", count(array_unique($ids)), " queue ids\n";
echo "Postfix closed the idle session: ", str_contains($debug[2] . $debug[3], 'timeout exceeded') ? 'yes' : 'no', "\n";
?>
--EXPECT--
queue ids: AAA111, BBB222, CCC333
server script done: yes
subjects sent: 1,2,3
connections: 2
Postfix: 3 delivered, subjects 1,2,3, 3 queue ids
Postfix closed the idle session: yes
