<?php
/*
 * Scripted SMTP-ish server for smtpsock tests: faults and malformed replies
 * that real servers do not send.
 *
 * Usage: php -n scripted_server.php CONFIG.json
 *
 * CONFIG.json:
 *   {
 *     "steps":       [ step, ... ],
 *     "transcript":  "/path/file",   everything received, raw, all connections;
 *                                    also "/path/file.N" per connection (N = 1, 2, ...)
 *     "connections": N,              connections served in sequence (default:
 *                                    number of script segments, see next_connection)
 *     "ipv6":        false,          bind [::1] instead of 127.0.0.1
 *     "time_limit":  30,             hard limit in seconds for the whole run
 *     "read_timeout": 10,            seconds to wait for one line / block of data
 *     "on_mismatch": "abort"         or "continue" (see expect)
 *     "stray_rset": "answer"         an RSET where an expect step wants another
 *                                    command gets "250 2.0.0 Ok" and the next
 *                                    line is read (smtpsock writes one in front
 *                                    of a transaction after idling, and a slow
 *                                    run, valgrind's, idles); "strict": a mismatch
 *   }
 *
 * Prints the bound port and a newline on stdout, then serves connections.
 *
 * Steps (executed in order; keys may be combined as noted):
 *   {"send": "bytes"}           write raw bytes exactly ("send_b64" for
 *                               binary-safe base64)
 *   {"expect": "EHLO"}          read one line, record it; it must start with
 *                               the prefix (case-insensitive). On mismatch the
 *                               server replies "500 scripted server expected
 *                               EHLO, got <line>" and then aborts the
 *                               connection (on_mismatch=abort) or goes on with
 *                               the next step (on_mismatch=continue); the
 *                               step's own "send" is not sent.
 *   {"expect": "EHLO", "send": "250 ok\r\n"}   both: read, check, reply
 *   {"read_data": true}         read a DATA body through the line "."
 *   {"read_bytes": n}           read exactly n bytes (e.g. a BDAT chunk)
 *   {"drain": seconds}          read whatever arrives until the client closes
 *                               or the time is up
 *   {"sleep": seconds}          stall (read nothing, send nothing)
 *   {"close": true}             close the connection
 *   {"reset": true}             close with TCP RST (SO_LINGER 0, via
 *                               ext/sockets when it can be loaded; else close)
 *   {"flood": {"line": "250-x", "bytes": 1048576}}
 *                               write the line (CRLF appended unless it ends
 *                               in LF) again and again, up to "bytes" bytes,
 *                               or until the client closes / time runs out
 *                               when "bytes" is 0 or missing
 *   {"next_connection": true}   end this connection, accept the next one
 *
 * The steps between next_connection markers form one segment per connection;
 * connections beyond the last segment replay the last segment. When the
 * client goes away, the rest of that connection's segment is skipped. The
 * server exits when the last connection's segment ends, when the parent goes
 * away (its stdin pipe reaches EOF), or at the time limit. Diagnostics go to
 * stderr.
 */

declare(strict_types=1);

error_reporting(E_ALL);
ini_set('display_errors', 'stderr');

final class ScriptedServer
{
    private const MAX_LINE = 1048576;

    /** @var resource|null */
    private $conn = null;
    private string $inbuf = '';
    private bool $dead = false;
    private int $connNo = 0;
    /** @var resource */
    private $transcript;
    /** @var resource|null */
    private $connTranscript = null;
    private float $deadline;
    /** stdin is the parent's pipe: its EOF means the parent went away. */
    private bool $watchStdin;

    public function __construct(private array $config)
    {
        $this->deadline = microtime(true) + (float) ($config['time_limit'] ?? 30);
        $st = @fstat(STDIN);
        $this->watchStdin = $st !== false && ($st['mode'] & 0170000) === 0010000;
        $this->transcript = fopen($config['transcript'], 'ab');
        if (!$this->transcript) {
            self::diag("cannot open transcript {$config['transcript']}");
            exit(2);
        }
    }

