<?php
/*
 * Regenerate or check package.xml (PEAR package 2.0) for the PECL release.
 *
 *   php scripts/package-xml.php          write package.xml
 *   php scripts/package-xml.php --check  compare the shipped files with the
 *                                        committed package.xml; exit 1 and
 *                                        list every difference
 *
 * The shipped files are what git knows about (tracked, plus untracked files
 * that .gitignore does not exclude), minus the development-only paths in
 * EXCLUDE. Version: PHP_SMTPSOCK_VERSION in php_smtpsock.h. Release notes
 * and the changelog section: CHANGELOG.md.
 *
 * --check also verifies that every C source of the extension is named in
 * both config.m4 and config.w32, and that package.xml's version matches the
 * header.
 *
 * Needs only the PHP CLI (no XML extension) and git.
 */

declare(strict_types=1);

const PACKAGE = 'smtpsock';
const CHANNEL = 'pecl.php.net';
const SUMMARY = 'Send mail over SMTP from PHP: a mail() drop-in and an SMTP client class';
const DESCRIPTION = <<<'TXT'
smtpsock sends mail over SMTP on hosts where mail() cannot work because
there is no sendmail binary (containers, shared hosting, Windows without a
local relay). The SMTP protocol is implemented in C and runs over PHP
streams, so TLS, stream contexts and timeouts come from PHP itself.
smtp_mail() has the signature of mail() and is configured in php.ini;
smtpsock.override_mail=1 routes mail() itself through it. The SmtpSocket
class offers every SMTP verb as a method and a send() that uses PIPELINING
and CHUNKING when the server offers them and reports per-recipient results.
TXT;
const LEAD = ['name' => 'smtpsock authors', 'user' => 'smtpsock', 'email' => 'smtpsock@example.org', 'active' => 'yes'];
const STABILITY = 'beta';
const LICENSE_NAME = 'BSD-2-Clause';
const LICENSE_URI = 'https://opensource.org/licenses/BSD-2-Clause';
const PHP_MIN = '8.2.0';
const PEAR_MIN = '1.10.0';

/* Paths (prefix match; a trailing slash means a folder) never shipped:
 * CI, developer scripts, benchmarks, git files, packaging output, PIE's
 * composer.json and the framework bridges. */
const EXCLUDE = ['.ci/', '.github/', 'scripts/', 'bench/', '.gitignore', '.gitattributes',
                 'package.xml', 'package2.xml',
                 'composer.json',   /* PIE's package description; PIE builds from git archive */
                 'bridges/'];       /* the framework bridges are Composer packages of their own */

function fail(string $msg): never
{
    fwrite(STDERR, "package-xml: $msg\n");
    exit(2);
}

/** The role of a shipped file, or null when it has none (an error). */
function role_of(string $path): ?string
{
    if (str_starts_with($path, 'tests/') || str_starts_with($path, 'smtp_core/tests/')) {
        return 'test';
    }
    /* the stub is also the IDE stub: role doc installs it into PEAR's doc_dir */
    if (in_array($path, ['README.md', 'LICENSE', 'CHANGELOG.md'], true) || str_starts_with($path, 'docs/')
        || preg_match('~^[A-Za-z0-9_]+\.stub\.php$~', $path)) {
        return 'doc';
    }
    if (in_array($path, ['config.m4', 'config.w32'], true)
        || preg_match('~^(smtp_core/)?[A-Za-z0-9_.-]+\.[ch]$~', $path)) {
        return 'src';
    }
    return null;
}

function excluded(string $path): bool
{
    foreach (EXCLUDE as $e) {
        if (str_ends_with($e, '/') ? str_starts_with($path, $e) : $path === $e) {
            return true;
        }
    }
    return false;
}

/**
 * @return array{0: array<string, string>, 1: list<string>} path => role
 *         (sorted), and the files no rule gives a role
 */
function scan_files(string $root): array
{
    $cmd = 'git -C ' . escapeshellarg($root) . ' ls-files -z --cached --others --exclude-standard';
    $out = shell_exec($cmd);
    if (!is_string($out)) {
        fail("could not run: $cmd");
    }
    $files = [];
    $unknown = [];
    foreach (array_filter(explode("\0", $out), 'strlen') as $path) {
        if (excluded($path) || !is_file("$root/$path")) {
            continue;   /* excluded, or deleted from the working tree */
        }
        $role = role_of($path);
        if ($role === null) {
            $unknown[] = $path;
            continue;
        }
        $files[$path] = $role;
    }
    ksort($files, SORT_STRING);
    return [$files, $unknown];
}

