#!/usr/bin/env bash
# The PHPT suite under memory checkers, as root on Debian 12:
#
#   bash scripts/memcheck.sh debug [--php 8.2|8.6] [tests/foo.phpt ...]
#   bash scripts/memcheck.sh valgrind              [tests/foo.phpt ...]
#
# debug:    a debug thread-safe PHP of the branch --php names (default 8.2;
#           scripts/debug-php.sh builds it once from Debian's source package
#           and caches it outside the checkout, each branch apart) runs every
#           test with the extension built against that PHP's own
#           phpize/php-config (with -Wall -Wextra -Werror, scripts/build.sh),
#           under run-tests.php of the same PHP version. Fails on any test
#           failure and on any leak report ("Freeing 0x... (n bytes)") or
#           assertion failure the engine writes to the stderr of any PHP
#           process of a test (the PHP processes a test starts included),
#           even when the test discards that output or its expected output
#           would have matched it. Fails too when that PHP cannot be built
#           or the extension does not compile against it; when its source
#           tarball cannot be had (8.6: see scripts/debug-php.sh) the pass
#           says so and counts one skipped.
# valgrind: the release PHP (php on PATH, Debian's 8.2, or php$SMTPSOCK_PHP_VERSION:
#           .ci/run's valgrind-8.6 runs Debian's php8.6 in the sid root) with the extension
#           built by scripts/build.sh runs every test under valgrind memcheck
#           (run-tests.php -m, USE_ZEND_ALLOC=0, pcre.jit=0), and so do the
#           PHP processes a test starts with the extension loaded; any
#           valgrind error, and any block the test process definitely lost,
#           fails the test.
#
# Either way the extension is built in a scratch copy of the sources: the
# tree (and its release build) is not touched. Tests run two at a time
# (run-tests.php -j2; 8.6's would otherwise pick a worker count itself). One
# private Postfix instance serves all tests, as in tests/run.sh. The last
# line is "N passed, M failed[, K skipped]"; the exit status is 1 on any
# failure.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"

usage() {
    echo "usage: bash scripts/memcheck.sh debug [--php 8.2|8.6] [tests/foo.phpt ...]" >&2
    echo "       bash scripts/memcheck.sh valgrind [tests/foo.phpt ...]" >&2
    exit 2
}
MODE="${1:-}"
case "$MODE" in
    debug|valgrind) shift ;;
    *) usage ;;
esac
PHP_BRANCH=""   # debug mode: the branch of the debug PHP (scripts/debug-php.sh), default 8.2
case "${1:-}" in
    --php=*) PHP_BRANCH="${1#--php=}"; shift ;;
    --php)
        [[ $# -ge 2 ]] || usage
        PHP_BRANCH="$2"
        shift 2
        ;;
esac
if [[ -n "$PHP_BRANCH" && "$MODE" == valgrind ]]; then
    echo "memcheck.sh: valgrind mode runs the release PHP on PATH; --php is for debug mode" >&2
    usage
fi
PHP_BRANCH="${PHP_BRANCH:-8.2}"
case "$PHP_BRANCH" in
    8.2|8.6) ;;
    *) echo "memcheck.sh: no debug PHP $PHP_BRANCH (scripts/debug-php.sh builds 8.2 and 8.6)" >&2; usage ;;
esac
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

