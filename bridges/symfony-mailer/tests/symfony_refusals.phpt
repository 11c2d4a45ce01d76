--TEST--
Symfony Mailer bridge: refused recipients with rejected_recipients=fail (default: nothing delivered, every refusal in the exception, the SMTP code) and =deliver (accepted recipients get it, refusals logged), a refused sender, bad DSN options
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

use Symfony\Component\Mailer\Exception\TransportExceptionInterface;
use Symfony\Component\Mime\Email;

$pf = smtpsock_test_postfix();
$dsn = "smtpsock://{$pf['host']}:{$pf['port']}";
$mail = fn(string $tok, array $to) => (new Email())->from('app@example.com')->to(...$to)
    ->subject("refusals $tok")->text("body $tok\n");

// fail (the default): all or nothing
$transport = symfony_bridge_transport($dsn);
$tokFail = smtpsock_test_token();
try {
    $transport->send($mail($tokFail, ['ann@example.org', 'reject-1@example.org', 'bob@example.org', 'reject-2@example.org']));
    echo "fail: sent?!\n";
} catch (TransportExceptionInterface $e) {
    echo "fail: ", get_class($e) === symfony_bridge_response_exception() ? 'expected class' : get_class($e), ", code ", $e->getCode(), "\n";
    echo "  names both refusals: ", str_contains($e->getMessage(), 'reject-1@example.org') && str_contains($e->getMessage(), 'reject-2@example.org') ? 'yes' : 'no: ' . $e->getMessage(), "\n";
    echo "  previous: ", get_class($e->getPrevious()), " rejected ", implode(',', array_keys($e->getPrevious()->getRejected())), "\n";
    echo "  debug shows RSET, no DATA: ", str_contains($e->getDebug(), '> RSET') && !preg_match('/> (DATA|BDAT)/', $e->getDebug()) ? 'yes' : 'no', "\n";
}
// the same transport goes on working after the failure
$tokOk = smtpsock_test_token();
$sent = $transport->send($mail($tokOk, ['ann@example.org']));
echo "after the failure: ", count(smtpsock_test_wait_messages($pf['maildir'], $tokOk, 1)), " delivered, queue id ",
    preg_match('/^[0-9A-F]+$/', $sent->getMessageId()) ? 'yes' : $sent->getMessageId(), "\n";
$found = array_filter(glob($pf['maildir'] . '/new/*'), fn($f) => str_contains((string) file_get_contents($f), $tokFail));
echo "fail: delivered to nobody: ", count($found) === 0 ? 'yes' : 'no', "\n";

// deliver: the accepted recipients get it; each refusal is logged
$logger = new SymfonyBridgeMemoryLogger();
$transport = symfony_bridge_transport("$dsn?rejected_recipients=deliver", $logger);
$tok = smtpsock_test_token();
$sent = $transport->send($mail($tok, ['ann@example.org', 'reject-3@example.org', 'bob@example.org']));
$msgs = smtpsock_test_wait_messages($pf['maildir'], $tok, 2);
echo "deliver: ", implode(',', array_map(fn($m) => $m['delivered_to'], $msgs)), "\n";
$warnings = array_values(array_filter($logger->records, fn($r) => $r[0] === 'warning'));
echo "  logged: ", count($warnings), " ", str_contains($warnings[0][1] ?? '', 'reject-3@example.org') && str_contains($warnings[0][1], '550') ? 'reject-3 with its reply' : json_encode($warnings), "\n";

// deliver, every recipient refused: nothing to deliver, an exception
try {
    $transport->send($mail(smtpsock_test_token(), ['reject-4@example.org', 'reject-5@example.org']));
} catch (TransportExceptionInterface $e) {
    echo "deliver, all refused: code ", $e->getCode(), ", both named: ",
        str_contains($e->getMessage(), 'reject-4@') && str_contains($e->getMessage(), 'reject-5@') ? 'yes' : 'no', "\n";
}

// a refused sender
try {
    $transport->send((new Email())->from('refused-sender@example.com')->to('ann@example.org')->subject('x')->text('x'));
} catch (TransportExceptionInterface $e) {
    echo "sender refused: code ", $e->getCode(), " ", get_class($e) === symfony_bridge_response_exception() ? 'expected class' : get_class($e), "\n";
}

// DSN options
foreach (["$dsn?rejected_recipients=maybe", "$dsn?timeout=soon", "$dsn?no_such_option=1", "$dsn?pipelining=perhaps",
          "smtpsocks://{$pf['host']}?security=none"] as $bad) {
    try {
        symfony_bridge_transport($bad);
        echo "accepted: $bad\n";
    } catch (InvalidArgumentException $e) {
        echo get_class($e), ": ", $e->getMessage(), "\n";
    }
}
$t = symfony_bridge_transport("$dsn?timeout=2.5&pipelining=0&chunking=false&busy_poll=0&helo=client.example&persistent=no");
echo "options accepted: ", $t, "\n";
echo "smtpsocks default port: ", symfony_bridge_transport('smtpsocks://mail.example.net'), "\n";
?>
--EXPECTF--
fail: expected class, code 550
  names both refusals: yes
  previous: SmtpSocketException rejected reject-1@example.org,reject-2@example.org
  debug shows RSET, no DATA: yes
after the failure: 1 delivered, queue id yes
fail: delivered to nobody: yes
deliver: ann@example.org,bob@example.org
  logged: 1 reject-3 with its reply
deliver, all refused: code 550, both named: yes
sender refused: code 553 expected class
Symfony\Component\Mailer\Exception\InvalidArgumentException: rejected_recipients must be "fail" or "deliver", not "maybe".
Symfony\Component\Mailer\Exception\InvalidArgumentException: smtpsock DSN option "timeout" must be a number, not "soon".
Symfony\Component\Mailer\Exception\InvalidArgumentException: Unknown smtpsock DSN option "no_such_option".
Symfony\Component\Mailer\Exception\InvalidArgumentException: smtpsock DSN option "pipelining" must be a boolean (1, 0, true, false, on, off, yes, no), not "perhaps".
Symfony\Component\Mailer\Exception\InvalidArgumentException: smtpsocks:// is implicit TLS: security must be "tls" or left out.
options accepted: smtpsock://127.0.0.1:%d
smtpsocks default port: smtpsocks://mail.example.net:465
