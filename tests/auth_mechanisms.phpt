--TEST--
AUTH against aiosmtpd (tests/inc/auth_server.py): preference order, each mechanism, XOAUTH2 and OAUTHBEARER success and error flow, a wrong SCRAM server signature refused, 535 with its status; no secret in logger, exception or warning output
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php require __DIR__ . '/inc/smtpsock_test.inc'; if ($r = smtpsock_test_auth_server_skip_reason()) die("skip $r"); ?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$seen = '';   // everything the logger, exceptions and warnings produce
set_error_handler(function ($no, $str) use (&$seen) { $seen .= $str; echo "warning: $str\n"; return true; });

function run(string $label, array $server, array $opts): void {
    global $seen;
    $srv = smtpsock_test_auth_server($server + ['auth_required' => true]);
    $log = [];
    $s = new SmtpSocket($srv->host, $srv->port, $opts + ['timeout' => 5,
        'logger' => function ($d, $l) use (&$log) { $log[] = "$d $l"; }]);
    try {
        $r = $s->send('a@example.org', 'b@example.org', "Subject: $label\r\n\r\nhi\r\n");
        $msgs = $srv->messages();
        $meta = end($msgs);
        printf("%-26s ok: %s as %s via %s\n", $label, $r['reply'], $meta['auth_user'] ?? $meta['user'] ?? '?', $meta['auth_mechanism'] ?? '?');
    } catch (SmtpSocketException $e) {
        $seen .= $e->getMessage();
        printf("%-26s %d %s: %s | connected: %s\n", $label, $e->getSmtpCode(), $e->getEnhancedStatus() ?? '-',
            preg_replace('/127\.0\.0\.1:\d+/', 'HOST', $e->getMessage()), $s->isConnected() ? 'yes' : 'no');
    }
    $seen .= implode("\n", $log);
    echo "    sent: ", implode(' | ', array_map(fn($l) => substr($l, 2), array_filter($log, fn($l) => str_starts_with($l, '> AUTH') || $l === '> ***' || $l === '> ' || $l === '> AQ=='))), "\n";
    $srv->stop();
}
$user = SMTPSOCK_TEST_USER; $pass = SMTPSOCK_TEST_PASSWORD; $token = SMTPSOCK_TEST_TOKEN;
run('strongest of all', [], ['username' => $user, 'password' => $pass]);
run('CRAM-MD5 preferred', ['mechanisms' => 'LOGIN PLAIN CRAM-MD5'], ['username' => $user, 'password' => $pass]);
run('PLAIN over LOGIN', ['mechanisms' => 'LOGIN PLAIN'], ['username' => $user, 'password' => $pass]);
run('LOGIN only', ['mechanisms' => 'LOGIN'], ['username' => $user, 'password' => $pass]);
run('XOAUTH2 by name', [], ['username' => $user, 'password' => $token, 'auth' => 'XOAUTH2']);
run('XOAUTH2 long token', ['tokens' => [$user => str_repeat('t', 600)]], ['username' => $user, 'password' => str_repeat('t', 600), 'auth' => 'XOAUTH2']);
run('XOAUTH2 bad token', [], ['username' => $user, 'password' => 'expired-token-123', 'auth' => 'XOAUTH2']);
run('OAUTHBEARER by name', [], ['username' => $user, 'password' => $token, 'auth' => 'OAUTHBEARER']);
run('OAUTHBEARER long token', ['tokens' => [$user => str_repeat('t', 600)]], ['username' => $user, 'password' => str_repeat('t', 600), 'auth' => 'OAUTHBEARER']);
run('OAUTHBEARER bad token', [], ['username' => $user, 'password' => 'revoked-token-456', 'auth' => 'OAUTHBEARER']);
run('token mechanisms', ['mechanisms' => 'XOAUTH2 OAUTHBEARER'], ['username' => $user, 'password' => $token, 'auth' => 'XOAUTH2 OAUTHBEARER']);
run('SCRAM wrong server sig', ['scram_bad_signature' => true], ['username' => $user, 'password' => $pass]);
run('wrong password', ['mechanisms' => 'PLAIN'], ['username' => $user, 'password' => 'Wrong-Pass-42']);
run('no AUTH offered', ['mechanisms' => []], ['username' => $user, 'password' => $pass]);

