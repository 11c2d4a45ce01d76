--TEST--
Symfony Mailer bridge: STARTTLS + AUTH with a private CA (smtpsock://user:pass@...?cafile=), implicit TLS (smtpsocks://), a wrong password (code 535), no secret in any output or debug string; failover() whose first host is dead, roundrobin(); smtpsock://default from the smtpsock.* settings
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php
require __DIR__ . '/symfony.inc';
if ($r = symfony_bridge_skip_reason()) die("skip $r");
if ($r = smtpsock_test_postfix_skip_reason()) die("skip $r");
if ($r = smtpsock_test_postfix_tls_skip_reason()) die("skip $r");
?>
--FILE--
<?php
require __DIR__ . '/symfony.inc';
symfony_bridge_load();

use Symfony\Component\Mailer\Exception\TransportExceptionInterface;
use Symfony\Component\Mime\Email;

ob_start();   // everything printed is checked for the secret at the end
$tls = smtpsock_test_postfix_tls();
$pf = smtpsock_test_postfix();
$secret = $tls['password'];
$user = rawurlencode($tls['user']);
$pass = rawurlencode($secret);
$ca = rawurlencode($tls['ca']);
$mail = fn(string $tok) => (new Email())->from('app@example.com')->to('ann@example.org')->subject("tls $tok")->text("body $tok\n");
$leaks = [];
$check = function (string $what, string $text) use ($secret, &$leaks): void {
    if (str_contains($text, $secret) || str_contains($text, base64_encode($secret))
        || str_contains($text, base64_encode("\0" . smtpsock_test_postfix_tls()['user'] . "\0" . $secret))) {
        $leaks[] = $what;
    }
};

// STARTTLS + AUTH, certificate checked against the test CA
$logger = new SymfonyBridgeMemoryLogger();
$t = symfony_bridge_transport("smtpsock://$user:$pass@{$tls['host']}:{$tls['port']}?security=starttls&cafile=$ca&timeout=10", $logger);
$tok = smtpsock_test_token();
$sent = $t->send($mail($tok));
$m = smtpsock_test_wait_messages($tls['maildir'], $tok, 1)[0];
$received = implode(' ', smtpsock_test_header($m, 'Received'));
echo "starttls+auth: delivered, TLS ", preg_match('/using TLSv1\.[23]/', $received) ? 'yes' : 'no',
    ", authenticated ", str_contains($received, 'Authenticated sender') ? 'yes' : 'no', "\n";
$debug = $sent->getDebug();
echo "debug: STARTTLS ", str_contains($debug, '> STARTTLS') ? 'yes' : 'no', ", AUTH ", preg_match('/> AUTH \S+/', $debug) ? 'yes' : 'no',
    ", secret shown as ***: ", str_contains($debug, '***') ? 'yes' : 'no', "\n";
$check('debug', $debug);
$check('transport string', (string) $t);
$check('log', json_encode($logger->records));
$check('var_export', var_export($t, true));
$check('print_r', print_r($t, true));

// implicit TLS
$t2 = symfony_bridge_transport("smtpsocks://$user:$pass@{$tls['host']}:{$tls['smtps_port']}?cafile=$ca&timeout=10");
$tok = smtpsock_test_token();
$t2->send($mail($tok));
$m = smtpsock_test_wait_messages($tls['maildir'], $tok, 1)[0];
echo "smtpsocks: delivered over TLS: ", preg_match('/using TLSv1\.[23]/', implode(' ', smtpsock_test_header($m, 'Received'))) ? 'yes' : 'no', "\n";

// a certificate the CA did not sign for the name asked: refused, never sent in clear
$t3 = symfony_bridge_transport("smtpsock://$user:$pass@{$tls['host']}:{$tls['port']}?security=starttls&cafile=$ca&peer_name=other.example&timeout=10");
try {
    $t3->send($mail(smtpsock_test_token()));
    echo "wrong peer name: sent?!\n";
} catch (TransportExceptionInterface $e) {
    echo "wrong peer name: ", get_class($e), " code ", $e->getCode(), "\n";
    $check('tls exception', $e->getMessage() . $e->getDebug() . $e);
}

// wrong password: Symfony exception with the SMTP code, no secret
$wrong = 'Wr0ng-' . $secret;
$t4 = symfony_bridge_transport("smtpsock://$user:" . rawurlencode($wrong) . "@{$tls['host']}:{$tls['port']}?security=starttls&cafile=$ca&timeout=10");
try {
    $t4->send($mail(smtpsock_test_token()));
    echo "wrong password: sent?!\n";
} catch (TransportExceptionInterface $e) {
    echo "wrong password: code ", $e->getCode(), "\n";
    $all = $e->getMessage() . $e->getDebug() . $e . print_r($e->getTrace(), true);
    echo "  wrong password in the exception: ", str_contains($all, $wrong) || str_contains($all, base64_encode($wrong)) ? 'yes' : 'no', "\n";
}

// failover: the first host is dead (a port nobody listens on), the second gets it
$probe = stream_socket_server('tcp://127.0.0.1:0');
$dead = (int) substr(strrchr(stream_socket_get_name($probe, false), ':'), 1);
fclose($probe);
$f = symfony_bridge_transport("failover(smtpsock://127.0.0.1:$dead?timeout=3 smtpsock://{$pf['host']}:{$pf['port']})");
echo "failover: ", $f, "\n";
$tok = smtpsock_test_token();
$sent = $f->send($mail($tok));
echo "  delivered: ", count(smtpsock_test_wait_messages($pf['maildir'], $tok, 1)), ", queue id ",
    preg_match('/^[0-9A-F]+$/', $sent->getMessageId()) ? 'yes' : $sent->getMessageId(), "\n";
$rr = symfony_bridge_transport("roundrobin(smtpsock://{$pf['host']}:{$pf['port']} smtpsock://{$pf['host']}:{$pf['port']}?pipelining=0)");
$tok = smtpsock_test_token();
for ($i = 0; $i < 4; $i++) {
    $rr->send($mail($tok));
}
echo "roundrobin: ", count(smtpsock_test_wait_messages($pf['maildir'], $tok, 4)), " delivered\n";

// smtpsock://default: host, port and the rest from the smtpsock.* settings
ini_set('smtpsock.host', $tls['host']);
ini_set('smtpsock.port', (string) $tls['port']);
ini_set('smtpsock.security', 'starttls');
ini_set('smtpsock.username', $tls['user']);
ini_set('smtpsock.password', $secret);
ini_set('smtpsock.timeout', '10');
$d = symfony_bridge_transport("smtpsock://default?cafile=$ca");
echo "default: ", $d, "\n";
$tok = smtpsock_test_token();
$sent = $d->send($mail($tok));
$m = smtpsock_test_wait_messages($tls['maildir'], $tok, 1)[0];
echo "  delivered, authenticated: ", str_contains(implode(' ', smtpsock_test_header($m, 'Received')), 'Authenticated sender') ? 'yes' : 'no', "\n";
$check('default debug', $sent->getDebug());

$out = ob_get_clean();
$check('output', $out);
echo $out;
echo "secret in: ", $leaks ? implode(', ', $leaks) : 'nothing', "\n";
?>
--EXPECTF--
starttls+auth: delivered, TLS yes, authenticated yes
debug: STARTTLS yes, AUTH yes, secret shown as ***: yes
smtpsocks: delivered over TLS: yes
wrong peer name: Symfony\Component\Mailer\Exception\TransportException code 0
wrong password: code 535
  wrong password in the exception: no
failover: failover(smtpsock://127.0.0.1:%d smtpsock://127.0.0.1:%d)
  delivered: 1, queue id yes
roundrobin: 4 delivered
default: smtpsock://127.0.0.1:%d
  delivered, authenticated: yes
secret in: nothing
