// wss C++ wrapper: header-only C++17 RAII over the C ABI (include/wss.h). Include this one
// header; link wss::wss (CMake) or `pkg-config --libs wss`.
#ifndef WSS_HPP
#define WSS_HPP

#include <wss.h>

#include <string>

#include "client.hpp"
#include "connection.hpp"
#include "connection_info.hpp"
#include "error.hpp"
#include "event.hpp"
#include "handlers.hpp"
#include "options.hpp"
#include "server.hpp"
#include "tls_config.hpp"

namespace wss {

/// The loaded library's version, e.g. "0.1.0".
inline std::string version() { return wss_version(); }
/// The OpenSSL version the library uses.
inline std::string openssl_version() { return wss_openssl_version(); }
/// True when the loaded library has the major version this header was compiled against and a
/// minor version at least as new.
inline bool library_matches_header() noexcept {
  const uint32_t lib = wss_version_number();
  return (lib >> 16) == WSS_VERSION_MAJOR && ((lib >> 8) & 0xff) >= WSS_VERSION_MINOR;
}

}  // namespace wss

#endif  // WSS_HPP
