--TEST--
OAUTHBEARER (RFC 7628) against aiosmtpd (tests/inc/auth_server.py) and a scripted server: the exact initial response (authzid escaped, host, port), success with and without an initial response, invalid token (status in the exception, ^A answer, 535), malformed error challenges (session kept in step and usable), auth lists mixing OAUTHBEARER, smtp_mail(); the token in no output
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php require __DIR__ . '/inc/smtpsock_test.inc'; if ($r = smtpsock_test_auth_server_skip_reason()) die("skip $r"); ?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$seen = '';   // everything the logger, exceptions and warnings produced
set_error_handler(function ($no, $str) use (&$seen) { $seen .= $str; echo "warning: ", hide_port($str), "\n"; return true; });
function hide_port(string $s): string { return preg_replace('/127\.0\.0\.1:\d+/', 'HOST', $s); }

$user = SMTPSOCK_TEST_USER; $token = SMTPSOCK_TEST_TOKEN; $pass = SMTPSOCK_TEST_PASSWORD;
$odd = 'odd,user=1@example.org'; $oddToken = 'tok_odd-2.x~y+z/w==';
$long = str_repeat('L', 600);
$srv = smtpsock_test_auth_server(['auth_required' => true,
    'tokens' => [$user => $token, $odd => $oddToken, 'long@example.org' => $long]]);

/** The decoded AUTH OAUTHBEARER responses a connection carried (initial response or the answer to the empty 334). */
function oauth_responses(string $transcript): array {
    preg_match_all('/^(?:AUTH OAUTHBEARER )?([A-Za-z0-9+\/]{8,}=*)\r$/m', $transcript, $m);
    return array_map(fn($b) => base64_decode($b, true), $m[1]);
}
function show(string $raw): string { return strtr($raw, ["\1" => '^A']); }

function try_send(string $label, SmtpsockAuthServer $srv, array $opts, bool $quit = true): SmtpSocket {
    global $seen;
    $log = [];
    $s = new SmtpSocket($srv->host, $srv->port, $opts + ['timeout' => 5,
        'logger' => function ($d, $l) use (&$log) { $log[] = "$d $l"; }]);
    $before = count($srv->messages());
    try {
        $r = $s->send('a@example.org', 'b@example.org', "Subject: $label\r\n\r\nhi\r\n");
        $msgs = $srv->messages();
        $meta = end($msgs);
        printf("%-24s ok: %s as %s via %s%s\n", $label, preg_replace('/queued as \S+/', 'queued', $r['reply']),
            $meta['auth_user'], $meta['auth_mechanism'], count($msgs) === $before + 1 ? '' : ' (NO MESSAGE?)');
    } catch (SmtpSocketException $e) {
        $seen .= $e->getMessage();
        printf("%-24s %d %s: %s | connected: %s\n", $label, $e->getSmtpCode(), $e->getEnhancedStatus() ?? '-',
            hide_port($e->getMessage()), $s->isConnected() ? 'yes' : 'no');
    }
    $seen .= implode("\n", $log);
    echo "    client: ", implode(' | ', array_map(fn($l) => substr($l, 2), array_filter($log,
        fn($l) => str_starts_with($l, '> AUTH') || in_array($l, ['> ***', '> AQ==', '> '], true)))), "\n";
    if ($quit && $s->isConnected()) {
        $s->quit();
    }
    return $s;
}

echo "-- initial response, byte for byte\n";
try_send('OAUTHBEARER', $srv, ['username' => $user, 'password' => $token, 'auth' => 'OAUTHBEARER']);
try_send('escaped authzid', $srv, ['username' => $odd, 'password' => $oddToken, 'auth' => 'OAUTHBEARER']);
try_send('long token, no IR', $srv, ['username' => 'long@example.org', 'password' => $long, 'auth' => 'OAUTHBEARER']);
$want = [
    "n,a=$user,\1host=127.0.0.1\1port={$srv->port}\1auth=Bearer $token\1\1",
    "n,a=odd=2Cuser=3D1@example.org,\1host=127.0.0.1\1port={$srv->port}\1auth=Bearer $oddToken\1\1",
    "n,a=long@example.org,\1host=127.0.0.1\1port={$srv->port}\1auth=Bearer $long\1\1",
];
foreach ([1, 2, 3] as $i => $conn) {
    $got = oauth_responses($srv->transcript($conn));
    echo "    connection $conn: ", $got === [$want[$i]] ? 'exact' : 'DIFFERENT: ' . show(implode(' / ', $got)), "\n";
}
echo "    ", show(str_replace((string) $srv->port, 'PORT', $want[1])), "\n";

