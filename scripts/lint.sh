#!/usr/bin/env bash
# Static checks (issue "Hardening"): cppcheck clean on smtp_core/, and the whole
# extension building warning-free with clang as well as gcc (the suite builds
# with gcc) at -Wall -Wextra -Werror. Last line: "N passed, M failed".
#
#   bash scripts/lint.sh                       everything, against the PHP on PATH
#   bash scripts/lint.sh --build-only 8.6      only the clang build, against php8.6
set -uo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
pass=0
fail=0
check() {
    local what=$1; shift
    if "$@"; then
        echo "lint: ok: $what"; pass=$((pass + 1))
    else
        echo "lint: FAILED: $what"; fail=$((fail + 1))
    fi
}
# --build-only VERSION: only the clang build, against Debian's phpizeVERSION
# (the other PHP versions, in the sid root: .ci/run's lint-V passes)
V=""
build_only=0
if [[ "${1:-}" == --build-only ]]; then
    build_only=1
    V="${2:-}"
fi
[[ $build_only -eq 1 ]] || check "cppcheck on smtp_core/" cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
    --std=c99 -DSMTP_SASL_TEST_HOOKS smtp_core/*.c
[[ $build_only -eq 1 ]] || check "smtp_core/ with gcc -std=c99 -pedantic" bash -c \
    'for f in smtp_core/*.c; do gcc -std=c99 -pedantic -Wall -Wextra -Werror -c "$f" -o /dev/null || exit 1; done'
scratch="$(mktemp -d "${TMPDIR:-/tmp}/smtpsock-lint.XXXXXX")"
trap 'rm -rf -- "$scratch"' EXIT
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$scratch"
check "the extension built with clang -Wall -Wextra -Werror against PHP ${V:-$(php-config --version)}" bash -c \
    "cd '$scratch' && CC=clang bash scripts/build.sh phpize$V >/dev/null"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
