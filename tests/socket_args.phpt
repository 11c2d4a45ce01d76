--TEST--
SmtpSocket: argument and option validation (ValueError/TypeError), before anything is sent
--EXTENSIONS--
smtpsock
--FILE--
<?php
function t(callable $f) {
    try { $f(); echo "no error\n"; }
    catch (Throwable $e) { echo get_class($e), ": ", $e->getMessage(), "\n"; }
}
t(fn() => new SmtpSocket("", 25));
t(fn() => new SmtpSocket(" ; ", 25));
t(fn() => new SmtpSocket("a\r\nb", 25));
t(fn() => new SmtpSocket("localhost", 0));
t(fn() => new SmtpSocket("localhost", 65536));
t(fn() => new SmtpSocket("localhost", 25, ['nope' => 1]));
t(fn() => new SmtpSocket("localhost", 25, [0 => 1]));
t(fn() => new SmtpSocket("localhost", 25, ['timeout' => "3"]));
t(fn() => new SmtpSocket("localhost", 25, ['timeout' => 0]));
t(fn() => new SmtpSocket("localhost", 25, ['timeout' => -1.5]));
t(fn() => new SmtpSocket("localhost", 25, ['security' => 'maybe']));
t(fn() => new SmtpSocket("localhost", 25, ['security' => 1]));
t(fn() => new SmtpSocket("localhost", 25, ['pipelining' => 1]));
t(fn() => new SmtpSocket("localhost", 25, ['chunking' => 'yes']));
t(fn() => new SmtpSocket("localhost", 25, ['persistent' => null]));
t(fn() => new SmtpSocket("localhost", 25, ['logger' => 'no_such_function']));
t(fn() => new SmtpSocket("localhost", 25, ['context' => 'ctx']));
t(fn() => new SmtpSocket("localhost", 25, ['context' => fopen('php://memory', 'r')]));
t(fn() => new SmtpSocket("localhost", 25, ['helo' => "a b"]));
t(fn() => new SmtpSocket("localhost", 25, ['username' => "u\n"]));
t(fn() => new SmtpSocket("localhost", 25, ['auth' => [1]]));
t(fn() => new SmtpSocket("localhost", 25, ['timeout' => 2.5, 'security' => 'none', 'pipelining' => false,
    'chunking' => false, 'helo' => 'client.example', 'context' => stream_context_create(),
    'logger' => fn($d, $l) => null, 'auth' => ['PLAIN'], 'allow_insecure_auth' => false]));

// verbs validate their arguments before any connection is attempted (port 9 is discard: nothing listens)
$s = new SmtpSocket("127.0.0.1", 9, ['timeout' => 1]);
t(fn() => $s->mailFrom("a\r\nRSET"));
t(fn() => $s->mailFrom("a\0b"));
t(fn() => $s->mailFrom("<a@example.org>"));
t(fn() => $s->mailFrom("a@example.org", ['SIZE' => "1\r\n"]));
t(fn() => $s->mailFrom("a@example.org", ['BAD KEY' => 1]));
t(fn() => $s->mailFrom("a@example.org", ['BODY' => 1.5]));
t(fn() => $s->rcptTo(""));
t(fn() => $s->rcptTo("b@example.org\n"));
t(fn() => $s->vrfy(""));
t(fn() => $s->ehlo("bad name"));
t(fn() => $s->data(42));
t(fn() => $s->send("a@example.org", [], "x"));
t(fn() => $s->send("a@example.org", [1], "x"));
t(fn() => $s->send("a@example.org", ["b@example.org"], "x", ['nope' => []]));
t(fn() => $s->send("a@example.org", ["b@example.org"], "x", ['mail_params' => 'RET=HDRS']));
t(fn() => $s->send("a@example.org", "b@example.org\r\nRCPT TO:<c@example.org>", "x"));
var_dump($s->isConnected(), $s->getLastReply(), $s->getCapabilities());

