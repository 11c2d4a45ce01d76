#!/usr/bin/env bash
# Private Postfix instances for the smtpsock test suite.
#
#   postfix-instance.sh start DIR   start an instance living entirely under DIR;
#                                   prints its port once smtpd answers 220
#   postfix-instance.sh stop DIR    stop exactly that instance
#   postfix-instance.sh status DIR  print the port and exit 0 when it runs
#   postfix-instance.sh watch PID DIR
#                                   stop and remove DIR's instance once process
#                                   PID has ended and left it behind (crash)
#
# Layout under DIR:
#   etc/      main.cf, master.cf, rcpt_access, sender_access (config_directory)
#   queue/    queue_directory (master pid in queue/pid/master.pid)
#   data/     data_directory (owned by the postfix user)
#   log/      maillog (there is no syslog)
#   Maildir/  every message for every recipient, delivered by `virtual`
#   port      the smtpd port, one line
#   dovecot/  private Dovecot (with POSTFIX_INSTANCE_SASL=dovecot)
#
# smtpd listens on 127.0.0.1:PORT, and on [::1]:PORT as well when IPv6
# loopback works (set POSTFIX_INSTANCE_IPV6=0 to keep it IPv4 only).
# Test policy: recipients starting with "reject-" get 550 5.1.1, "defer-"
# get 450 4.2.0, the sender refused-sender@... gets 553 5.7.1 at MAIL FROM.
#
# TLS and AUTH (all optional; without them the instance is plain SMTP as
# before). Environment variables read by "start":
#   POSTFIX_INSTANCE_TLS_CERT, POSTFIX_INSTANCE_TLS_KEY
#       PEM certificate (or chain) and key: the main port offers STARTTLS
#       (tests/inc/certs.sh makes a suitable set). Received headers then
#       name the TLS protocol and cipher (smtpd_tls_received_header).
#   POSTFIX_INSTANCE_TLS_LEVEL    may (default) | encrypt: main port's
#       smtpd_tls_security_level (encrypt: 530 until STARTTLS)
#   POSTFIX_INSTANCE_TLS_CA       path of the CA that signed the certificate;
#       only recorded (as ca= in DIR/info) for the test helpers
#   POSTFIX_INSTANCE_SASL         enable SASL AUTH through Dovecot:
#       "dovecot"   start a private Dovecot in DIR/dovecot
#                   (tests/inc/dovecot-instance.sh; its users in
#                   DIR/dovecot/users), stopped with the instance
#       /abs/path or inet:127.0.0.1:PORT
#                   the auth socket of a Dovecot started elsewhere
#   POSTFIX_INSTANCE_TLS_AUTH_ONLY  yes | no: main port offers AUTH only after
#       STARTTLS (default yes when TLS is on; no without TLS)
#   POSTFIX_INSTANCE_AUTH_REQUIRED  1 (default with SASL) | 0: whether
#       loopback clients must authenticate to send; with 1 an unauthenticated
#       RCPT gets 554 5.7.1 (Recipient address rejected: Access denied).
#       The reject-/defer- addresses keep their replies for authenticated
#       clients.
#   POSTFIX_INSTANCE_LISTENERS    extra smtpd listeners (own free port each,
#       on 127.0.0.1 and [::1] like the main port), space separated:
#       smtps      implicit TLS from the first byte (wrappermode; needs TLS)
#       clearauth  STARTTLS offered and AUTH offered before it too (needs
#                  TLS and SASL)
#       encrypt    STARTTLS required before MAIL (530 5.7.0; needs TLS)
#       plainauth  no STARTTLS at all, AUTH in clear text (needs SASL)
#   POSTFIX_INSTANCE_MAIN_CF      main.cf lines appended last (they win), e.g.
#       "smtpd_timeout = 2s" for a relay that closes idle sessions soon
#   With SASL, Received headers name the authenticated user
#   (smtpd_sasl_authenticated_header) and AUTH failures are answered at once.
#
# Files recording the coordinates: DIR/port (main port, as before),
# DIR/<listener>_port for each extra listener (e.g. DIR/smtps_port), and
# DIR/info with "key=value" lines: port, <listener>_port, tls (0|1),
# tls_level, tls_auth_only, ca, sasl (socket or empty), auth_required,
# users (file of NAME<TAB>base64(PASSWORD) lines, with SASL=dovecot).
#
# Must run as root (Postfix's master needs it). All traffic stays on loopback.
set -euo pipefail

