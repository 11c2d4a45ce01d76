<?php

declare(strict_types=1);

namespace Smtpsock\Bridge\Symfony;

use Symfony\Component\Mailer\Exception\InvalidArgumentException;
use Symfony\Component\Mailer\Exception\UnsupportedSchemeException;
use Symfony\Component\Mailer\Transport\AbstractTransportFactory;
use Symfony\Component\Mailer\Transport\Dsn;
use Symfony\Component\Mailer\Transport\TransportInterface;

/**
 * DSNs:
 *   smtpsock://user:pass@host:port?option=value   (port 25 by default)
 *   smtpsocks://user:pass@host:port               implicit TLS (port 465 by default)
 *   smtpsock://default                            everything from the smtpsock.* php.ini settings
 *
 * Options (query string): the SmtpSocket options a string can express
 * (security, timeout, helo, auth, allow_insecure_auth, persistent,
 * pipelining, chunking, busy_poll), TLS settings for its stream context
 * (verify_peer, verify_peer_name, cafile, capath, peer_name, ciphers),
 * local_domain (Symfony's name for helo) and rejected_recipients=fail|deliver.
 */
final class SmtpsockTransportFactory extends AbstractTransportFactory
{
    /** Query options => how the string is read. */
    private const SOCKET_OPTIONS = [
        'security' => 'string',
        'timeout' => 'float',
        'helo' => 'string',
        'local_domain' => 'string',
        'auth' => 'list',
        'allow_insecure_auth' => 'bool',
        'persistent' => 'bool',
        'pipelining' => 'bool',
        'chunking' => 'bool',
        'busy_poll' => 'int',
    ];

    /** Query options that go to the stream context's "ssl" options. */
    private const SSL_OPTIONS = [
        'verify_peer' => 'bool',
        'verify_peer_name' => 'bool',
        'allow_self_signed' => 'bool',
        'cafile' => 'string',
        'capath' => 'string',
        'peer_name' => 'string',
        'ciphers' => 'string',
    ];

    public function create(Dsn $dsn): TransportInterface
    {
        $scheme = $dsn->getScheme();
        if (!\in_array($scheme, $this->getSupportedSchemes(), true)) {
            throw new UnsupportedSchemeException($dsn, 'smtpsock', $this->getSupportedSchemes());
        }

        if ($dsn->getHost() === 'default') {
            [$host, $port, $options] = self::iniSettings();
        } else {
            $host = $dsn->getHost();
            $port = $dsn->getPort($scheme === 'smtpsocks' ? 465 : 25);
            $options = [];
            if ($dsn->getUser() !== null && $dsn->getUser() !== '') {
                $options['username'] = $dsn->getUser();
                $options['password'] = (string) $dsn->getPassword();
            }
        }
        if ($scheme === 'smtpsocks') {
            $options['security'] = 'tls';
        }

        $rejected = SmtpsockTransport::REJECTED_FAIL;
        $ssl = [];
        foreach (self::dsnOptions($dsn) as $name => $value) {
            if ($name === 'rejected_recipients') {
                $rejected = \is_string($value) ? $value : '';
                if (!\in_array($rejected, [SmtpsockTransport::REJECTED_FAIL, SmtpsockTransport::REJECTED_DELIVER], true)) {
                    throw new InvalidArgumentException(sprintf('rejected_recipients must be "fail" or "deliver", not "%s".', $rejected));
                }
                continue;
            }
            if (isset(self::SSL_OPTIONS[$name])) {
                $ssl[$name] = self::cast($name, $value, self::SSL_OPTIONS[$name]);
                continue;
            }
            if (!isset(self::SOCKET_OPTIONS[$name])) {
                throw new InvalidArgumentException(sprintf('Unknown smtpsock DSN option "%s".', $name));
            }
            $value = self::cast($name, $value, self::SOCKET_OPTIONS[$name]);
            if ($name === 'local_domain') {
                $name = 'helo';
            }
            if ($name === 'security' && $scheme === 'smtpsocks' && $value !== 'tls') {
                throw new InvalidArgumentException('smtpsocks:// is implicit TLS: security must be "tls" or left out.');
            }
            $options[$name] = $value;
        }
        if ($ssl) {
            $options['context'] = self::context($options['context'] ?? null, $ssl);
        }

        return new SmtpsockTransport($host, $port, $options, $rejected, $this->dispatcher, $this->logger);
    }

    protected function getSupportedSchemes(): array
    {
        return ['smtpsock', 'smtpsocks'];
    }

