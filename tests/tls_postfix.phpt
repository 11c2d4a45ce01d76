--TEST--
TLS against a real Postfix: STARTTLS (auto, required), implicit TLS (tls:// host and security=tls), IPv6 literal, certificate and name verification on by default, no silent downgrade
--EXTENSIONS--
smtpsock
openssl
--SKIPIF--
<?php require __DIR__ . '/inc/smtpsock_test.inc'; if ($r = smtpsock_test_postfix_tls_skip_reason()) die("skip $r"); ?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix_tls();
$certs = smtpsock_test_certs();
$ctx = fn(array $ssl = []) => stream_context_create(['ssl' => $ssl + ['cafile' => $pf['ca']]]);

function try_send(string $label, string $host, int $port, array $opts): void {
    global $pf;
    $tok = smtpsock_test_token();
    $log = [];
    // this Postfix relays for authenticated clients only
    $opts += ['timeout' => 5, 'logger' => function ($d, $l) use (&$log) { $log[] = "$d $l"; },
              'username' => $pf['user'], 'password' => $pf['password']];
    $s = new SmtpSocket($host, $port, $opts);
    try {
        $r = $s->send($pf['user'], 'ann@example.org', "Subject: $label $tok\r\n\r\nover TLS\r\n");
        $m = smtpsock_test_wait_messages($pf['maildir'], $tok, 1)[0];
        $received = implode(' ', smtpsock_test_header($m, 'Received'));
        printf("%-28s sent; %s; STARTTLS sent: %s\n", $label, preg_match('/with ESMTPS/', $received) ? 'encrypted (ESMTPS)' : 'PLAIN',
            in_array('> STARTTLS', $log) ? 'yes' : 'no');
        $s->quit();
    } catch (SmtpSocketException $e) {
        $after = array_slice($log, array_search('> STARTTLS', $log) ?: count($log));
        printf("%-28s %s: %s | connected: %s | sent after STARTTLS: %s\n", $label, get_class($e),
            preg_replace(['/127\.0\.0\.1:\d+|\[::1\]:\d+|localhost:\d+/', '/: stream_socket_enable_crypto\(\)|: SSL operation failed.*|: .*certificate verify failed.*/',
                '/: Peer certificate .* did not match expected .*/'], ['HOST', ': certificate verify failed', ': certificate name mismatch'], $e->getMessage()),
            $s->isConnected() ? 'yes' : 'no',
            implode(',', array_filter(array_map(fn($l) => $l[0] === '>' ? substr($l, 2, 4) : null, array_slice($after, 1)))) ?: 'nothing');
    }
}

try_send('auto, CA given', 'localhost', $pf['port'], ['context' => $ctx()]);
try_send('required (starttls)', 'localhost', $pf['port'], ['context' => $ctx(), 'security' => 'starttls']);
// the listener that offers AUTH without TLS; credentials go in clear only because the peer is loopback
try_send('none (plain on purpose)', 'localhost', $pf['plainauth_port'], ['security' => 'none']);
try_send('implicit, tls:// host', "tls://localhost:{$pf['smtps_port']}", 25, ['context' => $ctx()]);
try_send('implicit, security=tls', '127.0.0.1', $pf['smtps_port'], ['context' => $ctx(), 'security' => 'tls']);
try_send('IPv6 literal ::1', '::1', $pf['port'], ['context' => $ctx()]);
// verification is on by default: these must fail, and must not fall back to plain text
try_send('unknown CA (system CAs)', 'localhost', $pf['port'], []);
try_send('wrong CA', 'localhost', $pf['port'], ['context' => stream_context_create(['ssl' => ['cafile' => $certs['ca_other']]])]);
try_send('wrong name', 'localhost', $pf['port'], ['context' => $ctx(['peer_name' => 'wrong.example'])]);
try_send('implicit, unknown CA', "tls://localhost:{$pf['smtps_port']}", 25, []);
// an explicit opt-out still works
try_send('verify_peer off by context', 'localhost', $pf['port'], ['context' => stream_context_create(['ssl' => ['verify_peer' => false, 'verify_peer_name' => false]])]);

// smtp_mail(): smtpsock.security and smtpsock.verify_peer
set_error_handler(function ($no, $str) { echo "warning: ", preg_replace(['/localhost:\d+/', '/failed: .*/'], ['HOST', 'failed: ...'], $str), "\n"; return true; });
ini_set('smtpsock.host', "localhost:{$pf['port']}");
ini_set('smtpsock.from', $pf['user']);
ini_set('smtpsock.username', $pf['user']);
ini_set('smtpsock.password', $pf['password']);
ini_set('smtpsock.security', 'starttls');
var_dump(smtp_mail('ann@example.org', 'verify on, unknown CA', "x\n"));
ini_set('smtpsock.verify_peer', '0');
$tok = smtpsock_test_token();
var_dump(smtp_mail('ann@example.org', "verify off $tok", "x\n"));
$m = smtpsock_test_wait_messages($pf['maildir'], $tok, 1)[0];
var_dump((bool)preg_match('/with ESMTPS/', implode(' ', smtpsock_test_header($m, 'Received'))));
?>
--EXPECT--
auto, CA given               sent; encrypted (ESMTPS); STARTTLS sent: yes
required (starttls)          sent; encrypted (ESMTPS); STARTTLS sent: yes
none (plain on purpose)      sent; PLAIN; STARTTLS sent: no
implicit, tls:// host        sent; encrypted (ESMTPS); STARTTLS sent: no
implicit, security=tls       sent; encrypted (ESMTPS); STARTTLS sent: no
IPv6 literal ::1             sent; encrypted (ESMTPS); STARTTLS sent: yes
unknown CA (system CAs)      SmtpSocketException: TLS handshake with HOST failed: certificate verify failed | connected: no | sent after STARTTLS: nothing
wrong CA                     SmtpSocketException: TLS handshake with HOST failed: certificate verify failed | connected: no | sent after STARTTLS: nothing
wrong name                   SmtpSocketException: TLS handshake with HOST failed: certificate name mismatch | connected: no | sent after STARTTLS: nothing
implicit, unknown CA         SmtpSocketException: could not connect to HOST: certificate verify failed | connected: no | sent after STARTTLS: nothing
verify_peer off by context   sent; encrypted (ESMTPS); STARTTLS sent: yes
warning: smtp_mail(): TLS handshake with HOST failed: ...
bool(false)
bool(true)
bool(true)