    public static function diag(string $msg): void
    {
        fwrite(STDERR, sprintf("[scripted_server %.3f] %s\n", microtime(true), $msg));
    }

    public function run(): int
    {
        $addr = !empty($this->config['ipv6']) ? 'tcp://[::1]:0' : 'tcp://127.0.0.1:0';
        $server = @stream_socket_server($addr, $errno, $errstr);
        if (!$server) {
            self::diag("cannot bind $addr: $errstr");
            return 2;
        }
        $name = stream_socket_get_name($server, false);
        $port = (int) substr($name, strrpos($name, ':') + 1);
        fwrite(STDOUT, "$port\n");
        fflush(STDOUT);

        $segments = [[]];
        foreach ($this->config['steps'] as $step) {
            if (!empty($step['next_connection'])) {
                $segments[] = [];
            } else {
                $segments[count($segments) - 1][] = $step;
            }
        }
        $connections = (int) ($this->config['connections'] ?? count($segments));
        if ($connections < 1) {
            $connections = 1;
        }

        for ($i = 0; $i < $connections; $i++) {
            if (!$this->accept($server)) {
                fclose($server);
                return 1;
            }
            $segment = $segments[min($i, count($segments) - 1)];
            foreach ($segment as $n => $step) {
                if ($this->dead || $this->conn === null) {
                    self::diag("connection {$this->connNo}: client gone, skipping remaining steps from step $n");
                    break;
                }
                if ($this->timeLeft() <= 0) {
                    self::diag('time limit reached');
                    $this->closeConn();
                    fclose($server);
                    return 1;
                }
                if (!$this->step($step, $n)) {
                    break;
                }
            }
            $this->closeConn();
        }
        fclose($server);
        return 0;
    }

    private function timeLeft(): float
    {
        return $this->deadline - microtime(true);
    }

    /** Exit when the parent closed our stdin (it went away). */
    private function checkParent(array $readable): void
    {
        foreach ($readable as $r) {
            if ($r === STDIN) {
                $data = @fread(STDIN, 8192);
                if ($data === '' || $data === false) {
                    if (feof(STDIN)) {
                        self::diag('parent went away (stdin closed), exiting');
                        $this->closeConn();
                        exit(3);
                    }
                }
            }
        }
    }

    /**
     * Wait until one of $read/$write is ready or $until passes; watches
     * stdin for the parent going away. Returns true when something is ready.
     */
    private function select(array $read, array $write, float $until): bool
    {
        $until = min($until, $this->deadline);
        $first = true;
        while (true) {
            $left = $until - microtime(true);
            if ($left <= 0) {
                if (!$first) {
                    return false;
                }
                $left = 0.0; // poll once
            }
            $first = false;
            $r = $read;
            if ($this->watchStdin) {
                $r[] = STDIN;
            }
            $w = $write;
            $e = null;
            $sec = (int) floor($left);
            $usec = (int) (($left - $sec) * 1e6);
            $n = @stream_select($r, $w, $e, $sec, $usec);
            if ($n === false) {
                // Interrupted: retry until the deadline.
                continue;
            }
            if ($n === 0) {
                return false;
            }
            $this->checkParent($r);
            $r = array_filter($r, fn($s) => $s !== STDIN);
            if ($r || $w) {
                return true;
            }
        }
    }

    private function accept($server): bool
    {
        $this->closeConn();
        if (!$this->select([$server], [], $this->deadline)) {
            self::diag('no client connected before the time limit');
            return false;
        }
        $conn = @stream_socket_accept($server, 0);
        if (!$conn) {
            self::diag('accept failed');
            return false;
        }
        stream_set_blocking($conn, false);
        $this->conn = $conn;
        $this->dead = false;
        $this->inbuf = '';
        $this->connNo++;
        $this->connTranscript = fopen($this->config['transcript'] . '.' . $this->connNo, 'ab') ?: null;
        self::diag("connection {$this->connNo} accepted from " . stream_socket_get_name($conn, true));
        return true;
    }