const NO_ROLE_HINT = 'add a rule to role_of() or a path to EXCLUDE in scripts/package-xml.php';

/** @return array<string, string> path => role, sorted; fails on a file without a role */
function shipped_files(string $root): array
{
    [$files, $unknown] = scan_files($root);
    if ($unknown) {
        fail("no role for:\n  " . implode("\n  ", $unknown) . "\n" . NO_ROLE_HINT);
    }
    return $files;
}

function version(string $root): string
{
    $h = @file_get_contents("$root/php_smtpsock.h");
    if ($h === false || !preg_match('/#\s*define\s+PHP_SMTPSOCK_VERSION\s+"([^"]+)"/', $h, $m)) {
        fail('PHP_SMTPSOCK_VERSION not found in php_smtpsock.h');
    }
    return $m[1];
}

/**
 * CHANGELOG.md entries, newest first: ['version' => '0.1.0' or null for
 * an "Unreleased" heading without a version, 'date' => 'Y-m-d' or null,
 * 'notes' => plain text].
 */
function changelog(string $root): array
{
    $md = @file_get_contents("$root/CHANGELOG.md");
    if ($md === false) {
        fail('CHANGELOG.md not found');
    }
    $entries = [];
    $parts = preg_split('/^## +/m', $md);
    array_shift($parts);   /* the introduction */
    foreach ($parts as $part) {
        [$heading, $body] = array_pad(explode("\n", $part, 2), 2, '');
        $version = preg_match('/\[?v?(\d+\.\d+\.\d+[A-Za-z0-9.-]*)\]?/', $heading, $m) ? $m[1] : null;
        $date = preg_match('/(\d{4}-\d{2}-\d{2})/', $heading, $m) ? $m[1] : null;
        $entries[] = ['version' => $version, 'date' => $date, 'notes' => notes_text($body)];
    }
    if (!$entries) {
        fail('CHANGELOG.md has no "## " entry');
    }
    return $entries;
}

/** Markdown of one changelog entry as plain release-note text. */
function notes_text(string $md): string
{
    $lines = [];
    foreach (explode("\n", trim($md)) as $line) {
        $line = rtrim($line);
        if (preg_match('/^#{3,} +(.*)$/', $line, $m)) {
            $line = $m[1] . ':';
        }
        $line = preg_replace('/\[([^\]]+)\]\([^)]+\)/', '$1', $line);   /* links: keep the text */
        $lines[] = str_replace('`', '', $line);
    }
    return implode("\n", $lines);
}

/** Escape for XML text and double-quoted attributes. */
function x(string $s): string
{
    return htmlspecialchars($s, ENT_XML1 | ENT_COMPAT, 'UTF-8');
}

function indent_text(string $text, string $pad): string
{
    $out = [];
    foreach (explode("\n", $text) as $line) {
        $out[] = $line === '' ? '' : $pad . x($line);
    }
    return implode("\n", $out);
}

/** The <dir>/<file> tree of <contents>. */
function contents_xml(array $files): string
{
    $tree = [];
    foreach ($files as $path => $role) {
        $node = &$tree;
        $segs = explode('/', $path);
        $name = array_pop($segs);
        foreach ($segs as $d) {
            $node['dirs'][$d] ??= [];
            $node = &$node['dirs'][$d];
        }
        $node['files'][$name] = $role;
        unset($node);
    }
    $emit = function (array $node, string $pad) use (&$emit): string {
        $s = '';
        $dirs = $node['dirs'] ?? [];
        ksort($dirs, SORT_STRING);
        foreach ($dirs as $d => $sub) {
            $s .= "$pad<dir name=\"" . x($d) . "\">\n" . $emit($sub, "$pad ") . "$pad</dir>\n";
        }
        $fs = $node['files'] ?? [];
        ksort($fs, SORT_STRING);
        foreach ($fs as $f => $role) {
            $s .= "$pad<file name=\"" . x($f) . "\" role=\"$role\"/>\n";
        }
        return $s;
    };
    return "  <dir name=\"/\">\n" . $emit($tree, '   ') . "  </dir>\n";
}

