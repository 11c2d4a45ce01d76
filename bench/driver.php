<?php
/*
 * One benchmark run of one PHP mail client against the sink.
 *
 *   php [-d extension=...] driver.php --client=NAME --port=P --size=BYTES
 *       --rcpts=N --conn=reuse|new [--nodelay=0|1] [--body=string|file|temp]
 *       --mode=rate|count|memory|batch [--seconds=S --min=N --max=N] [--count=N]
 *       --out=FILE [--tmpdir=DIR] [--user=U --password=P --cafile=CA]
 *
 * Every mode first sends one small warm-up message (this loads the library's
 * classes and, with --conn=reuse, opens the connection); the clock starts
 * after it.
 *
 *   rate    send until --seconds have passed (at least --min, at most --max
 *           messages) and report the count and the elapsed time
 *   count   send exactly --count messages (for callgrind: run with N and 2N)
 *   batch   (smtpsock_many only) send exactly --count messages in one
 *           SmtpSocket::sendMany() call and report the count and the time
 *   memory  send one message and report memory_get_peak_usage() growth over
 *           the usage just before it, and the process's (and children's)
 *           max RSS
 *
 * --user/--password/--cafile (bench/rtt.php's STARTTLS + AUTH cells): every
 * client authenticates with these credentials after STARTTLS, with AUTH
 * PLAIN (named for each client, so none picks a mechanism of more round
 * trips such as SCRAM or CRAM-MD5), verifying the server's certificate
 * against CA.
 *
 * The result is one JSON object written to --out (stdout stays free for
 * whatever a library prints). A client that fails writes
 * {"ok": false, "error": "..."} and exits 1.
 */

declare(strict_types=1);

const FROM = 'bench@example.org';
const HOST = '127.0.0.1';

function fail(string $msg): never
{
    throw new RuntimeException($msg);
}

/** A deterministic plain-text body of exactly $size bytes: text lines of 76
 * octets plus the line end, the last line padded so that it ends with one. */
function make_body(int $size, string $eol = "\r\n"): string
{
    $text = str_repeat('lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ', 2);
    $line = substr($text, 0, 76) . $eol;
    $n = intdiv($size, strlen($line));
    $rest = $size - $n * strlen($line);
    if ($n > 0 && $rest > 0 && $rest < strlen($eol)) {
        $n--;
        $rest += strlen($line);
    }
    $body = str_repeat($line, $n);
    if ($rest >= strlen($eol)) {
        $body .= str_repeat('x', $rest - strlen($eol)) . $eol;
    } elseif ($rest > 0) {
        $body .= str_repeat('x', $rest);
    }
    return $body;
}

function recipients(int $n): array
{
    $r = [];
    for ($i = 1; $i <= $n; $i++) {
        $r[] = "rcpt$i@example.org";
    }
    return $r;
}

/** Header fields shared by the clients that take a header array. */
function base_headers(array $rcpts): array
{
    return [
        'From' => FROM,
        'To' => implode(', ', $rcpts),
        'Subject' => 'smtpsock benchmark',
        'MIME-Version' => '1.0',
        'Content-Type' => 'text/plain; charset=us-ascii',
        'Content-Transfer-Encoding' => '7bit',
    ];
}

/** A complete RFC 5322 message (for the clients that take one). */
function raw_message(array $rcpts, string $body): string
{
    $h = base_headers($rcpts);
    $h['Date'] = date('r');
    $h['Message-ID'] = '<' . bin2hex(random_bytes(8)) . '@example.org>';
    $out = '';
    foreach ($h as $k => $v) {
        $out .= "$k: $v\r\n";
    }
    return $out . "\r\n" . $body;
}

abstract class Client
{
    /** @var list<string> */
    protected array $rcpts;
    protected string $body;       // the measured message's body
    protected string $warmBody;   // the warm-up message's body
    protected bool $reuse;
    protected bool $nodelay;
    protected int $port;
    protected ?string $user;
    protected ?string $password;
    protected ?string $cafile;

    public function __construct(array $o)
    {
        $this->port = (int) $o['port'];
        $this->user = isset($o['user']) && $o['user'] !== '' ? (string) $o['user'] : null;
        $this->password = isset($o['password']) ? (string) $o['password'] : null;
        $this->cafile = isset($o['cafile']) && $o['cafile'] !== '' ? (string) $o['cafile'] : null;
        $this->rcpts = recipients((int) $o['rcpts']);
        $this->reuse = $o['conn'] === 'reuse';
        $this->nodelay = (bool) (int) ($o['nodelay'] ?? 0);
        $this->body = make_body((int) $o['size'], $this->eol());
        $this->warmBody = make_body(1024, $this->eol());
    }

