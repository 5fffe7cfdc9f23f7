// wss C++ wrapper: TLS configuration, with builder methods named after Node's tls options.
#ifndef WSS_TLS_CONFIG_HPP
#define WSS_TLS_CONFIG_HPP

#include <wss.h>

#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "error.hpp"

namespace wss {

/// TLS protocol versions for min_version()/max_version().
enum class TlsVersion : int32_t {
  any = WSS_TLS_ANY,  ///< No bound (maximum only).
  v1_2 = WSS_TLS_1_2, ///< TLS 1.2.
  v1_3 = WSS_TLS_1_3, ///< TLS 1.3.
};

/// How the peer's certificate is requested and checked.
enum class VerifyMode : int32_t {
  role_default = WSS_VERIFY_DEFAULT,  ///< Clients verify the server; servers ask nothing.
  none = WSS_VERIFY_NONE,             ///< Servers: do not ask for a client certificate.
  optional = WSS_VERIFY_OPTIONAL,     ///< Servers: ask; a presented certificate must verify.
  required = WSS_VERIFY_REQUIRED,     ///< Mutual TLS: the peer must present a valid one.
};

/// A TLS configuration (owns a wss_tls_config). Secure defaults: TLS 1.2+, forward-secret AEAD
/// ciphers, server and host name verification on clients. Servers and clients copy it when
/// created. Move-only. Every setter and loader has a throwing form and a std::error_code form
/// (failures go to `ec`, the detail stays readable with Error::last()); only the constructor
/// always throws (when the library cannot create the configuration).
class TlsConfig {
 public:
  /// A configuration with the secure defaults.
  TlsConfig() {
    wss_tls_config* raw = nullptr;
    detail::check(wss_tls_config_new(&raw));
    ptr_.reset(raw);
  }

