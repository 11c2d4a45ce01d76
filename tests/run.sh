#!/usr/bin/env bash
# The whole smtpsock test suite, as root on Debian 12:
#
#   bash tests/run.sh                 everything (tests/ and bridges/*/tests/)
#   bash tests/run.sh tests/foo.phpt  same phases, but only the given PHPT
#                                     test(s) / run-tests.php arguments
#
# Phases: install dependencies, build the extension, C unit tests
# (smtp_core/tests), then the PHPT tests against one shared private Postfix
# instance on loopback, plus one shared set of test certificates
# (SMTPSOCK_TEST_CERTS_DIR) and one shared Postfix with STARTTLS, implicit
# TLS and SASL AUTH through a private Dovecot (SMTPSOCK_TEST_POSTFIX_TLS_DIR). The last line is "N passed, M failed[, K skipped]"
# over C and PHPT tests; the exit status is 1 on any failure or when no PHPT
# test ran.
#
# Environment:
#   SMTPSOCK_PHP_VERSION=8.6   test with Debian's php8.6, built with phpize8.6
#                              and php-config8.6 (default: php, phpize and
#                              php-config on PATH). .ci/run runs 8.4-8.6 this
#                              way inside the sid root (scripts/sid-root.sh).
#   SMTPSOCK_BUILD_DIR=DIR     build in a copy of the sources in DIR, not in
#                              place (scripts/build.sh)
#   SMTPSOCK_SKIP_DEPS=1       do not run scripts/install-deps.sh (Debian 12's
#                              package list; the sid root has its own)
#   SMTPSOCK_C_CC=gcc          compiler for the C unit tests (default: clang)
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
# Test paths given relative to the caller's directory keep working after cd.
args=()
for a in "$@"; do
    if [[ "$a" != -* && "$a" != /* && -e "$a" ]]; then
        a="$PWD/$a"
    fi
    args+=("$a")
done
cd -- "$ROOT"

passed=0
failed=0
skipped=0
notes=()

phase() {
    printf '\n===== %s =====\n' "$*"
}

note() {
    notes+=("$*")
    printf 'run.sh: %s\n' "$*"
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/smtpsock-suite.XXXXXX")"
chmod 755 "$WORK" # Postfix's own users must reach the instance below it
PFDIR=""
PFTLSDIR=""

# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
    local rc=$?
    if [[ -n "$PFDIR" ]]; then
        bash "$ROOT/tests/inc/postfix-instance.sh" stop "$PFDIR" >/dev/null 2>&1 || true
    fi
    if [[ -n "$PFTLSDIR" ]]; then
        bash "$ROOT/tests/inc/postfix-instance.sh" stop "$PFTLSDIR" >/dev/null 2>&1 || true
    fi
    rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- deps
if [[ "${SMTPSOCK_SKIP_DEPS:-0}" != 1 ]]; then
    phase "dependencies (scripts/install-deps.sh)"
    bash "$ROOT/scripts/install-deps.sh"
fi

V="${SMTPSOCK_PHP_VERSION:-}"
PHP="$(command -v "php$V")" || { echo "run.sh: php$V not found" >&2; exit 1; }
PHP_CONFIG="$(command -v "php-config$V")" || { echo "run.sh: php-config$V not found" >&2; exit 1; }
BUILD="${SMTPSOCK_BUILD_DIR:-$ROOT}"
echo "run.sh: $("$PHP" -n -r 'echo "PHP ", PHP_VERSION, PHP_ZTS ? " ZTS" : " NTS", PHP_DEBUG ? " debug" : "", "\n";' 2>/dev/null) ($PHP)"

# ---------------------------------------------------------------- build
phase "build (scripts/build.sh)"
if [[ -f "$ROOT/scripts/build.sh" ]]; then
    if bash "$ROOT/scripts/build.sh" "phpize$V"; then
        echo "run.sh: build ok"
    else
        note "BUILD FAILED (scripts/build.sh)"
        failed=$((failed + 1))
    fi
else
    note "scripts/build.sh not found: build skipped"
fi

# ---------------------------------------------------------------- C tests
phase "C unit tests (make -C smtp_core/tests check)"
if [[ -f smtp_core/tests/Makefile || -f smtp_core/tests/makefile || -f smtp_core/tests/GNUmakefile ]]; then
    c_rc=0
    c_make=(make -C smtp_core/tests)
    [[ -z "${SMTPSOCK_C_CC:-}" ]] || c_make+=("CC=$SMTPSOCK_C_CC")
    "${c_make[@]}" check 2>&1 | tee "$WORK/c-tests.log" || c_rc=$?
    c_line="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$WORK/c-tests.log" | tail -n 1 || true)"
    if [[ -n "$c_line" ]]; then
        c_pass="$(sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\1/' <<<"$c_line")"
        c_fail="$(sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\2/' <<<"$c_line")"
        passed=$((passed + c_pass))
        failed=$((failed + c_fail))
        echo "run.sh: C tests: $c_pass passed, $c_fail failed"
        if [[ $c_rc -ne 0 && $c_fail -eq 0 ]]; then
            note "C tests: make exited with $c_rc although no test failed"
            failed=$((failed + 1))
        fi
    else
        note "C tests: no 'N passed, M failed' line (make exited with $c_rc)"
        failed=$((failed + 1))
    fi
else
    note "smtp_core/tests has no Makefile: C tests skipped"
fi

# ---------------------------------------------------------------- Postfix
phase "shared Postfix instance"
if port="$(bash "$ROOT/tests/inc/postfix-instance.sh" start "$WORK/postfix")"; then
    PFDIR="$WORK/postfix"
    export SMTPSOCK_TEST_POSTFIX_DIR="$PFDIR"
    # Should this script be killed without running its trap, the watcher
    # stops the instance; otherwise it ends when the trap removes $WORK.
    bash "$ROOT/tests/inc/postfix-instance.sh" watch "$$" "$PFDIR" </dev/null >/dev/null 2>&1 &
    echo "run.sh: Postfix listening on 127.0.0.1:$port (maildir $PFDIR/Maildir)"
else
    note "could not start the shared Postfix instance; tests start their own"
fi

# ---------------------------------------------------------------- TLS/AUTH
phase "shared test certificates and Postfix with TLS + AUTH (Dovecot)"
if bash "$ROOT/tests/inc/certs.sh" "$WORK/certs" >/dev/null; then
    export SMTPSOCK_TEST_CERTS_DIR="$WORK/certs"
    echo "run.sh: test certificates in $WORK/certs"
    if tls_port="$(POSTFIX_INSTANCE_TLS_CERT="$WORK/certs/cert.pem" \
        POSTFIX_INSTANCE_TLS_KEY="$WORK/certs/key.pem" \
        POSTFIX_INSTANCE_TLS_CA="$WORK/certs/ca.pem" \
        POSTFIX_INSTANCE_SASL=dovecot \
        POSTFIX_INSTANCE_LISTENERS="smtps clearauth encrypt plainauth" \
        bash "$ROOT/tests/inc/postfix-instance.sh" start "$WORK/postfix-tls")"; then
        PFTLSDIR="$WORK/postfix-tls"
        export SMTPSOCK_TEST_POSTFIX_TLS_DIR="$PFTLSDIR"
        bash "$ROOT/tests/inc/postfix-instance.sh" watch "$$" "$PFTLSDIR" </dev/null >/dev/null 2>&1 &
        echo "run.sh: Postfix (TLS + AUTH) on 127.0.0.1:$tls_port (STARTTLS), smtps $(cat "$PFTLSDIR/smtps_port")"
    else
        note "could not start the shared Postfix TLS/AUTH instance; tests start their own"
    fi
else
    note "could not make test certificates (tests/inc/certs.sh); TLS tests make their own"
fi

# ---------------------------------------------------------------- PHPT
phase "PHPT tests (run-tests.php)"
RUN_TESTS="$("$PHP_CONFIG" --extension-dir)/build/run-tests.php"

rt_args=(-q -j2 --show-diff)
if [[ -f "$BUILD/modules/smtpsock.so" ]]; then
    rt_args+=(-d "extension=$BUILD/modules/smtpsock.so")
else
    note "$BUILD/modules/smtpsock.so not found: PHPT tests run without the extension (counted as a failure)"
    failed=$((failed + 1))
fi
if [[ ${#args[@]} -gt 0 ]]; then
    rt_args+=("${args[@]}")
else
    rt_args+=("$ROOT/tests")
    # the framework bridges' tests (bridges/*/tests), against the same servers
    for d in "$ROOT"/bridges/*/tests; do
        [[ -d "$d" ]] && rt_args+=("$d")
    done
fi

rt_rc=0
TEST_PHP_EXECUTABLE="$PHP" NO_INTERACTION=1 REPORT_EXIT_STATUS=1 \
    "$PHP" "$RUN_TESTS" "${rt_args[@]}" 2>&1 | tee "$WORK/phpt.log" || rt_rc=$?

# summary lines look like "Tests passed    :    3 ( 75.0%) ( 75.0%)"
count() {
    local v
    v="$(sed -nE "s/^$1 *: *([0-9]+).*/\\1/p" "$WORK/phpt.log" | tail -n 1)"
    printf '%s\n' "${v:-0}"
}
t_total="$(count 'Number of tests')"
t_pass="$(count 'Tests passed')"
t_fail="$(count 'Tests failed')"
t_bork="$(count 'Tests borked')"
t_leak="$(count 'Tests leaked')"
t_skip="$(count 'Tests skipped')"
t_warn="$(count 'Tests warned')"
t_xfail="$(count 'Expected fail')"

echo "run.sh: PHPT: $t_pass passed, $t_fail failed, $t_bork borked, $t_leak leaked, $t_skip skipped, $t_warn warned, $t_xfail expected-fail (of $t_total)"
passed=$((passed + t_pass))
failed=$((failed + t_fail + t_bork + t_leak))
skipped=$((skipped + t_skip + t_xfail))
if [[ $((t_pass + t_fail + t_bork + t_leak + t_skip + t_warn + t_xfail)) -eq 0 ]]; then
    note "run-tests.php ran no test (exit $rt_rc)"
    failed=$((failed + 1))
elif [[ $rt_rc -ne 0 && $((t_fail + t_bork + t_leak)) -eq 0 ]]; then
    note "run-tests.php exited with $rt_rc although no test failed"
    failed=$((failed + 1))
fi

# ---------------------------------------------------------------- result
if [[ ${#notes[@]} -gt 0 ]]; then
    phase "notes"
    printf '  %s\n' "${notes[@]}"
fi
echo
summary="$passed passed, $failed failed"
if [[ $skipped -gt 0 ]]; then
    summary+=", $skipped skipped"
fi
echo "$summary"
if [[ $failed -gt 0 ]]; then
    exit 1
fi
exit 0
