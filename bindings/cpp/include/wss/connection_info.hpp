// wss C++ wrapper: facts about a connection and its peer's certificate, copied out of the C
// structs into plain values.
#ifndef WSS_CONNECTION_INFO_HPP
#define WSS_CONNECTION_INFO_HPP

#include <wss.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wss {

namespace detail {
inline std::string str(const char* s) { return s != nullptr ? s : ""; }
inline std::string_view view(const char* s) noexcept {
  return s != nullptr ? std::string_view(s) : std::string_view();
}
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    const char y = (b[i] >= 'A' && b[i] <= 'Z') ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}
inline std::optional<std::string> opt_str(const char* s) {
  return s != nullptr ? std::optional<std::string>(s) : std::nullopt;
}
// True when the library's struct of `size` bytes has the member ending at `end`.
inline bool has_member(uint32_t size, size_t end) noexcept { return end <= size; }
}  // namespace detail

/// A peer certificate as the library saw it.
struct PeerCertificate {
  bool verified = false;                ///< Verified against the configured trust.
  std::string subject;                  ///< e.g. "CN=client, O=Example".
  std::string issuer;                   ///< Same form.
  std::string serial;                   ///< Upper-case hex.
  std::string not_before;               ///< e.g. "Jan  1 00:00:00 2026 GMT".
  std::string not_after;                ///< End of validity.
  std::string sha256_fingerprint;       ///< "AB:CD:...".
  std::vector<std::string> sans;        ///< Each "DNS:name" or "IP:address".

  /// Copy from the C struct (NULL gives nullopt).
  static std::optional<PeerCertificate> from(const wss_peer_cert* c) {
    if (c == nullptr) return std::nullopt;
    PeerCertificate p;
    p.verified = c->verified != 0;
    p.subject = detail::str(c->subject);
    p.issuer = detail::str(c->issuer);
    p.serial = detail::str(c->serial);
    p.not_before = detail::str(c->not_before);
    p.not_after = detail::str(c->not_after);
    p.sha256_fingerprint = detail::str(c->sha256_fingerprint);
    for (size_t i = 0; i < c->san_count; ++i) p.sans.push_back(detail::str(c->sans[i]));
    return p;
  }
};

/// Facts about an open connection (Connection::info()).
struct ConnectionInfo {
  uint64_t id = 0;                            ///< The connection id.
  bool is_client = false;                     ///< Client side of the connection.
  bool resumed = false;                       ///< The TLS session was resumed.
  std::string remote_address;                 ///< "ip:port".
  std::string path;                           ///< Request path (and query on clients).
  std::optional<std::string> subprotocol;     ///< Negotiated subprotocol.
  std::optional<std::string> tls_version;     ///< e.g. "TLSv1.3"; none on plain ws.
  std::optional<std::string> cipher;          ///< Cipher suite; none on plain ws.
  std::optional<std::string> alpn;            ///< ALPN protocol.
  std::optional<std::string> server_name;     ///< SNI name.
  std::optional<PeerCertificate> peer_certificate;  ///< The peer's certificate, if presented.
  /// Negotiated extensions as a Sec-WebSocket-Extensions value ("permessage-deflate; ...");
  /// none when messages go uncompressed (or the library predates the member).
  std::optional<std::string> extensions;
  /// Clients: every header of the server's 101 response, in order (name, value); empty on
  /// servers.
  std::vector<std::pair<std::string, std::string>> response_headers;

  /// Clients: the first 101 response header called `name` (any case), if the server sent one.
  std::optional<std::string> response_header(std::string_view name) const {
    for (const auto& [n, v] : response_headers) {
      if (n.size() == name.size() &&
          std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          })) {
        return v;
      }
    }
    return std::nullopt;
  }

  /// Copy from the C struct.
  static ConnectionInfo from(const wss_conn_info& c) {
    ConnectionInfo i;
    i.id = c.id;
    i.is_client = c.is_client != 0;
    i.resumed = c.resumed != 0;
    i.remote_address = detail::str(c.remote_address);
    i.path = detail::str(c.path);
    i.subprotocol = detail::opt_str(c.subprotocol);
    i.tls_version = detail::opt_str(c.tls_version);
    i.cipher = detail::opt_str(c.cipher);
    i.alpn = detail::opt_str(c.alpn);
    i.server_name = detail::opt_str(c.server_name);
    i.peer_certificate = PeerCertificate::from(c.peer_certificate);
    if (detail::has_member(c.struct_size, offsetof(wss_conn_info, extensions) + sizeof c.extensions)) {
      i.extensions = detail::opt_str(c.extensions);
    }
    if (detail::has_member(c.struct_size,
                           offsetof(wss_conn_info, response_header_count) + sizeof c.response_header_count)) {
      for (size_t k = 0; k < c.response_header_count; ++k) {
        i.response_headers.emplace_back(detail::str(c.response_headers[k].name),
                                        detail::str(c.response_headers[k].value));
      }
    }
    return i;
  }
};

}  // namespace wss

#endif  // WSS_CONNECTION_INFO_HPP
