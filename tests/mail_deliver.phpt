--TEST--
smtp_mail(): delivered through a real Postfix: address list with display names, Cc/Bcc envelope, Bcc never transmitted, Date/Message-ID added once
--EXTENSIONS--
smtpsock
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix();
ini_set('smtpsock.host', $pf['host'] . ':' . $pf['port']);
$tok = smtpsock_test_token();

$ok = smtp_mail('"Lee, Ann" <ann@example.org>, bob@example.net (Bob)  ',
    "Report $tok \t ",
    "Hello,\nthis is the body.\n",
    ['From' => 'Sender <sender@example.com>', 'Cc' => 'carol@example.org, Dave <dave@example.org>',
     'X-Multi' => ['one', 'two'],
     'Bcc' => 'hidden@example.net', 'X-Token' => $tok]);
var_dump($ok);

$msgs = smtpsock_test_wait_messages($pf['maildir'], $tok, 5);
echo count($msgs), " copies\n";
foreach ($msgs as $m) {
    echo $m['delivered_to'], " <- ", $m['return_path'], "\n";
}
$m = $msgs[0];
echo "To: ", implode('|', smtpsock_test_header($m, 'To')), "\n";
echo "Subject: ", implode('|', smtpsock_test_header($m, 'Subject')), "\n";
echo "Cc: ", implode('|', smtpsock_test_header($m, 'Cc')), "\n";
echo "X-Multi: ", implode('|', smtpsock_test_header($m, 'X-Multi')), "\n";
var_dump(smtpsock_test_header($m, 'Bcc'), str_contains($m['raw'], 'hidden@'));
var_dump(count(smtpsock_test_header($m, 'Date')), count(smtpsock_test_header($m, 'Message-ID')));
var_dump(strtotime(smtpsock_test_header($m, 'Date')[0]) > time() - 600);
var_dump(preg_match('/^<[^<>@\s]+@example\.com>$/', smtpsock_test_header($m, 'Message-ID')[0]));
var_dump($m['body']);

// a Date and Message-ID given by the caller are kept, not duplicated
$tok2 = smtpsock_test_token();
var_dump(smtp_mail('ann@example.org', "Second $tok2", "x\n",
    "From: sender@example.com\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <fixed-$tok2@example.com>"));
$m2 = smtpsock_test_wait_messages($pf['maildir'], $tok2, 1)[0];
var_dump(smtpsock_test_header($m2, 'Date'), smtpsock_test_header($m2, 'Message-ID') == ["<fixed-$tok2@example.com>"]);
?>
--EXPECTF--
bool(true)
5 copies
ann@example.org <- sender@example.com
bob@example.net <- sender@example.com
carol@example.org <- sender@example.com
dave@example.org <- sender@example.com
hidden@example.net <- sender@example.com
To: "Lee, Ann" <ann@example.org>, bob@example.net (Bob)
Subject: Report %s
Cc: carol@example.org, Dave <dave@example.org>
X-Multi: one|two
array(0) {
}
bool(false)
int(1)
int(1)
bool(true)
int(1)
string(25) "Hello,
this is the body.
"
bool(true)
array(1) {
  [0]=>
  string(31) "Mon, 02 Jan 2006 15:04:05 +0000"
}
bool(true)
