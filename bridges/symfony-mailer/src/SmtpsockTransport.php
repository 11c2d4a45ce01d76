<?php

declare(strict_types=1);

namespace Smtpsock\Bridge\Symfony;

use Psr\EventDispatcher\EventDispatcherInterface;
use Psr\Log\LoggerInterface;
use Symfony\Component\Mailer\Exception\InvalidArgumentException;
use Symfony\Component\Mailer\Exception\TransportException;
use Symfony\Component\Mailer\SentMessage;
use Symfony\Component\Mailer\Transport\AbstractTransport;

/**
 * A Symfony Mailer transport that sends through the smtpsock extension's
 * SmtpSocket. One SmtpSocket per transport object: a long-running worker
 * reuses its connection (the extension notices a relay that closed an idle
 * connection and sends on a new one).
 *
 * This class only translates: the envelope and the message bytes go to
 * SmtpSocket::send(); its result and exceptions come back as Symfony's
 * SentMessage and TransportException.
 */
final class SmtpsockTransport extends AbstractTransport
{
    public const REJECTED_FAIL = 'fail';
    public const REJECTED_DELIVER = 'deliver';

    private \SmtpSocket $socket;

    /** Transcript lines of the current message, filled by SmtpSocket's logger. */
    private \ArrayObject $transcript;

    private string $host;
    private int $port;
    private bool $implicitTls;
    private string $rejectedRecipients;

    /**
     * @param string $host    as SmtpSocket's $host: a name, an address, tls://host, or a ";" list
     * @param array  $options SmtpSocket constructor options (not "logger": the transport sets its own);
     *                        they stay inside the SmtpSocket (no copy here that a dump could show)
     * @param string $rejectedRecipients "fail" (all or nothing, the default) or "deliver"
     */
    public function __construct(
        string $host = 'localhost',
        int $port = 25,
        #[\SensitiveParameter] array $options = [],
        string $rejectedRecipients = self::REJECTED_FAIL,
        ?EventDispatcherInterface $dispatcher = null,
        ?LoggerInterface $logger = null,
    ) {
        if (!class_exists(\SmtpSocket::class, false)) {
            throw new \LogicException('The smtpsock extension is not loaded (extension=smtpsock in php.ini).');
        }
        if (!\in_array($rejectedRecipients, [self::REJECTED_FAIL, self::REJECTED_DELIVER], true)) {
            throw new InvalidArgumentException(sprintf('rejected_recipients must be "fail" or "deliver", not "%s".', $rejectedRecipients));
        }
        if (isset($options['logger'])) {
            throw new InvalidArgumentException('The "logger" option is set by the transport itself (its debug transcript).');
        }
        $transcript = $this->transcript = new \ArrayObject();   // the logger holds this, not $this: no reference cycle
        $options['logger'] = static function (string $direction, string $line) use ($transcript): void {
            $transcript[] = $direction . ' ' . $line;
        };
        try {
            $this->socket = new \SmtpSocket($host, $port, $options);
        } catch (\ValueError|\TypeError $e) {
            throw new InvalidArgumentException('smtpsock: ' . $e->getMessage(), 0, $e);
        }
        $this->host = $host;
        $this->port = $port;
        $this->implicitTls = ($options['security'] ?? null) === 'tls';
        $this->rejectedRecipients = $rejectedRecipients;
        parent::__construct($dispatcher, $logger);
    }

    public function getHost(): string
    {
        return $this->host;
    }

    public function getPort(): int
    {
        return $this->port;
    }

    public function getRejectedRecipients(): string
    {
        return $this->rejectedRecipients;
    }

    /** The SmtpSocket of this transport. */
    public function getSmtpSocket(): \SmtpSocket
    {
        return $this->socket;
    }

    /** Close the connection (QUIT); the next message opens a new one. */
    public function stop(): void
    {
        try {
            if ($this->socket->isConnected()) {
                $this->socket->quit();
            }
        } catch (\SmtpSocketException) {
            // the connection is gone either way
        }
    }

    public function __toString(): string
    {
        $scheme = $this->implicitTls ? 'smtpsocks' : 'smtpsock';
        $host = $this->host;
        if (str_contains($host, ':') && !str_contains($host, ';') && !str_starts_with($host, '[') && !str_contains($host, '://')) {
            $host = '[' . $host . ']';   // an IPv6 address
        }

        return sprintf('%s://%s:%d', $scheme, $host, $this->port);
    }

    protected function doSend(SentMessage $message): void
    {
        $envelope = $message->getEnvelope();
        $from = $envelope->getSender()->getAddress();
        $recipients = [];
        foreach ($envelope->getRecipients() as $address) {
            $recipients[] = $address->getAddress();
        }
        $options = [];
        if ($this->rejectedRecipients === self::REJECTED_FAIL) {
            $options['atomic'] = true;
        }

        $this->transcript->exchangeArray([]);
        try {
            $result = $this->socket->send($from, $recipients, $message->toString(), $options);
        } catch (\SmtpSocketException $e) {
            $exception = $this->translate($e);
            $exception->appendDebug($this->takeTranscript());
            throw $exception;
        } catch (\ValueError $e) {
            // an address or option SmtpSocket cannot send (CR/LF, invalid UTF-8)
            $exception = new TransportException($e->getMessage(), 0, $e);
            $exception->appendDebug($this->takeTranscript());
            throw $exception;
        }
        $message->appendDebug($this->takeTranscript());

        if ($result['queue_id'] !== null && $result['queue_id'] !== '') {
            $message->setMessageId($result['queue_id']);
        }
        foreach ($result['rejected'] as $address => $reply) {
            $this->getLogger()->warning('smtpsock: recipient {recipient} refused: {reply}', [
                'recipient' => $address,
                'reply' => $reply,
                'transport' => (string) $this,
            ]);
        }
    }

    private function takeTranscript(): string
    {
        $lines = $this->transcript->getArrayCopy();
        $this->transcript->exchangeArray([]);

        return $lines ? implode("\n", $lines) . "\n" : '';
    }

    private function translate(\SmtpSocketException $e): TransportException
    {
        $message = $e->getMessage();
        $rejected = $e->getRejected();
        if ($rejected) {
            $list = [];
            foreach ($rejected as $address => $reply) {
                $list[] = $address . ': ' . str_replace("\n", ' ', $reply);
            }
            $message .= ' (refused: ' . implode('; ', $list) . ')';
        }
        $code = $e->getSmtpCode();
        // Symfony Mailer 6.1+ has UnexpectedResponseException for a reply it did not expect
        $class = $code !== 0 && class_exists(\Symfony\Component\Mailer\Exception\UnexpectedResponseException::class)
            ? \Symfony\Component\Mailer\Exception\UnexpectedResponseException::class
            : TransportException::class;

        return new $class($message, $code, $e);
    }
}
