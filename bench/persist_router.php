<?php
/*
 * Router for the persistence check: run under `php -S` (one process serving
 * request after request, like a PHP-FPM worker), each request sends one
 * message to the sink and prints "ok" or the error.
 *
 *   GET /?api=socket&persistent=1&port=P   SmtpSocket with ['persistent' => true]
 *   GET /?api=socket&persistent=0&port=P   the same without persistence (control)
 *   GET /?api=mail                         smtp_mail(), configured by the
 *                                          -d smtpsock.* settings of the server
 *   &size=BYTES                            a body of BYTES (text lines of 76
 *                                          octets) instead of one short line
 *                                          (bench/rtt.php: 1 KiB)
 */

declare(strict_types=1);

header('Content-Type: text/plain');
$api = $_GET['api'] ?? 'socket';
$body = "request " . ($_GET['n'] ?? '?') . "\r\n";
if (isset($_GET['size'])) {
    $line = substr(str_repeat('lorem ipsum dolor sit amet consectetur adipiscing elit ', 2), 0, 76) . "\r\n";
    $size = max(0, (int) $_GET['size']);
    $body = substr(str_repeat($line, intdiv($size, 78) + 1), 0, $size - 2) . "\r\n";
}
$msg = "From: bench@example.org\r\nTo: rcpt1@example.org\r\nSubject: persistence check\r\n\r\n" . $body;
try {
    if ($api === 'mail') {
        $ok = smtp_mail('rcpt1@example.org', 'persistence check', $body, ['From' => 'bench@example.org']);
        echo $ok ? "ok\n" : 'error: ' . (error_get_last()['message'] ?? 'smtp_mail() returned false') . "\n";
    } else {
        $s = new SmtpSocket('127.0.0.1', (int) ($_GET['port'] ?? 25), [
            'persistent' => ($_GET['persistent'] ?? '1') === '1',
            'timeout' => 30.0,
        ]);
        $r = $s->send('bench@example.org', 'rcpt1@example.org', $msg);
        echo $r['accepted'] === ['rcpt1@example.org'] ? "ok\n" : 'error: ' . json_encode($r) . "\n";
    }
} catch (Throwable $e) {
    echo 'error: ', get_class($e), ': ', $e->getMessage(), "\n";
}
