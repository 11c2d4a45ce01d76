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
#
# smtpd listens on 127.0.0.1:PORT, and on [::1]:PORT as well when IPv6
# loopback works (set POSTFIX_INSTANCE_IPV6=0 to keep it IPv4 only).
# Test policy: recipients starting with "reject-" get 550 5.1.1, "defer-"
# get 450 4.2.0, the sender refused-sender@... gets 553 5.7.1 at MAIL FROM.
# TLS: set POSTFIX_INSTANCE_TLS_CERT and POSTFIX_INSTANCE_TLS_KEY (PEM files)
# to offer STARTTLS (see write_tls_settings).
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

# pick_port WANT_V6: print a port that is free on 127.0.0.1 (and on [::1]
# when WANT_V6 is 1), found by binding port 0.
pick_port() {
    # shellcheck disable=SC2016 # PHP code
    "$(php_bin)" -n -r '
        $want6 = $argv[1] === "1";
        for ($i = 0; $i < 50; $i++) {
            $s4 = @stream_socket_server("tcp://127.0.0.1:0", $en, $es);
            if (!$s4) { continue; }
            $name = stream_socket_get_name($s4, false);
            $port = (int) substr($name, strrpos($name, ":") + 1);
            if ($want6) {
                $s6 = @stream_socket_server("tcp://[::1]:$port", $en, $es);
                if (!$s6) { fclose($s4); continue; }
                fclose($s6);
            }
            fclose($s4);
            echo $port, "\n";
            exit(0);
        }
        exit(1);
    ' "$1"
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

# write_tls_settings DIR: smtpd_tls_* lines for main.cf. Empty unless a
# certificate is given through the environment (TLS is a later issue; this
# is the one place to extend).
write_tls_settings() {
    local dir="$1"
    if [[ -n "${POSTFIX_INSTANCE_TLS_CERT:-}" && -n "${POSTFIX_INSTANCE_TLS_KEY:-}" ]]; then
        cp -- "$POSTFIX_INSTANCE_TLS_CERT" "$dir/etc/tls-cert.pem"
        cp -- "$POSTFIX_INSTANCE_TLS_KEY" "$dir/etc/tls-key.pem"
        chmod 600 "$dir/etc/tls-key.pem"
        cat <<EOF
# TLS (POSTFIX_INSTANCE_TLS_CERT / POSTFIX_INSTANCE_TLS_KEY)
smtpd_tls_security_level = ${POSTFIX_INSTANCE_TLS_LEVEL:-may}
smtpd_tls_cert_file = $dir/etc/tls-cert.pem
smtpd_tls_key_file = $dir/etc/tls-key.pem
smtpd_tls_session_cache_database =
smtpd_tls_loglevel = 1
EOF
    else
        printf '# no TLS: set POSTFIX_INSTANCE_TLS_CERT and POSTFIX_INSTANCE_TLS_KEY to offer STARTTLS\n'
    fi
}

# write_main_cf DIR PORT WANT_V6
write_main_cf() {
    local dir="$1" port="$2" want6="$3" vuid vgid protocols
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
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = check_recipient_access regexp:$dir/etc/rcpt_access, permit_mynetworks, reject

EOF
    write_tls_settings "$dir" >>"$dir/etc/main.cf"

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
    local dir="$1" port="$2" want6="$3" src="" c
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
    if ipv6_loopback_works; then want6=1; fi
    prepare_dirs "$dir"
    start_log="$dir/log/start.log"
    : >"$start_log"

    for attempt in 1 2 3 4 5 6 7 8; do
        port="$(pick_port "$want6")" || die "could not find a free loopback port"
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
            log "port $port was taken meanwhile, retrying (attempt $attempt)"
            : >"$start_log"
            [[ -e "$dir/log/maillog" ]] && : >"$dir/log/maillog"
            continue
        fi
        log "postfix failed to start in $dir (exit $rc)"
        sed 's/^/  | /' "$start_log" >&2 || true
        tail -n 20 "$dir/log/maillog" 2>/dev/null | sed 's/^/  | /' >&2 || true
        kill_leftovers "$dir"
        exit 1
    done
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
    rm -f -- "$dir/port"
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
