--TEST--
send(): queue_id from the final reply (Postfix's own id, as its Received header shows it); option atomic (all recipients or nothing: RSET, nothing delivered, the first refusal in the exception) and SmtpSocketException::getRejected(), pipelined against Postfix and one command at a time against a scripted server
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php require __DIR__ . '/inc/smtpsock_test.inc'; if ($r = smtpsock_test_postfix_skip_reason()) die("skip $r"); ?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix();
$log = [];
$s = new SmtpSocket($pf['host'], $pf['port'], ['timeout' => 10,
    'logger' => function ($d, $l) use (&$log) { $log[] = "$d $l"; }]);

// queue_id: the id Postfix gave, the one in the Received header it added
$tok = smtpsock_test_token();
$r = $s->send('a@example.com', 'ann@example.org', "Subject: q $tok\r\n\r\nx\r\n");
$m = smtpsock_test_wait_messages($pf['maildir'], $tok, 1)[0];
$received = implode(' ', smtpsock_test_header($m, 'Received'));
preg_match('/\bid ([0-9A-Za-z]+)/', $received, $rid);
echo "queue_id: ", $r['queue_id'] !== null && $r['queue_id'] === ($rid[1] ?? '') ? 'Postfix\'s id' : "mismatch: " . var_export($r['queue_id'], true) . " vs " . ($rid[1] ?? '?'), "\n";
echo "in the reply: ", str_contains($r['reply'], "queued as {$r['queue_id']}") ? 'yes' : 'no', "\n";
echo "keys: ", implode(',', array_keys($r)), "\n";

// without atomic: the accepted recipients get it, the refusal is reported
$tok = smtpsock_test_token();
$r = $s->send('a@example.com', ['ann@example.org', 'reject-1@example.org'], "Subject: partial $tok\r\n\r\nx\r\n");
echo "partial: accepted ", implode(',', $r['accepted']), "; rejected ", implode(',', array_keys($r['rejected'])), "; queue_id ", $r['queue_id'] ? 'set' : 'null', "\n";
smtpsock_test_wait_messages($pf['maildir'], $tok, 1);

// atomic: one refusal and nothing is delivered
$tokA = smtpsock_test_token();
$log = [];
try {
    $s->send('a@example.com', ['ann@example.org', 'reject-2@example.org', 'bob@example.org', 'reject-3@example.org'],
        "Subject: atomic $tokA\r\n\r\nx\r\n", ['atomic' => true]);
    echo "atomic: sent?!\n";
} catch (SmtpSocketException $e) {
    echo "atomic: ", get_class($e), " ", $e->getSmtpCode(), " ", $e->getEnhancedStatus(), " names reject-2 first: ",
        str_contains($e->getMessage(), 'reject-2@') ? 'yes' : 'no', "\n";
    echo "  rejected: ", implode(',', array_keys($e->getRejected())), "\n";
    echo "  each with its reply: ", count(array_filter($e->getRejected(), fn($t) => str_starts_with($t, '550'))), "\n";
}
// (an RSET may precede the MAIL: the session had idled while the last message was awaited)
$out = array_values(array_filter($log, fn($l) => $l[0] === '>'));
$lastRcpt = max(array_keys(array_filter($out, fn($l) => str_starts_with($l, '> RCPT'))));
echo "  sent after the RCPTs: ", implode(',', array_map(fn($l) => substr($l, 2, 4),
    array_slice($out, $lastRcpt + 1))) ?: 'nothing', "\n";
// atomic, everything accepted: delivered, with queue id
$tokB = smtpsock_test_token();
$r = $s->send('a@example.com', ['ann@example.org', 'bob@example.org'], "Subject: atomic ok $tokB\r\n\r\nx\r\n", ['atomic' => true]);
echo "atomic ok: ", implode(',', $r['accepted']), " queue_id ", $r['queue_id'] ? 'set' : 'null', "\n";
smtpsock_test_wait_messages($pf['maildir'], $tokB, 2);
// the refused atomic message reached nobody
echo "atomic refused message delivered: ", count(glob($pf['maildir'] . '/new/*')) && array_filter(glob($pf['maildir'] . '/new/*'),
    fn($f) => str_contains(file_get_contents($f), $tokA)) ? 'yes' : 'no', "\n";

// every recipient refused (not atomic): getRejected() lists them all
try {
    $s->send('a@example.com', ['reject-4@example.org', 'reject-5@example.org'], "Subject: none\r\n\r\nx\r\n");
} catch (SmtpSocketException $e) {
    echo "all refused: ", $e->getSmtpCode(), " rejected: ", implode(',', array_keys($e->getRejected())), "\n";
}
// other failures: getRejected() is empty
try {
    $s->send('refused-sender@example.com', 'ann@example.org', "Subject: x\r\n\r\nx\r\n");
} catch (SmtpSocketException $e) {
    echo "sender refused: ", $e->getSmtpCode(), " rejected: ", json_encode($e->getRejected()), "\n";
}
try { $s->send('a@example.com', 'ann@example.org', "x", ['atomic' => 1]); } catch (TypeError $e) { echo $e->getMessage(), "\n"; }

// a server without PIPELINING: the same rule, one command at a time, and no DATA
$srv = smtpsock_test_scripted([
    ['send' => "220 scripted ESMTP\r\n"],
    ['expect' => 'EHLO', 'send' => "250-scripted\r\n250 ENHANCEDSTATUSCODES\r\n"],
    ['expect' => 'MAIL FROM:', 'send' => "250 2.1.0 Ok\r\n"],
    ['expect' => 'RCPT TO:<ann@', 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'RCPT TO:<nobody@', 'send' => "550 5.1.1 <nobody@example.org>: no such user\r\n"],
    ['expect' => 'RCPT TO:<bob@', 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'RSET', 'send' => "250 2.0.0 Ok\r\n"],
    ['expect' => 'MAIL FROM:', 'send' => "250 2.1.0 Ok\r\n"],
    ['expect' => 'RCPT TO:<ann@', 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'DATA', 'send' => "354 go\r\n"],
    ['read_data' => true, 'send' => "250 OK id=1abcDE-000123-Fg\r\n"],
    ['expect' => 'QUIT', 'send' => "221 bye\r\n"],
]);
$t = new SmtpSocket('127.0.0.1', $srv->port, ['timeout' => 5]);
try {
    $t->send('a@example.com', ['ann@example.org', 'nobody@example.org', 'bob@example.org'], "Subject: x\r\n\r\nx\r\n", ['atomic' => true]);
} catch (SmtpSocketException $e) {
    echo "no pipelining, atomic: ", $e->getSmtpCode(), " ", $e->getEnhancedStatus(), " rejected: ", implode(',', array_keys($e->getRejected())), "\n";
}
$r = $t->send('a@example.com', 'ann@example.org', "Subject: x\r\n\r\nx\r\n", ['atomic' => true]);
echo "then: queue_id ", $r['queue_id'], "\n";
$t->quit();
echo "DATA before the RSET: ", preg_match('/^DATA\r\n.*^RSET/ms', $srv->transcript()) ? 'yes' : 'no', "\n";
?>
--EXPECT--
queue_id: Postfix's id
in the reply: yes
keys: accepted,rejected,reply,queue_id
partial: accepted ann@example.org; rejected reject-1@example.org; queue_id set
atomic: SmtpSocketException 550 5.1.1 names reject-2 first: yes
  rejected: reject-2@example.org,reject-3@example.org
  each with its reply: 2
  sent after the RCPTs: RSET
atomic ok: ann@example.org,bob@example.org queue_id set
atomic refused message delivered: no
all refused: 550 rejected: reject-4@example.org,reject-5@example.org
sender refused: 553 rejected: []
SmtpSocket::send(): Argument #4 ($options) option "atomic" must be of type bool, int given
no pipelining, atomic: 550 5.1.1 rejected: nobody@example.org
then: queue_id 1abcDE-000123-Fg
DATA before the RSET: no
