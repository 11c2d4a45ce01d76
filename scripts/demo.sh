#!/usr/bin/env bash
# smtpsock in one command (Debian 12, as root): installs what is needed,
# builds the extension, starts a private Postfix on a loopback port, sends
# one message with smtp_mail() and shows it as delivered. Nothing is left
# running afterwards.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd -- "$ROOT"

echo "== installing dependencies"
bash "$ROOT/scripts/install-deps.sh"

echo "== building the extension"
if [[ ! -f "$ROOT/scripts/build.sh" ]]; then
    echo "demo: scripts/build.sh is missing" >&2
    exit 1
fi
bash "$ROOT/scripts/build.sh"
EXT="$ROOT/modules/smtpsock.so"
[[ -f "$EXT" ]] || { echo "demo: $EXT was not built" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/smtpsock-demo.XXXXXX")"
chmod 755 "$WORK" # Postfix's own users must reach the instance below it
PFDIR="$WORK/postfix"
started=0
cleanup() {
    local rc=$?
    if [[ $started -eq 1 ]]; then
        echo "== stopping Postfix"
        bash "$ROOT/tests/inc/postfix-instance.sh" stop "$PFDIR" || true
    fi
    rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== starting a private Postfix on loopback"
port="$(bash "$ROOT/tests/inc/postfix-instance.sh" start "$PFDIR")"
started=1
echo "Postfix listens on 127.0.0.1:$port, delivering into $PFDIR/Maildir"

cat >"$WORK/demo.php" <<'PHP'
<?php
ini_set('smtpsock.host', '127.0.0.1');
ini_set('smtpsock.port', getenv('DEMO_PORT'));

$ok = smtp_mail('ann@example.org', 'Hello from smtpsock', "It works.\n", ['From' => 'demo@example.org']);
echo 'smtp_mail() returned ', var_export($ok, true), "\n";
exit($ok ? 0 : 1);
PHP

echo "== sending with smtp_mail()"
echo "php -d extension=$EXT $WORK/demo.php"
DEMO_PORT="$port" php -d "extension=$EXT" "$WORK/demo.php"

echo "== waiting for delivery"
msg=""
for ((i = 0; i < 200; i++)); do
    msg="$(find "$PFDIR/Maildir/new" "$PFDIR/Maildir/cur" -type f 2>/dev/null | head -n 1)"
    [[ -z "$msg" ]] || break
    sleep 0.05
done
if [[ -z "$msg" ]]; then
    echo "demo: no message arrived in $PFDIR/Maildir; Postfix log:" >&2
    tail -n 20 "$PFDIR/log/maillog" >&2 || true
    exit 1
fi
echo "Delivered to $msg:"
echo "------------------------------------------------------------------"
cat -- "$msg"
echo "------------------------------------------------------------------"
