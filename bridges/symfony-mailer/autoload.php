<?php
/*
 * Autoloader for smtpsock/symfony-mailer without Composer (with Composer,
 * its own autoloader does this from composer.json).
 *
 * It loads only this package's classes. Load Symfony Mailer first, in
 * whichever way your installation provides it:
 *   - Composer:  require 'vendor/autoload.php';
 *   - Debian:    require 'Symfony/Component/Mailer/autoload.php';  (php-symfony-mailer;
 *                /usr/share/php is on the default include_path)
 * and, for Laravel, Illuminate (Debian: require 'Illuminate/autoload.php').
 */

spl_autoload_register(static function (string $class): void {
    static $prefixes = [
        'Smtpsock\\Bridge\\Symfony\\' => __DIR__ . '/src/',
        'Smtpsock\\Bridge\\Laravel\\' => __DIR__ . '/src/Laravel/',
    ];
    foreach ($prefixes as $prefix => $dir) {
        if (strncmp($class, $prefix, strlen($prefix)) === 0) {
            $file = $dir . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
            if (is_file($file)) {
                require $file;
            }
            return;
        }
    }
});