readonly POSTFIX_META_MASTER_CF_CANDIDATES=(
    /etc/postfix/master.cf
    /usr/share/postfix/master.cf.dist
    /etc/postfix/master.cf.proto
)
# Services kept from the system master.cf; everything else is dropped.
readonly KEEP_SERVICES=" pickup cleanup qmgr tlsmgr rewrite bounce defer trace verify flush proxymap proxywrite showq error retry discard virtual anvil scache postlog "

die() {
    printf 'postfix-instance: %s\n' "$*" >&2
    exit 1
}

log() {
    printf 'postfix-instance: %s\n' "$*" >&2
}

usage() {
    printf 'usage: %s start|stop|status DIR | watch PID DIR\n' "$0" >&2
    exit 2
}

php_bin() {
    # A plain PHP without ini files is enough to probe sockets.
    if [[ -n "${TEST_PHP_EXECUTABLE:-}" && -x "${TEST_PHP_EXECUTABLE}" ]]; then
        printf '%s\n' "${TEST_PHP_EXECUTABLE}"
    else
        command -v php || die "php not found (needed to pick a free port)"
    fi
}

# ipv6_loopback_works: exit 0 when a socket can be bound on [::1].
ipv6_loopback_works() {
    [[ "${POSTFIX_INSTANCE_IPV6:-1}" != "0" ]] || return 1
    # shellcheck disable=SC2016 # PHP code
    "$(php_bin)" -n -r '$s = @stream_socket_server("tcp://[::1]:0", $en, $es); exit($s ? 0 : 1);' 2>/dev/null
}

# pick_port WANT_V6 [COUNT]: print COUNT (default 1) distinct ports, one
# per line, each free on 127.0.0.1 (and on [::1] when WANT_V6 is 1), found
# by binding port 0 (all held until every one is found, so they differ).
pick_port() {
    # shellcheck disable=SC2016 # PHP code
    "$(php_bin)" -n -r '
        $want6 = $argv[1] === "1";
        $count = (int) ($argv[2] ?? 1);
        $held = [];
        $ports = [];
        for ($i = 0; $i < 50 * $count && count($ports) < $count; $i++) {
            $s4 = @stream_socket_server("tcp://127.0.0.1:0", $en, $es);
            if (!$s4) { continue; }
            $name = stream_socket_get_name($s4, false);
            $port = (int) substr($name, strrpos($name, ":") + 1);
            if ($want6) {
                $s6 = @stream_socket_server("tcp://[::1]:$port", $en, $es);
                if (!$s6) { fclose($s4); continue; }
                $held[] = $s6;
            }
            $held[] = $s4;
            $ports[] = $port;
        }
        if (count($ports) < $count) { exit(1); }
        echo implode("\n", $ports), "\n";
        exit(0);
    ' "$1" "${2:-1}"
}

# abs_dir DIR: print DIR as an absolute path, creating it if needed.
abs_dir() {
    mkdir -p -- "$1"
    (cd -- "$1" && pwd -P)
}

master_pid() {
    local dir="$1" pidfile="$1/queue/pid/master.pid" pid
    [[ -r "$pidfile" ]] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [[ -n "$pid" ]] || return 1
    printf '%s\n' "$pid"
}

# pid_alive PID: the process exists and is not a zombie (orphaned daemons
# may linger as zombies where init is slow to reap them).
pid_alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ -n "$stat" && "${stat:0:1}" != Z ]]
}

# instance_running DIR: the master named in DIR's pid file runs with DIR's
# configuration.
instance_running() {
    local dir="$1" pid
    pid="$(master_pid "$dir")" || return 1
    pid_alive "$pid" || return 1
    # Make sure the pid was not recycled by an unrelated process.
    grep -qzFx "MAIL_CONFIG=$dir/etc" "/proc/$pid/environ" 2>/dev/null
}

# leftover_pids DIR: processes whose environment says they belong to DIR's
# Postfix configuration (master exports MAIL_CONFIG to every daemon).
leftover_pids() {
    local dir="$1" p
    for p in /proc/[0-9]*; do
        if grep -qzFx "MAIL_CONFIG=$dir/etc" "$p/environ" 2>/dev/null; then
            printf '%s\n' "${p#/proc/}"
        fi
    done
}

