--TEST--
INI: smtpsock.* settings are validated, typed, shown by phpinfo() with the password masked
--EXTENSIONS--
smtpsock
--INI--
smtpsock.password=s3cret-Pa55
--FILE--
<?php
foreach ([
    ['smtpsock.port', '0'], ['smtpsock.port', '70000'], ['smtpsock.port', '587'],
    ['smtpsock.security', 'sometimes'], ['smtpsock.security', 'STARTTLS'], ['smtpsock.security', 'none'],
    ['smtpsock.timeout', '0'], ['smtpsock.timeout', '-2'], ['smtpsock.timeout', '2.5'],
    ['smtpsock.host', ''], ['smtpsock.host', "a\nb"], ['smtpsock.host', 'relay.example;[::1]:2525;tls://smtp.example:465'],
    ['smtpsock.helo', "x\r\ny"], ['smtpsock.from', 'bounce@example.org'],
    ['smtpsock.override_mail', '1'],
] as [$k, $v]) {
    $old = ini_set($k, $v);
    printf("%s=%s -> %s (now %s)\n", $k, json_encode($v), $old === false ? 'refused' : 'ok', ini_get($k));
}
ob_start();
phpinfo(INFO_MODULES);
$info = ob_get_clean();
var_dump(str_contains($info, 's3cret'), str_contains($info, 'smtpsock.password => ********'));
var_dump(preg_match('/^Version => \d+\.\d+\.\d+$/m', $info), str_contains($info, 'TLS (STARTTLS, implicit TLS) => available'));
var_dump(array_key_exists('smtpsock.override_mail', ini_get_all('smtpsock')));
?>
--EXPECT--
smtpsock.port="0" -> refused (now 25)
smtpsock.port="70000" -> refused (now 25)
smtpsock.port="587" -> ok (now 587)
smtpsock.security="sometimes" -> refused (now auto)
smtpsock.security="STARTTLS" -> ok (now STARTTLS)
smtpsock.security="none" -> ok (now none)
smtpsock.timeout="0" -> refused (now 30)
smtpsock.timeout="-2" -> refused (now 30)
smtpsock.timeout="2.5" -> ok (now 2.5)
smtpsock.host="" -> refused (now localhost)
smtpsock.host="a\nb" -> refused (now localhost)
smtpsock.host="relay.example;[::1]:2525;tls:\/\/smtp.example:465" -> ok (now relay.example;[::1]:2525;tls://smtp.example:465)
smtpsock.helo="x\r\ny" -> refused (now )
smtpsock.from="bounce@example.org" -> ok (now bounce@example.org)
smtpsock.override_mail="1" -> refused (now 0)
bool(false)
bool(true)
int(1)
bool(true)
bool(true)