// not clonable, not serializable, final
t(fn() => clone $s);
t(fn() => serialize($s));
$r = new ReflectionClass('SmtpSocket');
var_dump($r->isFinal());
t(fn() => $r->newInstanceWithoutConstructor()->noop());
t(fn() => $s->__construct("localhost"));
?>
--EXPECT--
ValueError: SmtpSocket::__construct(): Argument #1 ($host) must name at least one host
ValueError: SmtpSocket::__construct(): Argument #1 ($host) must name at least one host
ValueError: SmtpSocket::__construct(): Argument #1 ($host) must not contain CR, LF or NUL characters
ValueError: SmtpSocket::__construct(): Argument #2 ($port) must be between 1 and 65535
ValueError: SmtpSocket::__construct(): Argument #2 ($port) must be between 1 and 65535
ValueError: SmtpSocket::__construct(): Argument #3 ($options) contains unknown option "nope"
ValueError: SmtpSocket::__construct(): Argument #3 ($options) must be an array with string keys
TypeError: SmtpSocket::__construct(): Argument #3 ($options) option "timeout" must be of type float, string given
ValueError: SmtpSocket::__construct(): Argument #3 ($options) option "timeout" must be greater than 0 and at most 86400 seconds
ValueError: SmtpSocket::__construct(): Argument #3 ($options) option "timeout" must be greater than 0 and at most 86400 seconds
ValueError: SmtpSocket::__construct(): Argument #3 ($options) option "security" must be one of "auto", "starttls", "tls" or "none"
TypeError: SmtpSocket::__construct(): Argument #3 ($options) option "security" must be of type string, int given
TypeError: SmtpSocket::__construct(): Argument #3 ($options) option "pipelining" must be of type bool, int given
TypeError: SmtpSocket::__construct(): Argument #3 ($options) option "chunking" must be of type bool, string given
TypeError: SmtpSocket::__construct(): Argument #3 ($options) option "persistent" must be of type bool, null given
TypeError: SmtpSocket::__construct(): Argument #3 ($options) option "logger" must be a valid callback
TypeError: SmtpSocket::__construct(): Argument #3 ($options) option "context" must be a stream context resource, string given
TypeError: SmtpSocket::__construct(): Argument #3 ($options) option "context" must be a stream context resource, resource given
ValueError: SmtpSocket::__construct(): Argument #3 ($options) option "helo" must be a domain or address literal without spaces
ValueError: SmtpSocket::__construct(): Argument #3 ($options) option "username" must not contain CR, LF or NUL characters
TypeError: SmtpSocket::__construct(): Argument #3 ($options) option "auth" must list mechanism names as strings
no error
ValueError: SmtpSocket::mailFrom(): Argument #1 ($sender) must not contain CR, LF or NUL characters
ValueError: SmtpSocket::mailFrom(): Argument #1 ($sender) must not contain CR, LF or NUL characters
ValueError: SmtpSocket::mailFrom(): Argument #1 ($sender) must be a bare address, without angle brackets
ValueError: SmtpSocket::mailFrom(): Argument #2 ($params): the value of parameter "SIZE" must be printable ASCII without spaces or '='
ValueError: SmtpSocket::mailFrom(): Argument #2 ($params): invalid ESMTP keyword "BAD KEY"
TypeError: SmtpSocket::mailFrom(): Argument #2 ($params): parameter "BODY" must be of type string|int|bool|null, float given
ValueError: SmtpSocket::rcptTo(): Argument #1 ($recipient) must not be empty
ValueError: SmtpSocket::rcptTo(): Argument #1 ($recipient) must not contain CR, LF or NUL characters
ValueError: SmtpSocket::vrfy(): Argument #1 ($address) must not be empty
ValueError: SmtpSocket::ehlo(): Argument #1 ($domain) must be a domain or address literal without spaces
TypeError: SmtpSocket::data(): Argument #1 ($message) must be of type string or a stream resource, int given
ValueError: SmtpSocket::send(): Argument #2 ($recipients) must not be empty
TypeError: SmtpSocket::send(): Argument #2 ($recipients) must contain only strings, int found
ValueError: SmtpSocket::send(): Argument #4 ($options) contains unknown option "nope"
TypeError: SmtpSocket::send(): Argument #4 ($options) option "mail_params" must be of type array, string given
ValueError: SmtpSocket::send(): Argument #2 ($recipients) must not contain CR, LF or NUL characters
bool(false)
NULL
array(0) {
}
Error: Trying to clone an uncloneable object of class SmtpSocket
Exception: Serialization of 'SmtpSocket' is not allowed
bool(true)
ReflectionException: Class SmtpSocket is an internal class marked as final that cannot be instantiated without invoking its constructor
Error: SmtpSocket object is already constructed
