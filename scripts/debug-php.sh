#!/usr/bin/env bash
# Build, once, a debug thread-safe (ZTS) PHP of one branch (8.2 or 8.6) from
# Debian's source package of that branch, cached outside the checkout, and
# print its php binary's path as the last line of stdout (progress goes to
# stderr). A debug PHP reports leaked request memory and fails engine
# assertions, which the release build does not; scripts/memcheck.sh debug runs
# the PHPT suite under it.
#
#   bash scripts/debug-php.sh [8.2|8.6]            build when not cached; print .../bin/php
#   bash scripts/debug-php.sh --prefix [8.2|8.6]   the same, but print the install prefix
#                                                  (bin/php, bin/phpize, bin/php-config,
#                                                  lib/php/build/run-tests.php)
#
# The branch defaults to 8.2. Sources (upstream tarball of Debian's php<branch>
# source package, php<branch>_<upstream>.orig.tar.xz, checked against the
# SHA-256 pinned below, which is the one Debian's signed Sources index lists):
#   8.2  php8.2 8.2.32-1~deb12u1  from bookworm
#   8.6  php8.6 8.6.0~rc3-1       from experimental
# taken from $SMTPSOCK_PHPSRC_DIR or /opt/phpsrc when present there (any copy
# with the pinned SHA-256 is Debian's tarball), else downloaded with
# `apt-get source --download-only` through a private deb-src list for that
# suite (the system's apt configuration is not changed; Release files past
# their Valid-Until date are accepted, the archive being a dated snapshot).
# As checked on 2026-12-02, Debian's archive as reached here lists php8.6
# 8.6.0~rc3-1 in experimental's Sources index but answers 404 for its files
# (.dsc and tarballs; the php8.6-* binary packages do download), so 8.6 builds
# only from a tarball put into one of those folders; the script says so and
# exits with status 3 (any other failure: 1). Debian's own patches (the .debian.tar.xz) are not applied: this is the
# engine as released. Both branches get the same configure flags; configure
# fails the build on an option it does not know (--enable-option-checking=fatal).
#
# Cache: $SMTPSOCK_DEBUG_PHP_CACHE (default /var/cache/smtpsock-debug-php):
# one directory per source version and configure line, <upstream>-<hash>/
# (8.2.32-..., 8.6.0rc3-...), its log build-<upstream>-<hash>.log beside it,
# and the downloaded tarballs in src/. A build is reused only when it
# completed (marker file .complete, first word php<branch>). Each branch keeps
# its own build: a completed build replaces only the builds of the same
# branch with another version, configure line or recipe, never another
# branch's. Delete a directory to force its rebuild.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"

ARCHIVE_URI="http://deb.debian.org/debian"
KEYRING="/usr/share/keyrings/debian-archive-keyring.gpg"

print_prefix=0
BRANCH=8.2
for arg in "$@"; do
    case "$arg" in
        --prefix) print_prefix=1 ;;
        8.2|8.6) BRANCH="$arg" ;;
        -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "debug-php.sh: unknown argument: $arg (see --help)" >&2; exit 2 ;;
    esac
done

# Per branch: Debian source package, its version, the suite that has it, and
# the SHA-256 of its upstream tarball (from that suite's Sources index).
case "$BRANCH" in
    8.2)
        DEB_VERSION="8.2.32-1~deb12u1"    # the bookworm version that can be downloaded (see NOTES)
        SUITE=bookworm
        ORIG_SHA256="e02aa173c236c12791696254d607da680e6d5516f8f5c2339642de7c4f944bd2"
        ;;
    8.6)
        DEB_VERSION="8.6.0~rc3-1"
        SUITE=experimental
        ORIG_SHA256="131f87a206bdd90c178d8e44e80243ae0c333c4cee8531f63d1caa9acdd8696a"
        ;;
esac
SOURCE="php$BRANCH"
UPSTREAM="${DEB_VERSION%-*}"
ORIG="${SOURCE}_${UPSTREAM}.orig.tar.xz"

# Everything else (date, hash, json, pcre, random, reflection, spl, standard)
# is always built in. The tests need proc_open/streams (standard), openssl
# (TLS), sockets (the scripted server's TCP reset), posix (posix_geteuid),
# tokenizer (the README examples' harness, tests/inc/readme.inc), filter and
# ctype (PHPMailer, in the README's migration example). Every flag exists on
# 8.2 and 8.6 (8.6's UPGRADING.INTERNALS renames only --with-pic, unused here;
# Debian's own 8.6 build passes --without-pear, --disable-phpdbg, ...).
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

log() { printf 'debug-php: %s\n' "$*" >&2; }