    private function closeConn(): void
    {
        if ($this->conn !== null) {
            @fclose($this->conn);
            self::diag("connection {$this->connNo} closed");
        }
        $this->conn = null;
        if ($this->connTranscript) {
            fclose($this->connTranscript);
        }
        $this->connTranscript = null;
        $this->inbuf = '';
    }

    private function record(string $bytes): void
    {
        fwrite($this->transcript, $bytes);
        fflush($this->transcript);
        if ($this->connTranscript) {
            fwrite($this->connTranscript, $bytes);
            fflush($this->connTranscript);
        }
    }

    /** Read what is available into the input buffer. False on EOF/timeout. */
    private function fill(float $until): bool
    {
        if ($this->dead || $this->conn === null) {
            return false;
        }
        if (!$this->select([$this->conn], [], $until)) {
            return false;
        }
        $data = @fread($this->conn, 65536);
        if ($data === false || $data === '') {
            if ($data === false || feof($this->conn)) {
                self::diag("connection {$this->connNo}: client closed");
                $this->dead = true;
                return false;
            }
            return true; // spurious wake-up
        }
        $this->record($data);
        $this->inbuf .= $data;
        return true;
    }

    private function readTimeoutUntil(): float
    {
        return microtime(true) + (float) ($this->config['read_timeout'] ?? 10);
    }

    /** One line including its LF, or null (EOF, timeout, overlong). */
    private function readLine(): ?string
    {
        $until = $this->readTimeoutUntil();
        while (($pos = strpos($this->inbuf, "\n")) === false) {
            if (strlen($this->inbuf) > self::MAX_LINE) {
                self::diag("connection {$this->connNo}: line longer than " . self::MAX_LINE . ' bytes');
                return null;
            }
            if (!$this->fill($until)) {
                if (!$this->dead) {
                    self::diag("connection {$this->connNo}: timed out waiting for a line");
                }
                return null;
            }
        }
        $line = substr($this->inbuf, 0, $pos + 1);
        $this->inbuf = (string) substr($this->inbuf, $pos + 1);
        return $line;
    }

    private function readBytes(int $n): ?string
    {
        $until = $this->readTimeoutUntil();
        while (strlen($this->inbuf) < $n) {
            if (!$this->fill($until)) {
                self::diag("connection {$this->connNo}: got " . strlen($this->inbuf) . " of $n bytes");
                return null;
            }
        }
        $bytes = substr($this->inbuf, 0, $n);
        $this->inbuf = (string) substr($this->inbuf, $n);
        return $bytes;
    }

    /**
     * Write all bytes; false when the client went away, or made no progress
     * reading for read_timeout seconds, or the time limit passed.
     */
    private function write(string $bytes): bool
    {
        $off = 0;
        $len = strlen($bytes);
        while ($off < $len) {
            if ($this->dead || $this->conn === null) {
                return false;
            }
            if (!$this->select([], [$this->conn], $this->readTimeoutUntil())) {
                self::diag("connection {$this->connNo}: write timed out (client not reading)");
                return false;
            }
            $n = @fwrite($this->conn, substr($bytes, $off, 65536));
            if ($n === false || ($n === 0 && feof($this->conn))) {
                self::diag("connection {$this->connNo}: write failed (client gone)");
                $this->dead = true;
                return false;
            }
            $off += $n;
        }
        return true;
    }

    private static function bytesOf(array $step): ?string
    {
        if (isset($step['send_b64'])) {
            return base64_decode((string) $step['send_b64'], true);
        }
        return isset($step['send']) ? (string) $step['send'] : null;
    }

