--TEST--
smtp_mail(): additional headers validated as mail() validates them, plus no bare LF/CR; injection refused before anything is sent
--EXTENSIONS--
smtpsock
--INI--
sendmail_path=/bin/false
smtpsock.from=sender@example.com
--FILE--
<?php
require __DIR__ . '/inc/smtpsock_test.inc';
// a server that must never be spoken to: any connection shows in its transcript
$srv = smtpsock_test_scripted([['send' => "554 5.7.0 this test must not connect\r\n"]]);
ini_set('smtpsock.host', "127.0.0.1:{$srv->port}");
ini_set('smtpsock.timeout', '2');

function both(array|string $h): void {
    foreach (['mail', 'smtp_mail'] as $fn) {
        try { $r = @$fn('ann@example.org', 'subject', 'body', $h); echo "$fn: ", var_export($r, true), "\n"; }
        catch (Throwable $e) { echo "$fn: ", get_class($e), ": ", $e->getMessage(), "\n"; }
    }
}
// array form: the same errors as mail()
both(['X-Bad Name' => 'x']);
both([0 => 'x']);
both(['To' => 'x@example.org']);
both(['Subject' => 'x']);
both(['X-A' => "a\r\nBcc: victim@example.org"]);
both(['X-A' => "a\rb"]);
both(['X-A' => "a\0b"]);
both(['X-A' => 1.5]);
both(['X-A' => ['k' => 'v']]);
both(['X-A' => [1]]);
// smtp_mail() refuses what mail() lets through: LF folding and bare LF in values
both(['X-A' => "folded\n continued"]);
both(['X-A' => ["ok", "bad\nBcc: victim@example.org"]]);
// string form: NUL is a ValueError in both
both("X-A: a\0b");

// the rest are false + warning from smtp_mail(), before any connection
function one(...$args): void {
    set_error_handler(function ($no, $str) { echo "warning: $str\n"; return true; });
    var_dump(smtp_mail(...$args));
    restore_error_handler();
}
one('ann@example.org', 'subject', 'body', "X-A: a\r\n\r\nInjected body");
one('ann@example.org', 'subject', 'body', "X-A: a\n\nInjected body");
one('ann@example.org', 'subject', 'body', "X-A: a\rBcc: victim@example.org");
one('ann@example.org', 'subject', 'body', "X-A: a\r\nnot a header line");
one('ann@example.org', 'subject', 'body', " leading continuation: x");
one('ann@example.org', 'subject', 'body', "Bcc: victim@example.org, (unclosed");
one("ann@example.org\r\nBcc: victim@example.org", 'subject', 'body');
one("ann@example.org\nBcc: victim@example.org", 'subject', 'body');
one('ann@example.org', "subject\r\nBcc: victim@example.org", 'body');
one('ann@example.org', "subject\rX: y", 'body');
one('"unclosed <ann@example.org>', 'subject', 'body');
one('', 'subject', 'body');
ini_set('smtpsock.from', '');
one('ann@example.org', 'subject', 'body');
try { smtp_mail("ann@example.org\0", 's', 'b'); } catch (ValueError $e) { echo $e->getMessage(), "\n"; }
try { smtp_mail('ann@example.org', 's', "b\0dy"); } catch (ValueError $e) { echo $e->getMessage(), "\n"; }

usleep(200000);
var_dump($srv->transcript());
?>
--EXPECT--
mail: ValueError: Header name "X-Bad Name" contains invalid characters
smtp_mail: ValueError: Header name "X-Bad Name" contains invalid characters
mail: TypeError: Header name cannot be numeric, 0 given
smtp_mail: TypeError: Header name cannot be numeric, 0 given
mail: ValueError: The additional headers cannot contain the "To" header
smtp_mail: ValueError: The additional headers cannot contain the "To" header
mail: ValueError: The additional headers cannot contain the "Subject" header
smtp_mail: ValueError: The additional headers cannot contain the "Subject" header
mail: ValueError: Header "X-A" contains CRLF characters that are used as a line separator and are not allowed in the header
smtp_mail: ValueError: Header "X-A" contains CRLF characters that are used as a line separator and are not allowed in the header
mail: ValueError: Header "X-A" contains CR character that is not allowed in the header
smtp_mail: ValueError: Header "X-A" contains CR character that is not allowed in the header
mail: ValueError: Header "X-A" contains NULL character that is not allowed in the header
smtp_mail: ValueError: Header "X-A" contains NULL character that is not allowed in the header
mail: TypeError: Header "X-A" must be of type array|string, float given
smtp_mail: TypeError: Header "X-A" must be of type array|string, float given
mail: TypeError: Header "X-A" must only contain numeric keys, "k" found
smtp_mail: TypeError: Header "X-A" must only contain numeric keys, "k" found
mail: TypeError: Header "X-A" must only contain values of type string, int found
smtp_mail: TypeError: Header "X-A" must only contain values of type string, int found
mail: false
smtp_mail: ValueError: Header "X-A" contains LF character that is not allowed in the header
mail: ValueError: Header "X-A" contains LF character that is not allowed in the header
smtp_mail: ValueError: Header "X-A" contains LF character that is not allowed in the header
mail: ValueError: mail(): Argument #4 ($additional_headers) must not contain any null bytes
smtp_mail: ValueError: smtp_mail(): Argument #4 ($additional_headers) must not contain any null bytes
warning: smtp_mail(): Multiple or malformed newlines found in additional_header: every line must be a "Name: value" field or its folded continuation; refused (header injection)
bool(false)
warning: smtp_mail(): Multiple or malformed newlines found in additional_header: every line must be a "Name: value" field or its folded continuation; refused (header injection)
bool(false)
warning: smtp_mail(): Multiple or malformed newlines found in additional_header: every line must be a "Name: value" field or its folded continuation; refused (header injection)
bool(false)
warning: smtp_mail(): Multiple or malformed newlines found in additional_header: every line must be a "Name: value" field or its folded continuation; refused (header injection)
bool(false)
warning: smtp_mail(): Multiple or malformed newlines found in additional_header: every line must be a "Name: value" field or its folded continuation; refused (header injection)
bool(false)
warning: smtp_mail(): The Bcc header is not a valid address list
bool(false)
warning: smtp_mail(): The to argument contains a CR or LF character that is not folding; refused (header injection)
bool(false)
warning: smtp_mail(): The to argument contains a CR or LF character that is not folding; refused (header injection)
bool(false)
warning: smtp_mail(): The subject argument contains a CR or LF character that is not folding; refused (header injection)
bool(false)
warning: smtp_mail(): The subject argument contains a CR or LF character that is not folding; refused (header injection)
bool(false)
warning: smtp_mail(): The to argument is not a valid address list: ""unclosed <ann@example.org>"
bool(false)
warning: smtp_mail(): No recipient: the to argument and the Cc/Bcc headers name no address
bool(false)
warning: smtp_mail(): No envelope sender: pass "-f address", or set smtpsock.from, sendmail_from or a From: header
bool(false)
smtp_mail(): Argument #1 ($to) must not contain any null bytes
smtp_mail(): Argument #3 ($message) must not contain any null bytes
string(0) ""
