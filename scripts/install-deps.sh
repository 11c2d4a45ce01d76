#!/usr/bin/env bash
# Install what building and testing smtpsock needs on Debian 12 (run as root).
# Idempotent: when every package is already installed, apt is not touched.
#
# Postfix is preseeded with "No configuration": no system-wide MTA is set up
# or started; the tests run only private instances (tests/inc/postfix-instance.sh).
set -euo pipefail

PACKAGES=(
    php8.2-dev          # phpize, php-config, headers, run-tests.php, gen_stub.php
    php8.2-cli
    php-parser          # gen_stub.php offline (see NOTES)
    postfix             # real SMTP server for the PHPT tests
    dovecot-core        # SASL AUTH back end for the private Postfix (tests/inc/dovecot-instance.sh)
    python3-aiosmtpd    # SMTP server with AUTH/STARTTLS for the PHPT tests
    swaks               # reference SMTP client
    openssl             # test certificates
    gcc
    make
    clang               # C unit tests, libFuzzer
    libclang-rt-14-dev  # ASan/UBSan/libFuzzer runtimes for clang (only a Recommends)
    libssl-dev          # libcrypto for the SASL unit tests and fuzz target (smtp_core/tests)
    valgrind
    cppcheck            # static analysis of smtp_core/ (scripts/lint.sh)
    iproute2            # ip netns: a non-loopback test peer (tests/inc/netns.sh)
    debootstrap         # the Debian sid root with PHP 8.4-8.6 (scripts/sid-root.sh)
    libphp-phpmailer    # PHPMailer 6.6: README examples, bridges/phpmailer tests, benchmarks
    php-symfony-mailer  # Symfony Mailer 5.4: bridges/symfony-mailer tests, benchmarks
    php-net-smtp        # Net_SMTP: round-trip benchmark
    php-symfony-dependency-injection  # the Symfony bridge's tagged-service registration test
    php-symfony-config
    php-mbstring        # Symfony Mime
    php-pear            # pecl package / pecl install (scripts/pecl-check.sh)
    # building the debug ZTS PHP from Debian's source package (scripts/debug-php.sh;
    # libssl-dev is listed above)
    bison
    re2c
    pkg-config
    libxml2-dev
    libsqlite3-dev
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    if [[ "$status" != "installed" ]]; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
    echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y "${missing[@]}"
