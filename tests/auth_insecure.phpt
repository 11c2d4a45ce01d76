--TEST--
AUTH to a peer that is not loopback (a test host in a private network namespace): refused in clear text, allowed after STARTTLS, sent in clear only with allow_insecure_auth
--EXTENSIONS--
smtpsock
openssl
--SKIPIF--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
if ($r = smtpsock_test_auth_server_skip_reason(true)) die("skip $r");
exec('bash ' . escapeshellarg(__DIR__ . '/inc/netns.sh') . ' check 2>/dev/null', $o, $rc);
if ($rc !== 0) die('skip network namespaces cannot be created here (needs root and iproute2)');
?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$ns = 'smtpsk' . getmypid();
[$host_ip, $ns_ip] = explode(' ', trim(shell_exec('bash ' . escapeshellarg(__DIR__ . '/inc/netns.sh') . " up $ns")));
register_shutdown_function(fn() => shell_exec('bash ' . escapeshellarg(__DIR__ . '/inc/netns.sh') . " down $ns"));
$user = SMTPSOCK_TEST_USER; $pass = SMTPSOCK_TEST_PASSWORD;
$certs = smtpsock_test_certs();

function attempt(string $label, array $server, array $opts): void {
    global $ns, $ns_ip, $user, $pass;
    $srv = smtpsock_test_auth_server($server + ['netns' => $ns, 'bind' => $ns_ip, 'mechanisms' => 'PLAIN LOGIN']);
    $s = new SmtpSocket($ns_ip, $srv->port, $opts + ['username' => $user, 'password' => $pass, 'timeout' => 5]);
    try {
        $r = $s->send('a@example.org', 'b@example.org', "Subject: x\r\n\r\nx\r\n");
        $out = 'sent: ' . substr($r['reply'], 0, 3);
    } catch (SmtpSocketException $e) {
        $out = preg_replace('/10\.231\.\d+\.\d+:\d+/', 'PEER', $e->getMessage());
    }
    unset($s);
    $t = $srv->transcript();
    printf("%-34s %s | AUTH seen by server: %s\n", $label, $out,
        str_contains($t, 'AUTH') ? (str_contains($t, 'STARTTLS') ? 'yes, after STARTTLS' : 'yes, IN CLEAR') : 'no');
    $srv->stop();
}
attempt('plain, default', [], []);
attempt('plain, allow_insecure_auth', [], ['allow_insecure_auth' => true]);
attempt('STARTTLS offered', ['starttls' => true], ['context' => stream_context_create(['ssl' => ['cafile' => $certs['ca'], 'peer_name' => 'localhost']])]);
attempt('STARTTLS offered, security=none', ['starttls' => true], ['security' => 'none']);

set_error_handler(function ($no, $str) { echo "warning: ", preg_replace('/10\.231\.\d+\.\d+:\d+/', 'PEER', $str), "\n"; return true; });
$srv = smtpsock_test_auth_server(['netns' => $ns, 'bind' => $ns_ip, 'mechanisms' => 'PLAIN']);
ini_set('smtpsock.host', "$ns_ip:{$srv->port}");
ini_set('smtpsock.username', $user);
ini_set('smtpsock.password', $pass);
ini_set('smtpsock.from', 'a@example.org');
var_dump(smtp_mail('b@example.org', 's', 'b'));
ini_set('smtpsock.allow_insecure_auth', '1');
var_dump(smtp_mail('b@example.org', 's', 'b'));
$srv->stop();
?>
--EXPECT--
plain, default                     refusing to send credentials to PEER over an unencrypted connection (use STARTTLS or implicit TLS, or set allow_insecure_auth) | AUTH seen by server: no
plain, allow_insecure_auth         sent: 250 | AUTH seen by server: yes, IN CLEAR
STARTTLS offered                   sent: 250 | AUTH seen by server: yes, after STARTTLS
STARTTLS offered, security=none    refusing to send credentials to PEER over an unencrypted connection (use STARTTLS or implicit TLS, or set allow_insecure_auth) | AUTH seen by server: no
warning: smtp_mail(): refusing to send credentials to PEER over an unencrypted connection (use STARTTLS or implicit TLS, or set allow_insecure_auth)
bool(false)
bool(true)
