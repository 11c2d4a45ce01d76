--TEST--
Laravel bridge: a Laravel 13 application context (Illuminate container, config, Mail facade, no HTTP) discovers SmtpsockServiceProvider through vendor/composer/installed.json; a Mailable sent through a mailer with transport => smtpsock (Laravel's smtp keys; encryption tls and ssl with AUTH) arrives; a mailer with a url (STARTTLS + AUTH, test CA) too; a refusal is Symfony's exception
--EXTENSIONS--
smtpsock
--SKIPIF--
<?php
require __DIR__ . '/symfony.inc';
if ($r = symfony_bridge_skip_reason()) die("skip $r");
if (stream_resolve_include_path('Illuminate/autoload.php') === false) die('skip Laravel is not installed (php-laravel-framework, Debian sid)');
if ($r = smtpsock_test_postfix_skip_reason()) die("skip $r");
if ($r = smtpsock_test_postfix_tls_skip_reason()) die("skip $r");
?>
--FILE--
<?php
require __DIR__ . '/symfony.inc';
require_once 'Illuminate/autoload.php';
symfony_bridge_load();

use Illuminate\Mail\Mailable;
use Illuminate\Mail\Mailables\Content;
use Illuminate\Mail\Mailables\Envelope;
use Illuminate\Support\Facades\Mail;

final class WeeklyReport extends Mailable
{
    public function __construct(public string $token) {}

    public function envelope(): Envelope
    {
        return new Envelope(subject: "Wöchentlicher Bericht {$this->token}");
    }

    public function content(): Content
    {
        return new Content(view: 'report', text: 'report_text');
    }
}

$pf = smtpsock_test_postfix();
$tls = smtpsock_test_postfix_tls();

// a throw-away application folder: views, and vendor/composer/installed.json
// listing this package the way Composer would (package discovery)
$base = smtpsock_test_mkdtemp('smtpsock-laravel-');
register_shutdown_function(fn() => smtpsock_test_rmtree($base));
foreach (['vendor/composer', 'bootstrap/cache', 'resources/views', 'storage/views'] as $d) {
    mkdir("$base/$d", 0777, true);
}
$package = json_decode((string) file_get_contents(dirname(__DIR__) . '/composer.json'), true);
file_put_contents("$base/vendor/composer/installed.json", json_encode(['packages' => [$package + ['version' => 'dev-main']]]));
file_put_contents("$base/resources/views/report.php", "<p>All green: <b><?= e(\$token) ?></b> ✓</p>\n");
file_put_contents("$base/resources/views/report_text.php", "All green: <?= \$token ?>\n");

$app = new Illuminate\Foundation\Application($base);
$app->instance('config', new Illuminate\Config\Repository([
    'app' => ['name' => 'smtpsock test', 'env' => 'testing', 'debug' => false, 'providers' => [
        Illuminate\Filesystem\FilesystemServiceProvider::class,
        Illuminate\View\ViewServiceProvider::class,
        Illuminate\Mail\MailServiceProvider::class,
    ]],
    'view' => ['paths' => ["$base/resources/views"], 'compiled' => "$base/storage/views"],
    'mail' => [
        'default' => 'relay',
        'mailers' => [
            'relay' => ['transport' => 'smtpsock', 'host' => $pf['host'], 'port' => $pf['port'], 'username' => null,
                        'password' => null, 'encryption' => null, 'timeout' => 10],
            'starttls' => ['transport' => 'smtpsock', 'host' => $tls['host'], 'port' => $tls['port'], 'username' => $tls['user'],
                           'password' => $tls['password'], 'encryption' => 'tls', 'timeout' => 10, 'cafile' => $tls['ca']],
            'implicit' => ['transport' => 'smtpsock', 'host' => $tls['host'], 'port' => $tls['smtps_port'], 'username' => $tls['user'],
                           'password' => $tls['password'], 'encryption' => 'ssl', 'timeout' => 10, 'cafile' => $tls['ca']],
            'submission' => ['transport' => 'smtpsock', 'url' => sprintf('smtpsock://%s:%s@%s:%d?security=starttls&cafile=%s',
                rawurlencode($tls['user']), rawurlencode($tls['password']), $tls['host'], $tls['port'], rawurlencode($tls['ca']))],
        ],
        'from' => ['address' => 'app@example.com', 'name' => 'Laravel App'],
    ],
]));
Illuminate\Support\Facades\Facade::setFacadeApplication($app);
$app->registerConfiguredProviders();
$app->boot();
echo "Laravel ", explode('.', $app->version())[0], "\n";
echo "provider discovered: ", $app->getProvider(Smtpsock\Bridge\Laravel\SmtpsockServiceProvider::class) ? 'yes' : 'no', "\n";
echo "relay transport: ", get_class(Mail::mailer('relay')->getSymfonyTransport()), " ", Mail::mailer('relay')->getSymfonyTransport(), "\n";

$tok = smtpsock_test_token();
$sent = Mail::to('ann@example.org')->cc('bob@example.org')->send(new WeeklyReport($tok));
$msgs = smtpsock_test_wait_messages($pf['maildir'], $tok, 2);
echo "delivered to ", implode(',', array_map(fn($m) => $m['delivered_to'], $msgs)), " from ", $msgs[0]['return_path'], "\n";
$m = $msgs[0];
echo "From: ", smtpsock_test_header($m, 'From')[0], "\n";
echo "Subject: ", iconv_mime_decode(smtpsock_test_header($m, 'Subject')[0], 0, 'UTF-8') === "Wöchentlicher Bericht $tok" ? 'ok' : 'wrong', "\n";
echo "text and html parts: ", str_contains($m['raw'], "All green: $tok") && str_contains($m['raw'], 'text/html') ? 'yes' : 'no', "\n";
preg_match('/\bid ([0-9A-Za-z]+)/', implode(' ', smtpsock_test_header($m, 'Received')), $rid);
echo "getMessageId() is the queue id: ", $sent->getMessageId() === ($rid[1] ?? '?') ? 'yes' : 'no: ' . $sent->getMessageId(), "\n";
echo "byte-exact: ", symfony_bridge_strip_trace($m['raw']) === str_replace("\r\n", "\n", $sent->getSymfonySentMessage()->toString()) ? 'yes' : 'no', "\n";

// the url mailer: STARTTLS + AUTH
$tok = smtpsock_test_token();
Mail::mailer('submission')->to('carol@example.org')->send(new WeeklyReport($tok));
$m = smtpsock_test_wait_messages($tls['maildir'], $tok, 1)[0];
echo "submission: delivered, authenticated over TLS: ",
    preg_match('/using TLSv1\.[23].*Authenticated sender/s', implode(' ', smtpsock_test_header($m, 'Received'))) ? 'yes' : 'no', "\n";

// Laravel's smtp keys with encryption: tls = STARTTLS, ssl = implicit TLS
foreach (['starttls', 'implicit'] as $mailer) {
    $tok = smtpsock_test_token();
    $sent = Mail::mailer($mailer)->to('dave@example.org')->send(new WeeklyReport($tok));
    $m = smtpsock_test_wait_messages($tls['maildir'], $tok, 1)[0];
    $debug = $sent->getSymfonySentMessage()->getDebug();
    echo "$mailer: ", Mail::mailer($mailer)->getSymfonyTransport(), ", STARTTLS sent: ", str_contains($debug, '> STARTTLS') ? 'yes' : 'no',
        ", authenticated over TLS: ", preg_match('/using TLSv1\.[23].*Authenticated sender/s', implode(' ', smtpsock_test_header($m, 'Received'))) ? 'yes' : 'no',
        ", password in debug: ", str_contains($debug, $tls['password']) ? 'yes' : 'no', "\n";
}

// a refused recipient: all or nothing, Symfony's exception
try {
    Mail::to(['ann@example.org', 'reject-1@example.org'])->send(new WeeklyReport(smtpsock_test_token()));
    echo "refusal: sent?!\n";
} catch (Symfony\Component\Mailer\Exception\TransportExceptionInterface $e) {
    echo "refusal: ", get_class($e), " ", $e->getCode(), "\n";
}
?>
--EXPECTF--
Laravel 13
provider discovered: yes
relay transport: Smtpsock\Bridge\Symfony\SmtpsockTransport smtpsock://127.0.0.1:%d
delivered to ann@example.org,bob@example.org from app@example.com
From: Laravel App <app@example.com>
Subject: ok
text and html parts: yes
getMessageId() is the queue id: yes
byte-exact: yes
submission: delivered, authenticated over TLS: yes
starttls: smtpsock://127.0.0.1:%d, STARTTLS sent: yes, authenticated over TLS: yes, password in debug: no
implicit: smtpsocks://127.0.0.1:%d, STARTTLS sent: no, authenticated over TLS: yes, password in debug: no
refusal: Symfony\Component\Mailer\Exception\UnexpectedResponseException 550