echo "-- invalid token\n";
$s = try_send('invalid token', $srv, ['username' => $user, 'password' => 'expired-token-123', 'auth' => 'OAUTHBEARER'], false);
// the server's error challenge was answered with ^A: the session is in step, AUTH again on it works
$s->auth($user, $token, 'OAUTHBEARER');
echo "    then on the same connection: auth() ok, ", preg_replace('/queued as \S+/', 'queued', $s->send('a@example.org', 'b@example.org', "Subject: again\r\n\r\nhi\r\n")['reply']), "\n";
$s->quit();
try_send('unknown user', $srv, ['username' => 'nobody@example.org', 'password' => $token, 'auth' => 'OAUTHBEARER']);

echo "-- auth lists\n";
try_send('[OAUTHBEARER, XOAUTH2]', $srv, ['username' => $user, 'password' => $token, 'auth' => ['OAUTHBEARER', 'XOAUTH2']]);
try_send('"xoauth2, oauthbearer"', $srv, ['username' => $user, 'password' => $token, 'auth' => 'xoauth2, oauthbearer']);
$x = smtpsock_test_auth_server(['auth_required' => true, 'mechanisms' => 'PLAIN XOAUTH2']);
try_send('both, XOAUTH2 offered', $x, ['username' => $user, 'password' => $token, 'auth' => 'OAUTHBEARER XOAUTH2']);
try_send('OAUTHBEARER not offered', $x, ['username' => $user, 'password' => $token, 'auth' => 'OAUTHBEARER']);
$x->stop();
$o = smtpsock_test_auth_server(['auth_required' => true, 'mechanisms' => 'PLAIN OAUTHBEARER']);
try_send('OAUTHBEARER PLAIN', $o, ['username' => $user, 'password' => $pass, 'auth' => 'OAUTHBEARER PLAIN']);
try_send('no auth option', $o, ['username' => $user, 'password' => $pass]);
$o->stop();
$only = smtpsock_test_auth_server(['auth_required' => true, 'mechanisms' => 'OAUTHBEARER']);
try_send('never by default', $only, ['username' => $user, 'password' => $token]);
try_send('token mechs + PLAIN', $only, ['username' => $user, 'password' => $token, 'auth' => ['XOAUTH2', 'OAUTHBEARER', 'PLAIN']]);
$s = new SmtpSocket($only->host, $only->port, ['timeout' => 5]);
$s->auth($user, $token, 'oauthbearer');
echo "auth() verb: ", $s->getLastReply()['lines'][0], "\n";
$s->quit();
$only->stop();
try { new SmtpSocket('127.0.0.1', 25, ['auth' => 'OAUTHBEARER2']); } catch (ValueError $e) { echo $e->getMessage(), "\n"; }

echo "-- tokens OAUTHBEARER cannot carry\n";
foreach (['space in token' => 'ya29 abc', 'non-ASCII token' => "ya29.\u{e9}"] as $label => $bad) {
    try_send($label, $srv, ['username' => $user, 'password' => $bad, 'auth' => 'OAUTHBEARER']);
}

echo "-- smtp_mail()\n";
ini_set('smtpsock.host', "{$srv->host}:{$srv->port}");
ini_set('smtpsock.username', $user);
ini_set('smtpsock.password', $token);
var_dump(ini_set('smtpsock.auth', 'OAUTHBEARER') !== false);
$before = count($srv->messages());
var_dump(smtp_mail('b@example.org', 'via smtp_mail', "hi\n", 'From: a@example.org'));
$msgs = $srv->messages();
var_dump(count($msgs) === $before + 1 && end($msgs)['auth_mechanism'] === 'OAUTHBEARER');
ini_set('smtpsock.password', 'revoked-token-456');
ini_set('smtpsock.auth', 'oauthbearer xoauth2');   // another session key: a new session
var_dump(smtp_mail('b@example.org', 'bad token', "hi\n", 'From: a@example.org'));
$srv->stop();