LABEL="$MODE"
[[ "$MODE" == valgrind ]] || LABEL="debug PHP $PHP_BRANCH"
phase() { printf '\n===== memcheck %s: %s =====\n' "$LABEL" "$*"; }
note() {
    notes+=("$*")
    printf 'memcheck: %s\n' "$*"
}
finish() {
    if [[ ${#notes[@]} -gt 0 ]]; then
        phase "notes"
        printf '  %s\n' "${notes[@]}"
    fi
    echo
    local summary="$passed passed, $failed failed"
    if [[ $skipped -gt 0 ]]; then
        summary+=", $skipped skipped"
    fi
    echo "$summary"
    [[ $failed -eq 0 ]]
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/smtpsock-memcheck.XXXXXX")"
chmod 755 "$WORK" # Postfix's own users must reach the instance below it
PFDIR=""
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
    local rc=$?
    if [[ -n "$PFDIR" ]]; then
        bash "$ROOT/tests/inc/postfix-instance.sh" stop "$PFDIR" >/dev/null 2>&1 || true
    fi
    rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- deps, PHP
# SMTPSOCK_PHP_VERSION=8.6 (valgrind mode): test Debian's php8.6 with the
# extension built by phpize8.6, as tests/run.sh does (in the sid root, where
# SMTPSOCK_SKIP_DEPS=1 skips Debian 12's package list).
V="${SMTPSOCK_PHP_VERSION:-}"
if [[ "${SMTPSOCK_SKIP_DEPS:-0}" != 1 ]]; then
    phase "dependencies"
    bash "$ROOT/scripts/install-deps.sh"
fi

RUNNER_PHP="$(command -v "php$V")"   # runs run-tests.php itself
if [[ "$MODE" == debug ]]; then
    phase "debug ZTS PHP $PHP_BRANCH (scripts/debug-php.sh)"
    dp_rc=0
    PREFIX="$(bash "$ROOT/scripts/debug-php.sh" --prefix "$PHP_BRANCH")" || dp_rc=$?
    if [[ $dp_rc -eq 3 ]]; then
        # Debian's archive lists the source package but does not serve it
        # (scripts/debug-php.sh): nothing to run, said loudly, not a pass
        note "SKIPPED: no debug ZTS PHP $PHP_BRANCH: its source tarball cannot be downloaded from Debian's archive here (scripts/debug-php.sh $PHP_BRANCH says where to put a copy)"
        skipped=$((skipped + 1))
        finish
        exit 0
    elif [[ $dp_rc -ne 0 ]]; then
        note "could not build the debug PHP $PHP_BRANCH (scripts/debug-php.sh $PHP_BRANCH)"
        failed=$((failed + 1))
        finish
        exit 1
    fi
    TEST_PHP="$PREFIX/bin/php"
    PHPIZE="$PREFIX/bin/phpize"
    "$TEST_PHP" -n -v | head -n 1
else
    TEST_PHP="$RUNNER_PHP"
    PHPIZE="$(command -v "phpize$V")"
fi

# ---------------------------------------------------------------- build
phase "build the extension in a scratch copy ($PHPIZE)"
SRC="$WORK/src"
mkdir -p "$SRC"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked files plus new, not ignored ones: what the next commit would hold
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
        | (cd "$ROOT" && tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$SRC"
else
    # not a git checkout (an unpacked release, say): copy it and drop the
    # products of an in-place build, so that build.sh runs phpize afresh
    (cd "$ROOT" && tar --exclude=.git -cf - .) | tar -xf - -C "$SRC"
    if [[ -f "$SRC/Makefile" ]]; then
        make -C "$SRC" distclean >/dev/null 2>&1 || true
    fi
    (cd "$SRC" && "$PHPIZE" --clean >/dev/null 2>&1) || true
fi
# in place in the scratch copy (a SMTPSOCK_BUILD_DIR from the caller is not ours)
if ! (cd "$SRC" && env -u SMTPSOCK_BUILD_DIR bash scripts/build.sh "$PHPIZE"); then
    note "BUILD FAILED against $PHPIZE"
    failed=$((failed + 1))
    finish
    exit 1
fi
EXT="$SRC/modules/smtpsock.so"
if [[ ! -f "$EXT" ]]; then
    note "the build left no $EXT: nothing would be tested"
    failed=$((failed + 1))
    finish
    exit 1
fi

# ---------------------------------------------------------------- Postfix
phase "shared Postfix instance"
if port="$(bash "$ROOT/tests/inc/postfix-instance.sh" start "$WORK/postfix")"; then
    PFDIR="$WORK/postfix"
    export SMTPSOCK_TEST_POSTFIX_DIR="$PFDIR"
    bash "$ROOT/tests/inc/postfix-instance.sh" watch "$$" "$PFDIR" </dev/null >/dev/null 2>&1 &
    echo "memcheck: Postfix listening on 127.0.0.1:$port"
else
    note "could not start the shared Postfix instance; tests start their own"
fi

# ---------------------------------------------------------------- PHPT
# run-tests.php of the PHP under test (debug-php.sh installs the debug PHP's
# own), run by the release PHP. Pass -j explicitly: from 8.6 on run-tests.php
# runs in parallel by default with as many workers as it likes.
RUN_TESTS=""
if [[ "$MODE" == debug && -f "$PREFIX/lib/php/build/run-tests.php" ]]; then
    RUN_TESTS="$PREFIX/lib/php/build/run-tests.php"
else
    RUN_TESTS="$("php-config$V" --extension-dir)/build/run-tests.php"
fi

rt_args=(-q -j2 --show-diff -W "$WORK/results" -d "extension=$EXT")

# Tests start PHP processes of their own through $TEST_PHP_EXECUTABLE: the
# README examples (tests/inc/readme.inc), a built-in web server holding
# persistent connections, the scripted server. That variable names the
# wrapper below, which notes each process (argv, parent's command line) in
# $MEMCHECK_PROCS, so that a finding in any of them is charged to the test
# that started it; in debug mode it keeps each process's stderr, in valgrind
# mode it runs the processes that load smtpsock under valgrind.
WRAP="$WORK/bin/php"
export MEMCHECK_MODE="$MODE" MEMCHECK_PHP="$TEST_PHP" MEMCHECK_PROCS="$WORK/procs" MEMCHECK_WRAP="$WRAP"
MEMCHECK_VALGRIND="$(command -v valgrind)"
export MEMCHECK_VALGRIND
mkdir -p "$MEMCHECK_PROCS" "$WORK/bin"
cat >"$WRAP" <<'EOF'
#!/usr/bin/env bash
# memcheck.sh's stand-in for PHP (see there)
printf '%s\0' "$@" >"$MEMCHECK_PROCS/$$.args"
tr '\0' ' ' </proc/$PPID/cmdline >"$MEMCHECK_PROCS/$$.parent" 2>/dev/null
if [[ "$MEMCHECK_MODE" == debug ]]; then
    exec "$MEMCHECK_PHP" "$@" 2> >(exec tee -a "$MEMCHECK_PROCS/$$.log" >&2)
fi
case " $* " in
    *smtpsock*.so*)
        # no leak check: some are stopped by a signal (a web server), which
        # leaves everything allocated; their request leaks are the debug
        # pass's to find
        exec "$MEMCHECK_VALGRIND" -q --trace-children=no --leak-check=no --log-file="$MEMCHECK_PROCS/$$.vg" \
            "$MEMCHECK_PHP" -d pcre.jit=0 "$@"
        ;;
esac
exec "$MEMCHECK_PHP" "$@"
EOF
chmod 755 "$WRAP"

env_extra=()
if [[ "$MODE" == debug ]]; then
    # the tests themselves run through the wrapper too: their stderr is kept
    # even where an --EXPECTF-- pattern would swallow a leak report
    TEST_EXECUTABLE="$WRAP"
else
    TEST_EXECUTABLE="$TEST_PHP"
    rt_args+=(-m --show-mem --show-slow 20000 -d pcre.jit=0)
    # Options for every valgrind run: blocks definitely lost (with
    # USE_ZEND_ALLOC=0 a leaked emalloc is one) count as errors. run-tests.php
    # traces children (--trace-children=yes): skip them all, the scripted
    # server and the Postfix, Dovecot and Python helpers are not under test
    # (the wrapper starts valgrind itself for the PHP processes that are).
    env_extra+=("VALGRIND_OPTS=--trace-children-skip=* --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --num-callers=40")
    # run-tests.php runs each test under "valgrind" from PATH and gives it
    # TEST_PHP_EXECUTABLE=php; this shim hands the test the wrapper instead.
    cat >"$WORK/bin/valgrind" <<'EOF'
#!/usr/bin/env bash
export TEST_PHP_EXECUTABLE="$MEMCHECK_WRAP"
exec "$MEMCHECK_VALGRIND" "$@"
EOF
    chmod 755 "$WORK/bin/valgrind"
    env_extra+=("PATH=$WORK/bin:$PATH")
fi
if [[ ${#args[@]} -gt 0 ]]; then
    rt_args+=("${args[@]}")
else
    rt_args+=("$ROOT/tests")
fi

phase "PHPT tests ($TEST_PHP, $RUN_TESTS)"
rt_rc=0
env "${env_extra[@]}" TEST_PHP_EXECUTABLE="$TEST_EXECUTABLE" NO_INTERACTION=1 REPORT_EXIT_STATUS=1 \
    "$RUNNER_PHP" "$RUN_TESTS" "${rt_args[@]}" 2>&1 | tee "$WORK/phpt.log" || rt_rc=$?

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
echo "memcheck: PHPT: $t_pass passed, $t_fail failed, $t_bork borked, $t_leak leaked, $t_skip skipped, $t_warn warned, $t_xfail expected-fail (of $t_total)"
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

# ---------------------------------------------------------------- processes
if [[ "$MODE" == debug ]]; then
    phase "leak and assertion reports in the stderr of every PHP process"
else
    phase "valgrind reports of the PHP processes the tests started"
fi
# ZEND_DEBUG leak reports, the engine's assertions (ZEND_ASSERT -> assert(3)),
# heap corruption found by the debug allocator
pattern='Freeing 0x[0-9a-fA-F]+ \([0-9]+ bytes\)|memory leaks detected|Last leak repeated|Assertion .* failed|Assertion failed|zend_mm_heap corrupted'
PROCS="$MEMCHECK_PROCS"
shopt -s nullglob

# the script a command line (NUL- or space-separated) runs with -f, if any
script_of_args() {
    local a prev="" script=""
    while IFS= read -r -d '' a; do
        if [[ "$prev" == "-f" ]]; then script="$a"; fi
        prev="$a"
    done <"$1"
    printf '%s\n' "$script"
}

# The test (/path/tests/foo.phpt) that process PID ran or was started by: the
# -f script of its own command line, else of its parent's, else of the
# parent's when that is a noted process itself (up to 10 levels).
test_of() {
    local pid="$1" depth=0 script parent next f
    while [[ -n "$pid" && $depth -lt 10 ]]; do
        script="$(script_of_args "$PROCS/$pid.args")"
        if [[ "$script" != *.php ]]; then
            parent="$(cat "$PROCS/$pid.parent" 2>/dev/null || true)"
            script="$(sed -nE 's/.* -f "?([^ "]+\.php)"?( .*)?$/\1/p' <<<"$parent")"
        fi
        if [[ "$script" == *.php ]]; then
            script="${script%.php}"
            script="${script%.skip}"
            printf '%s\n' "${script%.clean}.phpt"
            return
        fi
        next=""
        for f in "$PROCS"/*.args; do
            if [[ "$(printf '%s ' "$MEMCHECK_PHP")$(tr '\0' ' ' <"$f")" == "$parent" ]]; then
                next="${f##*/}"
                next="${next%.args}"
                break
            fi
        done
        pid="$next"
        depth=$((depth + 1))
    done
    echo "(unknown test)"
}

declare -A reported=()
nprocs=0
for f in "$PROCS"/*.args; do
    nprocs=$((nprocs + 1))
    pid="${f##*/}"
    pid="${pid%.args}"
    if [[ "$MODE" == debug ]]; then
        [[ -f "$PROCS/$pid.log" ]] || continue
        findings="$(grep -E "$pattern" "$PROCS/$pid.log" | head -n 20 || true)"
    else
        [[ -s "$PROCS/$pid.vg" ]] || continue
        findings="$(head -n 80 "$PROCS/$pid.vg")"
    fi
    [[ -n "$findings" ]] || continue
    phpt="$(test_of "$pid")"
    echo "memcheck: REPORT in ${phpt#"$ROOT"/}, process $pid: php $(tr '\0' ' ' <"$f" | cut -c1-300)"
    printf '%s\n' "$findings" | sed 's/^/    /'
    reported["$phpt"]=1
done
for phpt in "${!reported[@]}"; do
    result="$(awk -F'\t' -v f="$phpt" '$2 == f { r = $1 } END { print r }' "$WORK/results" 2>/dev/null || true)"
    case "$result" in
        FAILED|BORKED|LEAKED) ;; # already counted
        PASSED)
            note "${phpt#"$ROOT"/}: passed, but one of its PHP processes leaked, failed an assertion or had a valgrind error (report above)"
            passed=$((passed - 1))
            failed=$((failed + 1))
            ;;
        *)
            note "${phpt#"$ROOT"/}: ${result:-no result}, and one of its PHP processes leaked, failed an assertion or had a valgrind error (report above)"
            failed=$((failed + 1))
            ;;
    esac
done
echo "memcheck: $nprocs PHP process(es) noted, ${#reported[@]} test(s) with reports"

finish
