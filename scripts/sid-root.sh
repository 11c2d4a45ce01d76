#!/usr/bin/env bash
# A Debian sid root (with experimental) holding PHP 8.4, 8.5 and 8.6 and the
# same test servers as the host, made once with debootstrap and cached
# outside the checkout. Debian 12 itself has only PHP 8.2; no Debian suite
# carries 8.3 (../shared/NOTES.md).
#
#   bash scripts/sid-root.sh ensure        make it when missing or outdated;
#                                          print its path as the last line
#   bash scripts/sid-root.sh run CMD...    run CMD inside it, as root, in the
#                                          caller's directory (the checkout is
#                                          bind-mounted at the same path)
#   bash scripts/sid-root.sh path          print its path (no check)
#
# Cache: $SMTPSOCK_SID_ROOT (default /var/cache/smtpsock-sid). The base
# (debootstrap, apt sources) is reused while its recipe is the same (.base
# holds its hash; otherwise it is made anew, about 1-2 minutes); the packages
# are installed into it when the lists below change (.packages; about 2-3
# minutes from scratch, seconds for an addition). Delete the folder to force
# a new root.
#
# `run` works in a private mount namespace (unshare -m): /proc, /dev, /sys and
# the checkout are mounted for CMD only and vanish with it, so nothing is left
# mounted on the host however CMD ends. The chroot shares the host's network:
# servers it starts listen on the host's loopback.
#
# A Debian archive that cannot be reached makes `ensure` fail with a line
# saying so (exit 1); it never falls back to fewer PHP versions.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
SID="${SMTPSOCK_SID_ROOT:-/var/cache/smtpsock-sid}"
ARCHIVE_URI="http://deb.debian.org/debian"

# PHP versions taken from sid (8.4) and experimental (8.5, 8.6). Keep in step
# with the matrix in .ci/run.
SID_PHP=(8.4)
EXPERIMENTAL_PHP=(8.5 8.6)
# Per PHP version: CLI, headers/phpize/run-tests.php, and the extensions the
# tests and bridges use beyond the CLI's built-in ones.
PHP_PARTS=(cli dev mbstring intl xml)
# What the test suite needs besides PHP: the same roles as
# scripts/install-deps.sh on the host.
TOOLS=(
    make gcc libc6-dev          # phpize builds; C unit tests (make CC=gcc check)
    clang                       # the extension built with clang -Werror (scripts/lint.sh --build-only)
    postfix dovecot-core        # the real SMTP server (+ SASL) of the PHPT tests
    python3-aiosmtpd            # AUTH test server (tests/inc/auth_server.py)
    openssl ca-certificates     # test certificates
    iproute2 procps             # ip netns (tests/inc/netns.sh), ps/pkill-free pid checks
    swaks                       # reference SMTP client
    valgrind                    # memcheck pass on the newest PHP
    composer                    # composer validate (composer.json, PIE)
    php-parser                  # gen_stub.php offline (scripts/arginfo.sh)
    git                         # git archive (the PIE-style build)
    libphp-phpmailer            # PHPMailer 7.1: bridges/phpmailer tests, benchmarks
    php-symfony-mailer          # Symfony Mailer 7.4: bridges/symfony-mailer tests, benchmarks
    php-laravel-framework       # Laravel 13: the Laravel service provider test
    php-net-smtp                # Net_SMTP 1.12: round-trip benchmark
    php-symfony-dependency-injection php-symfony-config  # the Symfony bridge's service registration test
)
RECIPE=2   # bump when the base steps below change (forces a new root)

log() { printf 'sid-root: %s\n' "$*" >&2; }

# The base (debootstrap, sources) and the packages are cached separately: a
# package added to the lists above is installed into the existing root.
base_hash() {
    printf '%s\n' "$ARCHIVE_URI" "recipe=$RECIPE" | sha256sum | cut -c1-16
}
packages_hash() {
    printf '%s\n' "${SID_PHP[@]}" "--" "${EXPERIMENTAL_PHP[@]}" "--" \
        "${PHP_PARTS[@]}" "--" "${TOOLS[@]}" | sha256sum | cut -c1-16
}

complete() {
    [[ -f "$SID/.base" && "$(cat "$SID/.base")" == "$(base_hash)" &&
        -f "$SID/.packages" && "$(cat "$SID/.packages")" == "$(packages_hash)" ]]
}

