#!/usr/bin/env bash
# Build, once, a debug thread-safe (ZTS) PHP 8.2 from Debian's php8.2 source
# package, cached outside the checkout, and print its php binary's path as the
# last line of stdout (progress goes to stderr). A debug PHP reports leaked
# request memory and fails engine assertions, which the release build does not;
# scripts/memcheck.sh debug runs the PHPT suite under it.
#
#   bash scripts/debug-php.sh            build when not cached; print .../bin/php
#   bash scripts/debug-php.sh --prefix   the same, but print the install prefix
#                                        (bin/php, bin/phpize, bin/php-config)
#
# Cache: $SMTPSOCK_DEBUG_PHP_CACHE (default /var/cache/smtpsock-debug-php), one
# directory per source version and configure line, <upstream>-<hash>/; a build
# is reused only when it completed (marker file .complete), and replaces the
# builds of other versions or configure lines. Delete the directory to force
# a rebuild.
#
# Source: the upstream tarball of Debian's php8.2 source package
# (php8.2_<upstream>.orig.tar.xz, checked against the SHA-256 pinned below),
# taken from $SMTPSOCK_PHPSRC_DIR or /opt/phpsrc when present there, else
# downloaded with `apt-get source --download-only` through a private deb-src
# list (the system's apt configuration is not changed). Debian's own patches
# (the .debian.tar.xz) are not applied: this is the engine as released.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"

DEB_VERSION="8.2.32-1~deb12u1"    # the bookworm version that can be downloaded (see NOTES)
UPSTREAM="${DEB_VERSION%%-*}"
ORIG="php8.2_${UPSTREAM}.orig.tar.xz"
ORIG_SHA256="e02aa173c236c12791696254d607da680e6d5516f8f5c2339642de7c4f944bd2"
ARCHIVE_URI="http://deb.debian.org/debian"
KEYRING="/usr/share/keyrings/debian-archive-keyring.gpg"

# Everything else (date, hash, json, pcre, random, reflection, spl, standard)
# is always built in. The tests need proc_open/streams (standard), openssl
# (TLS), sockets (the scripted server's TCP reset), posix (posix_geteuid),
# tokenizer (the README examples' harness, tests/inc/readme.inc), filter and
# ctype (PHPMailer, in the README's migration example).
CONFIGURE_FLAGS=(
    --disable-all
    --enable-debug
    --enable-zts
    --enable-cli
    --disable-cgi
    --disable-phpdbg
    --without-pear
    --with-openssl
    --enable-sockets
    --enable-posix
    --enable-tokenizer
    --enable-filter
    --enable-ctype
)
RECIPE=1   # bump when the build steps below change in a way the flags do not show

print_prefix=0
case "${1:-}" in
    "") ;;
    --prefix) print_prefix=1 ;;
    -h|--help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "debug-php.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

log() { printf 'debug-php: %s\n' "$*" >&2; }

CACHE="${SMTPSOCK_DEBUG_PHP_CACHE:-/var/cache/smtpsock-debug-php}"
key="$(printf '%s\n' "$DEB_VERSION" "$ORIG_SHA256" "recipe=$RECIPE" "${CONFIGURE_FLAGS[@]}" | sha256sum | cut -c1-12)"
PREFIX="$CACHE/$UPSTREAM-$key"

result() {
    if [[ $print_prefix -eq 1 ]]; then
        printf '%s\n' "$PREFIX"
    else
        printf '%s\n' "$PREFIX/bin/php"
    fi
}

cached() {
    [[ -f "$PREFIX/.complete" && -x "$PREFIX/bin/php" && -x "$PREFIX/bin/phpize" && -x "$PREFIX/bin/php-config" ]]
}

if cached; then
    log "cached: $PREFIX"
    result
    exit 0
fi

mkdir -p "$CACHE"
# One builder at a time per cache (a parallel caller waits, then finds it built).
exec 9>"$CACHE/.lock"
flock 9
if cached; then
    log "cached: $PREFIX (built meanwhile)"
    result
    exit 0
fi

start=$SECONDS

