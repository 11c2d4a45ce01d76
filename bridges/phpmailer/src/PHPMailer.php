<?php

declare(strict_types=1);

namespace Smtpsock\Bridge\PHPMailer;

use PHPMailer\PHPMailer\Exception;

/**
 * PHPMailer whose SMTP sending (isSMTP()) goes through the smtpsock
 * extension's SmtpSocket::send(): one pipelined transaction per message
 * (BDAT when the server offers CHUNKING), per-recipient results.
 *
 * Everything else is PHPMailer: composing, addresses, ErrorInfo,
 * exceptions, the action_function callback. Its SMTP settings (Host list,
 * Port, SMTPSecure, SMTPAutoTLS, SMTPAuth, Username, Password, AuthType,
 * Helo, Timeout, SMTPOptions, SMTPKeepAlive, dsn, SMTPDebug) are translated
 * into SmtpSocket options; the protocol is the extension's.
 */
class PHPMailer extends \PHPMailer\PHPMailer\PHPMailer
{
    private ?\SmtpSocket $smtpsock = null;

    /** Settings the open SmtpSocket was made with (a change makes a new one). */
    private ?string $smtpsockKey = null;

    private ?string $smtpsockTransactionId = null;

    /** Stream context options given to smtpConnect() (else SMTPOptions). */
    private ?array $smtpsockContextOptions = null;

    /**
     * The queue id the server gave the last message sent over SMTP, or null
     * (getSMTPInstance()->getLastTransactionID() gives the same).
     */
    public function getLastTransactionID(): ?string
    {
        return $this->smtpsockTransactionId;
    }

    /** The SmtpSocket in use (made from the current settings on first use). */
    public function getSmtpSocket(): \SmtpSocket
    {
        $contextOptions = $this->smtpsockContextOptions ?? $this->SMTPOptions;
        [$host, $port, $options] = $this->smtpsockSettings($contextOptions);
        $key = hash('sha256', serialize([$host, $port, array_diff_key($options, ['logger' => 1, 'context' => 1]),
            $contextOptions, $this->SMTPDebug > 0]));
        if ($this->smtpsock !== null && $this->smtpsockKey !== $key) {
            $this->smtpClose();
        }
        if ($this->smtpsock === null) {
            $this->smtpsock = new \SmtpSocket($host, $port, $options);
            $this->smtpsockKey = $key;
        }

        return $this->smtpsock;
    }

    /**
     * Connect (greeting) with the current settings; true when connected. With
     * exceptions enabled a failure throws, else it returns false and sets
     * ErrorInfo. The rest of the session set-up (EHLO, STARTTLS, AUTH)
     * happens with the first message.
     *
     * @param array|null $options stream context options (default: SMTPOptions)
     */
    public function smtpConnect($options = null)
    {
        // PHPMailer's own code reads $this->smtp after a failure (postSend()):
        // an SMTP object that never connects keeps it working
        if ($this->smtp === null) {
            $this->setSMTPInstance(new SmtpsockSMTP());
        }
        try {
            $this->smtpsockContextOptions = $options;   // a change makes a new SmtpSocket
            $socket = $this->getSmtpSocket();
            if (!$socket->isConnected()) {
                $socket->connect();
            }

            return true;
        } catch (\SmtpSocketException | \ValueError | \TypeError $e) {
            $this->smtpClose();
            $message = $this->lang('connect_host') . ' ' . $e->getMessage();
            $this->edebug($message);
            if ($this->exceptions) {
                throw new Exception($message, self::STOP_CRITICAL, $e);
            }
            $this->setError($message);

            return false;
        } catch (Exception $e) {
            $this->smtpClose();
            if ($this->exceptions) {
                throw $e;
            }
            $this->setError($e->getMessage());

            return false;
        }
    }

    /** QUIT and close the connection (SMTPKeepAlive users call this when done). */
    public function smtpClose()
    {
        $socket = $this->smtpsock;
        $this->smtpsock = null;
        $this->smtpsockKey = null;
        if ($socket !== null && $socket->isConnected()) {
            try {
                $socket->quit();
            } catch (\SmtpSocketException) {
                // closed either way
            }
        }
        parent::smtpClose();
    }