// the explicit verb
$srv = smtpsock_test_auth_server(['mechanisms' => 'CRAM-MD5 PLAIN']);
$s = new SmtpSocket($srv->host, $srv->port, ['timeout' => 5]);
$s->auth($user, $pass, 'PLAIN');
try { $s->auth($user, $pass); } catch (SmtpSocketException $e) { echo "second auth(): ", $e->getMessage(), "\n"; }
try { $s->auth($user, $pass, 'DIGEST-MD5'); } catch (ValueError $e) { echo $e->getMessage(), "\n"; }
$srv->stop();

foreach ([$pass, $token, 'expired-token-123', 'revoked-token-456', str_repeat('t', 600), 'Wrong-Pass-42', base64_encode("\0$user\0$pass"), base64_encode($pass),
          base64_encode("user=$user\1auth=Bearer $token\1\1"), base64_encode("n,a=$user,\1host=127.0.0.1\1port="), 'auth=Bearer'] as $secret) {
    if (str_contains($seen, $secret)) echo "SECRET LEAKED: $secret\n";
}
echo "done\n";
?>
--EXPECTF--
strongest of all           ok: 250 %s as user@example.org via SCRAM-SHA-256
    sent: AUTH SCRAM-SHA-256 *** | *** | 
CRAM-MD5 preferred         ok: 250 %s as user@example.org via CRAM-MD5
    sent: AUTH CRAM-MD5 | ***
PLAIN over LOGIN           ok: 250 %s as user@example.org via PLAIN
    sent: AUTH PLAIN ***
LOGIN only                 ok: 250 %s as user@example.org via LOGIN
    sent: AUTH LOGIN | *** | ***
XOAUTH2 by name            ok: 250 %s as user@example.org via XOAUTH2
    sent: AUTH XOAUTH2 ***
XOAUTH2 long token         ok: 250 %s as user@example.org via XOAUTH2
    sent: AUTH XOAUTH2 | ***
XOAUTH2 bad token          535 5.7.8: AUTH XOAUTH2 failed: 535-5.7.8 Username and Password not accepted.%a | connected: yes
    sent: AUTH XOAUTH2 *** | 
OAUTHBEARER by name        ok: 250 %s as user@example.org via OAUTHBEARER
    sent: AUTH OAUTHBEARER ***
OAUTHBEARER long token     ok: 250 %s as user@example.org via OAUTHBEARER
    sent: AUTH OAUTHBEARER | ***
OAUTHBEARER bad token      535 5.7.8: AUTH OAUTHBEARER failed (status "invalid_token"): 535 5.7.8 Authentication credentials invalid | connected: yes
    sent: AUTH OAUTHBEARER *** | AQ==
token mechanisms           ok: 250 %s as user@example.org via OAUTHBEARER
    sent: AUTH OAUTHBEARER ***
SCRAM wrong server sig     0 -: AUTH SCRAM-SHA-256 with HOST failed: the server failed SCRAM verification (wrong nonce, salt, iteration count or signature) | connected: no
    sent: AUTH SCRAM-SHA-256 *** | ***
wrong password             535 5.7.8: AUTH PLAIN failed: 535 5.7.8 %s | connected: yes
    sent: AUTH PLAIN ***
no AUTH offered            0 -: HOST does not offer AUTH on this unencrypted connection | connected: yes
    sent: 
second auth(): already authenticated in this session
SmtpSocket::auth(): Argument #3 ($mechanism) must be one of SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN, XOAUTH2 or OAUTHBEARER, "DIGEST-MD5" given
done