echo "-- malformed error challenges (scripted server)\n";
$G = ['send' => "220 scripted ESMTP\r\n"];
$E = ['expect' => 'EHLO', 'send' => "250-scripted\r\n250 AUTH OAUTHBEARER\r\n"];
$A = ['expect' => 'AUTH OAUTHBEARER '];
$ACK = ['expect' => 'AQ==', 'send' => "535 5.7.8 Authentication credentials invalid\r\n"];
$ACK = [$ACK, ['expect' => 'QUIT', 'send' => "221 bye\r\n"]];
$GOOD = [$G, $E, ['expect' => 'AUTH OAUTHBEARER ', 'send' => "235 2.7.0 Accepted\r\n"],
    ['expect' => 'MAIL', 'send' => "250 ok\r\n"], ['expect' => 'RCPT', 'send' => "250 ok\r\n"],
    ['expect' => 'DATA', 'send' => "354 go\r\n"], ['read_data' => true, 'send' => "250 2.0.0 queued\r\n"],
    ['expect' => 'QUIT', 'send' => "221 bye\r\n"]];
$ch = fn(string $raw) => $A + ['send' => "334 " . base64_encode($raw) . "\r\n"];
$cases = [
    'well-formed'         => [$ch('{"status":"invalid_token","scope":"x","openid-configuration":"https:\/\/a.example\/"}'), $ACK],
    'not base64'          => [$A + ['send' => "334 {\"status\":\"invalid_token\"}\r\n"], $ACK],
    'not JSON'            => [$ch('<html>invalid_token</html>'), $ACK],
    'truncated JSON'      => [$ch('{"status":"invalid_token"'), $ACK],
    'missing status'      => [$ch('{"scope":"https://mail.example.org/","error":{"status":"nested"}}'), $ACK],
    'status not a string' => [$ch('{"status":401}'), $ACK],
    'status of 5000 octets' => [$ch('{"status":"' . str_repeat('s', 5000) . '"}'), $ACK],
    'status with quote'   => [$ch('{"status":"a\"b"}'), $ACK],
    'empty challenge'     => [$A + ['send' => "334 \r\n"], $ACK],
    'large, within limits' => [$ch('{"scope":"' . str_repeat('x', 6000) . '","status":"insufficient_scope"}'), $ACK],
    'over the line limit' => [$A + ['send' => "334 " . str_repeat('QUFB', 2100) . "\r\n"], ['drain' => 1]],
    'nested 1000 deep'    => [$ch('{"a":' . str_repeat('[', 1000) . str_repeat(']', 1000) . ',"status":"deep"}'), $ACK],
    '235 after the error' => [$ch('{"status":"invalid_token"}'), ['expect' => 'AQ==', 'send' => "235 2.7.0 ok?!\r\n"], ['drain' => 1]],
    'a second challenge'  => [$ch('{"status":"invalid_token"}'), ['expect' => 'AQ==', 'send' => "334 e30=\r\n"], ['drain' => 1]],
    '501 to the ^A'       => [$ch('{"status":"invalid_token"}'), ['expect' => 'AQ==', 'send' => "501 5.5.2 cancelled\r\n"],
                              ['expect' => 'QUIT', 'send' => "221 bye\r\n"]],
];
$secret = 'ya29.scripted-token/SECRET';
foreach ($cases as $name => $steps) {
    $steps = array_merge(...array_map(fn($st) => isset($st[0]) ? $st : [$st], $steps));   // $ACK is two steps
    $sc = smtpsock_test_scripted(array_merge([$G, $E], $steps, [['next_connection' => true]], $GOOD), ['on_mismatch' => 'continue']);
    $log = [];
    $s = new SmtpSocket($sc->host, $sc->port, ['timeout' => 1.0, 'username' => 'u,1@example.org', 'password' => $secret,
        'auth' => 'OAUTHBEARER', 'logger' => function ($d, $l) use (&$log) { $log[] = "$d $l"; }]);
    $t = microtime(true);
    try {
        $s->send('a@example.org', 'b@example.org', "x\r\n");
        $out = 'SENT?!';
    } catch (SmtpSocketException $e) {
        $out = sprintf("%d %s: %s", $e->getSmtpCode(), $e->getEnhancedStatus() ?? '-', hide_port($e->getMessage()));
        $seen .= $e->getMessage();
    }
    $slow = microtime(true) - $t > 2.5 ? ' SLOW' : '';
    $conn = $s->isConnected() ? 'kept' : 'dropped';
    $answer = in_array('> AQ==', $log, true) ? '^A' : 'no ^A';
    if ($s->isConnected()) {
        $s->quit();   // the script expects a new connection for the good dialog
    }
    try { $next = $s->send('a@example.org', 'b@example.org', "x\r\n")['reply']; $s->quit(); }
    catch (SmtpSocketException $e) { $next = 'FAILED: ' . hide_port($e->getMessage()); }
    $seen .= implode("\n", $log);
    printf("%-22s %s | %s, %s%s | next: %s\n", $name, $out, $answer, $conn, $slow, $next);
    if ($name === 'well-formed') {
        $got = oauth_responses($sc->transcript(1));
        echo "    sent: ", $got === ["n,a=u=2C1@example.org,\1host=127.0.0.1\1port={$sc->port}\1auth=Bearer $secret\1\1"]
            ? 'exact' : 'DIFFERENT: ' . show(implode(' / ', $got)), "\n";
    }
    $sc->stop();
}