# Settings derived from the environment by read_settings (see the header).
TLS_ON=0
TLS_LEVEL=may
TLS_AUTH_ONLY=no
SASL_MODE=""       # "", dovecot (private), or external
SASL_PATH=""       # auth socket for smtpd_sasl_path
AUTH_REQUIRED=0
LISTENERS=()       # extra listener names
declare -A LPORT=() # listener name -> port
MAIN_PORT=""

# read_settings: validate the TLS/AUTH environment variables.
read_settings() {
    local l
    if [[ -n "${POSTFIX_INSTANCE_TLS_CERT:-}" || -n "${POSTFIX_INSTANCE_TLS_KEY:-}" ]]; then
        [[ -r "${POSTFIX_INSTANCE_TLS_CERT:-}" && -r "${POSTFIX_INSTANCE_TLS_KEY:-}" ]] ||
            die "POSTFIX_INSTANCE_TLS_CERT and POSTFIX_INSTANCE_TLS_KEY must both name readable PEM files"
        TLS_ON=1
    fi
    TLS_LEVEL="${POSTFIX_INSTANCE_TLS_LEVEL:-may}"
    [[ "$TLS_LEVEL" == may || "$TLS_LEVEL" == encrypt || "$TLS_LEVEL" == none ]] ||
        die "POSTFIX_INSTANCE_TLS_LEVEL must be may, encrypt or none"
    case "${POSTFIX_INSTANCE_SASL:-}" in
        "") ;;
        dovecot) SASL_MODE=dovecot ;;
        /* | inet:*) SASL_MODE=external; SASL_PATH="$POSTFIX_INSTANCE_SASL" ;;
        *) die "POSTFIX_INSTANCE_SASL must be dovecot, an absolute socket path or inet:HOST:PORT" ;;
    esac
    if [[ -n "$SASL_MODE" ]]; then
        AUTH_REQUIRED="${POSTFIX_INSTANCE_AUTH_REQUIRED:-1}"
        if [[ $TLS_ON == 1 ]]; then
            TLS_AUTH_ONLY="${POSTFIX_INSTANCE_TLS_AUTH_ONLY:-yes}"
        else
            TLS_AUTH_ONLY="${POSTFIX_INSTANCE_TLS_AUTH_ONLY:-no}"
        fi
        [[ "$TLS_AUTH_ONLY" == yes || "$TLS_AUTH_ONLY" == no ]] ||
            die "POSTFIX_INSTANCE_TLS_AUTH_ONLY must be yes or no"
        [[ "$AUTH_REQUIRED" == 0 || "$AUTH_REQUIRED" == 1 ]] ||
            die "POSTFIX_INSTANCE_AUTH_REQUIRED must be 0 or 1"
    fi
    read -r -a LISTENERS <<<"${POSTFIX_INSTANCE_LISTENERS:-}"
    for l in "${LISTENERS[@]}"; do
        case "$l" in
            smtps | encrypt) [[ $TLS_ON == 1 ]] || die "listener $l needs POSTFIX_INSTANCE_TLS_CERT/KEY" ;;
            clearauth) [[ $TLS_ON == 1 && -n "$SASL_MODE" ]] || die "listener clearauth needs TLS and POSTFIX_INSTANCE_SASL" ;;
            plainauth) [[ -n "$SASL_MODE" ]] || die "listener plainauth needs POSTFIX_INSTANCE_SASL" ;;
            *) die "unknown listener '$l' in POSTFIX_INSTANCE_LISTENERS (smtps clearauth encrypt plainauth)" ;;
        esac
    done
}

# write_tls_settings DIR: smtpd_tls_* lines for main.cf. Empty unless a
# certificate is given through the environment.
write_tls_settings() {
    local dir="$1"
    if [[ $TLS_ON == 1 ]]; then
        cp -- "$POSTFIX_INSTANCE_TLS_CERT" "$dir/etc/tls-cert.pem"
        cp -- "$POSTFIX_INSTANCE_TLS_KEY" "$dir/etc/tls-key.pem"
        chmod 600 "$dir/etc/tls-key.pem"
        cat <<EOF
# TLS (POSTFIX_INSTANCE_TLS_CERT / POSTFIX_INSTANCE_TLS_KEY)
smtpd_tls_security_level = $TLS_LEVEL
smtpd_tls_cert_file = $dir/etc/tls-cert.pem
smtpd_tls_key_file = $dir/etc/tls-key.pem
smtpd_tls_session_cache_database =
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
EOF
    else
        printf '# no TLS: set POSTFIX_INSTANCE_TLS_CERT and POSTFIX_INSTANCE_TLS_KEY to offer STARTTLS\n'
    fi
}

# write_sasl_settings: smtpd_sasl_* lines for main.cf (AUTH through Dovecot).
write_sasl_settings() {
    if [[ -n "$SASL_MODE" ]]; then
        cat <<EOF
# SASL AUTH through Dovecot (POSTFIX_INSTANCE_SASL)
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $SASL_PATH
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_sasl_authenticated_header = yes
smtpd_tls_auth_only = $TLS_AUTH_ONLY
broken_sasl_auth_clients = no
EOF
    else
        printf '# no AUTH: set POSTFIX_INSTANCE_SASL to offer it\n'
    fi
}

# write_main_cf DIR PORT WANT_V6
write_main_cf() {
    local dir="$1" port="$2" want6="$3" vuid vgid protocols relay
    # Who may send: loopback clients (mynetworks), and authenticated ones.
    # POSTFIX_INSTANCE_AUTH_REQUIRED=1 drops the former.
    if [[ -z "$SASL_MODE" ]]; then
        relay="permit_mynetworks, reject"
    elif [[ $AUTH_REQUIRED == 1 ]]; then
        relay="permit_sasl_authenticated, reject"
    else
        relay="permit_sasl_authenticated, permit_mynetworks, reject"
    fi
    vuid="$(id -u nobody)"
    vgid="$(id -g nobody)"
    if [[ "$want6" == 1 ]]; then protocols=all; else protocols=ipv4; fi
    cat >"$dir/etc/main.cf" <<EOF
# Private Postfix instance for smtpsock tests (generated by postfix-instance.sh).
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $dir/log/maillog
maillog_file_prefixes = $dir/log

myhostname = smtpsock-test.localhost
mydomain = localhost
myorigin = \$myhostname
smtpd_banner = \$myhostname ESMTP smtpsock test instance port $port
inet_interfaces = loopback-only
inet_protocols = $protocols
mynetworks = 127.0.0.0/8 [::1]/128

# Everything is delivered by 'virtual' into ONE Maildir: $dir/Maildir/
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = virtual
virtual_mailbox_domains = static:all
virtual_mailbox_base = $dir
virtual_mailbox_maps = static:Maildir/
virtual_uid_maps = static:$vuid
virtual_gid_maps = static:$vgid
virtual_mailbox_limit = 0
# Nothing ever leaves this instance.
default_transport = error:smtpsock test instance delivers locally only
relay_transport = \$default_transport
relayhost =
biff = no
append_dot_mydomain = no

# Do not touch headers of messages from loopback clients (no added Date,
# Message-ID, From, no address rewriting): tests see what the client sent,
# plus Return-Path/Delivered-To (virtual) and Received (smtpd).
local_header_rewrite_clients =
always_add_missing_headers = no

# Limits and speed
message_size_limit = 52428800
in_flow_delay = 0
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_junk_command_limit = 1000
smtpd_peername_lookup = no
smtputf8_enable = yes
# A bare LF (in commands or message content) is a client bug: reject it
# with 550, also from loopback. BDAT content is checked too.
smtpd_forbid_bare_newline = reject
smtpd_forbid_bare_newline_exclusions =

# Test policy
smtpd_delay_reject = no
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions = check_sender_access regexp:$dir/etc/sender_access
smtpd_relay_restrictions = $relay
smtpd_recipient_restrictions = check_recipient_access regexp:$dir/etc/rcpt_access, $relay

EOF
    write_tls_settings "$dir" >>"$dir/etc/main.cf"
    write_sasl_settings >>"$dir/etc/main.cf"
    if [[ -n "${POSTFIX_INSTANCE_MAIN_CF:-}" ]]; then
        printf '# POSTFIX_INSTANCE_MAIN_CF\n%s\n' "$POSTFIX_INSTANCE_MAIN_CF" >>"$dir/etc/main.cf"
    fi

    cat >"$dir/etc/rcpt_access" <<'EOF'
/^reject-/	550 5.1.1 rejected for test
/^defer-/	450 4.2.0 deferred for test
EOF
    cat >"$dir/etc/sender_access" <<'EOF'
/^refused-sender@/	553 5.7.1 sender refused for test
EOF
}

# write_master_cf DIR PORT WANT_V6: the system master.cf with the smtp inet
# service replaced by loopback listeners, chroot off, unused services dropped.
write_master_cf() {
    local dir="$1" port="$2" want6="$3" src="" c l
    for c in "${POSTFIX_META_MASTER_CF_CANDIDATES[@]}"; do
        if [[ -r "$c" ]]; then src="$c"; break; fi
    done
    [[ -n "$src" ]] || die "no master.cf template found (is postfix installed?)"
    {
        printf '# Generated by postfix-instance.sh from %s\n' "$src"
        printf '127.0.0.1:%s inet n - n - - smtpd\n' "$port"
        if [[ "$want6" == 1 ]]; then
            printf '[::1]:%s inet n - n - - smtpd\n' "$port"
        fi
        for l in "${LISTENERS[@]}"; do
            write_listener "$l" "${LPORT[$l]}" 127.0.0.1
            if [[ "$want6" == 1 ]]; then
                write_listener "$l" "${LPORT[$l]}" '[::1]'
            fi
        done
        awk -v keep="$KEEP_SERVICES" '
            /^[ \t]*#/ || /^[ \t]*$/ { next }
            /^[ \t]/ { if (printing) print; next }   # continuation (-o ...)
            {
                printing = (index(keep, " " $1 " ") > 0 && $2 != "inet")
                if (!printing) next
                $5 = "n"                               # no chroot
                print
            }
        ' "$src"
    } >"$dir/etc/master.cf"
}

# write_listener NAME PORT ADDR: one extra smtpd listener for master.cf.
write_listener() {
    local name="$1" port="$2" addr="$3"
    printf '%s:%s inet n - n - - smtpd\n' "$addr" "$port"
    printf '  -o syslog_name=postfix/%s\n' "$name"
    # shellcheck disable=SC2016 # $myhostname is for Postfix
    printf '  -o { smtpd_banner = $myhostname ESMTP smtpsock test instance %s port %s }\n' "$name" "$port"
    case "$name" in
        smtps)
            printf '  -o smtpd_tls_wrappermode=yes\n  -o smtpd_tls_security_level=encrypt\n' ;;
        clearauth)
            printf '  -o smtpd_tls_security_level=may\n  -o smtpd_tls_auth_only=no\n' ;;
        encrypt)
            printf '  -o smtpd_tls_security_level=encrypt\n' ;;
        plainauth)
            printf '  -o smtpd_tls_security_level=none\n  -o smtpd_tls_auth_only=no\n' ;;
    esac
}

# write_info DIR PORT: the coordinates files (see the header).
write_info() {
    local dir="$1" port="$2" l users=""
    for l in "${LISTENERS[@]}"; do
        printf '%s\n' "${LPORT[$l]}" >"$dir/${l}_port"
    done
    if [[ "$SASL_MODE" == dovecot ]]; then users="$dir/dovecot/users"; fi
    {
        printf 'port=%s\n' "$port"
        for l in "${LISTENERS[@]}"; do
            printf '%s_port=%s\n' "$l" "${LPORT[$l]}"
        done
        printf 'tls=%s\n' "$TLS_ON"
        printf 'tls_level=%s\n' "$([[ $TLS_ON == 1 ]] && echo "$TLS_LEVEL" || echo none)"
        printf 'tls_auth_only=%s\n' "$TLS_AUTH_ONLY"
        printf 'ca=%s\n' "${POSTFIX_INSTANCE_TLS_CA:-}"
        printf 'sasl=%s\n' "$SASL_PATH"
        printf 'auth_required=%s\n' "$AUTH_REQUIRED"
        printf 'users=%s\n' "$users"
    } >"$dir/info.tmp"
    mv -f -- "$dir/info.tmp" "$dir/info"
}

# pick_ports WANT_V6: a free port for the main listener (into MAIN_PORT)
# and one per extra listener (into LPORT), all distinct.
pick_ports() {
    local want6="$1" i out
    local -a ports
    out="$(pick_port "$want6" $((1 + ${#LISTENERS[@]})))" || return 1
    mapfile -t ports <<<"$out"
    [[ ${#ports[@]} -eq $((1 + ${#LISTENERS[@]})) ]] || return 1
    MAIN_PORT="${ports[0]}"
    for ((i = 0; i < ${#LISTENERS[@]}; i++)); do
        LPORT[${LISTENERS[i]}]="${ports[i + 1]}"
    done
}

# check_ancestors DIR: Postfix daemons (user postfix) and the delivery agent
# (user nobody) must be able to traverse every parent of DIR.
check_ancestors() {
    local d mode
    d="$(dirname -- "$1")"
    while [[ "$d" != / ]]; do
        mode="$(stat -c '%a' -- "$d")"
        if (( (8#$mode & 8#001) == 0 )); then
            die "$d (mode $mode) is not searchable by other users; Postfix (user postfix) cannot reach $1. chmod o+x it or choose another place."
        fi
        d="$(dirname -- "$d")"
    done
}

prepare_dirs() {
    local dir="$1" vuid vgid d
    check_ancestors "$dir"
    vuid="$(id -u nobody)"
    vgid="$(id -g nobody)"
    chmod 755 "$dir"
    mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$dir/log" \
        "$dir/Maildir/new" "$dir/Maildir/cur" "$dir/Maildir/tmp"
    chown root:root "$dir/etc" "$dir/queue"
    chmod 755 "$dir/etc" "$dir/queue" "$dir/log"
    chown postfix "$dir/data"
    chmod 700 "$dir/data"
    for d in "$dir/Maildir" "$dir/Maildir/new" "$dir/Maildir/cur" "$dir/Maildir/tmp"; do
        chown "$vuid:$vgid" "$d"
        chmod 755 "$d"
    done
}

# greeting_ok PORT: connect and read a 220 greeting.
greeting_ok() {
    local port="$1" line=""
    {
        exec 3<>"/dev/tcp/127.0.0.1/$port"
    } 2>/dev/null || return 1
    if IFS= read -r -t 5 line <&3 && [[ "$line" == 220* ]]; then
        printf 'QUIT\r\n' >&3 2>/dev/null || true
        exec 3>&- 3<&-
        return 0
    fi
    exec 3>&- 3<&-
    return 1
}

cmd_start() {
    local dir port want6=0 attempt rc start_log t
    [[ "$(id -u)" == 0 ]] || die "must run as root (Postfix master needs it)"
    command -v postfix >/dev/null || die "postfix is not installed (run scripts/install-deps.sh)"
    dir="$(abs_dir "$1")"
    if instance_running "$dir"; then
        die "an instance already runs in $dir (port $(cat "$dir/port" 2>/dev/null || echo '?'))"
    fi
    read_settings
    if ipv6_loopback_works; then want6=1; fi
    prepare_dirs "$dir"
    start_log="$dir/log/start.log"
    : >"$start_log"
    rm -f -- "$dir/info" "$dir/"*_port
    if [[ "$SASL_MODE" == dovecot ]]; then
        SASL_PATH="$(bash "$(dirname -- "${BASH_SOURCE[0]}")/dovecot-instance.sh" start "$dir/dovecot")" ||
            die "could not start the private Dovecot in $dir/dovecot"
    fi

    for attempt in 1 2 3 4 5 6 7 8; do
        pick_ports "$want6" || { stop_dovecot "$dir"; die "could not find free loopback ports"; }
        port="$MAIN_PORT"
        write_main_cf "$dir" "$port" "$want6"
        write_master_cf "$dir" "$port" "$want6"
        # Postfix waits (up to ~2 s, re-reading) for a config file whose
        # mtime is within the last seconds to settle: backdate ours.
        touch -d "@$(($(date +%s) - 60))" "$dir/etc/"*
        rc=0
        postfix -c "$dir/etc" start >>"$start_log" 2>&1 || rc=$?
        if [[ $rc -eq 0 ]]; then
            # master -w returned: listeners are bound. Wait for the greeting.
            for ((t = 0; t < 200; t++)); do
                if greeting_ok "$port"; then
                    write_info "$dir" "$port"
                    printf '%s\n' "$port" >"$dir/port"
                    printf '%s\n' "$port"
                    return 0
                fi
                if ! instance_running "$dir"; then break; fi
                sleep 0.05
            done
            log "smtpd on port $port did not greet (attempt $attempt)"
            postfix -c "$dir/etc" stop >>"$start_log" 2>&1 || true
            kill_leftovers "$dir"
        fi
        if grep -q 'Address already in use' "$start_log" "$dir/log/maillog" 2>/dev/null; then
            log "port $port (or an extra listener's) was taken meanwhile, retrying (attempt $attempt)"
            : >"$start_log"
            [[ -e "$dir/log/maillog" ]] && : >"$dir/log/maillog"
            continue
        fi
        log "postfix failed to start in $dir (exit $rc)"
        sed 's/^/  | /' "$start_log" >&2 || true
        tail -n 20 "$dir/log/maillog" 2>/dev/null | sed 's/^/  | /' >&2 || true
        kill_leftovers "$dir"
        stop_dovecot "$dir"
        exit 1
    done
    stop_dovecot "$dir"
    die "gave up after $attempt attempts to start postfix in $dir"
}

# kill_leftovers DIR: SIGTERM (then SIGKILL) processes of DIR's instance.
kill_leftovers() {
    local dir="$1" pids t
    for ((t = 0; t < 60; t++)); do
        pids="$(leftover_pids "$dir")"
        [[ -n "$pids" ]] || return 0
        if ((t == 0)); then
            # shellcheck disable=SC2086
            kill -TERM $pids 2>/dev/null || true
        elif ((t == 40)); then
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
        fi
        sleep 0.05
    done
    log "processes of $dir still alive: $(leftover_pids "$dir" | tr '\n' ' ')"
    return 1
}

cmd_stop() {
    local dir pid t
    [[ -d "$1" ]] || die "no such directory: $1"
    dir="$(cd -- "$1" && pwd -P)"
    if [[ -f "$dir/etc/main.cf" ]] && instance_running "$dir"; then
        pid="$(master_pid "$dir")"
        # postfix stop sends SIGTERM to master, which takes its children
        # down, and waits (up to 5 s) for it to go.
        postfix -c "$dir/etc" stop >>"$dir/log/start.log" 2>&1 || true
        for ((t = 0; t < 40; t++)); do
            pid_alive "$pid" || break
            sleep 0.05
        done
        if pid_alive "$pid"; then
            log "master $pid did not stop, killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    kill_leftovers "$dir"
    stop_dovecot "$dir"
    rm -f -- "$dir/port" "$dir/info" "$dir/"*_port
}

# stop_dovecot DIR: stop the private Dovecot of DIR's instance, if any.
stop_dovecot() {
    local dir="$1"
    if [[ -f "$dir/dovecot/dovecot.conf" ]]; then
        bash "$(dirname -- "${BASH_SOURCE[0]}")/dovecot-instance.sh" stop "$dir/dovecot" || true
    fi
}

# proc_starttime PID: the process's start time (field 22 of /proc/PID/stat),
# failing when it is gone or a zombie.
proc_starttime() {
    local stat fields
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    read -r -a fields <<<"$stat"
    [[ "${fields[0]}" != Z ]] || return 1
    printf '%s\n' "${fields[19]}"
}

# cmd_watch PID DIR: stop (and remove) the instance in DIR once process PID
# ends without having removed DIR itself (e.g. it crashed). Returns at once
# when DIR is gone.
cmd_watch() {
    local pid="$1" dir="$2" start now
    start="$(proc_starttime "$pid")" || start=""
    while [[ -n "$start" && -d "$dir" ]]; do
        now="$(proc_starttime "$pid")" || break
        [[ "$now" == "$start" ]] || break
        sleep 0.25
    done
    if [[ -f "$dir/etc/main.cf" ]]; then
        cmd_stop "$dir" || true
        rm -rf -- "$dir"
    fi
}

cmd_status() {
    local dir
    [[ -d "$1" ]] || return 1
    dir="$(cd -- "$1" && pwd -P)"
    instance_running "$dir" || return 1
    cat -- "$dir/port"
}

case "${1:-}:$#" in
    start:2) cmd_start "$2" ;;
    stop:2) cmd_stop "$2" ;;
    status:2) cmd_status "$2" ;;
    watch:3) cmd_watch "$2" "$3" ;;
    *) usage ;;
esac
