#!/usr/bin/env bash
# The side-by-side benchmark in one command (Debian 12, as root):
#
#   bash bench/run.sh             the whole matrix against smtp-sink
#   bash bench/run.sh frameworks  Symfony Mailer and PHPMailer, their own SMTP
#                                 code against their smtpsock bridges
#                                 (bench/frameworks.php -> RESULTS-frameworks.md)
#   bash bench/run.sh chunking    smtp_mail() beside send() against a CHUNKING
#                                 server (the test Postfix) and smtp-sink, on
#                                 loopback and through bench/delay_proxy
#   bash bench/run.sh rtt         the round-trip benchmark (issue 12): every
#                                 client through bench/delay_proxy at several
#                                 RTTs, k = round trips per message
#
# Installs the packages it needs, builds the extension (scripts/build.sh),
# starts one smtp-sink on a free loopback port, runs bench/bench.php (the
# matrix, callgrind, memory, persistence), writes bench/RESULTS.md and prints
# it. "chunking" also builds bench/delay_proxy.c, starts a private Postfix
# (tests/inc/postfix-instance.sh) and runs bench/chunking.php instead, which
# writes bench/RESULTS-chunking.md. Everything started here is stopped on
# exit, by pid (Postfix by its own stop command).
# Tuning knobs (BENCH_RUNS, BENCH_SECONDS, ...) are listed in bench/README.md.
set -euo pipefail

PART="${1:-all}"
case "$PART" in
    all|chunking|frameworks|rtt) ;;
    *) echo "usage: bash bench/run.sh [chunking|frameworks|rtt]" >&2; exit 2 ;;
esac

STARTED="$(date +%s.%N)"
ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd -- "$ROOT"

PACKAGES=(
    php8.2-cli php8.2-dev gcc make   # PHP and what scripts/build.sh needs
    postfix                          # smtp-sink and smtp-source
    libphp-phpmailer                 # PHPMailer
    php-symfony-mailer               # Symfony Mailer
    php-net-smtp                     # PEAR Net_SMTP
    php-mail                         # PEAR Mail
    msmtp                            # sendmail_path stand-in for mail()
    valgrind                         # callgrind
)

echo "== packages"
missing=()
for pkg in "${PACKAGES[@]}"; do
    if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" != installed ]]; then
        missing+=("$pkg")
    fi