foreach ([$token, $oddToken, $long, 'expired-token-123', 'revoked-token-456', $secret, 'SECRET',
          substr(base64_encode($want[0]), 0, 40), substr(base64_encode($want[1]), 0, 40), 'Bearer'] as $s) {
    if (str_contains($seen, $s)) echo "SECRET LEAKED: $s\n";
}
echo "done\n";
?>
--EXPECTF--
-- initial response, byte for byte
OAUTHBEARER              ok: 250 2.0.0 Ok: queued as user@example.org via OAUTHBEARER
    client: AUTH OAUTHBEARER ***
escaped authzid          ok: 250 2.0.0 Ok: queued as odd,user=1@example.org via OAUTHBEARER
    client: AUTH OAUTHBEARER ***
long token, no IR        ok: 250 2.0.0 Ok: queued as long@example.org via OAUTHBEARER
    client: AUTH OAUTHBEARER | ***
    connection 1: exact
    connection 2: exact
    connection 3: exact
    n,a=odd=2Cuser=3D1@example.org,^Ahost=127.0.0.1^Aport=PORT^Aauth=Bearer tok_odd-2.x~y+z/w==^A^A
-- invalid token
invalid token            535 5.7.8: AUTH OAUTHBEARER failed (status "invalid_token"): 535 5.7.8 Authentication credentials invalid | connected: yes
    client: AUTH OAUTHBEARER *** | AQ==
    then on the same connection: auth() ok, 250 2.0.0 Ok: queued
unknown user             535 5.7.8: AUTH OAUTHBEARER failed (status "invalid_token"): 535 5.7.8 Authentication credentials invalid | connected: yes
    client: AUTH OAUTHBEARER *** | AQ==
-- auth lists
[OAUTHBEARER, XOAUTH2]   ok: 250 2.0.0 Ok: queued as user@example.org via OAUTHBEARER
    client: AUTH OAUTHBEARER ***
"xoauth2, oauthbearer"   ok: 250 2.0.0 Ok: queued as user@example.org via OAUTHBEARER
    client: AUTH OAUTHBEARER ***
both, XOAUTH2 offered    ok: 250 2.0.0 Ok: queued as user@example.org via XOAUTH2
    client: AUTH XOAUTH2 ***
OAUTHBEARER not offered  0 -: no usable AUTH mechanism: HOST offers PLAIN XOAUTH2; allowed: OAUTHBEARER | connected: yes
    client: 
OAUTHBEARER PLAIN        ok: 250 2.0.0 Ok: queued as user@example.org via PLAIN
    client: AUTH PLAIN ***
no auth option           ok: 250 2.0.0 Ok: queued as user@example.org via PLAIN
    client: AUTH PLAIN ***
never by default         0 -: no usable AUTH mechanism: HOST offers OAUTHBEARER; allowed: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256 | connected: yes
    client: 
