#!/usr/bin/env bash
# Throw-away certificates for the smtpsock TLS tests, made with the openssl
# CLI (EC P-256 keys: fast).
#
#   certs.sh DIR    create (or reuse, when complete and valid) the set below
#                   in DIR and print "name=path" lines, one per file
#
# Files under DIR:
#   ca.pem, ca.key               test CA ("smtpsock test CA")
#   cert.pem, key.pem            server certificate signed by the CA:
#                                CN=localhost, SAN DNS:localhost,
#                                IP:127.0.0.1, IP:::1
#   chain.pem                    cert.pem followed by ca.pem
#   cert_other.pem, key_other.pem
#                                signed by the same CA, but CN/SAN
#                                "other.example" only (name-mismatch tests)
#   ca_other.pem, ca_other.key   a second CA that signed nothing
#                                ("wrong CA" tests)
#   cert_selfsigned.pem, key_selfsigned.pem
#                                self-signed, SAN localhost/127.0.0.1/::1
#   capath/                      ca.pem under its OpenSSL hash name
#                                (for tools that want a CA directory)
#   paths                        the "name=path" lines printed
#
# Validity: from now for 10 years. Keys are mode 0644: they protect
# nothing, and servers running as other users (Postfix, Dovecot, Python)
# read them.
set -euo pipefail

die() {
    printf 'certs: %s\n' "$*" >&2
    exit 1
}

[[ $# -eq 1 ]] || { printf 'usage: %s DIR\n' "$0" >&2; exit 2; }
command -v openssl >/dev/null || die "openssl is not installed (scripts/install-deps.sh)"

mkdir -p -- "$1"
DIR="$(cd -- "$1" && pwd -P)"
NAMES=(ca ca_key cert key chain cert_other key_other ca_other ca_other_key cert_selfsigned key_selfsigned capath)

path_of() {
    case "$1" in
        ca) echo "$DIR/ca.pem" ;;
        ca_key) echo "$DIR/ca.key" ;;
        cert) echo "$DIR/cert.pem" ;;
        key) echo "$DIR/key.pem" ;;
        chain) echo "$DIR/chain.pem" ;;
        cert_other) echo "$DIR/cert_other.pem" ;;
        key_other) echo "$DIR/key_other.pem" ;;
        ca_other) echo "$DIR/ca_other.pem" ;;
        ca_other_key) echo "$DIR/ca_other.key" ;;
        cert_selfsigned) echo "$DIR/cert_selfsigned.pem" ;;
        key_selfsigned) echo "$DIR/key_selfsigned.pem" ;;
        capath) echo "$DIR/capath" ;;
    esac
}

print_paths() {
    local n
    for n in "${NAMES[@]}"; do
        printf '%s=%s\n' "$n" "$(path_of "$n")"
    done
}

# complete: every file exists and the server certificates still verify
# against the CA for at least another day.
complete() {
    local n
    for n in "${NAMES[@]}"; do
        [[ -e "$(path_of "$n")" ]] || return 1
    done
    [[ -e "$DIR/paths" ]] || return 1
    openssl verify -CAfile "$DIR/ca.pem" -attime "$(($(date +%s) + 86400))" \
        "$DIR/cert.pem" "$DIR/cert_other.pem" >/dev/null 2>&1
}

# One writer at a time (several test processes may share DIR).
exec 9>"$DIR/.lock"
flock 9

if complete; then
    print_paths
    exit 0
fi

TMP="$(mktemp -d "$DIR/.tmp.XXXXXX")"
trap 'rm -rf -- "$TMP"' EXIT

newkey() { # newkey FILE
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# make_ca NAME CN
make_ca() {
    newkey "$TMP/$1.key"
    openssl req -new -x509 -key "$TMP/$1.key" -out "$TMP/$1.pem" -days 3650 -sha256 \
        -subj "/O=smtpsock tests/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" 2>/dev/null
}

# make_leaf NAME CN SAN  (signed by ca)
make_leaf() {
    local name="$1" cn="$2" san="$3"
    newkey "$TMP/$name.key"
    cat >"$TMP/$name.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    openssl req -new -key "$TMP/$name.key" -out "$TMP/$name.csr" \
        -subj "/O=smtpsock tests/CN=$cn" 2>/dev/null
    openssl x509 -req -in "$TMP/$name.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 3650 -sha256 \
        -extfile "$TMP/$name.ext" -out "$TMP/$name.pem" 2>/dev/null
}

make_ca ca "smtpsock test CA"
make_ca ca_other "smtpsock other test CA (signs nothing)"
make_leaf server localhost "DNS:localhost, IP:127.0.0.1, IP:::1"
make_leaf other other.example "DNS:other.example"

newkey "$TMP/self.key"
openssl req -new -x509 -key "$TMP/self.key" -out "$TMP/self.pem" -days 3650 -sha256 \
    -subj "/O=smtpsock tests/CN=localhost" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -addext "subjectAltName=DNS:localhost, IP:127.0.0.1, IP:::1" \
    -addext "extendedKeyUsage=serverAuth" 2>/dev/null

openssl verify -CAfile "$TMP/ca.pem" "$TMP/server.pem" "$TMP/other.pem" >/dev/null ||
    die "generated certificates do not verify"

cat "$TMP/server.pem" "$TMP/ca.pem" >"$TMP/chain.pem"
rm -f -- "$DIR/paths"
chmod 0644 "$TMP"/*.key "$TMP"/*.pem
install -m 0644 "$TMP/ca.pem" "$DIR/ca.pem"
install -m 0644 "$TMP/ca.key" "$DIR/ca.key"
install -m 0644 "$TMP/ca_other.pem" "$DIR/ca_other.pem"
install -m 0644 "$TMP/ca_other.key" "$DIR/ca_other.key"
install -m 0644 "$TMP/server.key" "$DIR/key.pem"
install -m 0644 "$TMP/server.pem" "$DIR/cert.pem"
install -m 0644 "$TMP/chain.pem" "$DIR/chain.pem"
install -m 0644 "$TMP/other.key" "$DIR/key_other.pem"
install -m 0644 "$TMP/other.pem" "$DIR/cert_other.pem"
install -m 0644 "$TMP/self.key" "$DIR/key_selfsigned.pem"
install -m 0644 "$TMP/self.pem" "$DIR/cert_selfsigned.pem"
rm -rf -- "$DIR/capath"
mkdir -m 0755 "$DIR/capath"
cp -- "$DIR/ca.pem" "$DIR/capath/$(openssl x509 -noout -hash -in "$DIR/ca.pem").0"
chmod 0755 "$DIR"
print_paths >"$TMP/paths"
install -m 0644 "$TMP/paths" "$DIR/paths"
cat -- "$DIR/paths"
