--TEST--
Symfony Mailer bridge: the same Email (text + HTML + attachment + UTF-8 subject, Cc and Bcc) through Symfony's own smtp:// transport and through smtpsock:// arrives byte-identical apart from Postfix's trace headers (and the empty line Symfony's transport appends), smtpsock's copy byte-exact; getMessageId() is Postfix's queue id; getDebug() is the transcript
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php
require __DIR__ . '/symfony.inc';
if ($r = symfony_bridge_skip_reason()) die("skip $r");
if ($r = smtpsock_test_postfix_skip_reason()) die("skip $r");
?>
--FILE--
<?php
require __DIR__ . '/symfony.inc';
symfony_bridge_load();

use Symfony\Component\Mime\Address;
use Symfony\Component\Mime\Email;

$pf = smtpsock_test_postfix();
$attachment = random_bytes(3000) . "\r\n.\r\n.line with a dot\n\0";
$tok = smtpsock_test_token();
$email = (new Email())
    ->from(new Address('reports@example.com', 'Rapport Österreich'))
    ->to(new Address('ann@example.org', 'Ann Lee'), 'bob@example.org')
    ->cc('carol@example.org')
    ->bcc('dave@example.org')
    ->subject("Grüße aus Köln – Bericht $tok")
    ->text("Hallo,\n\nalles grün. ✓\n.\nEnde $tok\n")
    ->html("<p>Hallo, <b>alles grün</b> ✓</p><p>$tok</p>")
    ->attach($attachment, 'daten.bin', 'application/octet-stream');
// pinned so that both transports send the same headers
$email->getHeaders()->addIdHeader('Message-ID', "same-$tok@example.com");
$email->date(new DateTimeImmutable('2026-12-02 10:00:00 +0000'));
$email->getBody();   // rendered once: the clones the transports send share the MIME boundaries

$results = [];
$seen = [];
foreach (['smtp', 'smtpsock'] as $n => $scheme) {
    $transport = symfony_bridge_transport("$scheme://{$pf['host']}:{$pf['port']}");
    $sent = $transport->send($email);
    $msgs = array_values(array_filter(smtpsock_test_wait_messages($pf['maildir'], $tok, 4 * ($n + 1)),
        function ($m) use (&$seen) { return !isset($seen[basename($m['file'])]); }));
    foreach ($msgs as $m) {
        $seen[basename($m['file'])] = true;
    }
    $results[$scheme] = ['sent' => $sent, 'msgs' => $msgs, 'transport' => (string) $transport];
}

echo "transport: ", $results['smtpsock']['transport'] === "smtpsock://{$pf['host']}:{$pf['port']}" ? 'ok' : $results['smtpsock']['transport'], "\n";
foreach (['smtp', 'smtpsock'] as $scheme) {
    echo "$scheme: ", count($results[$scheme]['msgs']), " delivered to ",
        implode(',', array_map(fn($m) => $m['delivered_to'], $results[$scheme]['msgs'])),
        " envelope sender ", implode(',', array_unique(array_map(fn($m) => $m['return_path'], $results[$scheme]['msgs']))), "\n";
}

// identical apart from the trace headers, and apart from the empty line Symfony's
// own transport adds at the end: it writes "\r\n.\r\n" after a message that
// already ends with CRLF
$same = 0;
foreach ($results['smtp']['msgs'] as $i => $m) {
    $a = symfony_bridge_strip_trace($m['raw']);
    $b = symfony_bridge_strip_trace($results['smtpsock']['msgs'][$i]['raw']);
    if ($a === $b . "\n") {
        $same++;
    } else {
        echo "message $i differs\n--- smtp\n$a\n--- smtpsock\n$b\n";
    }
}
echo "identical without trace headers: $same of ", count($results['smtp']['msgs']), "\n";
// and smtpsock's copy is exactly the message Symfony rendered (Postfix stores LF line ends)
$rendered = str_replace("\r\n", "\n", $results['smtpsock']['sent']->toString());
echo "smtpsock copy is SentMessage::toString(): ",
    symfony_bridge_strip_trace($results['smtpsock']['msgs'][0]['raw']) === $rendered ? 'yes' : 'no', "\n";
$m = $results['smtpsock']['msgs'][0];
echo "Bcc header delivered: ", smtpsock_test_header($m, 'Bcc') ? 'yes' : 'no', "\n";
echo "subject: ", iconv_mime_decode(smtpsock_test_header($m, 'Subject')[0], 0, 'UTF-8') === "Grüße aus Köln – Bericht $tok" ? 'UTF-8 ok' : 'wrong', "\n";
echo "attachment intact: ", str_contains($m['raw'], chunk_split(base64_encode($attachment), 76, "\r\n"))
    || str_contains(str_replace("\r\n", "\n", $m['raw']), chunk_split(base64_encode($attachment), 76, "\n")) ? 'yes' : 'no', "\n";

// getMessageId(): the queue id Postfix gave (its Received header names it)
$sent = $results['smtpsock']['sent'];
preg_match('/\bid ([0-9A-Za-z]+)/', implode(' ', smtpsock_test_header($m, 'Received')), $rid);
echo "getMessageId() is the queue id: ", $sent->getMessageId() === ($rid[1] ?? '?') ? 'yes' : 'no: ' . $sent->getMessageId(), "\n";
$debug = $sent->getDebug();
echo "debug has MAIL, RCPT x4 and the final reply: ", substr_count($debug, '> MAIL FROM:<reports@example.com>'), " ",
    substr_count($debug, '> RCPT TO:'), " ", str_contains($debug, "queued as {$sent->getMessageId()}") ? 'yes' : 'no', "\n";
?>
--EXPECT--
transport: ok
smtp: 4 delivered to ann@example.org,bob@example.org,carol@example.org,dave@example.org envelope sender reports@example.com
smtpsock: 4 delivered to ann@example.org,bob@example.org,carol@example.org,dave@example.org envelope sender reports@example.com
identical without trace headers: 4 of 4
smtpsock copy is SentMessage::toString(): yes
Bcc header delivered: no
subject: UTF-8 ok
attachment intact: yes
getMessageId() is the queue id: yes
debug has MAIL, RCPT x4 and the final reply: 1 4 yes