    /**
     * @param string $header The message headers
     * @param string $body   The message body
     *
     * @throws Exception
     *
     * @return bool
     */
    protected function smtpSend($header, $body)
    {
        $header = static::stripTrailingWSP($header) . static::$LE . static::$LE;
        if (!$this->smtpConnect($this->SMTPOptions)) {
            throw new Exception($this->lang('smtp_connect_failed') . ' ' . $this->ErrorInfo, self::STOP_CRITICAL);
        }
        $from = $this->Sender === '' ? $this->From : $this->Sender;
        $recipients = [];
        foreach ([$this->to, $this->cc, $this->bcc] as $group) {
            foreach ($group as $to) {
                $recipients[] = [$to[0], $to[1]];
            }
        }
        $options = [];
        if ($this->dsn !== '') {
            $options['rcpt_params'] = ['NOTIFY' => strtoupper($this->dsn)];
        }

        $this->smtpsockTransactionId = null;
        if ($this->smtp instanceof SmtpsockSMTP) {
            $this->smtp->setSmtpsockTransactionId(null);
        }
        $socket = $this->getSmtpSocket();
        try {
            $result = $socket->send($from, array_column($recipients, 0), $header . $body, $options);
        } catch (\SmtpSocketException $e) {
            $this->smtpsockDone();
            $rejected = $e->getRejected();
            if ($rejected) {
                // every recipient refused: PHPMailer sends no DATA and reports each
                $this->smtpsockCallbacks($recipients, $rejected, $body, null);
                throw new Exception($this->lang('recipients_failed') . $this->smtpsockRefusals($rejected), self::STOP_CONTINUE, $e);
            }
            $detail = $e->getMessage();
            if (preg_match('/^AUTH |offer AUTH|AUTH mechanism|send credentials/', $detail)) {
                throw new Exception($this->lang('authenticate') . ' ' . $detail, self::STOP_CRITICAL, $e);
            }
            if ($e->getSmtpCode() === 0) {
                throw new Exception($this->lang('smtp_connect_failed') . ' ' . $detail, self::STOP_CRITICAL, $e);
            }
            if (str_starts_with($detail, 'sender refused')) {
                throw new Exception($this->lang('from_failed') . $from . ' : ' . $detail, self::STOP_CRITICAL, $e);
            }
            throw new Exception($this->lang('data_not_accepted') . ' ' . $detail, self::STOP_CRITICAL, $e);
        } catch (\ValueError $e) {
            $this->smtpsockDone();
            throw new Exception($e->getMessage(), self::STOP_CRITICAL, $e);
        }
        $this->smtpsockTransactionId = $result['queue_id'];
        if ($this->smtp instanceof SmtpsockSMTP) {
            $this->smtp->setSmtpsockTransactionId($result['queue_id']);
        }
        $this->smtpsockDone();
        $this->smtpsockCallbacks($recipients, $result['rejected'], $body, $result['queue_id']);
        if ($result['rejected']) {
            throw new Exception($this->lang('recipients_failed') . $this->smtpsockRefusals($result['rejected']), self::STOP_CONTINUE);
        }

        return true;
    }

    /** After a message: keep the connection with SMTPKeepAlive, else QUIT. */
    private function smtpsockDone(): void
    {
        if (!$this->SMTPKeepAlive) {
            $this->smtpClose();
        }
    }

    private function smtpsockCallbacks(array $recipients, array $rejected, string $body, ?string $queueId): void
    {
        $refused = array_change_key_case($rejected, CASE_LOWER);
        foreach ($recipients as [$address, $name]) {
            $this->doCallback(
                !isset($rejected[$address]) && !isset($refused[strtolower($address)]),
                [[$address, $name]],
                [],
                [],
                $this->Subject,
                $body,
                $this->From,
                ['smtp_transaction_id' => $queueId]
            );
        }
    }

    private function smtpsockRefusals(array $rejected): string
    {
        $list = [];
        foreach ($rejected as $address => $reply) {
            $list[] = $address . ': ' . str_replace("\n", ' ', $reply);
        }

        return implode(', ', $list);
    }

