// The TLS command-line options the examples share (--cert/--key, --pfx/--password,
// --ca-file, --ca-dir, --crl, --require-client-cert) and how they become a wss::TlsConfig.
#ifndef WSS_EXAMPLES_TLS_ARGS_HPP
#define WSS_EXAMPLES_TLS_ARGS_HPP

#include <string>
#include <wss/wss.hpp>

/// TLS settings from the command line; empty strings are "not given".
struct TlsArgs {
  std::string cert, key, pfx, password, ca_file, ca_dir, crl;
  bool require_client_cert = false;

  /// Take argv[i] (and its value) if it is a TLS option; false if it is not one.
  bool parse(int argc, char** argv, int& i) {
    const std::string a = argv[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      into = argv[++i];
      return true;
    };
    if (a == "--cert") return value(cert);
    if (a == "--key") return value(key);
    if (a == "--pfx") return value(pfx);
    if (a == "--password") return value(password);
    if (a == "--ca-file") return value(ca_file);
    if (a == "--ca-dir") return value(ca_dir);
    if (a == "--crl") return value(crl);
    if (a == "--require-client-cert") return require_client_cert = true;
    return false;
  }

  /// The configuration these options describe (throws wss::Error with the loader's detail).
  wss::TlsConfig config() const {
    wss::TlsConfig tls;
    if (!pfx.empty()) tls.pfx_file(pfx, password);
    if (!cert.empty()) tls.cert_file(cert, key.empty() ? cert : key, password);
    if (!ca_file.empty()) tls.ca_file(ca_file);
    if (!ca_dir.empty()) tls.ca_dir(ca_dir);
    if (!crl.empty()) tls.crl_file(crl);
    if (require_client_cert) tls.require_client_certificate();
    return tls;
  }
};

#endif  // WSS_EXAMPLES_TLS_ARGS_HPP