CACHE="${SMTPSOCK_DEBUG_PHP_CACHE:-/var/cache/smtpsock-debug-php}"
# (for 8.2 the same key as before branches were added: existing caches stay valid)
key="$(printf '%s\n' "$DEB_VERSION" "$ORIG_SHA256" "recipe=$RECIPE" "${CONFIGURE_FLAGS[@]}" | sha256sum | cut -c1-12)"
BUILD_NAME="${UPSTREAM//\~/}-$key"   # 8.2.32-<key>, 8.6.0rc3-<key> (no "~" in paths)
PREFIX="$CACHE/$BUILD_NAME"

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
# One builder at a time per branch (a parallel caller waits, then finds it
# built); builds of different branches may run side by side.
exec 9>"$CACHE/.lock-$BRANCH"
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
    log "downloading Debian's $SOURCE=$DEB_VERSION source package ($SUITE) into $CACHE/src"
    apt_dir="$CACHE/apt-$BRANCH"
    rm -rf "$apt_dir"
    mkdir -p "$apt_dir/sources" "$apt_dir/lists/partial" "$CACHE/src"
    cat >"$apt_dir/sources/php-src.sources" <<EOF
Types: deb-src
URIs: $ARCHIVE_URI
Suites: $SUITE
Components: main
Signed-By: $KEYRING
EOF
    apt_opts=(
        -o "Dir::Etc::SourceList=/dev/null"
        -o "Dir::Etc::SourceParts=$apt_dir/sources"
        -o "Dir::State::Lists=$apt_dir/lists"
        -o "APT::Sandbox::User=root"            # the download folder is root's
        -o "Acquire::Check-Valid-Until=false"   # a dated snapshot: Release files may have expired
    )
    apt-get "${apt_opts[@]}" -qq update >&2 || true
    # apt checks the .dsc against the signed Sources index and every file
    # against the .dsc; the download goes to the current directory.
    (cd "$CACHE/src" && apt-get "${apt_opts[@]}" -qq source --download-only "$SOURCE=$DEB_VERSION" >&2) || true
    rm -rf "$apt_dir"
    if ! sha_ok "$CACHE/src/$ORIG"; then
        log "could not download $ORIG (or it has the wrong SHA-256)."
        log "Put a copy of $ORIG (SHA-256 $ORIG_SHA256,"
        log "the one Debian's $SUITE Sources index lists for $SOURCE $DEB_VERSION) into"
        log "\$SMTPSOCK_PHPSRC_DIR, /opt/phpsrc or $CACHE/src and run this again."
        exit 3   # the source cannot be had (memcheck.sh reports the pass as skipped)
    fi
    tarball="$CACHE/src/$ORIG"
fi
log "source: $tarball"

# ---------------------------------------------------------------- build
BUILD="$(mktemp -d "${TMPDIR:-/tmp}/smtpsock-debug-php-build.XXXXXX")"
BUILD_LOG="$CACHE/build-$BUILD_NAME.log"
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
log "building $SOURCE $DEB_VERSION into $PREFIX (log: $BUILD_LOG)"
tar -xJf "$tarball" -C "$BUILD" --strip-components=1
cd "$BUILD"
# --enable-option-checking=fatal: an option configure does not know (renamed
# or removed in a newer branch) fails the build instead of being ignored
# (it changes nothing else, so it is not part of the cache key)
./configure --prefix="$PREFIX" --enable-option-checking=fatal "${CONFIGURE_FLAGS[@]}" >>"$BUILD_LOG" 2>&1 || fail "configure"
make -j"$(nproc)" >>"$BUILD_LOG" 2>&1 || fail "make"
make install >>"$BUILD_LOG" 2>&1 || fail "make install"
# run-tests.php of the same version, for scripts/memcheck.sh
install -m 644 run-tests.php "$PREFIX/lib/php/build/run-tests.php"

"$PREFIX/bin/php" -n -r 'exit(PHP_DEBUG && PHP_ZTS && extension_loaded("openssl") ? 0 : 1);' \
    || fail "the self-check (PHP_DEBUG, PHP_ZTS, openssl)"
[[ "$("$PREFIX/bin/php" -n -r 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION;')" == "$BRANCH" ]] \
    || fail "the self-check (PHP $BRANCH)"
{ printf '%s %s\n' "$SOURCE" "$DEB_VERSION"; printf '%s\n' "${CONFIGURE_FLAGS[@]}"; } >"$PREFIX/.complete"
# Builds of the same branch with an older version, recipe or configure line
# are not used any more; other branches' builds stay.
for old in "$CACHE"/*-*/.complete; do
    [[ -f "$old" ]] || continue
    [[ "$(head -n 1 "$old" | cut -d' ' -f1)" == "$SOURCE" ]] || continue
    old="${old%/.complete}"
    if [[ -d "$old" && "$old" != "$PREFIX" ]]; then
        log "removing the outdated $SOURCE build $old"
        rm -rf -- "$old" "$CACHE/build-${old##*/}.log"
    fi
done
log "built $("$PREFIX/bin/php" -n -v | head -n 1) in $((SECONDS - start)) s"
result