    protected function eol(): string
    {
        return "\r\n";
    }

    protected function socketContextOptions(): array
    {
        $o = $this->nodelay ? ['socket' => ['tcp_nodelay' => true]] : [];
        if ($this->cafile !== null) {
            $o['ssl'] = ['cafile' => $this->cafile, 'verify_peer' => true, 'verify_peer_name' => true];
        }
        return $o;
    }

    /** Send one message (the warm-up one when $warm). Throws on failure. */
    abstract public function send(bool $warm): void;

    /** End the session (QUIT) when one is open. */
    abstract public function close(): void;
}

/* ---- smtpsock ------------------------------------------------------------ */

class SmtpsockSendClient extends Client
{
    protected ?SmtpSocket $s = null;
    protected string $msg;
    protected string $warmMsg;
    /** @var resource|null */
    private $stream = null;
    private ?int $busyPoll;

    public function __construct(array $o)
    {
        parent::__construct($o);
        $this->busyPoll = isset($o['busy_poll']) ? (int) $o['busy_poll'] : null;
        if (!class_exists('SmtpSocket')) {
            fail('the smtpsock extension is not loaded');
        }
        $this->warmMsg = raw_message($this->rcpts, $this->warmBody);
        $kind = $o['body'] ?? 'string';
        if ($kind === 'string') {
            $this->msg = raw_message($this->rcpts, $this->body);
        } else {
            $this->msg = '';
            if ($kind === 'file') {
                $path = tempnam($o['tmpdir'] ?? sys_get_temp_dir(), 'bench-msg-');
                file_put_contents($path, raw_message($this->rcpts, $this->body));
                $this->stream = fopen($path, 'rb');
                unlink($path);
            } elseif ($kind === 'temp') {
                $this->stream = fopen('php://temp', 'w+b');
                fwrite($this->stream, raw_message($this->rcpts, $this->body));
            } else {
                fail("unknown --body=$kind");
            }
        }
        $this->body = ''; // the message lives in $msg or in the stream
    }

    protected function socket(): SmtpSocket
    {
        $opts = ['timeout' => 60.0];
        if ($this->busyPoll !== null) {
            $opts['busy_poll'] = $this->busyPoll;
        }
        if ($this->user !== null) {
            $opts += ['security' => 'starttls', 'username' => $this->user, 'password' => (string) $this->password, 'auth' => 'PLAIN',
                'context' => stream_context_create(['ssl' => ['cafile' => (string) $this->cafile]])];
        }
        return $this->s ??= new SmtpSocket(HOST, $this->port, $opts);
    }

    public function send(bool $warm): void
    {
        if ($warm) {
            $m = $this->warmMsg;
        } elseif ($this->stream) {
            rewind($this->stream);
            $m = $this->stream;
        } else {
            $m = $this->msg;
        }
        $r = $this->socket()->send(FROM, $this->rcpts, $m);
        if (count($r['accepted']) !== count($this->rcpts)) {
            fail('recipients refused: ' . json_encode($r['rejected']));
        }
        if (!$this->reuse) {
            // a connection per message: the object is released, which writes
            // QUIT and closes without waiting for the 221 (quit(), a verb,
            // waits for it)
            $this->s = null;
        }
    }

    public function close(): void
    {
        if ($this->s) {
            $this->s->quit();
            $this->s = null;
        }
    }
}

/** SmtpSocket::sendMany() (SPEC 6): the warm-up message with send(), then
 * --count messages in one sendMany() call, every outcome checked. */
final class SmtpsockManyClient extends SmtpsockSendClient
{
    public function __construct(array $o)
    {
        if (!method_exists('SmtpSocket', 'sendMany')) {
            fail('no API: SmtpSocket::sendMany() does not exist in this build');
        }
        parent::__construct($o);
    }

