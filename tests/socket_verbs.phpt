--TEST--
SmtpSocket: every verb against a real Postfix, replies as sent, getLastReply(), capabilities, wrong-state errors before sending
--EXTENSIONS--
smtpsock
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix();
$log = [];
$s = new SmtpSocket($pf['host'], $pf['port'], ['helo' => 'client.example', 'logger' => function ($d, $l) use (&$log) { $log[] = "$d $l"; }]);
var_dump($s->isConnected());
echo $s->connect(), "\n";
var_dump($s->isConnected());
$caps = $s->ehlo();
foreach (['PIPELINING', 'SIZE', 'ENHANCEDSTATUSCODES', '8BITMIME', 'DSN', 'SMTPUTF8', 'CHUNKING'] as $k) {
    echo $k, ": ", array_key_exists($k, $caps) ? 'yes' : 'no', "\n";
}
var_dump($caps['SIZE'] > 0, $s->getCapabilities() === $caps);
$r = $s->getLastReply();
var_dump($r['code'], $r['status'], count($r['lines']) > 5);

// a verb in the wrong state throws with code 0 and sends nothing
foreach (['data' => fn() => $s->data("x"), 'rcptTo' => fn() => $s->rcptTo('a@example.org')] as $v => $f) {
    $n = count($log);
    try { $f(); } catch (SmtpSocketException $e) { echo "$v: ", $e->getMessage(), " (code ", $e->getSmtpCode(), ")\n"; }
    var_dump(count($log) === $n);
}

echo $s->noop(), "\n";
echo $s->vrfy('postmaster'), "\n";
echo $s->mailFrom('sender@example.com', ['BODY' => '8BITMIME', 'RET' => 'HDRS']), "\n";
try { $s->mailFrom('again@example.com'); } catch (SmtpSocketException $e) { echo get_class($e), " ", $e->getSmtpCode(), "\n"; }
echo $s->rcptTo('ann@example.org', ['NOTIFY' => 'FAILURE,DELAY']), "\n";
try { $s->rcptTo('reject-x@example.org'); }
catch (SmtpSocketException $e) {
    echo $e->getSmtpCode(), " ", $e->getEnhancedStatus(), " ", $e->getReply()['code'], "\n", $e->getMessage(), "\n";
}
echo $s->rset(), "\n";
try { $s->data('x'); } catch (SmtpSocketException $e) { echo "after RSET: ", $e->getSmtpCode(), "\n"; }
$tok = smtpsock_test_token();
$s->mailFrom('sender@example.com');
$s->rcptTo('bob@example.org');
$reply = $s->data("Subject: verbs $tok\r\n\r\nhi\r\n");
echo preg_replace('/queued as \w+/', 'queued as ID', $reply), "\n";
$m = smtpsock_test_wait_messages($pf['maildir'], $tok, 1)[0];
echo $m['delivered_to'], " ", $m['return_path'], "\n";
echo $s->helo('client.example'), "\n";
$s->quit();
var_dump($s->isConnected(), $s->getCapabilities());
// a new connection on demand after QUIT
echo substr($s->noop(), 0, 3), "\n";
$s->quit();
echo implode("\n", array_filter($log, fn($l) => str_starts_with($l, '>'))), "\n";
?>
--EXPECTF--
bool(false)
220 %s
bool(true)
PIPELINING: yes
SIZE: yes
ENHANCEDSTATUSCODES: yes
8BITMIME: yes
DSN: yes
SMTPUTF8: yes
CHUNKING: yes
bool(true)
bool(true)
int(250)
NULL
bool(true)
data: DATA is not allowed now: no transaction is open (call mailFrom() first) (code 0)
bool(true)
rcptTo: RCPT is not allowed now: no transaction is open (call mailFrom() first) (code 0)
bool(true)
250 2.0.0 Ok
252 2.0.0 postmaster
250 2.1.0 Ok
SmtpSocketException 0
250 2.1.5 Ok
550 5.1.1 550
recipient refused: 550 5.1.1 <reject-x@example.org>: %s
250 2.0.0 Ok
after RSET: 0
250 2.0.0 Ok: queued as ID
bob@example.org sender@example.com
250 %s
bool(false)
array(0) {
}
250
> EHLO client.example
> NOOP
> VRFY postmaster
> MAIL FROM:<sender@example.com> BODY=8BITMIME RET=HDRS
> RCPT TO:<ann@example.org> NOTIFY=FAILURE,DELAY
> RCPT TO:<reject-x@example.org>
> RSET
> MAIL FROM:<sender@example.com>
> RCPT TO:<bob@example.org>
> DATA
> [message: %d octets]
> .
> HELO client.example
> QUIT
> EHLO client.example
> NOOP
> QUIT
