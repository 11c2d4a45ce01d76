<?php

declare(strict_types=1);

namespace Smtpsock\Bridge\Laravel;

use Illuminate\Support\ServiceProvider;
use Smtpsock\Bridge\Symfony\SmtpsockTransportFactory;

/**
 * Adds the "smtpsock" (and "smtpsocks", implicit TLS) mail transport to
 * Laravel. A mailer in config/mail.php:
 *
 *   'smtpsock' => ['transport' => 'smtpsock', 'host' => ..., 'port' => ...,
 *                  'username' => ..., 'password' => ..., 'encryption' => ...,
 *                  'timeout' => ...],
 *   or ['transport' => 'smtpsock', 'url' => 'smtpsock://user:pass@host:587?security=starttls']
 *
 * Discovered through composer.json's extra.laravel.providers.
 */
class SmtpsockServiceProvider extends ServiceProvider
{
    public function register(): void
    {
        $this->callAfterResolving('mail.manager', static function ($manager): void {
            foreach (['smtpsock', 'smtpsocks'] as $transport) {
                $manager->extend($transport, static function (array $config) use ($transport) {
                    return SmtpsockTransportFactory::fromLaravelConfig($config + ['transport' => $transport]);
                });
            }
        });
    }
}
