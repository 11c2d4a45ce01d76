#!/usr/bin/env bash
# What `pie install smtpsock/smtpsock` does, done by hand on one PHP (PIE
# itself is not packaged anywhere this machine reaches):
#
#   bash scripts/pie-check.sh [VERSION]     VERSION: 8.6 for php8.6, phpize8.6,
#                                           php-config8.6; default: the
#                                           unversioned ones on PATH
#
# Steps, each one check:
#   composer   composer.json is PIE's: type php-ext, php-ext.extension-name is
#              the name the module registers, every configure option it
#              declares exists in config.m4, require.php admits this PHP;
#              `composer validate --strict` when composer is installed
#   archive    `git archive HEAD` (what PIE downloads) has the sources and the
#              tests, and none of what .gitattributes keeps out (bench/,
#              scripts/, .ci/)
#   build      in the unpacked archive: phpize, ./configure with only
#              --with-php-config (PIE passes no other option unless the user
#              names a declared one), make
#   install    make install into a scratch root (INSTALL_ROOT), not the system
#   load       that PHP loads the installed smtpsock.so: phpversion('smtpsock')
#              is the version php_smtpsock.h declares, smtp_mail() and
#              SmtpSocket exist
#
# Needs a git work tree (the archive is of HEAD: commit first). The last line
# is "N passed, M failed"; the exit status is 1 on any failure.
set -uo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd -- "$ROOT" || exit 1
V="${1:-}"
PHP="php$V"
PHPIZE="phpize$V"
PHP_CONFIG="php-config$V"

passed=0
failed=0
ok() {
    passed=$((passed + 1))
    printf 'pie-check: ok: %s\n' "$*"
}
bad() {
    failed=$((failed + 1))
    printf 'pie-check: FAILED: %s\n' "$*"
}
finish() {
    echo "$passed passed, $failed failed"
    [[ $failed -eq 0 ]]
    exit $?
}

for tool in "$PHP" "$PHPIZE" "$PHP_CONFIG" git make; do
    command -v "$tool" >/dev/null || { bad "$tool is not installed"; finish; }
done
printf 'pie-check: %s (%s)\n' "$("$PHP" -n -r 'echo "PHP ", PHP_VERSION, PHP_ZTS ? " ZTS" : " NTS";')" "$(command -v "$PHP")"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/smtpsock-pie.XXXXXX")"
trap 'rm -rf -- "$WORK"' EXIT

