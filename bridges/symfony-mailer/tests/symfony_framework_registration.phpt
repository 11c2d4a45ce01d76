--TEST--
Symfony Mailer bridge in a Symfony application: Resources/config/services.php loaded into a real DependencyInjection container registers the factory under the mailer.transport_factory tag, so the application's Transport (built from the tagged factories, as FrameworkBundle builds it) makes smtpsock:// transports that deliver
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php
require __DIR__ . '/symfony.inc';
if ($r = symfony_bridge_skip_reason()) die("skip $r");
if ($r = smtpsock_test_postfix_skip_reason()) die("skip $r");
if (stream_resolve_include_path('Symfony/Component/DependencyInjection/autoload.php') === false
    || stream_resolve_include_path('Symfony/Component/Config/autoload.php') === false) {
    die('skip Symfony DependencyInjection and Config are not installed (php-symfony-dependency-injection, php-symfony-config)');
}
?>
--FILE--
<?php
require __DIR__ . '/symfony.inc';
symfony_bridge_load();
require_once 'Symfony/Component/DependencyInjection/autoload.php';
require_once 'Symfony/Component/Config/autoload.php';

use Symfony\Component\Config\FileLocator;
use Symfony\Component\DependencyInjection\Argument\TaggedIteratorArgument;
use Symfony\Component\DependencyInjection\ContainerBuilder;
use Symfony\Component\DependencyInjection\Definition;
use Symfony\Component\DependencyInjection\Loader\PhpFileLoader;
use Symfony\Component\Mailer\Transport;
use Symfony\Component\Mime\Email;

$pf = smtpsock_test_postfix();

// what FrameworkBundle's mailer configuration provides: the abstract parent
// of every transport factory (dispatcher, HTTP client, logger) and a
// Transport made from every service tagged mailer.transport_factory
$c = new ContainerBuilder();
$c->setDefinition('mailer.transport_factory.abstract', (new Definition())->setAbstract(true)->setArguments([null, null, null]));
$c->setDefinition('mailer.transports_factory', (new Definition(Transport::class))
    ->setArguments([new TaggedIteratorArgument('mailer.transport_factory')])->setPublic(true));
(new PhpFileLoader($c, new FileLocator(dirname(__DIR__) . '/Resources/config')))->load('services.php');
echo "tagged: ", implode(',', array_keys($c->findTaggedServiceIds('mailer.transport_factory'))), "\n";
$c->compile();

$transport = $c->get('mailer.transports_factory')->fromString("smtpsock://{$pf['host']}:{$pf['port']}");
echo get_class($transport), " ", $transport, "\n";
$tok = smtpsock_test_token();
$sent = $transport->send((new Email())->from('app@example.com')->to('ann@example.org')->subject("registered $tok")->text("hello\n"));
echo "queue id as message id: ", $sent->getMessageId() !== '' && !str_contains($sent->getMessageId(), '@') ? 'yes' : 'no: ' . $sent->getMessageId(), "\n";
$m = smtpsock_test_wait_messages($pf['maildir'], $tok, 1);
echo "delivered: ", count($m), " to ", $m[0]['delivered_to'] ?? '?', "\n";
?>
--EXPECTF--
tagged: mailer.transport_factory.smtpsock
Smtpsock\Bridge\Symfony\SmtpsockTransport smtpsock://127.0.0.1:%d
queue id as message id: yes
delivered: 1 to ann@example.org
