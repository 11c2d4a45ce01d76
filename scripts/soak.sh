#!/usr/bin/env bash
# Soak run (issue "Hardening"): starts a private Postfix, runs scripts/soak.php
# against it with the built extension, stops it. Last line: "N passed, M failed".
#   bash scripts/soak.sh [N_SOCKET [N_MAIL]]     (default 10000 1000)
set -euo pipefail
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
[[ -f modules/smtpsock.so ]] || bash scripts/build.sh
WORK="$(mktemp -d "${TMPDIR:-/tmp}/smtpsock-soak.XXXXXX")"
chmod 755 "$WORK"
PF="$WORK/postfix"
trap 'bash tests/inc/postfix-instance.sh stop "$PF" >/dev/null 2>&1 || true; rm -rf -- "$WORK"' EXIT
port="$(bash tests/inc/postfix-instance.sh start "$PF")"
php -n -d extension="$ROOT/modules/smtpsock.so" scripts/soak.php 127.0.0.1 "$port" "$PF/Maildir" "${1:-10000}" "${2:-1000}"