function release_xml(string $version, string $date, string $notes, string $pad): string
{
    return "$pad<version>\n$pad <release>" . x($version) . "</release>\n$pad <api>" . x($version) . "</api>\n$pad</version>\n"
        . "$pad<stability>\n$pad <release>" . STABILITY . "</release>\n$pad <api>" . STABILITY . "</api>\n$pad</stability>\n"
        . "$pad<date>$date</date>\n"
        . "$pad<license uri=\"" . x(LICENSE_URI) . '">' . x(LICENSE_NAME) . "</license>\n"
        . "$pad<notes>\n" . indent_text($notes, "$pad ") . "\n$pad</notes>\n";
}

function package_xml(string $root): string
{
    $version = version($root);
    $files = shipped_files($root);
    $entries = changelog($root);
    $today = gmdate('Y-m-d');
    $top = $entries[0];
    if ($top['version'] !== null && $top['version'] !== $version) {
        fwrite(STDERR, "package-xml: warning: CHANGELOG.md's top entry is {$top['version']}, php_smtpsock.h says $version\n");
    }

    $head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<package version="2.0" xmlns="http://pear.php.net/dtd/package-2.0"'
        . ' xmlns:tasks="http://pear.php.net/dtd/tasks-1.0"'
        . ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        . ' xsi:schemaLocation="http://pear.php.net/dtd/tasks-1.0 http://pear.php.net/dtd/tasks-1.0.xsd'
        . ' http://pear.php.net/dtd/package-2.0 http://pear.php.net/dtd/package-2.0.xsd">',
        ' <!-- Generated by scripts/package-xml.php: edit that script or CHANGELOG.md, not this file. -->',
    ];
    $xml = implode("\n", $head) . "\n"
        . ' <name>' . PACKAGE . "</name>\n"
        . ' <channel>' . CHANNEL . "</channel>\n"
        . ' <summary>' . x(SUMMARY) . "</summary>\n"
        . " <description>\n" . indent_text(DESCRIPTION, '  ') . "\n </description>\n"
        . " <lead>\n"
        . '  <name>' . x(LEAD['name']) . "</name>\n"
        . '  <user>' . x(LEAD['user']) . "</user>\n"
        . '  <email>' . x(LEAD['email']) . "</email>\n"
        . '  <active>' . LEAD['active'] . "</active>\n"
        . " </lead>\n"
        . " <date>$today</date>\n"
        . " <version>\n  <release>" . x($version) . "</release>\n  <api>" . x($version) . "</api>\n </version>\n"
        . " <stability>\n  <release>" . STABILITY . "</release>\n  <api>" . STABILITY . "</api>\n </stability>\n"
        . ' <license uri="' . x(LICENSE_URI) . '">' . x(LICENSE_NAME) . "</license>\n"
        . " <notes>\n" . indent_text($top['notes'], '  ') . "\n </notes>\n"
        . " <contents>\n" . contents_xml($files) . " </contents>\n"
        . " <dependencies>\n  <required>\n"
        . '   <php>' . "\n    <min>" . PHP_MIN . "</min>\n   </php>\n"
        . '   <pearinstaller>' . "\n    <min>" . PEAR_MIN . "</min>\n   </pearinstaller>\n"
        . "  </required>\n </dependencies>\n"
        . ' <providesextension>' . PACKAGE . "</providesextension>\n"
        . " <extsrcrelease/>\n"
        . " <changelog>\n";
    foreach ($entries as $i => $e) {
        /* the top entry is this release, even while it says "Unreleased" */
        $v = $i === 0 ? $version : $e['version'];
        if ($v === null) {
            continue;
        }
        $d = $e['date'] ?? ($i === 0 ? $today : null);
        if ($d === null) {
            continue;
        }
        $xml .= "  <release>\n" . release_xml($v, $d, $e['notes'], '   ') . "  </release>\n";
    }
    return $xml . " </changelog>\n</package>\n";
}

/**
 * The files a package.xml lists, and its release version. Reads only what
 * this script writes (and hand edits of the same shape): <dir name>,
 * </dir>, <file name .../> or <file name ...>...</file> inside <contents>.
 *
 * @return array{0: array<string, string>, 1: ?string} path => role, version
 */