done
if ((${#missing[@]})); then
    if [[ "$(id -u)" != 0 ]]; then
        echo "bench: missing packages: ${missing[*]}; run as root" >&2
        exit 1
    fi
    echo "installing: ${missing[*]}"
    # no system-wide MTA: Postfix is only a source of smtp-sink/smtp-source here
    echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
else
    echo "all ${#PACKAGES[@]} packages installed"
fi
PHP="$(command -v php8.2 || command -v php)"
id postfix >/dev/null 2>&1 || { echo "bench: user postfix missing (smtp-sink -u postfix)" >&2; exit 1; }

# BENCH_EXT: measure another build of the extension (e.g. an older commit's)
if [[ -n "${BENCH_EXT:-}" ]]; then
    echo "== using $BENCH_EXT (BENCH_EXT), not building"
elif [[ "$PART" == rtt ]]; then
    # rtt builds out of the tree (scripts/build.sh copies the sources there)
    export SMTPSOCK_BUILD_DIR="${SMTPSOCK_BUILD_DIR:-/tmp/rtt-build-8.2}"
    echo "== building the extension in $SMTPSOCK_BUILD_DIR"
    bash "$ROOT/scripts/build.sh" "$(command -v phpize8.2 || echo phpize)"
else
    echo "== building the extension"
    bash "$ROOT/scripts/build.sh"
fi
if [[ -z "${BENCH_EXT:-}" && "$PART" == rtt ]]; then
    EXT="$SMTPSOCK_BUILD_DIR/modules/smtpsock.so"
else
    EXT="${BENCH_EXT:-$ROOT/modules/smtpsock.so}"
fi
[[ -f "$EXT" ]] || { echo "bench: $EXT was not built" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/smtpsock-bench.XXXXXX")"
chmod 755 "$WORK"
# a private copy: a rebuild of the work tree during the bench cannot touch it
cp "$EXT" "$WORK/smtpsock.so"
EXT="$WORK/smtpsock.so"
SINK_PID=""
PFDIR=""
cleanup() {
    local rc=$?
    if [[ -n "$SINK_PID" ]] && kill -0 "$SINK_PID" 2>/dev/null; then
        kill "$SINK_PID" 2>/dev/null || true
        wait "$SINK_PID" 2>/dev/null || true
    fi
    if [[ -n "$PFDIR" ]]; then
        bash "$ROOT/tests/inc/postfix-instance.sh" stop "$PFDIR" >/dev/null 2>&1 || true
    fi
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
        echo "bench: work files kept in $WORK" >&2
    else
        rm -rf -- "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    # shellcheck disable=SC2016 # PHP code
    "$PHP" -n -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);'
}

port_answers() {
    # shellcheck disable=SC2016 # PHP code
    "$PHP" -n -r '$c = @stream_socket_client("tcp://127.0.0.1:" . $argv[1], $en, $es, 1); if (!$c) exit(1); $l = fgets($c); exit(str_starts_with((string) $l, "220") ? 0 : 1);' "$1"
}

echo "== starting smtp-sink"
PORT=""
for _ in 1 2 3 4 5; do
    p="$(free_port)"
    # -c: running counters on stdout (the bench reads them to check every run);
    # -u postfix: drop root; backlog 1024. PIPELINING, 8BITMIME, DSN and
    # ENHANCEDSTATUSCODES are on by default; it offers no CHUNKING, SIZE, STARTTLS.
    smtp-sink -c -u postfix "127.0.0.1:$p" 1024 >"$WORK/sink.out" 2>"$WORK/sink.err" &
    SINK_PID=$!
    for _ in $(seq 50); do
        if port_answers "$p"; then PORT="$p"; break; fi
        kill -0 "$SINK_PID" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n "$PORT" ]] && break
    kill "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
    SINK_PID=""
done
[[ -n "$PORT" ]] || { echo "bench: smtp-sink did not start: $(cat "$WORK/sink.err")" >&2; exit 1; }
echo "smtp-sink (pid $SINK_PID) on 127.0.0.1:$PORT"

# msmtp, private configuration: the sink, no TLS, no AUTH, no log
umask 077
cat >"$WORK/msmtprc" <<EOF
defaults
syslog off
account bench
host 127.0.0.1
port $PORT
auth off
tls off
from bench@example.org
account default : bench
EOF
umask 022

if [[ "$PART" == frameworks ]]; then
    # bench/frameworks.php starts its own Postfix and delay proxy. Debian 12's
    # Symfony Mailer 5.4 / PHPMailer 6.6 on PHP 8.2 here, then (when the sid
    # root of scripts/sid-root.sh exists) Symfony Mailer 7.4 / PHPMailer 7.1 on 8.4.
    gcc -O2 -std=c11 -Wall -Wextra -Werror -o "$WORK/delay_proxy" "$ROOT/bench/delay_proxy.c"
    echo "== frameworks, PHP 8.2"
    "$PHP" -d extension="$EXT" "$ROOT/bench/frameworks.php" --proxy="$WORK/delay_proxy" \
        --results="$ROOT/bench/RESULTS-frameworks.md"
    if [[ -d /var/cache/smtpsock-sid/usr/bin ]] && bash "$ROOT/scripts/sid-root.sh" run test -x /usr/bin/php8.4; then
        echo "== frameworks, PHP 8.4 (sid root)"
        bash "$ROOT/scripts/sid-root.sh" run env SMTPSOCK_BUILD_DIR=/tmp/smtpsock-bench-8.4 \
            bash "$ROOT/scripts/build.sh" phpize8.4 >/dev/null
        bash "$ROOT/scripts/sid-root.sh" run php8.4 -d extension=/tmp/smtpsock-bench-8.4/modules/smtpsock.so \
            "$ROOT/bench/frameworks.php" --append --results="$ROOT/bench/RESULTS-frameworks.md"
    fi
    echo "== written to bench/RESULTS-frameworks.md"
    exit 0
fi

if [[ "$PART" == rtt ]]; then
    echo "== building bench/delay_proxy.c"
    gcc -O2 -std=c11 -Wall -Wextra -Werror -o "$WORK/delay_proxy" "$ROOT/bench/delay_proxy.c"
    echo "== building bench/bdat_sink.c"
    gcc -O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$WORK/bdat_sink" "$ROOT/bench/bdat_sink.c"
    # PHP 8.4 with the current libraries, in the Debian sid root made by
    # scripts/sid-root.sh (not made here: RTT_PHP=8.2 or a missing root skips it)
    SIDARGS=()
    SID="$(bash "$ROOT/scripts/sid-root.sh" path 2>/dev/null || true)"
    if [[ " ${RTT_PHP:-8.2 8.4} " == *" 8.4 "* && -n "$SID" && -x "$SID/usr/bin/php8.4" ]]; then
        echo "== building the extension for PHP 8.4 in the sid root ($SID), in its /tmp/rtt-build-8.4"
        if bash "$ROOT/scripts/sid-root.sh" run env SMTPSOCK_BUILD_DIR=/tmp/rtt-build-8.4 bash scripts/build.sh phpize8.4; then
            SIDARGS=(--sid="$SID" --ext84=/tmp/rtt-build-8.4/modules/smtpsock.so)
        else
            echo "bench: the PHP 8.4 build failed; PHP 8.4 cells are left out" >&2
        fi
    else
        echo "== no sid root with php8.4 (or RTT_PHP without 8.4): PHP 8.2 only"
    fi
    echo "== starting the test Postfix (CHUNKING)"
    PFDIR="$WORK/postfix"
    pfport="$(POSTFIX_INSTANCE_IPV6=0 bash "$ROOT/tests/inc/postfix-instance.sh" start "$PFDIR")"
    echo "Postfix on 127.0.0.1:$pfport (maildir $PFDIR/Maildir)"
    echo "== running the round-trip cells (see $WORK/rtt/ for every run)"
    "$PHP" "$ROOT/bench/rtt.php" \
        --ext="$EXT" --work="$WORK" --sink-port="$PORT" --sink-out="$WORK/sink.out" \
        --postfix-dir="$PFDIR" --proxy="$WORK/delay_proxy" --bdat-sink="$WORK/bdat_sink" --results="$ROOT/bench/RESULTS-rtt.md" \
        "${SIDARGS[@]}" \
        --command="${BENCH_COMMAND:-bash bench/run.sh rtt}" --started="$STARTED"
    echo "== written to bench/RESULTS-rtt.md"
    exit 0
fi

if [[ "$PART" == chunking ]]; then
    echo "== building bench/delay_proxy.c"
    gcc -O2 -std=c11 -Wall -Wextra -Werror -o "$WORK/delay_proxy" "$ROOT/bench/delay_proxy.c"
    echo "== starting the test Postfix (CHUNKING)"
    PFDIR="$WORK/postfix"
    pfport="$(POSTFIX_INSTANCE_IPV6=0 bash "$ROOT/tests/inc/postfix-instance.sh" start "$PFDIR")"
    echo "Postfix on 127.0.0.1:$pfport (maildir $PFDIR/Maildir)"
    echo "== running the chunking cells (see $WORK/chunking/ for every run)"
    "$PHP" "$ROOT/bench/chunking.php" \
        --ext="$EXT" --work="$WORK" --sink-port="$PORT" --sink-out="$WORK/sink.out" \
        --postfix-dir="$PFDIR" --proxy="$WORK/delay_proxy" --results="$ROOT/bench/RESULTS-chunking.md" \
        --command="${BENCH_COMMAND:-bash bench/run.sh chunking}" --started="$STARTED"
    echo "== written to bench/RESULTS-chunking.md"
    exit 0
fi

echo "== running the matrix (see $WORK/bench.log for every run)"
"$PHP" "$ROOT/bench/bench.php" \
    --ext="$EXT" --port="$PORT" --sink-out="$WORK/sink.out" --work="$WORK" \
    --msmtprc="$WORK/msmtprc" --results="$ROOT/bench/RESULTS.md" \
    --command="${BENCH_COMMAND:-bash bench/run.sh}" --started="$STARTED"
echo "== written to bench/RESULTS.md"
