--TEST--
SmtpSocket: an object released without quit() writes QUIT and closes without waiting for the 221 (a server that answers QUIT 2 s late does not hold it up); quit() itself waits for the 221 and reports a refusal
--EXTENSIONS--
smtpsock
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$dialog = [['send' => "220 scripted ESMTP\r\n"],
    ['expect' => 'EHLO', 'send' => "250-scripted\r\n250-PIPELINING\r\n250 8BITMIME\r\n"],
    ['expect' => 'MAIL', 'send' => "250 2.1.0 ok\r\n"], ['expect' => 'RCPT', 'send' => "250 2.1.5 ok\r\n"],
    ['expect' => 'DATA', 'send' => "354 go\r\n"], ['read_data' => true, 'send' => "250 2.0.0 queued as 4Q9\r\n"]];

// 1. released: QUIT is written, the late 221 is not waited for
$srv = smtpsock_test_scripted(array_merge($dialog, [['expect' => 'QUIT'], ['sleep' => 2.0], ['send' => "221 bye\r\n"]]));
$s = new SmtpSocket($srv->host, $srv->port, ['timeout' => 5.0]);
$r = $s->send('a@example.org', 'b@example.org', "Subject: t\r\n\r\nx\r\n");
$t = microtime(true);
unset($s);
$released = microtime(true) - $t;
$srv->wait(5);
echo "reply: {$r['reply']}\n";
echo 'released in under 1 s: ', $released < 1.0 ? 'yes' : sprintf('NO (%.2f s)', $released), "\n";
echo 'server saw QUIT: ', preg_match('/^QUIT\r?$/m', $srv->transcript()) ? 'yes' : "NO\n" . $srv->transcript(), "\n";
$srv->stop();

// 2. quit(): waits for the 221, however late
$srv = smtpsock_test_scripted(array_merge($dialog, [['expect' => 'QUIT'], ['sleep' => 1.0], ['send' => "221 bye\r\n"]]));
$s = new SmtpSocket($srv->host, $srv->port, ['timeout' => 5.0]);
$s->send('a@example.org', 'b@example.org', "Subject: t\r\n\r\nx\r\n");
$t = microtime(true);
$s->quit();
$waited = microtime(true) - $t;
echo 'quit() waited for the 221: ', $waited >= 0.9 ? 'yes' : sprintf('NO (%.2f s)', $waited), ', connected: ', var_export($s->isConnected(), true), "\n";
echo 'last reply: ', $s->getLastReply()['code'] ?? 'none', "\n";
$srv->stop();

// 3. quit() refused: an exception with the reply, the connection closed anyway
$srv = smtpsock_test_scripted(array_merge($dialog, [['expect' => 'QUIT', 'send' => "500 5.5.1 what?\r\n"]]));
$s = new SmtpSocket($srv->host, $srv->port, ['timeout' => 5.0]);
$s->send('a@example.org', 'b@example.org', "Subject: t\r\n\r\nx\r\n");
try { $s->quit(); echo "quit() returned\n"; }
catch (SmtpSocketException $e) { printf("quit() refused: %d %s, connected: %s\n", $e->getSmtpCode(), $e->getEnhancedStatus(), var_export($s->isConnected(), true)); }
$srv->stop();
?>
--EXPECT--
reply: 250 2.0.0 queued as 4Q9
released in under 1 s: yes
server saw QUIT: yes
quit() waited for the 221: yes, connected: false
last reply: 221
quit() refused: 500 5.5.1, connected: false