# ---------------------------------------------------------------- build deps
# scripts/install-deps.sh lists them (bison re2c libssl-dev pkg-config
# libxml2-dev libsqlite3-dev); it does not touch apt when all are installed.
bash "$ROOT/scripts/install-deps.sh" >&2

# ---------------------------------------------------------------- source
sha_ok() {
    [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$ORIG_SHA256" ]]
}

tarball=""
for dir in "${SMTPSOCK_PHPSRC_DIR:-}" /opt/phpsrc "$CACHE/src"; do
    [[ -n "$dir" && -f "$dir/$ORIG" ]] || continue
    if sha_ok "$dir/$ORIG"; then
        tarball="$dir/$ORIG"
        break
    fi
    log "ignoring $dir/$ORIG: SHA-256 does not match"
done

if [[ -z "$tarball" ]]; then
    log "downloading Debian's php8.2=$DEB_VERSION source package into $CACHE/src"
    apt_dir="$CACHE/apt"
    rm -rf "$apt_dir"
    mkdir -p "$apt_dir/sources" "$apt_dir/lists/partial" "$CACHE/src"
    cat >"$apt_dir/sources/php-src.sources" <<EOF
Types: deb-src
URIs: $ARCHIVE_URI
Suites: bookworm
Components: main
Signed-By: $KEYRING
EOF
    apt_opts=(
        -o "Dir::Etc::SourceList=/dev/null"
        -o "Dir::Etc::SourceParts=$apt_dir/sources"
        -o "Dir::State::Lists=$apt_dir/lists"
        -o "APT::Sandbox::User=root"   # the download folder is root's
    )
    apt-get "${apt_opts[@]}" -qq update >&2
    # apt checks the .dsc against the signed Sources index and every file
    # against the .dsc; the download goes to the current directory.
    (cd "$CACHE/src" && apt-get "${apt_opts[@]}" -qq source --download-only "php8.2=$DEB_VERSION" >&2)
    rm -rf "$apt_dir"
    if ! sha_ok "$CACHE/src/$ORIG"; then
        log "download failed or $ORIG has the wrong SHA-256"
        exit 1
    fi
    tarball="$CACHE/src/$ORIG"
fi
log "source: $tarball"

# ---------------------------------------------------------------- build
BUILD="$(mktemp -d "${TMPDIR:-/tmp}/smtpsock-debug-php-build.XXXXXX")"
BUILD_LOG="$CACHE/build-$UPSTREAM-$key.log"
cleanup() { rm -rf -- "$BUILD"; }
trap cleanup EXIT

fail() {
    log "$1 failed; last lines of $BUILD_LOG:"
    tail -n 40 "$BUILD_LOG" >&2
    rm -rf -- "$PREFIX"
    exit 1
}

rm -rf -- "$PREFIX"
: >"$BUILD_LOG"
log "building into $PREFIX (log: $BUILD_LOG)"
tar -xJf "$tarball" -C "$BUILD" --strip-components=1
cd "$BUILD"
./configure --prefix="$PREFIX" "${CONFIGURE_FLAGS[@]}" >>"$BUILD_LOG" 2>&1 || fail "configure"
make -j"$(nproc)" >>"$BUILD_LOG" 2>&1 || fail "make"
make install >>"$BUILD_LOG" 2>&1 || fail "make install"
# run-tests.php of the same version, for scripts/memcheck.sh
install -m 644 run-tests.php "$PREFIX/lib/php/build/run-tests.php"

"$PREFIX/bin/php" -n -r 'exit(PHP_DEBUG && PHP_ZTS && extension_loaded("openssl") ? 0 : 1);' \
    || fail "the self-check (PHP_DEBUG, PHP_ZTS, openssl)"
printf 'php8.2 %s\n' "$DEB_VERSION" "${CONFIGURE_FLAGS[@]}" >"$PREFIX/.complete"
# Builds of an older recipe or configure line are not used any more.
for old in "$CACHE"/*-*/.complete; do
    old="${old%/.complete}"
    if [[ -d "$old" && "$old" != "$PREFIX" ]]; then
        log "removing the outdated build $old"
        rm -rf -- "$old" "$CACHE/build-${old##*/}.log"
    fi
done
log "built $("$PREFIX/bin/php" -n -v | head -n 1) in $((SECONDS - start)) s"
result
