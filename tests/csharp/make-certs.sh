#!/usr/bin/env bash
# Test PKI for the C# tests and examples, made with the openssl CLI only (independent of the
# crate's src/pki): a CA (also as an OpenSSL hashed CA folder), a server certificate for
# 127.0.0.1/localhost, a client certificate, an expired client certificate, a revoked client
# certificate with the CA's CRL listing it, a server certificate from a CA nobody trusts, an RSA
# server certificate (for the DHE-RSA suites) and DH parameters. Identities as PFX with passwords.
#
#   tests/csharp/make-certs.sh OUT_DIR
#
# Files: ca.pem, ca-dir/<hash>.0, server.pfx (password "server-pass"), client.pfx
# ("client-pass"), expired-client.pfx ("client-pass"), revoked-client.pfx ("client-pass"),
# ca.crl (PEM, revoking revoked-client), rogue-server.pfx ("server-pass"), rsa-server.pem/.key,
# dh.pem (ffdhe2048), and the PEM cert/key of each.
set -euo pipefail
out="${1:?usage: make-certs.sh OUT_DIR}"
mkdir -p "$out"
cd "$out"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
rsa_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }

# A CA: self-signed, CA:true.
make_ca() { # name cn
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2/O=wss tests" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$1.pem"
  mkdir -p "$1.db"
  : > "$1.db/index.txt"
  echo 1000 > "$1.db/serial"
  cat > "$1.cnf" <<CNF
[ca]
default_ca = this
[this]
dir = $PWD/$1.db
database = \$dir/index.txt
serial = \$dir/serial
new_certs_dir = \$dir
certificate = $PWD/$1.pem
private_key = $PWD/$1.key
default_md = sha256
default_crl_days = 3650
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
organizationName = optional
CNF
}

# A leaf signed by CA $1: name, cn, extensions, then either -days N or -startdate/-enddate.
make_leaf() { # ca name cn ext...
  local ca="$1" name="$2" cn="$3" ext="$4"; shift 4
  [ -f "$name.key" ] || key "$name.key"
  openssl req -new -key "$name.key" -subj "/CN=$cn/O=wss tests" -out "$name.csr"
  printf '%b\n' "$ext" > "$name.ext"
  openssl ca -batch -notext -config "$ca.cnf" -in "$name.csr" -extfile "$name.ext" "$@" \
    -out "$name.pem" 2>/dev/null
  rm -f "$name.csr"
}

pfx() { # name password ca
  openssl pkcs12 -export -inkey "$1.key" -in "$1.pem" -certfile "$3.pem" -passout "pass:$2" \
    -out "$1.pfx"
}

SERVER_EXT='basicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost'
CLIENT_EXT='basicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'

make_ca ca "wss test CA"
make_ca rogue-ca "rogue CA"
make_leaf ca server "wss test server" "$SERVER_EXT" -days 825
make_leaf ca client "wss test client" "$CLIENT_EXT" -days 825
make_leaf ca expired-client "expired client" "$CLIENT_EXT" -startdate 20200101000000Z -enddate 20210101000000Z
make_leaf ca revoked-client "revoked client" "$CLIENT_EXT" -days 825
make_leaf rogue-ca rogue-server "wss test server" "$SERVER_EXT" -days 825
rsa_key rsa-server.key
make_leaf ca rsa-server "wss test server" "$SERVER_EXT" -days 825
pfx server server-pass ca
pfx client client-pass ca
pfx expired-client client-pass ca
pfx revoked-client client-pass ca
pfx rogue-server server-pass rogue-ca

# The CA's CRL, listing revoked-client.
openssl ca -config ca.cnf -revoke revoked-client.pem 2>/dev/null
openssl ca -config ca.cnf -gencrl -out ca.crl 2>/dev/null

# DH parameters for the DHE suites (a named group: instant, unlike 'openssl dhparam').
openssl genpkey -genparam -algorithm DH -pkeyopt dh_param:ffdhe2048 -out dh.pem

# The CA folder in OpenSSL's hashed layout (what -CApath and wss_tls_config_load_ca_dir read).
mkdir -p ca-dir
cp ca.pem "ca-dir/$(openssl x509 -in ca.pem -noout -subject_hash).0"
