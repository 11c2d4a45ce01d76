<?php

/**
 * @generate-class-entries
 * @generate-legacy-arginfo 80200
 */

/**
 * Send a mail through SMTP: a drop-in for mail(), configured with the
 * smtpsock.* php.ini settings.
 */
function smtp_mail(string $to, string $subject, string $message, array|string $additional_headers = [], string $additional_params = ""): bool {}

/**
 * An SMTP client session over a PHP stream.
 * @strict-properties
 * @not-serializable
 */
final class SmtpSocket
{
    public function __construct(string $host = "localhost", int $port = 25, #[\SensitiveParameter] array $options = []) {}

    /** Connect and read the greeting; returns the greeting text. */
    public function connect(): string {}

    /** @return array<string, string> capabilities: keyword (upper case) => parameters */
    public function ehlo(?string $domain = null): array {}

    public function helo(?string $domain = null): string {}

    public function startTls(): void {}

    public function auth(string $username, #[\SensitiveParameter] string $password, ?string $mechanism = null): void {}

    public function mailFrom(string $sender, array $params = []): string {}

    public function rcptTo(string $recipient, array $params = []): string {}

    /** @param string|resource $message */
    public function data(mixed $message): string {}

    public function rset(): string {}

    public function vrfy(string $address): string {}

    public function noop(): string {}

    public function quit(): void {}

    /**
     * @param string|resource $message
     * @return array{accepted: list<string>, rejected: array<string, string>, reply: string, queue_id: ?string}
     */
    public function send(string $from, array|string $recipients, mixed $message, array $options = []): array {}

    /**
     * @param iterable<array> $messages each ['from' => string, 'to' => string|list<string>, 'message' => string|resource, 'options' => array]
     * @param array $options ['window' => int 1..1000, 'on_result' => callable(int|string $key, array $result): void]
     * @return array<int|string, array> each ['accepted', 'rejected', 'reply', 'queue_id', 'error' => ?Throwable]
     */
    public function sendMany(iterable $messages, array $options = []): array {}

    /** @return array<string, string> */
    public function getCapabilities(): array {}

    /** @return array{code: int, status: ?string, lines: list<string>}|null */
    public function getLastReply(): ?array {}

    public function isConnected(): bool {}
}

class SmtpSocketException extends RuntimeException
{
    private ?string $enhancedStatus = null;

    private ?array $reply = null;

    private array $rejected = [];

    public function getSmtpCode(): int {}

    public function getEnhancedStatus(): ?string {}

    public function getReply(): ?array {}

    /** @return array<string, string> every refused recipient known => the server's reply text */
    public function getRejected(): array {}
}