    public function sendBatch(int $n): int
    {
        $msg = $this->msg;
        $rcpts = $this->rcpts;
        $gen = (function () use ($n, $msg, $rcpts) {
            for ($i = 0; $i < $n; $i++) {
                yield $i => ['from' => FROM, 'to' => $rcpts, 'message' => $msg];
            }
        })();
        $ok = 0;
        $errors = [];
        $this->socket()->sendMany($gen, ['on_result' => function ($key, array $r) use (&$ok, &$errors, $rcpts): void {
            if ($r['error'] === null && count($r['accepted']) === count($rcpts)) {
                $ok++;
            } elseif (count($errors) < 3) {
                $errors[] = "$key: " . ($r['error'] instanceof Throwable ? $r['error']->getMessage() : json_encode($r['rejected']));
            }
        }]);
        if ($ok !== $n) {
            fail("sendMany(): $ok of $n messages accepted; " . implode('; ', $errors));
        }
        return $ok;
    }
}

final class SmtpsockMailClient extends Client
{
    private array $headers;
    private string $to;
    private int $flip = 0;

    public function __construct(array $o)
    {
        parent::__construct($o);
        if (!function_exists('smtp_mail')) {
            fail('the smtpsock extension is not loaded');
        }
        $h = base_headers($this->rcpts);
        $this->to = $h['To'];
        unset($h['To'], $h['Subject']);
        $this->headers = $h;
    }

    public function send(bool $warm): void
    {
        if (!$this->reuse) {
            // smtp_mail() keeps one connection per request; a change of the
            // smtpsock.* settings makes the next call open a new one.
            ini_set('smtpsock.timeout', ($this->flip ^= 1) ? '61' : '60');
        }
        if (!smtp_mail($this->to, 'smtpsock benchmark', $warm ? $this->warmBody : $this->body, $this->headers)) {
            fail('smtp_mail() returned false: ' . (error_get_last()['message'] ?? ''));
        }
    }

    public function close(): void
    {
        // the connection is closed with QUIT at request end
    }
}

/* ---- PHPMailer ------------------------------------------------------------ */

final class PhpmailerClient extends Client
{
    private PHPMailer\PHPMailer\PHPMailer $m;

    public function __construct(array $o)
    {
        parent::__construct($o);
        require_once '/usr/share/php/libphp-phpmailer/autoload.php';
        $m = new PHPMailer\PHPMailer\PHPMailer(true);
        $m->isSMTP();
        $m->Host = HOST;
        $m->Port = $this->port;
        $m->SMTPKeepAlive = $this->reuse;
        $m->SMTPOptions = $this->socketContextOptions();
        if ($this->user !== null) {
            $m->SMTPSecure = PHPMailer\PHPMailer\PHPMailer::ENCRYPTION_STARTTLS;
            $m->SMTPAuth = true;
            $m->Username = $this->user;
            $m->Password = (string) $this->password;
            $m->AuthType = 'PLAIN';
        }
        $m->setFrom(FROM);
        $m->Subject = 'smtpsock benchmark';
        $this->m = $m;
    }

    public function send(bool $warm): void
    {
        $m = $this->m;
        $m->clearAddresses();
        foreach ($this->rcpts as $r) {
            $m->addAddress($r);
        }
        $m->Body = $warm ? $this->warmBody : $this->body;
        $m->send();
    }

    public function close(): void
    {
        $this->m->smtpClose();
    }
}

/* ---- Symfony Mailer -------------------------------------------------------- */

final class SymfonyClient extends Client
{
    private ?Symfony\Component\Mailer\Transport\Smtp\EsmtpTransport $t = null;
    private ?Symfony\Component\Mailer\Mailer $mailer = null;

    public function __construct(array $o)
    {
        parent::__construct($o);
        require_once '/usr/share/php/Symfony/Component/Mailer/autoload.php';
    }

    private function mailer(): Symfony\Component\Mailer\Mailer
    {
        if (!$this->mailer) {
            $this->t = new Symfony\Component\Mailer\Transport\Smtp\EsmtpTransport(HOST, $this->port, false);
            $stream = $this->t->getStream();
            if ($this->nodelay || $this->cafile !== null) {
                $stream->setStreamOptions($this->socketContextOptions());
            }
            if ($this->user !== null) {
                // STARTTLS is used by itself when offered; AUTH after it
                $this->t->setUsername($this->user);
                $this->t->setPassword((string) $this->password);
                $plain = [new Symfony\Component\Mailer\Transport\Smtp\Auth\PlainAuthenticator()];
                if (method_exists($this->t, 'setAuthenticators')) {
                    $this->t->setAuthenticators($plain);
                } else {
                    // Symfony 5.4 has no setter: its constructor's list, replaced
                    $rp = new ReflectionProperty($this->t, 'authenticators');
                    $rp->setAccessible(true);
                    $rp->setValue($this->t, $plain);
                }
            }
            $this->mailer = new Symfony\Component\Mailer\Mailer($this->t);
        }
        return $this->mailer;
    }

