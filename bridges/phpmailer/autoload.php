<?php
/*
 * Autoloader for smtpsock/phpmailer without Composer. Load PHPMailer's own
 * autoloader first:
 *   - Composer:  require 'vendor/autoload.php';
 *   - Debian:    require 'libphp-phpmailer/autoload.php';  (libphp-phpmailer;
 *                /usr/share/php is on the default include_path)
 * then this file.
 */

spl_autoload_register(static function (string $class): void {
    $prefix = 'Smtpsock\\Bridge\\PHPMailer\\';
    if (strncmp($class, $prefix, strlen($prefix)) === 0) {
        $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
