--TEST--
International domains without SMTPUTF8: the domain goes as IDNA A-labels (ext/intl's idn_to_ascii()), the result keeps the caller's address; an invalid IDN fails before MAIL
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php if (!extension_loaded('intl')) die('skip ext/intl is not loaded'); ?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$srv = smtpsock_test_scripted([
    ['send' => "220 scripted ESMTP\r\n"],
    ['expect' => 'EHLO', 'send' => "250-scripted\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"],
    ['expect' => 'MAIL FROM:', 'send' => "250 2.1.0 Ok\r\n"],
    ['expect' => 'RCPT TO:', 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'RCPT TO:', 'send' => "250 2.1.5 Ok\r\n"],
    ['expect' => 'DATA', 'send' => "354 go\r\n"],
    ['read_data' => true, 'send' => "250 2.0.0 Ok: queued as B1\r\n"],
    ['expect' => 'QUIT', 'send' => "221 bye\r\n"],
]);
$t = new SmtpSocket('127.0.0.1', $srv->port, ['timeout' => 5]);
$r = $t->send('jo@bücher.example', ['ann@Bücher.example', 'bob@ÖBB.at'], "Subject: x\r\n\r\nx\r\n");
echo "accepted: ", implode(',', $r['accepted']), "\n";
try {
    // U+0661 (Arabic-Indic digit one) next to Latin letters: refused by the bidi check
    $t->send('a@example.com', "ann@a\u{0661}b.example", "x\r\n");
    echo "sent?!\n";
} catch (SmtpSocketException $e) {
    echo "invalid IDN: ", $e->getCode(), " ", $e->getMessage(), "\n";
}
$t->quit();
echo implode("\n", preg_grep('/^(MAIL|RCPT)/', explode("\r\n", $srv->transcript()))), "\n";
?>
--EXPECT--
accepted: ann@Bücher.example,bob@ÖBB.at
invalid IDN: 0 recipient "ann@a١b.example": its domain is not a valid internationalised domain name; message not sent
MAIL FROM:<jo@xn--bcher-kva.example>
RCPT TO:<ann@xn--bcher-kva.example>
RCPT TO:<bob@xn--bb-eka.at>
