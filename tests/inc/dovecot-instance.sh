#!/usr/bin/env bash
# Private Dovecot instances for the smtpsock test suite, used ONLY as the
# SASL authentication server of a private Postfix (smtpd_sasl_type =
# dovecot). No IMAP/POP3/LMTP listener, no mail storage.
#
#   dovecot-instance.sh start DIR    start an instance living under DIR; prints
#                                    the path of its auth socket for Postfix
#                                    once a test login succeeds
#   dovecot-instance.sh stop DIR     stop exactly that instance
#   dovecot-instance.sh status DIR   print the socket path, exit 0 when it runs
#
# Layout under DIR:
#   dovecot.conf          the whole configuration (nothing from /etc/dovecot)
#   passwd                passwd-file passdb (passwords stored {PLAIN} or
#                         {PLAIN.b64}, which every mechanism can use)
#   users                 the test users, one per line: NAME<TAB>base64(PASSWORD)
#   run/                  base_dir (master.pid, sockets)
#   run/auth-postfix      auth socket for Postfix (mode 0660, user postfix)
#   state/                state_dir
#   log/dovecot.log       everything Dovecot logs (auth_verbose on)
#   socket                the auth socket path, one line
#
# Test users (password bytes are UTF-8):
#   user@example.org     pencil-Secret-1
#   utf8@example.org     pässwörd:ünï-2  (non-ASCII and ':', stored {PLAIN.b64})
#
# Mechanisms offered to Postfix: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1
# SCRAM-SHA-256 (Dovecot 2.3.19). A failed login is answered at once
# (auth_failure_delay = 0). Set DOVECOT_INSTANCE_MECHANISMS to change the list
# (Dovecot names, space separated, e.g. "plain login").
#
# Must run as root (Dovecot's master needs it). Nothing listens on a network.
set -euo pipefail

die() {
    printf 'dovecot-instance: %s\n' "$*" >&2
    exit 1
}

log() {
    printf 'dovecot-instance: %s\n' "$*" >&2
}

usage() {
    printf 'usage: %s start|stop|status DIR\n' "$0" >&2
    exit 2
}

readonly TEST_USERS=(
    "user@example.org" "pencil-Secret-1"
    "utf8@example.org" "pässwörd:ünï-2"
)

abs_dir() {
    mkdir -p -- "$1"
    (cd -- "$1" && pwd -P)
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ -n "$stat" && "${stat:0:1}" != Z ]]
}

master_pid() {
    local pidfile="$1/run/master.pid" pid
    [[ -r "$pidfile" ]] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [[ -n "$pid" ]] || return 1
    printf '%s\n' "$pid"
}

# instance_running DIR: the master named in the pid file runs DIR's config.
instance_running() {
    local dir="$1" pid
    pid="$(master_pid "$dir")" || return 1
    pid_alive "$pid" || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qFx "$dir/dovecot.conf"
}

# instance_tag DIR: the instance_name of DIR's Dovecot; its processes are
# titled "dovecot-TAG/..." (master: "dovecot -c DIR/dovecot.conf").
instance_tag() {
    printf 'smtpsock-test-%s\n' "$(printf '%s' "$1" | md5sum | cut -c1-12)"
}

# leftover_pids DIR: the master (by pid file) and every process titled with
# DIR's instance name (children survive a killed master for a moment).
leftover_pids() {
    local dir="$1" tag pid p
    tag="$(instance_tag "$dir")"
    if pid="$(master_pid "$dir")" && instance_running "$dir"; then
        printf '%s\n' "$pid"
    fi
    for p in $(pgrep -f -- "^dovecot-$tag/" || true); do
        if pid_alive "$p"; then
            printf '%s\n' "$p"
        fi
    done
}

