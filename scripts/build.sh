#!/usr/bin/env bash
# Build the extension: phpize, configure, make. Warnings are errors.
# Usage: bash scripts/build.sh [PHPIZE]   (default: phpize on PATH; Debian's
#        versioned ones work too: phpize8.6 goes with php-config8.6)
#
# In place (modules/smtpsock.so in the checkout), or, with
# SMTPSOCK_BUILD_DIR=DIR, in a fresh copy of the sources in DIR (emptied
# first; DIR/modules/smtpsock.so), so that builds for several PHP versions
# or trees do not meet.
set -euo pipefail
cd "$(dirname "$0")/.."
PHPIZE=${1:-phpize}
PHPIZE_PATH="$(command -v "$PHPIZE")" || { echo "build.sh: $PHPIZE not found" >&2; exit 1; }
PHP_CONFIG=${PHP_CONFIG:-$(dirname "$PHPIZE_PATH")/$(basename "$PHPIZE_PATH" | sed 's/^phpize/php-config/')}
if [ -n "${SMTPSOCK_BUILD_DIR:-}" ]; then
  # always from scratch: objects left there by another tree (a different
  # clone, the same file times) would look up to date to make
  case "$SMTPSOCK_BUILD_DIR" in /|"$PWD") echo "build.sh: refusing SMTPSOCK_BUILD_DIR=$SMTPSOCK_BUILD_DIR" >&2; exit 1 ;; esac
  rm -rf -- "$SMTPSOCK_BUILD_DIR"
  mkdir -p "$SMTPSOCK_BUILD_DIR"
  # the sources as the work tree has them (tracked and new files, not build output)
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
      [ -e "$f" ] && printf '%s\0' "$f"
    done | tar --null -T - -cf - | tar -xf - -C "$SMTPSOCK_BUILD_DIR"
  else
    tar --exclude=./modules --exclude='*.o' --exclude='*.lo' -cf - . | tar -xf - -C "$SMTPSOCK_BUILD_DIR"
  fi
  cd "$SMTPSOCK_BUILD_DIR"
fi
: "${CFLAGS:=-O2 -g}"
export CFLAGS="$CFLAGS -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers"
# configure again when config.m4 changed or another PHP is asked for
stamp="$("$PHP_CONFIG" --version) $PHP_CONFIG"
if [ ! -f configure ] || [ ! -f Makefile ] || [ config.m4 -nt configure ] \
    || [ "$(cat .build-php 2>/dev/null)" != "$stamp" ]; then
  if [ -f Makefile ]; then
    "$PHPIZE" --clean >/dev/null
  fi
  "$PHPIZE" >/dev/null
  ./configure --enable-smtpsock --with-php-config="$PHP_CONFIG" >/dev/null
  printf '%s\n' "$stamp" >.build-php
fi
make -j"$(nproc)" >/dev/null
echo "built $(pwd)/modules/smtpsock.so"
