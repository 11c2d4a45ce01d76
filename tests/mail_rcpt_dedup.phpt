--TEST--
smtp_mail(): envelope recipients from To, Cc and Bcc are de-duplicated without regard to ASCII case, in first-seen order, for a short list and for one past the point where a set of seen addresses takes over (8)
--EXTENSIONS--
smtpsock
--INI--
smtpsock.from=sender@example.com
smtpsock.timeout=5
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';

function transaction(array $rcpts): array
{
    $steps = [['expect' => 'MAIL FROM:<sender@example.com>', 'send' => "250 2.1.0 Ok\r\n"]];
    foreach ($rcpts as $r) {
        $steps[] = ['expect' => "RCPT TO:<$r>", 'send' => "250 2.1.5 Ok\r\n"];
    }
    $steps[] = ['expect' => 'DATA', 'send' => "354 go ahead\r\n"];
    $steps[] = ['read_data' => true, 'send' => "250 2.0.0 Ok\r\n"];
    return $steps;
}

$short = ['a@example.org', 'B@example.org', 'c@example.org'];
$long = [];
for ($i = 1; $i <= 12; $i++) {
    $long[] = "r$i@example.org";
}
$srv = smtpsock_test_scripted(array_merge(
    [['send' => "220 scripted ESMTP\r\n"], ['expect' => 'EHLO', 'send' => "250-scripted\r\n250 PIPELINING\r\n"]],
    transaction($short),
    transaction($long),
    [['expect' => 'QUIT', 'send' => "221 2.0.0 Bye\r\n"]]
), ['stray_rset' => 'answer']);
ini_set('smtpsock.host', "127.0.0.1:{$srv->port}");

var_dump(smtp_mail('a@example.org, B@example.org', 'short', "x\r\n",
    ['Cc' => 'A@EXAMPLE.ORG, c@example.org', 'Bcc' => 'b@example.org, C@Example.Org']));
var_dump(smtp_mail(implode(', ', array_slice($long, 0, 10)), 'long', "x\r\n",
    ['Cc' => 'R9@example.org, r11@example.org, R1@EXAMPLE.org', 'Bcc' => 'r12@example.org, R11@example.org, r10@example.ORG']));

preg_match_all('/^RCPT TO:<([^>]*)>/m', $srv->transcript(), $m);
echo implode(' ', $m[1]), "\n";
?>
--EXPECT--
bool(true)
bool(true)
a@example.org B@example.org c@example.org r1@example.org r2@example.org r3@example.org r4@example.org r5@example.org r6@example.org r7@example.org r8@example.org r9@example.org r10@example.org r11@example.org r12@example.org