check_ancestors() {
    local d mode
    d="$(dirname -- "$1")"
    while [[ "$d" != / ]]; do
        mode="$(stat -c '%a' -- "$d")"
        if (( (8#$mode & 8#001) == 0 )); then
            die "$d (mode $mode) is not searchable by other users; Dovecot's auth process (user dovecot) and Postfix cannot reach $1"
        fi
        d="$(dirname -- "$d")"
    done
}

# Dovecot 2.4 (Debian 13 and later) changed the configuration language: a
# version line first, named passdb/userdb blocks with their own settings,
# auth_allow_cleartext for disable_plaintext_auth. Both forms are written from
# the same values.
dovecot_is_24() {
    local v
    v="$(dovecot --version 2>/dev/null | cut -d' ' -f1)"
    [[ "$(printf '%s\n' "$v" 2.4 | sort -V | head -n 1)" == 2.4 ]]
}

write_config() {
    local dir="$1" mechs header passdb i name pw
    mechs="${DOVECOT_INSTANCE_MECHANISMS:-plain login cram-md5 scram-sha-1 scram-sha-256}"
    if dovecot_is_24; then
        header="dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0"
        passdb="auth_allow_cleartext = yes

passdb passwd-file {
  passwd_file_path = $dir/passwd
}
userdb static {
  fields {
    uid = nobody
    gid = nogroup
    home = /nonexistent
  }
}"
    else
        header="# Dovecot 2.3"
        passdb="disable_plaintext_auth = no

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent allow_all_users=yes
}"
    fi
    cat >"$dir/dovecot.conf" <<EOF
$header
instance_name = $(instance_tag "$dir")
base_dir = $dir/run
state_dir = $dir/state
protocols =
listen = 127.0.0.1
ssl = no
shutdown_clients = yes
log_path = $dir/log/dovecot.log
info_log_path = $dir/log/dovecot.log
debug_log_path = $dir/log/dovecot.log
auth_verbose = yes
auth_verbose_passwords = no
auth_debug = no
auth_failure_delay = 0
auth_cache_size = 0
auth_mechanisms = $mechs
default_internal_user = dovecot
default_login_user = dovenull
$passdb

service auth {
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0600
  }
}
EOF
    : >"$dir/passwd"
    : >"$dir/users"
    for ((i = 0; i < ${#TEST_USERS[@]}; i += 2)); do
        name="${TEST_USERS[i]}"
        pw="${TEST_USERS[i + 1]}"
        # {PLAIN.b64}: ':' and any byte are safe in the passwd-file.
        printf '%s:{PLAIN.b64}%s::::::\n' "$name" "$(printf '%s' "$pw" | base64 -w0)" >>"$dir/passwd"
        printf '%s\t%s\n' "$name" "$(printf '%s' "$pw" | base64 -w0)" >>"$dir/users"
    done
    chmod 0644 "$dir/dovecot.conf" "$dir/passwd" "$dir/users"
}

# login_ok DIR: a PLAIN login of the first test user succeeds through the
# auth-client socket (doveadm auth test).
login_ok() {
    local dir="$1"
    doveadm -c "$dir/dovecot.conf" auth test -x service=smtp \
        -a "$dir/run/auth-client" "${TEST_USERS[0]}" "${TEST_USERS[1]}" >/dev/null 2>&1
}

cmd_start() {
    local dir t rc=0
    [[ "$(id -u)" == 0 ]] || die "must run as root (Dovecot's master needs it)"
    command -v dovecot >/dev/null || die "dovecot is not installed (apt-get install dovecot-core; scripts/install-deps.sh)"
    dir="$(abs_dir "$1")"
    if instance_running "$dir"; then
        die "an instance already runs in $dir"
    fi
    check_ancestors "$dir"
    chmod 0755 "$dir"
    mkdir -p "$dir/run" "$dir/state" "$dir/log"
    chmod 0755 "$dir/run" "$dir/state" "$dir/log"
    [[ ${#dir} -lt 80 ]] || die "$dir is too long for unix socket paths under it"
    write_config "$dir"
    : >"$dir/log/dovecot.log"
    dovecot -c "$dir/dovecot.conf" >"$dir/log/start.log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
        log "dovecot failed to start in $dir (exit $rc)"
        sed 's/^/  | /' "$dir/log/start.log" "$dir/log/dovecot.log" >&2 || true
        exit 1
    fi
    for ((t = 0; t < 200; t++)); do
        if [[ -S "$dir/run/auth-postfix" ]] && login_ok "$dir"; then
            printf '%s\n' "$dir/run/auth-postfix" >"$dir/socket"
            printf '%s\n' "$dir/run/auth-postfix"
            return 0
        fi
        instance_running "$dir" || break
        sleep 0.05
    done
    log "dovecot in $dir did not answer a test login"
    tail -n 20 "$dir/log/dovecot.log" | sed 's/^/  | /' >&2 || true
    cmd_stop "$dir" || true
    exit 1
}

cmd_stop() {
    local dir pids t
    [[ -d "$1" ]] || die "no such directory: $1"
    dir="$(cd -- "$1" && pwd -P)"
    for ((t = 0; t < 60; t++)); do
        pids="$(leftover_pids "$dir")"
        [[ -n "$pids" ]] || break
        if ((t == 0)); then
            # SIGTERM to the master and its children at once: a master
            # alone takes a second to wind down its log process; this
            # instance has no state worth a graceful stop.
            # shellcheck disable=SC2086
            kill -TERM $pids 2>/dev/null || true
        elif ((t == 40)); then
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
        fi
        sleep 0.05
    done
    rm -f -- "$dir/socket"
    if [[ -n "$(leftover_pids "$dir")" ]]; then
        log "processes of $dir still alive: $(leftover_pids "$dir" | tr '\n' ' ')"
        return 1
    fi
}

cmd_status() {
    local dir
    [[ -d "$1" ]] || return 1
    dir="$(cd -- "$1" && pwd -P)"
    instance_running "$dir" || return 1
    cat -- "$dir/socket"
}

case "${1:-}:$#" in
    start:2) cmd_start "$2" ;;
    stop:2) cmd_stop "$2" ;;
    status:2) cmd_status "$2" ;;
    *) usage ;;
esac