# in_root CMD...: CMD inside the root with /proc, /dev and /sys, in a private
# mount namespace; the checkout ($ROOT) is bind-mounted at the same path and
# CMD starts in the caller's directory.
in_root() {
    local cwd="$PWD"
    unshare --mount --propagation private -- bash -euc '
        sid=$1 root=$2 cwd=$3; shift 3
        # the root a mount point of its own, so that "ip netns exec" can
        # make / a slave mount inside it
        mount --bind "$sid" "$sid"
        mount -t proc proc "$sid/proc"
        mount --rbind /dev "$sid/dev"
        mount --rbind /sys "$sid/sys"
        mkdir -p "$sid/$root"
        mount --bind "$root" "$sid/$root"
        mount -t tmpfs tmpfs "$sid/run"
        mkdir -p "$sid/run/netns"
        exec chroot "$sid" /usr/bin/env -C "$cwd" \
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            LANG=C.UTF-8 "$@"
    ' in_root "$SID" "$ROOT" "$cwd" "$@"
}

apt_in_root() {
    in_root env DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0 "$@"
}

# A new root in $SID.new, moved to $SID when complete.
make_base() {
    local tmp="$SID.new" final="$SID"
    command -v debootstrap >/dev/null || {
        log "debootstrap is not installed (scripts/install-deps.sh installs it)"
        exit 1
    }
    rm -rf -- "$tmp"
    mkdir -p "$tmp"
    log "debootstrap sid into $tmp (about 1-2 minutes)"
    if ! debootstrap --variant=minbase sid "$tmp" "$ARCHIVE_URI" >"$tmp.log" 2>&1; then
        tail -n 20 "$tmp.log" >&2
        log "FAILED: debootstrap of Debian sid from $ARCHIVE_URI (archive unreachable?)"
        exit 1
    fi
    cat >"$tmp/etc/apt/sources.list" <<EOF
deb $ARCHIVE_URI sid main
deb $ARCHIVE_URI experimental main
EOF
    # The archive is a dated snapshot whose Release files have expired.
    echo 'Acquire::Check-Valid-Until "false";' >"$tmp/etc/apt/apt.conf.d/90smtpsock"
    # No services start inside the root at install time (postfix, dovecot).
    printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
    chmod 755 "$tmp/usr/sbin/policy-rc.d"
    echo 'postfix postfix/main_mailer_type select No configuration' >"$tmp/tmp/preseed"
    SID="$tmp"
    in_root debconf-set-selections /tmp/preseed
    SID="$final"
    base_hash >"$tmp/.base"
    rm -rf -- "$SID" "$SID.log"
    mv -- "$tmp" "$SID"
    mv -- "$tmp.log" "$SID.log"
}

install_packages() {
    local pkgs=() v p
    if ! apt_in_root update >&2; then
        log "FAILED: apt-get update of sid and experimental from $ARCHIVE_URI (archive unreachable?)"
        exit 1
    fi
    # sid's PHP first, then php-common is held at sid's version: the one in
    # experimental breaks php8.4-common.
    for v in "${SID_PHP[@]}"; do
        for p in "${PHP_PARTS[@]}"; do pkgs+=("php$v-$p"); done
    done
    in_root apt-mark unhold php-common >/dev/null 2>&1 || true
    apt_in_root install -y --no-install-recommends "${pkgs[@]}" "${TOOLS[@]}" >&2 || {
        log "FAILED: installing ${pkgs[*]} ${TOOLS[*]} from sid"
        exit 1
    }
    in_root apt-mark hold php-common >&2
    pkgs=()
    for v in "${EXPERIMENTAL_PHP[@]}"; do
        for p in "${PHP_PARTS[@]}"; do pkgs+=("php$v-$p/experimental"); done
    done
    apt_in_root install -y --no-install-recommends "${pkgs[@]}" >&2 || {
        log "FAILED: installing ${pkgs[*]} from experimental"
        exit 1
    }
    apt_in_root clean >&2
    for v in "${SID_PHP[@]}" "${EXPERIMENTAL_PHP[@]}"; do
        in_root "php$v" -n -r 'exit(extension_loaded("openssl") ? 0 : 1);' || {
            log "FAILED: php$v does not run in the root"
            exit 1
        }
    done
    packages_hash >"$SID/.packages"
}

cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
    ensure)
        mkdir -p "$(dirname -- "$SID")"
        exec 9>"$SID.lock"
        flock 9
        if complete; then
            log "cached: $SID"
        else
            start=$SECONDS
            if [[ ! -f "$SID/.base" || "$(cat "$SID/.base")" != "$(base_hash)" ]]; then
                make_base
            fi
            log "installing PHP ${SID_PHP[*]} ${EXPERIMENTAL_PHP[*]} and the test tools"
            install_packages
            log "made $SID ready in $((SECONDS - start)) s"
        fi
        printf '%s\n' "$SID"
        ;;
    run)
        [[ $# -gt 0 ]] || { echo "usage: sid-root.sh run CMD..." >&2; exit 2; }
        complete || { log "no complete root at $SID: run 'bash scripts/sid-root.sh ensure' first"; exit 1; }
        in_root "$@"
        ;;
    path)
        printf '%s\n' "$SID"
        ;;
    *)
        sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        [[ "$cmd" == -h || "$cmd" == --help ]] && exit 0
        exit 2
        ;;
esac