    /**
     * PHPMailer's settings as SmtpSocket's host, port and options.
     *
     * @return array{0: string, 1: int, 2: array<string, mixed>}
     */
    private function smtpsockSettings(array $contextOptions): array
    {
        $hosts = [];
        $security = null;
        $port = (int) $this->Port;
        foreach (explode(';', (string) ($this->Host ?? 'localhost')) as $entry) {
            if (!preg_match('/^(?:(ssl|tls):\/\/)?(.+?)(?::(\d+))?$/', trim($entry), $m)) {
                $this->edebug($this->lang('invalid_hostentry') . ' ' . trim($entry));
                continue;
            }
            $name = $m[2];
            if (!static::isValidHost($name)) {
                $this->edebug($this->lang('invalid_host') . ' ' . $name);
                continue;
            }
            $entryPort = isset($m[3]) && $m[3] !== '' && (int) $m[3] > 0 && (int) $m[3] < 65536 ? (int) $m[3] : $port;
            if (str_contains($name, ':') && $name[0] !== '[') {
                $name = '[' . $name . ']';   // IPv6 address
            }
            if ($m[1] === 'ssl' || ($m[1] === '' && $this->SMTPSecure === static::ENCRYPTION_SMTPS)) {
                $hosts[] = 'tls://' . $name . ':' . $entryPort;   // implicit TLS
                continue;
            }
            if ($m[1] === 'tls' || $this->SMTPSecure === static::ENCRYPTION_STARTTLS) {
                $mode = 'starttls';
            } elseif ($this->SMTPAutoTLS && $this->Host !== 'localhost') {
                $mode = 'auto';   // PHPMailer: STARTTLS when offered, except to "localhost"
            } else {
                $mode = 'none';
            }
            if ($security !== null && $security !== $mode) {
                throw new Exception('smtpsock: the hosts in Host need different STARTTLS settings ('
                    . $security . ', ' . $mode . '); use one setting for all of them', self::STOP_CRITICAL);
            }
            $security = $mode;
            $hosts[] = $name . ':' . $entryPort;
        }
        if (!$hosts) {
            throw new Exception($this->lang('connect_host') . ' ' . $this->lang('invalid_host') . ' ' . $this->Host, self::STOP_CRITICAL);
        }

        $options = [
            'timeout' => (float) $this->Timeout,
            'security' => $security ?? 'tls',
        ];
        if ($this->Helo !== '') {
            $options['helo'] = $this->Helo;
        }
        if ($this->SMTPAuth) {
            $options['username'] = (string) $this->Username;
            $options['password'] = (string) $this->Password;
            if ($this->AuthType !== '') {
                $options['auth'] = strtoupper($this->AuthType);
                if ($options['auth'] === 'XOAUTH2' && $this->oauth !== null) {
                    $options['password'] = $this->smtpsockBearerToken();
                }
            }
        }
        if ($contextOptions) {
            $options['context'] = stream_context_create($contextOptions);
        }
        if ($this->SMTPDebug > 0) {
            $self = \WeakReference::create($this);   // no reference cycle through the SmtpSocket
            $level = (int) $this->SMTPDebug;
            $options['logger'] = static function (string $direction, string $line) use ($self, $level): void {
                $mailer = $self->get();
                if ($mailer === null) {
                    return;
                }
                if ($direction === '>') {
                    $mailer->edebug('CLIENT -> SERVER: ' . $line);
                } elseif ($level >= 2) {
                    $mailer->edebug('SERVER -> CLIENT: ' . $line);
                }
            };
        }

        return [implode(';', $hosts), $port, $options];
    }

    /** The bearer token of PHPMailer's OAuth provider (its getOauth64() is the whole XOAUTH2 string). */
    private function smtpsockBearerToken(): string
    {
        $raw = base64_decode((string) $this->oauth->getOauth64(), true);
        if ($raw !== false && preg_match('/\x01auth=Bearer ([^\x01]+)\x01/', $raw, $m)) {
            return $m[1];
        }
        throw new Exception($this->lang('authenticate') . ' (no bearer token from the OAuth provider)', self::STOP_CRITICAL);
    }
}