    public function send(bool $warm): void
    {
        $email = (new Symfony\Component\Mime\Email())
            ->from(FROM)
            ->to(...$this->rcpts)
            ->subject('smtpsock benchmark')
            ->text($warm ? $this->warmBody : $this->body);
        $this->mailer()->send($email);
        if (!$this->reuse) {
            $this->close();
        }
    }

    public function close(): void
    {
        // the transport's destructor sends QUIT and closes the socket
        $this->mailer = null;
        $this->t = null;
    }
}

/* ---- PEAR Net_SMTP ----------------------------------------------------------- */

final class NetSmtpClient extends Client
{
    private ?Net_SMTP $smtp = null;
    private string $msg;
    private string $warmMsg;
    private bool $pipelining;

    public function __construct(array $o)
    {
        parent::__construct($o);
        require_once 'Net/SMTP.php';
        // --pipelining=1: Net_SMTP's own pipelining (off by default); its
        // data() then returns before the reply to the end of data is read
        $this->pipelining = (bool) (int) ($o['pipelining'] ?? 0);
        $this->msg = raw_message($this->rcpts, $this->body);
        $this->warmMsg = raw_message($this->rcpts, $this->warmBody);
        $this->body = '';
    }

    private static function check($r, string $what)
    {
        if ($r instanceof PEAR_Error) {
            fail("Net_SMTP $what: " . $r->getMessage());
        }
        return $r;
    }

    public function send(bool $warm): void
    {
        if (!$this->smtp) {
            $opts = $this->socketContextOptions();
            $this->smtp = new Net_SMTP(HOST, $this->port, null, $this->pipelining, 0, $opts ?: null);
            self::check($this->smtp->connect(60), 'connect');
            if ($this->user !== null) {
                // STARTTLS first (its $tls argument, on by default), then AUTH
                self::check($this->smtp->auth($this->user, (string) $this->password, 'PLAIN', true), 'AUTH');
            }
        }
        $s = $this->smtp;
        self::check($s->mailFrom(FROM), 'MAIL');
        foreach ($this->rcpts as $r) {
            self::check($s->rcptTo($r), 'RCPT');
        }
        self::check($s->data($warm ? $this->warmMsg : $this->msg), 'DATA');
        if (!$this->reuse) {
            $this->close();
        }
    }

    public function close(): void
    {
        if ($this->smtp) {
            $this->smtp->disconnect();
            $this->smtp = null;
        }
    }
}

/* ---- PEAR Mail, smtp driver -------------------------------------------------- */

final class PearMailClient extends Client
{
    private $mail;
    private array $headers;

    public function __construct(array $o)
    {
        parent::__construct($o);
        require_once 'Mail.php';
        $params = ['host' => HOST, 'port' => $this->port, 'persist' => $this->reuse, 'timeout' => 60];
        if ($this->nodelay) {
            $params['socket_options'] = $this->socketContextOptions();
        }
        $this->mail = Mail::factory('smtp', $params);
        if ($this->mail instanceof PEAR_Error) {
            fail('Mail::factory: ' . $this->mail->getMessage());
        }
        $this->headers = base_headers($this->rcpts);
    }

    public function send(bool $warm): void
    {
        $h = $this->headers;
        $h['Date'] = date('r');
        $h['Message-ID'] = '<' . bin2hex(random_bytes(8)) . '@example.org>';
        $r = $this->mail->send($this->rcpts, $h, $warm ? $this->warmBody : $this->body);
        if ($r instanceof PEAR_Error) {
            fail('PEAR Mail: ' . $r->getMessage());
        }
    }

    public function close(): void
    {
        if (method_exists($this->mail, 'disconnect')) {
            $this->mail->disconnect();
        }
    }
}

/* ---- mail() through msmtp (sendmail_path) --------------------------------------- */

final class MsmtpMailClient extends Client
{
    private string $headers;
    private string $to;