    /**
     * A transport from a Laravel mailer configuration: either "url" (a DSN)
     * or Laravel's smtp keys (host, port, username, password, encryption or
     * scheme, timeout, local_domain) plus any option of the DSN query string.
     */
    public static function fromLaravelConfig(array $config, ?self $factory = null): TransportInterface
    {
        $factory ??= new self();
        if (isset($config['url']) && \is_string($config['url']) && $config['url'] !== '') {
            return $factory->create(Dsn::fromString($config['url']));
        }
        $port = isset($config['port']) ? (int) $config['port'] : null;
        $encryption = strtolower((string) ($config['scheme'] ?? $config['encryption'] ?? ''));
        $implicit = \in_array($encryption, ['ssl', 'smtps', 'smtpsocks'], true)
            || ($encryption === 'tls' && $port === 465)
            || (($config['transport'] ?? '') === 'smtpsocks');
        $options = [];
        if ($encryption === 'tls' || $encryption === 'starttls') {
            if (!$implicit) {
                $options['security'] = 'starttls';
            }
        }
        $skip = ['transport', 'url', 'driver', 'host', 'port', 'username', 'password', 'encryption', 'scheme', 'name'];
        foreach ($config as $key => $value) {
            if (\in_array($key, $skip, true) || $value === null) {
                continue;
            }
            $options[$key] = \is_bool($value) ? ($value ? '1' : '0') : (string) $value;
        }
        $dsn = new Dsn(
            $implicit ? 'smtpsocks' : 'smtpsock',
            (string) ($config['host'] ?? 'localhost'),
            isset($config['username']) && $config['username'] !== '' ? (string) $config['username'] : null,
            isset($config['password']) ? (string) $config['password'] : null,
            $port,
            $options,
        );

        return $factory->create($dsn);
    }

    /**
     * host, port and SmtpSocket options from the smtpsock.* php.ini settings
     * (the ones smtp_mail() uses).
     *
     * @return array{0: string, 1: int, 2: array<string, mixed>}
     */
    public static function iniSettings(): array
    {
        $ini = static fn(string $name): string => (string) ini_get('smtpsock.' . $name);
        $options = [
            'security' => $ini('security') !== '' ? $ini('security') : 'auto',
            'timeout' => (float) ($ini('timeout') !== '' ? $ini('timeout') : 30),
        ];
        if ($ini('username') !== '') {
            $options['username'] = $ini('username');
            $options['password'] = $ini('password');
        }
        if ($ini('auth') !== '') {
            $options['auth'] = preg_split('/[\s,]+/', trim($ini('auth')), -1, \PREG_SPLIT_NO_EMPTY);
        }
        if ($ini('helo') !== '') {
            $options['helo'] = $ini('helo');
        }
        foreach (['allow_insecure_auth', 'persistent'] as $flag) {
            $options[$flag] = self::toBool($ini($flag));
        }
        $busy = $ini('busy_poll');
        if ($busy !== '') {
            $options['busy_poll'] = strtolower($busy) === 'off' ? 0 : (int) $busy;
        }
        if (!self::toBool($ini('verify_peer') !== '' ? $ini('verify_peer') : '1')) {
            $options['context'] = stream_context_create(['ssl' => ['verify_peer' => false, 'verify_peer_name' => false]]);
        }
        $host = $ini('host') !== '' ? $ini('host') : 'localhost';
        $port = (int) ($ini('port') !== '' ? $ini('port') : 25);

        return [$host, $port, $options];
    }

    /** @return array<string, mixed> the DSN's query options */
    private static function dsnOptions(Dsn $dsn): array
    {
        // Dsn has no accessor for all of its options (5.4 to 7.x); unknown names must be refused, not ignored
        $reflection = new \ReflectionProperty(Dsn::class, 'options');
        if (\PHP_VERSION_ID < 80100) {
            $reflection->setAccessible(true);
        }

        return (array) $reflection->getValue($dsn);
    }

    private static function cast(string $name, mixed $value, string $type): mixed
    {
        if (\is_array($value)) {
            throw new InvalidArgumentException(sprintf('smtpsock DSN option "%s" takes one value.', $name));
        }
        $value = (string) $value;
        switch ($type) {
            case 'bool':
                $b = filter_var($value, \FILTER_VALIDATE_BOOLEAN, \FILTER_NULL_ON_FAILURE);
                if ($b === null) {
                    throw new InvalidArgumentException(sprintf('smtpsock DSN option "%s" must be a boolean (1, 0, true, false, on, off, yes, no), not "%s".', $name, $value));
                }

                return $b;
            case 'int':
                if (strtolower($value) === 'off') {
                    return 0;
                }
                if (filter_var($value, \FILTER_VALIDATE_INT) === false) {
                    throw new InvalidArgumentException(sprintf('smtpsock DSN option "%s" must be an integer, not "%s".', $name, $value));
                }

                return (int) $value;
            case 'float':
                if (!is_numeric($value)) {
                    throw new InvalidArgumentException(sprintf('smtpsock DSN option "%s" must be a number, not "%s".', $name, $value));
                }

                return (float) $value;
            case 'list':
                return preg_split('/[\s,]+/', trim($value), -1, \PREG_SPLIT_NO_EMPTY);
            default:
                return $value;
        }
    }

    private static function toBool(string $value): bool
    {
        return (bool) filter_var($value, \FILTER_VALIDATE_BOOLEAN);
    }

    /** @param resource|null $context */
    private static function context($context, array $ssl)
    {
        if ($context === null) {
            return stream_context_create(['ssl' => $ssl]);
        }
        stream_context_set_option($context, ['ssl' => $ssl]);

        return $context;
    }
}
