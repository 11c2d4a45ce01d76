--TEST--
sendMany() against Postfix in every mode the server allows: DATA with PIPELINING (chunking off: the end of data in the same write as the next MAIL, RCPT, DATA), one command at a time (pipelining off, with BDAT and with DATA); every message delivered exactly once with its exact bytes, refusals reported per message
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php require __DIR__ . '/inc/smtpsock_test.inc'; if ($r = smtpsock_test_postfix_skip_reason()) die("skip $r"); ?>
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
$pf = smtpsock_test_postfix();

foreach ([
    'data, pipelined' => ['chunking' => false],
    'bdat, one at a time' => ['pipelining' => false],
    'data, one at a time' => ['pipelining' => false, 'chunking' => false],
] as $mode => $opts) {
    $log = [];
    $s = new SmtpSocket($pf['host'], $pf['port'], $opts + ['timeout' => 20,
        'logger' => function ($d, $l) use (&$log) { $log[] = "$d $l"; }]);
    $tok = smtpsock_test_token();
    $bodies = [];
    $msgs = (function () use ($tok, &$bodies) {
        for ($i = 0; $i < 8; $i++) {
            $bodies[$i] = "Subject: $tok $i\r\nX-N: $i\r\n\r\n.dot\nbare LF\r\n" . str_repeat("y", 1000 * $i) . "\r\n";
            yield $i => ['from' => 'a@example.com', 'to' => $i === 3 ? ['reject-1@example.org'] : ['ann@example.org', 'bob@example.org'],
                'message' => $bodies[$i], 'options' => ['atomic' => $i === 6]];
        }
    })();
    $res = $s->sendMany($msgs, ['window' => 4]);
    $sum = [];
    foreach ($res as $k => $r) {
        $sum[] = "$k:" . ($r['error'] ? $r['error']->getCode() : count($r['accepted']));
    }
    echo "$mode: ", implode(' ', $sum), "\n";
    $got = smtpsock_test_wait_messages($pf['maildir'], $tok, 14);
    $exact = 0;
    foreach ($got as $m) {
        preg_match('/^X-N: (\d+)$/m', $m['raw'], $mm);
        $exact += str_ends_with(str_replace("\r\n", "\n", $m['raw']), str_replace("\r\n", "\n", $bodies[(int) $mm[1]]));
    }
    echo "  delivered: ", count($got), " (7 messages x 2 recipients), exact: $exact\n";
    $cmds = array_map(fn($l) => substr($l, 2, 4), array_filter($log, fn($l) => $l[0] === '>' && !str_starts_with($l, '> EHLO')));
    echo "  commands: ", implode(' ', array_slice($cmds, 0, 14)), "\n";
    unset($s);
}
?>
--EXPECT--
data, pipelined: 0:2 1:2 2:2 3:550 4:2 5:2 6:2 7:2
  delivered: 14 (7 messages x 2 recipients), exact: 14
  commands: MAIL RCPT RCPT DATA [mes . RSET MAIL RCPT RCPT DATA [mes . RSET
bdat, one at a time: 0:2 1:2 2:2 3:550 4:2 5:2 6:2 7:2
  delivered: 14 (7 messages x 2 recipients), exact: 14
  commands: MAIL RCPT RCPT BDAT MAIL RCPT RCPT BDAT MAIL RCPT RCPT BDAT MAIL RCPT
data, one at a time: 0:2 1:2 2:2 3:550 4:2 5:2 6:2 7:2
  delivered: 14 (7 messages x 2 recipients), exact: 14
  commands: MAIL RCPT RCPT DATA [mes . MAIL RCPT RCPT DATA [mes . MAIL RCPT
