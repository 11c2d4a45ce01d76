<?php
/*
 * Registration in a Symfony application (FrameworkBundle): import this file
 * from config/services.php, or copy the definition. The tag
 * "mailer.transport_factory" makes MAILER_DSN=smtpsock://... work.
 *
 *   // config/services.php
 *   return static function (ContainerConfigurator $container): void {
 *       $container->import(__DIR__ . '/../vendor/smtpsock/symfony-mailer/Resources/config/services.php');
 *   };
 */

use Smtpsock\Bridge\Symfony\SmtpsockTransportFactory;
use Symfony\Component\DependencyInjection\Loader\Configurator\ContainerConfigurator;

return static function (ContainerConfigurator $container): void {
    $container->services()
        ->set('mailer.transport_factory.smtpsock', SmtpsockTransportFactory::class)
            ->parent('mailer.transport_factory.abstract')
            ->tag('mailer.transport_factory');
};
