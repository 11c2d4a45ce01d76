#!/usr/bin/env bash
# The PECL round trip a user makes, as root on Debian 12 (php-pear):
#
#   bash scripts/pecl-check.sh
#
# In a scratch copy of the sources: `pecl package` builds smtpsock-X.Y.Z.tgz
# from package.xml; `pecl install` of that archive builds and installs the
# extension; `php -d extension=smtpsock -m` must list it and phpversion()
# must give X.Y.Z; `pecl uninstall smtpsock` removes it again. The machine
# is left as found: PEAR's own temp/download/cache folders are pointed into
# the scratch folder, and what the install added (extension, registry entry,
# docs, tests) must be gone afterwards. Refuses to run when smtpsock is
# already installed on this machine (it would not leave that installation
# alone). The last line is "N passed, M failed" over the steps; the exit
# status is 1 on any failure.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd -- "$ROOT"

passed=0
failed=0
phase() { printf '\n===== pecl: %s =====\n' "$*"; }
ok() {
    passed=$((passed + 1))
    printf 'pecl-check: ok: %s\n' "$*"
}
bad() {
    failed=$((failed + 1))
    printf 'pecl-check: FAILED: %s\n' "$*"
}
finish() {
    echo
    echo "$passed passed, $failed failed"
    [[ $failed -eq 0 ]]
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/smtpsock-pecl.XXXXXX")"
# PEAR's temp, download and cache folders default to $TMPDIR/pear/...: put
# them into $WORK for this run (pecl ignores -d for these settings).
mkdir -p "$WORK/tmp"
PECL=(env "TMPDIR=$WORK/tmp" pecl)
installed=0
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
    local rc=$?
    if [[ $installed -eq 1 ]]; then
        # an interrupted or failed run still removes what it installed
        "${PECL[@]}" uninstall smtpsock >/dev/null 2>&1 || true
    fi
    rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

phase "dependencies"
bash "$ROOT/scripts/install-deps.sh"

version="$(sed -n '/<version>/,/<\/version>/s:.*<release>\(.*\)</release>.*:\1:p' package.xml | head -n 1)"
if [[ -z "$version" ]]; then
    bad "no <version><release> in package.xml"
    finish
    exit 1
fi
echo "pecl-check: package.xml version $version"

ext_dir="$(pecl config-get ext_dir)"
php_dir="$(pecl config-get php_dir)"
if pecl list -c pecl.php.net 2>/dev/null | grep -qiE '^smtpsock[[:space:]]'; then
    bad "smtpsock is already installed through PECL on this machine; not touching it (pecl uninstall smtpsock first)"
    finish
    exit 1
fi
if [[ -e "$ext_dir/smtpsock.so" ]]; then
    bad "$ext_dir/smtpsock.so exists (installed by other means); pecl install would overwrite it"
    finish
    exit 1
fi

# Everything a PECL install of smtpsock may add; compared before and after.
state() {
    local d
    for d in "$ext_dir/smtpsock.so" "$(pecl config-get doc_dir)/smtpsock" "$(pecl config-get test_dir)/smtpsock" \
             "$(pecl config-get data_dir)/smtpsock" "$(php-config --include-dir)/ext/smtpsock" \
             "$php_dir/.registry" "$php_dir/.channels"; do
        if [[ -e "$d" ]]; then
            find "$d" -printf '%p %s\n'
        fi
    done | sort
    pecl list -a 2>/dev/null | grep -i smtpsock || true
}
state >"$WORK/state.before"

# ---------------------------------------------------------------- package
phase "pecl package"
SRC="$WORK/src"
mkdir -p "$SRC"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked files plus new, not ignored ones: what the next commit would hold
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
        | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$SRC"
else
    tar --exclude=.git -cf - . | tar -xf - -C "$SRC"
fi
tgz="$SRC/smtpsock-$version.tgz"
rc=0
(cd "$SRC" && "${PECL[@]}" package package.xml) >"$WORK/package.log" 2>&1 || rc=$?
cat "$WORK/package.log"
if [[ $rc -ne 0 || ! -s "$tgz" ]]; then
    bad "pecl package (exit $rc) did not produce $(basename "$tgz")"
    finish
    exit 1
fi
# The channel validator warns when package.xml's release date is not the day
# the package is built. That date is the day package.xml was generated for
# the release (php scripts/package-xml.php), so a build on any later day
# warns; the date is checked here instead (a real date, not in the future)
# and only that one warning is let by.
reldate=$(sed -n 's:.*<date>\([0-9-]*\)</date>.*:\1:p' "$SRC/package.xml" | head -1)
if ! date -d "$reldate" +%F >/dev/null 2>&1 || [[ "$(date -d "$reldate" +%s)" -gt "$(date +%s)" ]]; then
    bad "package.xml release date '$reldate' is not a date up to today"
fi
if grep -iE 'warning|error' "$WORK/package.log" \
        | grep -vE 'field "date" - Release Date "[0-9-]+" is not today' | grep -q .; then
    bad "pecl package built $(basename "$tgz") but warned (see above)"
else
    ok "pecl package -> $(basename "$tgz") ($(stat -c %s "$tgz") bytes, $(tar -tzf "$tgz" | wc -l) entries)"
fi

# ---------------------------------------------------------------- install
phase "pecl install $(basename "$tgz")"
cp "$tgz" "$WORK/"
installed=1
rc=0
(cd "$WORK" && "${PECL[@]}" install "./$(basename "$tgz")" </dev/null) >"$WORK/install.log" 2>&1 || rc=$?
if [[ $rc -eq 0 && -f "$ext_dir/smtpsock.so" ]]; then
    tail -n 12 "$WORK/install.log"
    ok "pecl install built and installed $ext_dir/smtpsock.so"
else
    tail -n 60 "$WORK/install.log"
    bad "pecl install failed (exit $rc)"
fi

modules="$(php -d extension=smtpsock -m 2>&1 || true)"
if grep -qx smtpsock <<<"$modules"; then
    ok "php -d extension=smtpsock -m lists smtpsock"
else
    bad "php -d extension=smtpsock -m does not list smtpsock: $(grep -iE 'warning|error' <<<"$modules" | head -n 3)"
fi
got="$(php -d extension=smtpsock -r 'echo phpversion("smtpsock"), " ", class_exists("SmtpSocket") ? "class" : "-", " ", function_exists("smtp_mail") ? "function" : "-";' 2>&1 || true)"
if [[ "$got" == "$version class function" ]]; then
    ok "the installed extension is version $version, with SmtpSocket and smtp_mail()"
else
    bad "the installed extension reports '$got', expected '$version class function'"
fi

# ---------------------------------------------------------------- uninstall
phase "pecl uninstall smtpsock"
if "${PECL[@]}" uninstall smtpsock; then
    installed=0
    ok "pecl uninstall smtpsock"
else
    bad "pecl uninstall smtpsock failed"
fi
# PEAR leaves its (empty) registry folder for the channel behind; remove it
# when it was not there before.
chan="$php_dir/.registry/.channel.pecl.php.net"
if [[ -d "$chan" ]] && ! grep -qF "$chan " "$WORK/state.before"; then
    rmdir "$chan" 2>/dev/null || true
fi
state >"$WORK/state.after"
if diff -u "$WORK/state.before" "$WORK/state.after"; then
    ok "nothing left behind (extension, registry, docs, tests, headers)"
else
    bad "the install left traces behind (diff above)"
fi

finish