# ---------------------------------------------------------------- composer
version="$(sed -nE 's/^#define PHP_SMTPSOCK_VERSION "([^"]+)".*/\1/p' php_smtpsock.h)"
if msg="$("$PHP" -n -r '
    $c = json_decode(file_get_contents("composer.json"), true);
    $m4 = file_get_contents("config.m4");
    $e = [];
    if (!is_array($c)) { echo "composer.json is not valid JSON\n"; exit(1); }
    if (($c["type"] ?? "") !== "php-ext") $e[] = "type is not php-ext";
    if (($c["name"] ?? "") !== "smtpsock/smtpsock") $e[] = "name is not smtpsock/smtpsock";
    $x = $c["php-ext"] ?? null;
    if (!is_array($x)) $e[] = "no php-ext section";
    elseif (($x["extension-name"] ?? "") !== "smtpsock") $e[] = "php-ext.extension-name is not smtpsock";
    foreach ($x["configure-options"] ?? [] as $o) {
        $n = $o["name"] ?? "";
        if (!preg_match("/^(enable|with)-(.+)$/", $n, $p)) { $e[] = "configure option \"$n\" is neither --enable-* nor --with-*"; continue; }
        $macro = $p[1] === "enable" ? "PHP_ARG_ENABLE" : "PHP_ARG_WITH";
        if (!preg_match("/$macro\(\[?" . preg_quote($p[2], "/") . "\]?,/", $m4)) $e[] = "configure option --$n is not in config.m4";
    }
    $req = $c["require"]["php"] ?? "";
    // the constraint as Composer reads the simple forms used here: ">=A <B"
    if (!preg_match("/^>=\s*([0-9.]+)\s+<\s*([0-9.]+)$/", $req, $r)) $e[] = "require.php \"$req\" is not of the form \">=A <B\"";
    elseif (version_compare(PHP_VERSION, $r[1], "<") || version_compare(PHP_VERSION, $r[2], ">=")) $e[] = "require.php \"$req\" excludes PHP " . PHP_VERSION;
    echo implode("; ", $e);
    exit($e ? 1 : 0);
' 2>&1)"; then
    ok "composer.json: type php-ext, extension-name smtpsock, configure options exist in config.m4, require.php admits this PHP"
else
    bad "composer.json: $msg"
fi
if command -v composer >/dev/null; then
    if out="$(COMPOSER_ALLOW_SUPERUSER=1 composer validate --strict --no-interaction 2>&1)"; then
        ok "composer validate --strict ($(composer --version 2>/dev/null | head -n 1 | cut -d' ' -f1-3))"
    else
        printf '%s\n' "$out"
        bad "composer validate --strict"
    fi
fi

# ---------------------------------------------------------------- archive
SRC="$WORK/src"
mkdir -p "$SRC"
if git archive --format=tar HEAD | tar -x -C "$SRC"; then
    missing=()
    for f in config.m4 composer.json php_smtpsock.h php_smtpsock_compat.h smtpsock.c smtpsock_arginfo.h \
        smtp_core/smtp_client.c tests/run.sh tests/inc/smtpsock_test.inc LICENSE; do
        [[ -e "$SRC/$f" ]] || missing+=("$f")
    done
    for f in $(git ls-files -- '*.c' '*.h' '*.phpt' | grep -v '^smtp_core/tests/\|^bench/\|^bridges/'); do
        [[ -e "$SRC/$f" ]] || missing+=("$f")
    done
    extra=()
    for f in bench scripts .ci .gitattributes; do
        [[ ! -e "$SRC/$f" ]] || extra+=("$f")
    done
    if [[ ${#missing[@]} -eq 0 && ${#extra[@]} -eq 0 ]]; then
        ok "git archive HEAD: $(find "$SRC" -type f | wc -l) files, sources and tests in, bench/ scripts/ .ci/ out"
    else
        bad "git archive HEAD: missing ${missing[*]:-nothing}; should be left out: ${extra[*]:-nothing}"
    fi
else
    bad "git archive HEAD"
    finish
fi

# ---------------------------------------------------------------- build
cd -- "$SRC" || exit 1
if "$PHPIZE" >"$WORK/phpize.log" 2>&1 &&
    ./configure --with-php-config="$(command -v "$PHP_CONFIG")" >"$WORK/configure.log" 2>&1 &&
    make -j"$(nproc)" >"$WORK/make.log" 2>&1 && [[ -f modules/smtpsock.so ]]; then
    ok "phpize, ./configure (no options), make"
else
    tail -n 30 "$WORK"/*.log
    bad "phpize, ./configure, make"
    finish
fi

# ---------------------------------------------------------------- install
DEST="$WORK/root"
extdir="$("$PHP_CONFIG" --extension-dir)"
if make install INSTALL_ROOT="$DEST" >"$WORK/install.log" 2>&1 && [[ -f "$DEST$extdir/smtpsock.so" ]]; then
    ok "make install INSTALL_ROOT=<scratch>: $extdir/smtpsock.so"
else
    tail -n 20 "$WORK/install.log"
    bad "make install"
    finish
fi

# ---------------------------------------------------------------- load
if out="$("$PHP" -n -d "extension=$DEST$extdir/smtpsock.so" -r '
    echo phpversion("smtpsock"), " ", function_exists("smtp_mail") ? "smtp_mail" : "-", " ",
        class_exists("SmtpSocket", false) ? "SmtpSocket" : "-";' 2>&1)" &&
    [[ "$out" == "$version smtp_mail SmtpSocket" ]]; then
    ok "PHP $("$PHP" -n -r 'echo PHP_VERSION;') loads it: smtpsock $version, smtp_mail(), SmtpSocket"
else
    bad "loading the installed extension: $out (expected \"$version smtp_mail SmtpSocket\")"
fi
finish