token mechs + PLAIN      0 -: no usable AUTH mechanism: HOST offers OAUTHBEARER; allowed: PLAIN XOAUTH2 OAUTHBEARER | connected: yes
    client: 
auth() verb: 2.7.0 Accepted
SmtpSocket::__construct(): Argument #3 ($options) option "auth" names an unknown mechanism "OAUTHBEARER2" (known: SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN, XOAUTH2, OAUTHBEARER)
-- tokens OAUTHBEARER cannot carry
space in token           0 -: AUTH OAUTHBEARER: invalid argument (the token must be printable ASCII without spaces, the user name without ^A) | connected: yes
    client: 
non-ASCII token          0 -: AUTH OAUTHBEARER: invalid argument (the token must be printable ASCII without spaces, the user name without ^A) | connected: yes
    client: 
-- smtp_mail()
bool(true)
bool(true)
bool(true)
warning: smtp_mail(): AUTH OAUTHBEARER failed (status "invalid_token"): 535 5.7.8 Authentication credentials invalid
bool(false)
-- malformed error challenges (scripted server)
well-formed            535 5.7.8: AUTH OAUTHBEARER failed (status "invalid_token"): 535 5.7.8 Authentication credentials invalid | ^A, kept | next: 250 2.0.0 queued
    sent: exact
not base64             535 5.7.8: AUTH OAUTHBEARER failed (malformed error challenge: not valid base64): 535 5.7.8 Authentication credentials invalid | ^A, kept | next: 250 2.0.0 queued
not JSON               535 5.7.8: AUTH OAUTHBEARER failed (malformed error challenge: not a JSON object): 535 5.7.8 Authentication credentials invalid | ^A, kept | next: 250 2.0.0 queued
truncated JSON         535 5.7.8: AUTH OAUTHBEARER failed (malformed error challenge: not JSON): 535 5.7.8 Authentication credentials invalid | ^A, kept | next: 250 2.0.0 queued
missing status         535 5.7.8: AUTH OAUTHBEARER failed (malformed error challenge: no "status" member): 535 5.7.8 Authentication credentials invalid | ^A, kept | next: 250 2.0.0 queued
status not a string    535 5.7.8: AUTH OAUTHBEARER failed (malformed error challenge: "status" is not a string): 535 5.7.8 Authentication credentials invalid | ^A, kept | next: 250 2.0.0 queued
status of 5000 octets  535 5.7.8: AUTH OAUTHBEARER failed (malformed error challenge: "status" is empty, longer than 64 octets or not printable ASCII): 535 5.7.8 Authentication credentials invalid | ^A, kept | next: 250 2.0.0 queued
status with quote      535 5.7.8: AUTH OAUTHBEARER failed (malformed error challenge: "status" is empty, longer than 64 octets or not printable ASCII): 535 5.7.8 Authentication credentials invalid | ^A, kept | next: 250 2.0.0 queued
empty challenge        535 5.7.8: AUTH OAUTHBEARER failed (malformed error challenge: empty): 535 5.7.8 Authentication credentials invalid | ^A, kept | next: 250 2.0.0 queued
large, within limits   535 5.7.8: AUTH OAUTHBEARER failed (status "insufficient_scope"): 535 5.7.8 Authentication credentials invalid | ^A, kept | next: 250 2.0.0 queued
over the line limit    0 -: protocol error from HOST: reply line too long | no ^A, dropped | next: 250 2.0.0 queued
nested 1000 deep       535 5.7.8: AUTH OAUTHBEARER failed (malformed error challenge: JSON nested too deeply): 535 5.7.8 Authentication credentials invalid | ^A, kept | next: 250 2.0.0 queued
235 after the error    0 -: AUTH OAUTHBEARER with HOST: the server accepted AUTH after reporting an error | ^A, dropped | next: 250 2.0.0 queued
a second challenge     0 -: AUTH OAUTHBEARER with HOST failed: more AUTH challenges than the mechanism has | ^A, dropped | next: 250 2.0.0 queued
501 to the ^A          501 5.5.2: AUTH OAUTHBEARER failed (status "invalid_token"): 501 5.5.2 cancelled | ^A, kept | next: 250 2.0.0 queued
done