    /** Run one step; false ends this connection's segment. */
    private function step(array $step, int $n): bool
    {
        $send = self::bytesOf($step);

        if (array_key_exists('expect', $step)) {
            $line = $this->readLine();
            if ($line === null) {
                return false;
            }
            $prefix = (string) $step['expect'];
            while (strcasecmp(rtrim($line, "\r\n"), 'RSET') === 0 && strncasecmp($prefix, 'RSET', 4) !== 0
                    && ($this->config['stray_rset'] ?? 'answer') === 'answer') {
                // the client's liveness check in front of a transaction (it
                // comes when a session has idled, and a slow run idles)
                if (!$this->write("250 2.0.0 Ok\r\n") || ($line = $this->readLine()) === null) {
                    return false;
                }
            }
            if (strncasecmp($line, $prefix, strlen($prefix)) !== 0) {
                $shown = rtrim($line, "\r\n");
                self::diag("connection {$this->connNo} step $n: expected " . json_encode($prefix) . ', got ' . json_encode($shown));
                $this->write("500 scripted server expected $prefix, got $shown\r\n");
                return ($this->config['on_mismatch'] ?? 'abort') === 'continue';
            }
            if ($send !== null) {
                return $this->write($send);
            }
            return true;
        }
        if (!empty($step['read_data'])) {
            while (true) {
                $line = $this->readLine();
                if ($line === null) {
                    return false;
                }
                if ($line === ".\r\n" || $line === ".\n") {
                    break;
                }
            }
            return $send === null || $this->write($send);
        }
        if (isset($step['read_bytes'])) {
            if ($this->readBytes((int) $step['read_bytes']) === null) {
                return false;
            }
            return $send === null || $this->write($send);
        }
        if ($send !== null) {
            return $this->write($send);
        }
        if (isset($step['drain'])) {
            $until = microtime(true) + (float) $step['drain'];
            while ($this->fill($until)) {
                $this->inbuf = '';
            }
            return true;
        }
        if (isset($step['sleep'])) {
            $until = microtime(true) + (float) $step['sleep'];
            // Stall: watch only stdin (parent gone) until the time is up.
            $this->select([], [], $until);
            return true;
        }
        if (!empty($step['close'])) {
            $this->closeConn();
            return false;
        }
        if (!empty($step['reset'])) {
            $this->reset();
            return false;
        }
        if (isset($step['flood'])) {
            $this->flood((array) $step['flood']);
            return true;
        }
        self::diag("step $n not understood: " . json_encode($step));
        return true;
    }

    private function reset(): void
    {
        if ($this->conn === null) {
            return;
        }
        if (!function_exists('socket_import_stream') && function_exists('dl')) {
            @dl('sockets');
        }
        if (function_exists('socket_import_stream')) {
            $sock = @socket_import_stream($this->conn);
            if ($sock !== false && $sock !== null) {
                @socket_set_option($sock, SOL_SOCKET, SO_LINGER, ['l_onoff' => 1, 'l_linger' => 0]);
                self::diag("connection {$this->connNo}: reset (SO_LINGER 0)");
            }
        } else {
            self::diag("connection {$this->connNo}: ext/sockets unavailable, plain close instead of RST");
        }
        $this->closeConn();
    }

    private function flood(array $spec): void
    {
        $line = (string) ($spec['line'] ?? '250-x');
        if (!str_ends_with($line, "\n")) {
            $line .= "\r\n";
        }
        $limit = (int) ($spec['bytes'] ?? 0);
        $block = str_repeat($line, max(1, intdiv(65536, strlen($line))));
        $sent = 0;
        while ($limit <= 0 || $sent < $limit) {
            $chunk = $block;
            if ($limit > 0 && $limit - $sent < strlen($chunk)) {
                $chunk = substr($chunk, 0, $limit - $sent);
            }
            if (!$this->write($chunk)) {
                break;
            }
            $sent += strlen($chunk);
            // Record what the client says meanwhile (e.g. QUIT), without blocking.
            if ($this->conn !== null && !$this->dead) {
                $this->fill(0.0); // poll once
            }
        }
        self::diag("connection {$this->connNo}: flooded $sent bytes");
    }
}

if ($argc < 2) {
    fwrite(STDERR, "usage: php -n scripted_server.php CONFIG.json\n");
    exit(2);
}
$config = json_decode((string) file_get_contents($argv[1]), true);
if (!is_array($config) || !isset($config['steps'], $config['transcript']) || !is_array($config['steps'])) {
    fwrite(STDERR, "scripted_server: bad config {$argv[1]}\n");
    exit(2);
}
stream_set_blocking(STDIN, false);
exit((new ScriptedServer($config))->run());
