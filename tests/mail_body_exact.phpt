--TEST--
smtp_mail() and SmtpSocket: bodies arrive byte for byte: dot lines (first line too), bare LF/CR, 8-bit UTF-8, long lines, 5 MiB
--EXTENSIONS--
smtpsock
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix();
ini_set('smtpsock.host', $pf['host'] . ':' . $pf['port']);

// What the Maildir holds: CRLF-normalised, then stored with LF line ends.
function stored(string $body): string {
    $b = preg_replace("/\r\n|\r|\n/", "\n", $body);
    return str_ends_with($b, "\n") ? $b : $b . "\n";
}

$bodies = [
    'dots' => ".first line starts with a dot\n.\n..\n...three\nmid . dot\n.",
    'bare_lf_cr' => "unix\nmac\rwindows\r\nmixed\r\rend",
    'utf8' => "Grüße, 你好, Привет — ☃\n€uro\n",
    'long_line' => str_repeat('x', 5000) . "\n" . str_repeat('.y', 600) . "\n",
    'no_final_newline' => "last line has no newline",
];
foreach ($bodies as $name => $body) {
    $tok = smtpsock_test_token();
    $ok = smtp_mail('ann@example.org', "body $name $tok", $body, ['From' => 'a@example.com', 'Content-Type' => 'text/plain; charset=UTF-8']);
    $m = smtpsock_test_wait_messages($pf['maildir'], $tok, 1)[0];
    printf("%-16s smtp_mail=%s exact=%s\n", $name, var_export($ok, true), var_export($m['body'] === stored($body), true));
}

// SmtpSocket::send() with BDAT (Postfix offers CHUNKING), DATA, and from a stream; 5 MiB
// built from pieces and joined once (appending 92,000 times is slow under valgrind)
$parts = [];
for ($i = 0, $size = 0; $size < 5 * 1024 * 1024; $i++) {
    $parts[] = $piece = ($i % 7 == 0 ? '.' : '') . "line $i " . str_repeat(chr(0x41 + $i % 26), $i % 90) . ($i % 3 ? "\n" : "\r\n");
    $size += strlen($piece);
}
$big = implode('', $parts);
unset($parts);
$s = new SmtpSocket($pf['host'], $pf['port']);
foreach (['bdat' => ['chunking' => true], 'data' => ['chunking' => false]] as $how => $opts) {
    $s2 = new SmtpSocket($pf['host'], $pf['port'], $opts);
    foreach (['string' => null, 'stream' => 'stream'] as $kind => $_) {
        $tok = smtpsock_test_token();
        $msg = "Subject: $how $kind $tok\r\nFrom: a@example.com\r\n\r\n" . $big;
        if ($kind === 'stream') {
            $msg = fopen('php://temp', 'w+');
            fwrite($msg, "Subject: $how $kind $tok\r\nFrom: a@example.com\r\n\r\n" . $big);
            rewind($msg);
        }
        $r = $s2->send('a@example.com', 'ann@example.org', $msg);
        $m = smtpsock_test_wait_messages($pf['maildir'], $tok, 1)[0];
        printf("%s/%s 5MiB: accepted=%s exact=%s reply=%s\n", $how, $kind, implode(',', $r['accepted']),
            var_export($m['body'] === stored($big), true), substr($r['reply'], 0, 9));
    }
    $s2->quit();
}

// data() with a stream resource through the step-by-step verbs
$tok = smtpsock_test_token();
$f = fopen('php://memory', 'w+');
fwrite($f, "Subject: verbs $tok\n\n.leading dot\nbody\n");
rewind($f);
$s->mailFrom('a@example.com');
$s->rcptTo('ann@example.org');
echo substr($s->data($f), 0, 9), "\n";
$m = smtpsock_test_wait_messages($pf['maildir'], $tok, 1)[0];
var_dump($m['body']);
?>
--EXPECT--
dots             smtp_mail=true exact=true
bare_lf_cr       smtp_mail=true exact=true
utf8             smtp_mail=true exact=true
long_line        smtp_mail=true exact=true
no_final_newline smtp_mail=true exact=true
bdat/string 5MiB: accepted=ann@example.org exact=true reply=250 2.0.0
bdat/stream 5MiB: accepted=ann@example.org exact=true reply=250 2.0.0
data/string 5MiB: accepted=ann@example.org exact=true reply=250 2.0.0
data/stream 5MiB: accepted=ann@example.org exact=true reply=250 2.0.0
250 2.0.0
string(18) ".leading dot
body
"