  /// Our certificate, key and chain from a PKCS#12 file (Node: `pfx` + `passphrase`).
  TlsConfig& pfx_file(const std::string& path, const std::string& passphrase = {}) {
    detail::check(wss_tls_config_load_pfx_file(get(), path.c_str(), passphrase.c_str()));
    return *this;
  }
  /// As above; failures go to `ec` (detail: Error::last()).
  TlsConfig& pfx_file(const std::string& path, const std::string& passphrase,
                      std::error_code& ec) noexcept {
    detail::check(wss_tls_config_load_pfx_file(get(), path.c_str(), passphrase.c_str()), ec);
    return *this;
  }
  /// Our certificate, key and chain from PKCS#12 bytes.
  TlsConfig& pfx(const std::vector<uint8_t>& data, const std::string& passphrase = {}) {
    detail::check(raw_pfx(data, passphrase));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& pfx(const std::vector<uint8_t>& data, const std::string& passphrase, std::error_code& ec) noexcept {
    detail::check(raw_pfx(data, passphrase), ec);
    return *this;
  }
  /// Our certificate chain (leaf first) and key from PEM files; `passphrase` for an encrypted
  /// key (Node: `cert` + `key` + `passphrase`, as files).
  TlsConfig& cert_file(const std::string& cert_path, const std::string& key_path,
                       const std::string& passphrase = {}) {
    detail::check(wss_tls_config_load_pem_chain(get(), cert_path.c_str(), key_path.c_str(),
                                                 passphrase.empty() ? nullptr : passphrase.c_str()));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& cert_file(const std::string& cert_path, const std::string& key_path,
                       const std::string& passphrase, std::error_code& ec) noexcept {
    detail::check(wss_tls_config_load_pem_chain(get(), cert_path.c_str(), key_path.c_str(),
                                                passphrase.empty() ? nullptr : passphrase.c_str()),
                  ec);
    return *this;
  }
  /// Our certificate chain and key from PEM text (Node: `cert` + `key`).
  TlsConfig& cert(const std::string& cert_pem, const std::string& key_pem,
                  const std::string& passphrase = {}) {
    detail::check(raw_cert(cert_pem, key_pem, passphrase));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& cert(const std::string& cert_pem, const std::string& key_pem, const std::string& passphrase,
                  std::error_code& ec) noexcept {
    detail::check(raw_cert(cert_pem, key_pem, passphrase), ec);
    return *this;
  }
  /// Trust the CA certificates in a PEM file (Node: `ca`).
  TlsConfig& ca_file(const std::string& path) {
    detail::check(wss_tls_config_load_ca_file(get(), path.c_str()));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& ca_file(const std::string& path, std::error_code& ec) noexcept {
    detail::check(wss_tls_config_load_ca_file(get(), path.c_str()), ec);
    return *this;
  }
  /// Trust every CA in a folder: OpenSSL hashed names (`1a2b3c4d.0`) or .pem/.crt files.
  TlsConfig& ca_dir(const std::string& path) {
    detail::check(wss_tls_config_load_ca_dir(get(), path.c_str()));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& ca_dir(const std::string& path, std::error_code& ec) noexcept {
    detail::check(wss_tls_config_load_ca_dir(get(), path.c_str()), ec);
    return *this;
  }
  /// A CRL (PEM or DER) that revokes peer certificates (Node: `crl`).
  TlsConfig& crl_file(const std::string& path) {
    detail::check(wss_tls_config_load_crl_file(get(), path.c_str()));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& crl_file(const std::string& path, std::error_code& ec) noexcept {
    detail::check(wss_tls_config_load_crl_file(get(), path.c_str()), ec);
    return *this;
  }
  /// DH parameters (PEM) for the DHE suites (Node: `dhparam`).
  TlsConfig& dhparam_file(const std::string& path) {
    detail::check(wss_tls_config_load_dhparam_file(get(), path.c_str()));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& dhparam_file(const std::string& path, std::error_code& ec) noexcept {
    detail::check(wss_tls_config_load_dhparam_file(get(), path.c_str()), ec);
    return *this;
  }
  /// How the peer certificate is requested and checked.
  TlsConfig& verify_mode(VerifyMode mode) {
    detail::check(wss_tls_config_set_verify_mode(get(), static_cast<int32_t>(mode)));
    return *this;
  }
  /// As above; failures (a value outside VerifyMode) go to `ec`.
  TlsConfig& verify_mode(VerifyMode mode, std::error_code& ec) noexcept {
    detail::check(wss_tls_config_set_verify_mode(get(), static_cast<int32_t>(mode)), ec);
    return *this;
  }
  /// Servers: ask for a client certificate; one that is presented must verify (Node:
  /// `requestCert`).
  TlsConfig& request_cert() { return verify_mode(VerifyMode::optional); }
  /// As above; failures go to `ec`.
  TlsConfig& request_cert(std::error_code& ec) noexcept { return verify_mode(VerifyMode::optional, ec); }
  /// Servers: mutual TLS, a client certificate that verifies is required (Node: `requestCert`
  /// + `rejectUnauthorized`).
  TlsConfig& require_client_certificate() { return verify_mode(VerifyMode::required); }
  /// As above; failures go to `ec`.
  TlsConfig& require_client_certificate(std::error_code& ec) noexcept {
    return verify_mode(VerifyMode::required, ec);
  }
  /// Clients: false accepts any server certificate. INSECURE: tests and diagnostics only
  /// (Node: `rejectUnauthorized`).
  TlsConfig& reject_unauthorized(bool reject) {
    detail::check(wss_tls_config_set_insecure_skip_peer_verification(get(), reject ? 0 : 1));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& reject_unauthorized(bool reject, std::error_code& ec) noexcept {
    detail::check(wss_tls_config_set_insecure_skip_peer_verification(get(), reject ? 0 : 1), ec);
    return *this;
  }
  /// Clients: false skips the host name / IP check of the server certificate. INSECURE.
  TlsConfig& check_server_identity(bool check) {
    detail::check(wss_tls_config_set_insecure_skip_hostname_verification(get(), check ? 0 : 1));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& check_server_identity(bool check, std::error_code& ec) noexcept {
    detail::check(wss_tls_config_set_insecure_skip_hostname_verification(get(), check ? 0 : 1), ec);
    return *this;
  }
  /// Clients: the name sent as SNI and verified, instead of the URL host (Node: `servername`).
  TlsConfig& servername(const std::string& name) {
    detail::check(wss_tls_config_set_server_name(get(), name.c_str()));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& servername(const std::string& name, std::error_code& ec) noexcept {
    detail::check(wss_tls_config_set_server_name(get(), name.c_str()), ec);
    return *this;
  }
  /// TLS 1.2 cipher list in OpenSSL syntax (Node: `ciphers`; validated now).
  TlsConfig& ciphers(const std::string& list) {
    detail::check(wss_tls_config_set_ciphers(get(), list.c_str()));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& ciphers(const std::string& list, std::error_code& ec) noexcept {
    detail::check(wss_tls_config_set_ciphers(get(), list.c_str()), ec);
    return *this;
  }
  /// TLS 1.3 cipher suites in OpenSSL syntax.
  TlsConfig& ciphersuites(const std::string& list) {
    detail::check(wss_tls_config_set_ciphersuites(get(), list.c_str()));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& ciphersuites(const std::string& list, std::error_code& ec) noexcept {
    detail::check(wss_tls_config_set_ciphersuites(get(), list.c_str()), ec);
    return *this;
  }
  /// Key-exchange groups, e.g. "X25519:P-256" (Node: `ecdhCurve`).
  TlsConfig& ecdh_curve(const std::string& list) {
    detail::check(wss_tls_config_set_groups(get(), list.c_str()));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& ecdh_curve(const std::string& list, std::error_code& ec) noexcept {
    detail::check(wss_tls_config_set_groups(get(), list.c_str()), ec);
    return *this;
  }
  /// Lowest TLS version accepted (Node: `minVersion`).
  TlsConfig& min_version(TlsVersion v) {
    detail::check(wss_tls_config_set_min_version(get(), static_cast<int32_t>(v)));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& min_version(TlsVersion v, std::error_code& ec) noexcept {
    detail::check(wss_tls_config_set_min_version(get(), static_cast<int32_t>(v)), ec);
    return *this;
  }
  /// Highest TLS version accepted (Node: `maxVersion`).
  TlsConfig& max_version(TlsVersion v) {
    detail::check(wss_tls_config_set_max_version(get(), static_cast<int32_t>(v)));
    return *this;
  }
  /// As above; failures go to `ec`.
  TlsConfig& max_version(TlsVersion v, std::error_code& ec) noexcept {
    detail::check(wss_tls_config_set_max_version(get(), static_cast<int32_t>(v)), ec);
    return *this;
  }
  /// ALPN protocols in preference order (Node: `ALPNProtocols`).
  TlsConfig& alpn_protocols(const std::vector<std::string>& protocols) {
    detail::check(raw_alpn(protocols));
    return *this;
  }
  /// As above; failures go to `ec` (std::bad_alloc still throws).
  TlsConfig& alpn_protocols(const std::vector<std::string>& protocols, std::error_code& ec) {
    detail::check(raw_alpn(protocols), ec);
    return *this;
  }

  /// The C handle (owned by this object).
  wss_tls_config* get() const noexcept { return ptr_.get(); }

 private:
  wss_result raw_pfx(const std::vector<uint8_t>& data, const std::string& passphrase) const noexcept {
    return wss_tls_config_load_pfx_mem(get(), data.data(), data.size(), passphrase.c_str());
  }
  wss_result raw_cert(const std::string& cert_pem, const std::string& key_pem,
                      const std::string& passphrase) const noexcept {
    return wss_tls_config_load_pem_chain_mem(get(), reinterpret_cast<const uint8_t*>(cert_pem.data()),
                                             cert_pem.size(), reinterpret_cast<const uint8_t*>(key_pem.data()),
                                             key_pem.size(), passphrase.empty() ? nullptr : passphrase.c_str());
  }
  wss_result raw_alpn(const std::vector<std::string>& protocols) const {
    std::vector<const char*> raw;
    raw.reserve(protocols.size());
    for (const auto& p : protocols) raw.push_back(p.c_str());
    return wss_tls_config_set_alpn(get(), raw.data(), raw.size());
  }
  struct Deleter {
    void operator()(wss_tls_config* p) const noexcept { wss_tls_config_free(p); }
  };
  std::unique_ptr<wss_tls_config, Deleter> ptr_;
};

}  // namespace wss

#endif  // WSS_TLS_CONFIG_HPP
