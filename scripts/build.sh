#!/usr/bin/env bash
# Build the extension in place: phpize, configure, make. Warnings are errors.
# Usage: bash scripts/build.sh [PHPIZE] (default: phpize on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
PHPIZE=${1:-phpize}
PHP_CONFIG=${PHP_CONFIG:-$(dirname "$(command -v "$PHPIZE")")/php-config}
: "${CFLAGS:=-O2 -g}"
export CFLAGS="$CFLAGS -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers"
if [ ! -f configure ] || [ ! -f Makefile ] || [ config.m4 -nt configure ]; then
  "$PHPIZE" >/dev/null
  ./configure --enable-smtpsock --with-php-config="$PHP_CONFIG" >/dev/null
fi
make -j"$(nproc)" >/dev/null
echo "built $(pwd)/modules/smtpsock.so"
