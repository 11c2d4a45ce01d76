--TEST--
AUTH against a real Postfix + Dovecot over STARTTLS and implicit TLS: each mechanism the back end offers (SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN), strongest chosen by default, 535 reported, smtp_mail() with smtpsock.username/password, no secret in any output
--EXTENSIONS--
smtpsock
openssl
--SKIPIF--
<?php require __DIR__ . '/inc/smtpsock_test.inc'; if ($r = smtpsock_test_postfix_tls_skip_reason()) die("skip $r"); ?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix_tls();
$ctx = stream_context_create(['ssl' => ['cafile' => $pf['ca']]]);
$all_output = '';
ob_start(function ($buf) use (&$all_output) { $all_output .= $buf; return $buf; });
$log = [];
$logger = function ($d, $l) use (&$log) { $log[] = "$d $l"; };

function send_as(string $label, string $host, int $port, array $opts, ?string $mech = null): void {
    global $pf, $ctx, $log, $logger;
    $tok = smtpsock_test_token();
    $s = new SmtpSocket($host, $port, $opts + ['context' => $ctx, 'logger' => $logger, 'timeout' => 5]);
    try {
        if ($mech !== null) {
            $s->auth($opts['username'] ?? $pf['user'], $opts['password'] ?? $pf['password'], $mech);
        }
        $r = $s->send($pf['user'], 'ann@example.org', "Subject: $label $tok\r\n\r\nauthenticated\r\n");
        $m = smtpsock_test_wait_messages($pf['maildir'], $tok, 1)[0];
        $recv = implode(' ', smtpsock_test_header($m, 'Received'));
        $auth_line = array_values(array_filter($log, fn($l) => str_starts_with($l, '> AUTH')));
        printf("%-30s delivered; %s; %s; %s\n", $label, end($auth_line) ?: 'no AUTH line',
            preg_match('/Authenticated sender: (\S+)\)/', $recv, $mm) ? "authenticated as $mm[1]" : 'NOT authenticated',
            str_contains($recv, 'with ESMTPSA') ? 'ESMTPSA' : 'not ESMTPSA');
        $s->quit();
    } catch (SmtpSocketException $e) {
        printf("%-30s %s %d %s: %s\n", $label, get_class($e), $e->getSmtpCode(), $e->getEnhancedStatus() ?? '-',
            preg_replace('/127\.0\.0\.1:\d+|localhost:\d+/', 'HOST', $e->getMessage()));
    }
    $log = [];
}
$creds = ['username' => $pf['user'], 'password' => $pf['password']];
send_as('default (strongest)', 'localhost', $pf['port'], $creds);
foreach (['SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN'] as $m) {
    send_as("auth option $m", 'localhost', $pf['port'], $creds + ['auth' => $m]);
}
send_as('auth() method, LOGIN', 'localhost', $pf['port'], [], 'LOGIN');
send_as('implicit TLS', "tls://localhost:{$pf['smtps_port']}", 25, $creds);
$utf8 = SMTPSOCK_TEST_USER_UTF8;
send_as('UTF-8 password, SCRAM', 'localhost', $pf['port'], ['username' => $utf8, 'password' => $pf['users'][$utf8] ?? SMTPSOCK_TEST_PASSWORD_UTF8]);
send_as('UTF-8 password, PLAIN', 'localhost', $pf['port'], ['username' => $utf8, 'password' => $pf['users'][$utf8] ?? SMTPSOCK_TEST_PASSWORD_UTF8, 'auth' => 'PLAIN']);
send_as('wrong password', 'localhost', $pf['port'], ['username' => $pf['user'], 'password' => 'Wrong-Pass-42']);
send_as('XOAUTH2 not offered', 'localhost', $pf['port'], $creds + ['auth' => 'XOAUTH2']);
// the default submission rule: credentials only over TLS or to loopback; this server only offers AUTH after STARTTLS
send_as('security=none', 'localhost', $pf['port'], $creds + ['security' => 'none']);

// smtp_mail() from php.ini settings
set_error_handler(function ($no, $str) { echo "warning: ", preg_replace('/localhost:\d+/', 'HOST', $str), "\n"; return true; });
ini_set('smtpsock.host', "localhost:{$pf['port']}");
ini_set('smtpsock.verify_peer', '0');
ini_set('smtpsock.username', $pf['user']);
ini_set('smtpsock.password', $pf['password']);
$tok = smtpsock_test_token();
var_dump(smtp_mail('ann@example.org', "smtp_mail auth $tok", "x\n", ['From' => $pf['user']]));
echo count(smtpsock_test_wait_messages($pf['maildir'], $tok, 1)), " delivered\n";
ini_set('smtpsock.password', 'Wrong-Pass-42');
var_dump(smtp_mail('ann@example.org', 'bad password', "x\n", ['From' => $pf['user']]));
ob_end_flush();
// no secret anywhere in what this test printed (logger lines, exceptions, warnings)
foreach ([$pf['password'], base64_encode("\0{$pf['user']}\0{$pf['password']}"), base64_encode($pf['password']), 'Wrong-Pass-42'] as $secret) {
    if (str_contains($all_output, $secret)) echo "SECRET LEAKED: $secret\n";
}
echo "done\n";
?>
--EXPECTF--
default (strongest)            delivered; > AUTH SCRAM-SHA-256 ***; authenticated as user@example.org; ESMTPSA
auth option SCRAM-SHA-256      delivered; > AUTH SCRAM-SHA-256 ***; authenticated as user@example.org; ESMTPSA
auth option CRAM-MD5           delivered; > AUTH CRAM-MD5; authenticated as user@example.org; ESMTPSA
auth option PLAIN              delivered; > AUTH PLAIN ***; authenticated as user@example.org; ESMTPSA
auth option LOGIN              delivered; > AUTH LOGIN; authenticated as user@example.org; ESMTPSA
auth() method, LOGIN           delivered; > AUTH LOGIN; authenticated as user@example.org; ESMTPSA
implicit TLS                   delivered; > AUTH SCRAM-SHA-256 ***; authenticated as user@example.org; ESMTPSA
UTF-8 password, SCRAM          delivered; > AUTH SCRAM-SHA-256 ***; authenticated as utf8@example.org; ESMTPSA
UTF-8 password, PLAIN          delivered; > AUTH PLAIN ***; authenticated as utf8@example.org; ESMTPSA
wrong password                 SmtpSocketException 535 5.7.8: AUTH SCRAM-SHA-256 failed: 535 5.7.8 Error: authentication failed: %s
XOAUTH2 not offered            SmtpSocketException 0 -: no usable AUTH mechanism: HOST offers PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256; allowed: XOAUTH2
security=none                  SmtpSocketException 0 -: HOST does not offer AUTH on this unencrypted connection
bool(true)
1 delivered
warning: smtp_mail(): AUTH SCRAM-SHA-256 failed: 535 5.7.8 Error: authentication failed: %s
bool(false)
done
