#!/usr/bin/env bash
# Makes the test PKI for the C++ tests and example smoke tests with the openssl CLI (kept apart
# from the crate's PKI module on purpose: only the files matter here). Usage: make_pki.sh DIR
#   ca.pem, cadir/ (the CA under its subject-hash name), server.{pem,key,p12}, client.{pem,key,p12},
#   client-expired.{pem,key,p12}, client-revoked.{pem,key,p12} + crl.pem, and an untrusted
#   server: server-untrusted.{pem,key,p12} signed by another CA; server-rsa.{pem,key} (an RSA
#   key, for the DHE-RSA suites) and dh.pem (ffdhe2048 parameters). PFX passwords: server-pass,
#   client-pass.
set -euo pipefail
out=${1:?usage: make_pki.sh DIR}
rm -rf "$out"
mkdir -p "$out/db" "$out/cadir"
cd "$out"
: > db/index.txt
echo 1000 > db/serial
cat > ca.cnf <<'CNF'
[ca]
default_ca = test_ca
[test_ca]
dir = .
database = db/index.txt
serial = db/serial
new_certs_dir = db
certificate = ca.pem
private_key = ca.key
default_md = sha256
default_crl_days = 30
policy = anything
copy_extensions = copy
unique_subject = no
[anything]
commonName = supplied
[leaf]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
rsa_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }
ca() { # name subject
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "$2" -days 3650 -sha256 -config ca.cnf \
    -extensions ca_ext -out "$1.pem" 2>/dev/null
}
leaf() { # name subject san startdate enddate [ca [keygen]]
  local name=$1 subj=$2 san=$3 start=$4 end=$5 cacert=${6:-ca} keygen=${7:-key}
  "$keygen" "$name.key"
  openssl req -new -key "$name.key" -subj "$subj" -addext "subjectAltName=$san" -out "$name.csr" 2>/dev/null
  openssl ca -batch -config ca.cnf -cert "$cacert.pem" -keyfile "$cacert.key" -extensions leaf \
    -startdate "$start" -enddate "$end" -in "$name.csr" -out "$name.pem" -notext 2>/dev/null
}
pfx() { openssl pkcs12 -export -inkey "$1.key" -in "$1.pem" -certfile "$2" -passout "pass:$3" -out "$1.p12"; }

now=20200101000000Z
later=20491231235959Z
ca ca "/CN=wss cpp test CA"
ca rogue-ca "/CN=wss cpp rogue CA"
leaf server "/CN=localhost" "DNS:localhost,IP:127.0.0.1" $now $later
leaf client "/CN=test client" "DNS:client" $now $later
leaf client-expired "/CN=expired client" "DNS:client" $now 20210101000000Z
leaf client-revoked "/CN=revoked client" "DNS:client" $now $later
leaf server-untrusted "/CN=localhost" "DNS:localhost,IP:127.0.0.1" $now $later rogue-ca
leaf server-rsa "/CN=localhost" "DNS:localhost,IP:127.0.0.1" $now $later ca rsa_key
# Named-group parameters: instant, unlike `openssl dhparam` generating a prime.
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out dh.pem 2>/dev/null
pfx server ca.pem server-pass
pfx client ca.pem client-pass
pfx client-expired ca.pem client-pass
pfx client-revoked ca.pem client-pass
pfx server-untrusted rogue-ca.pem server-pass
openssl ca -batch -config ca.cnf -revoke client-revoked.pem 2>/dev/null
openssl ca -batch -config ca.cnf -gencrl -out crl.pem 2>/dev/null
# Only the hashed name (no .pem), so the folder is read through its OpenSSL -CApath layout.
cp ca.pem "cadir/$(openssl x509 -hash -noout -in ca.pem).0"
rm -f ./*.csr
grep -q '^[0-9a-f]\{8\}\.0$' <<<"$(ls cadir)" || { echo "make_pki.sh: no hashed name in cadir" >&2; exit 1; }
echo "test PKI in $PWD"