function parse_package_xml(string $xml): array
{
    $xml = preg_replace('/<!--.*?-->/s', '', $xml);
    if (!preg_match('~<contents>(.*)</contents>~s', $xml, $m)) {
        fail('package.xml has no <contents>');
    }
    $version = preg_match('~<version>\s*<release>([^<]+)</release>~', $xml, $v) ? trim($v[1]) : null;
    preg_match_all('~<(/?)(dir|file)\b((?:[^>"]|"[^"]*")*?)(/?)>~', $m[1], $tags, PREG_SET_ORDER);
    $stack = [];
    $files = [];
    foreach ($tags as [, $close, $tag, $attrs, $selfclose]) {
        if ($close) {
            if ($tag === 'dir') {
                array_pop($stack);
            }
            continue;
        }
        preg_match_all('~([\w:]+)="([^"]*)"~', $attrs, $am, PREG_SET_ORDER);
        $a = [];
        foreach ($am as [, $k, $val]) {
            $a[$k] = html_entity_decode($val, ENT_XML1 | ENT_QUOTES, 'UTF-8');
        }
        $name = trim($a['name'] ?? '', '/');
        if ($tag === 'dir') {
            if (!$selfclose) {
                $stack[] = $name;
            }
            continue;
        }
        $path = implode('/', array_filter([...$stack, $name], 'strlen'));
        $files[$path] = $a['role'] ?? '';
    }
    return [$files, $version];
}

/** C sources of the extension not named in config.m4 / config.w32. */
function build_list_problems(string $root, array $files): array
{
    $problems = [];
    $m4 = (string)@file_get_contents("$root/config.m4");
    $w32 = (string)@file_get_contents("$root/config.w32");
    foreach ($files as $path => $role) {
        if ($role !== 'src' || !str_ends_with($path, '.c')) {
            continue;
        }
        $base = basename($path);
        if (!preg_match('/(?<![\w\/.-])' . preg_quote($path, '/') . '(?![\w.])/', $m4)) {
            $problems[] = "$path: not in config.m4";
        }
        if (!preg_match('/(?<![\w.-])' . preg_quote($base, '/') . '(?![\w.])/', $w32)) {
            $problems[] = "$path: not in config.w32";
        }
    }
    return $problems;
}

function check(string $root): int
{
    $pkg = @file_get_contents("$root/package.xml");
    if ($pkg === false) {
        echo "package.xml is missing: run php scripts/package-xml.php\n";
        return 1;
    }
    [$listed, $pkg_version] = parse_package_xml($pkg);
    [$shipped, $unknown] = scan_files($root);
    $problems = [];
    foreach ($unknown as $path) {
        $problems[] = "no role for $path: " . NO_ROLE_HINT;
    }
    foreach ($shipped as $path => $role) {
        if (!isset($listed[$path])) {
            $problems[] = "missing from package.xml: $path";
        } elseif ($listed[$path] !== $role) {
            $problems[] = "wrong role in package.xml: $path is \"{$listed[$path]}\", expected \"$role\"";
        }
    }
    foreach ($listed as $path => $role) {
        if (!isset($shipped[$path])) {
            $problems[] = is_file("$root/$path")
                ? "listed in package.xml but not shipped (excluded or unknown to git): $path"
                : "listed in package.xml but absent: $path";
        }
    }
    $version = version($root);
    if ($pkg_version !== $version) {
        $problems[] = "package.xml release version is " . ($pkg_version ?? '(none)') . ", php_smtpsock.h says $version";
    }
    foreach (build_list_problems($root, $shipped) as $p) {
        $problems[] = $p;
    }
    if ($problems) {
        echo implode("\n", $problems), "\n";
        echo count($problems), " problem(s). Regenerate package.xml with php scripts/package-xml.php;",
            " name new C sources in both config.m4 and config.w32.\n";
        return 1;
    }
    echo "package.xml lists all ", count($shipped), " shipped files\n";
    return 0;
}

$root = dirname(__DIR__);
$args = array_slice($argv, 1);
if ($args === ['--check']) {
    exit(check($root));
}
if ($args !== []) {
    fwrite(STDERR, "usage: php scripts/package-xml.php [--check]\n");
    exit(2);
}
$xml = package_xml($root);
if (file_put_contents("$root/package.xml", $xml) === false) {
    fail('could not write package.xml');
}
[$listed] = parse_package_xml($xml);
echo "wrote package.xml: ", count($listed), " files, version ", version($root), "\n";
foreach (build_list_problems($root, $listed) as $p) {
    fwrite(STDERR, "package-xml: warning: $p\n");
}
