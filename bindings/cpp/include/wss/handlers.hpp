// wss C++ wrapper: what callbacks receive (Message, UpgradeRequest, AcceptDecision) and the
// Handlers a server, route or client is given.
#ifndef WSS_HANDLERS_HPP
#define WSS_HANDLERS_HPP

#include <wss.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connection.hpp"
#include "connection_info.hpp"
#include "error.hpp"

namespace wss {

/// A received message or pong payload; a view valid only during the callback (copy it to keep).
struct Message {
  MessageKind kind = MessageKind::binary;  ///< Text or binary (pongs: binary).
  const uint8_t* data = nullptr;           ///< Payload (may be NULL when size is 0).
  size_t size = 0;                         ///< Payload length.

  /// The payload as characters (UTF-8 for text messages).
  std::string_view text() const noexcept {
    return size == 0 ? std::string_view() : std::string_view(reinterpret_cast<const char*>(data), size);
  }
  /// A copy of the payload.
  std::vector<uint8_t> bytes() const { return std::vector<uint8_t>(data, data + size); }
};

/// An upgrade request as on_accept sees it (a view valid during the callback).
class UpgradeRequest {
 public:
  /// Wrap the library's request.
  explicit UpgradeRequest(const wss_upgrade_request& r) noexcept : r_(r) {}
  /// The id the connection will have if accepted.
  uint64_t id() const noexcept { return r_.id; }
  /// Over TLS (wss://).
  bool is_tls() const noexcept { return r_.is_tls != 0; }
  /// Request path without query, e.g. "/chat".
  std::string_view path() const noexcept { return detail::view(r_.path); }
  /// Query string without '?', empty if none.
  std::string_view query() const noexcept { return detail::view(r_.query); }
  /// Client address, "ip:port".
  std::string_view remote_address() const noexcept { return detail::view(r_.remote_address); }
  /// All request headers, in order.
  std::vector<std::pair<std::string_view, std::string_view>> headers() const {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    for (size_t i = 0; i < r_.header_count; ++i) {
      out.emplace_back(detail::view(r_.headers[i].name), detail::view(r_.headers[i].value));
    }
    return out;
  }
  /// The first header of this name (ASCII case-insensitive), if present.
  std::optional<std::string_view> header(std::string_view name) const noexcept {
    for (size_t i = 0; i < r_.header_count; ++i) {
      if (detail::iequals(detail::view(r_.headers[i].name), name)) return detail::view(r_.headers[i].value);
    }
    return std::nullopt;
  }
  /// Subprotocols the client offered, in its order.
  std::vector<std::string_view> subprotocols() const {
    std::vector<std::string_view> out;
    for (size_t i = 0; i < r_.subprotocol_count; ++i) out.push_back(detail::view(r_.subprotocols[i]));
    return out;
  }
  /// The client's certificate, if it presented one.
  std::optional<PeerCertificate> peer_certificate() const {
    return PeerCertificate::from(r_.peer_certificate);
  }

 private:
  const wss_upgrade_request& r_;
};

/// The answer to an upgrade request: accept (the default), optionally choosing a subprotocol
/// and adding response headers, or refuse with an HTTP status.
class AcceptDecision {
 public:
  /// Accept, selecting the offered subprotocol at `index` (-1: none).
  void accept(int32_t subprotocol_index = -1) noexcept {
    status_ = 0;
    subprotocol_ = subprotocol_index;
  }
  /// Refuse with an HTTP status (400..599) and reason phrase.
  void refuse(uint16_t status, std::string reason = "Forbidden") {
    status_ = status;
    reason_ = std::move(reason);
  }
  /// Accept: add a response header.
  void add_header(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
  }

  /// Write into the library's pre-filled decision (only members within its struct_size).
  void fill(wss_accept_decision& d) {
    const uint32_t size = d.struct_size;
    auto has = [size](size_t end) { return detail::has_member(size, end); };
    if (has(offsetof(wss_accept_decision, status) + sizeof d.status)) d.status = status_;
    if (has(offsetof(wss_accept_decision, subprotocol_index) + sizeof d.subprotocol_index)) {
      d.subprotocol_index = subprotocol_;
    }
    if (status_ != 0 && has(offsetof(wss_accept_decision, reason) + sizeof d.reason)) {
      d.reason = reason_.c_str();
    }
    if (!headers_.empty() && has(offsetof(wss_accept_decision, header_count) + sizeof d.header_count)) {
      raw_headers_.clear();
      for (const auto& h : headers_) raw_headers_.push_back({h.first.c_str(), h.second.c_str()});
      d.headers = raw_headers_.data();
      d.header_count = raw_headers_.size();
    }
  }

 private:
  uint16_t status_ = 0;
  int32_t subprotocol_ = -1;
  std::string reason_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::vector<wss_header> raw_headers_;  // points into headers_ while the library copies them
};

/// The callbacks of a server, route or client; any may be empty. They run on the library's I/O
/// threads: keep them short. An exception a callback throws is caught by the wrapper and
/// reported through on_error (errc::internal, naming the callback), or on stderr when there is
/// no on_error; it never reaches the library. The Connection passed in may be copied and used
/// from any thread; Message and UpgradeRequest are views valid only during the call.
struct Handlers {
  /// Servers: decide whether to upgrade (default: accept, no subprotocol). If it throws, the
  /// request is refused with 500 (and the exception reported).
  std::function<void(const UpgradeRequest&, AcceptDecision&)> on_accept;
  /// A connection opened (the place for Connection::set_user_data).
  std::function<void(Connection&)> on_open;
  /// A complete message arrived.
  std::function<void(Connection&, const Message&)> on_message;
  /// A pong arrived.
  std::function<void(Connection&, const Message&)> on_pong;
  /// A connection closed (1006: without a close handshake); its last callback.
  std::function<void(Connection&, uint16_t code, std::string_view reason)> on_close;
  /// Something failed; the Connection's id is 0 for failures before a connection opened
  /// (TLS handshake, timeouts: the peer address is in the error).
  std::function<void(Connection&, const Error&)> on_error;
};

}  // namespace wss

#endif  // WSS_HANDLERS_HPP
