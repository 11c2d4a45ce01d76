--TEST--
PHPMailer bridge: SMTPKeepAlive in a long-running loop whose relay closes the idle connection (421) between two messages: nothing lost, the next message goes on a new connection, each with its transaction id
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php
require __DIR__ . '/phpmailer.inc';
if ($r = phpmailer_bridge_skip_reason()) die("skip $r");
?>
--FILE--
<?php
require __DIR__ . '/phpmailer.inc';
phpmailer_bridge_load();

$G = ['send' => "220 scripted ESMTP\r\n"];
$E = ['expect' => 'EHLO', 'send' => "250-scripted\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n"];
$msg = fn(string $id) => [
    ['expect' => 'MAIL FROM:<app@example.com>', 'send' => "250 2.1.0 Ok\r\n"],
    ['expect' => 'RCPT TO:<ann@example.org>', 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'DATA', 'send' => "354 go\r\n"],
    ['read_data' => true, 'send' => "250 2.0.0 Ok: queued as $id\r\n"],
];
$srv = smtpsock_test_scripted(array_merge([$G, $E], $msg('AAA111'),
    [['sleep' => 0.3], ['send' => "421 4.4.2 scripted Error: timeout exceeded\r\n"], ['close' => true], ['next_connection' => true], $G, $E],
    $msg('BBB222'), $msg('CCC333'), [['expect' => 'QUIT', 'send' => "221 2.0.0 Bye\r\n"]]));

$mail = new Smtpsock\Bridge\PHPMailer\PHPMailer();
$mail->isSMTP();
$mail->Host = $srv->host;
$mail->Port = $srv->port;
$mail->Timeout = 5;
$mail->SMTPKeepAlive = true;
$mail->setFrom('app@example.com');
$mail->addAddress('ann@example.org');
$ids = [];
foreach ([1, 2, 3] as $i) {
    $mail->Subject = "loop $i";
    $mail->Body = "message $i";
    $ids[] = $mail->send() ? $mail->getLastTransactionID() : 'failed: ' . $mail->ErrorInfo;
    if ($i === 1) {
        usleep(1500000);   // idle: the relay gives up on the connection meanwhile
    }
}
$mail->smtpClose();
echo "transaction ids: ", implode(', ', $ids), "\n";
$srv->wait(5);
echo "server script done: ", $srv->exitCode() === 0 ? 'yes' : 'no', "\n";
echo "subjects sent: ", implode(',', array_map(fn($m) => $m[1], preg_match_all('/^Subject: loop (\d)/m', $srv->transcript(), $mm, PREG_SET_ORDER) ? $mm : [])), "\n";
?>
--EXPECT--
transaction ids: AAA111, BBB222, CCC333
server script done: yes
subjects sent: 1,2,3