    public function __construct(array $o)
    {
        parent::__construct($o);
        if (!str_contains((string) ini_get('sendmail_path'), 'msmtp')) {
            fail('sendmail_path does not name msmtp');
        }
        if ($this->reuse) {
            fail('unsupported: mail() starts one sendmail_path process, hence one connection, per message');
        }
        $h = base_headers($this->rcpts);
        $this->to = $h['To'];
        unset($h['To'], $h['Subject']);
        $lines = [];
        foreach ($h as $k => $v) {
            $lines[] = "$k: $v";
        }
        $this->headers = implode("\n", $lines);
    }

    protected function eol(): string
    {
        return "\n"; // a local sendmail takes LF line ends
    }

    public function send(bool $warm): void
    {
        if (!mail($this->to, 'smtpsock benchmark', $warm ? $this->warmBody : $this->body, $this->headers)) {
            fail('mail() returned false: ' . (error_get_last()['message'] ?? ''));
        }
    }

    public function close(): void
    {
    }
}

/* ---- main ------------------------------------------------------------------------ */

$o = getopt('', ['client:', 'port:', 'size:', 'rcpts:', 'conn:', 'nodelay:', 'body:', 'mode:',
    'seconds:', 'min:', 'max:', 'count:', 'out:', 'tmpdir:', 'busy_poll:', 'pipelining:', 'user:', 'password:', 'cafile:']);
$out = $o['out'] ?? 'php://stdout';
$result = ['ok' => false];
$sent = 0;
try {
    foreach (['client', 'port', 'size', 'rcpts', 'conn', 'mode'] as $k) {
        if (!isset($o[$k])) {
            fail("missing --$k");
        }
    }
    $classes = [
        'smtpsock_send' => SmtpsockSendClient::class,
        'smtpsock_mail' => SmtpsockMailClient::class,
        'smtpsock_many' => SmtpsockManyClient::class,
        'phpmailer' => PhpmailerClient::class,
        'symfony' => SymfonyClient::class,
        'netsmtp' => NetSmtpClient::class,
        'pearmail' => PearMailClient::class,
        'msmtp' => MsmtpMailClient::class,
    ];
    $cls = $classes[$o['client']] ?? fail("unknown client {$o['client']}");
    /** @var Client $c */
    $c = new $cls($o);

    $c->send(true);
    $sent++;

    switch ($o['mode']) {
        case 'rate':
            $seconds = (float) ($o['seconds'] ?? 1.0);
            $min = (int) ($o['min'] ?? 1);
            $max = (int) ($o['max'] ?? PHP_INT_MAX);
            $n = 0;
            $t0 = hrtime(true);
            do {
                $c->send(false);
                $sent++;
                $n++;
                $el = (hrtime(true) - $t0) / 1e9;
            } while (($el < $seconds || $n < $min) && $n < $max);
            $c->close();
            $result = ['ok' => true, 'messages' => $n, 'seconds' => $el, 'rate' => $n / $el];
            break;

        case 'count':
            $n = (int) ($o['count'] ?? 0);
            for ($i = 0; $i < $n; $i++) {
                $c->send(false);
                $sent++;
            }
            $c->close();
            $result = ['ok' => true, 'messages' => $n];
            break;

        case 'batch':
            if (!$c instanceof SmtpsockManyClient) {
                fail('--mode=batch is for --client=smtpsock_many');
            }
            $n = (int) ($o['count'] ?? 0);
            $t0 = hrtime(true);
            $sent += $c->sendBatch($n);
            $el = (hrtime(true) - $t0) / 1e9;
            $c->close();
            $result = ['ok' => true, 'messages' => $n, 'seconds' => $el, 'rate' => $n / $el];
            break;

        case 'memory':
            gc_collect_cycles();
            memory_reset_peak_usage();
            $base = memory_get_usage();
            $c->send(false);
            $sent++;
            $peak = memory_get_peak_usage() - $base;
            $c->close();
            $self = getrusage(0);
            $kids = getrusage(1);
            $result = ['ok' => true, 'messages' => 1, 'peak_growth' => $peak, 'base' => $base,
                'maxrss_kib' => (int) $self['ru_maxrss'], 'children_maxrss_kib' => (int) $kids['ru_maxrss']];
            break;

        default:
            fail("unknown --mode={$o['mode']}");
    }
} catch (Throwable $e) {
    $msg = $e->getMessage();
    $result = ['ok' => false, 'error' => get_class($e) . ': ' . preg_replace('/\s+/', ' ', $msg)];
}
$result['sent_total'] = $sent;
file_put_contents($out, json_encode($result) . "\n");
exit($result['ok'] ? 0 : 1);
