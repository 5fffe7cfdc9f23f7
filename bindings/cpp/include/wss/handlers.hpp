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

/// Response headers an accepted upgrade adds (name, value), in order.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// The answer to an upgrade request: accept (the default), optionally choosing a subprotocol
/// and adding response headers, or refuse with an HTTP status. Filled in on_accept, or passed to
/// Event::decide / Server::decide in pull mode. A plain value: it owns its strings, and the
/// library copies them when the decision is taken.
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

  /// 0 when accepting, else the HTTP status of the refusal.
  uint16_t status() const noexcept { return status_; }
  /// Accept: index of the selected subprotocol, -1 for none.
  int32_t subprotocol_index() const noexcept { return subprotocol_; }
  /// Refuse: the reason phrase.
  const std::string& reason() const noexcept { return reason_; }
  /// Accept: the response headers added.
  const Headers& headers() const noexcept { return headers_; }

 private:
  uint16_t status_ = 0;
  int32_t subprotocol_ = -1;
  std::string reason_;
  Headers headers_;
};

namespace detail {

// Write `d` into the decision on_accept received: status and subprotocol directly (only members
// within the library's struct_size), the strings through the setters that copy them at once.
inline wss_result apply(const AcceptDecision& d, wss_accept_decision& out) noexcept {
  const uint32_t size = out.struct_size;
  if (has_member(size, offsetof(wss_accept_decision, status) + sizeof out.status)) out.status = d.status();
  if (has_member(size, offsetof(wss_accept_decision, subprotocol_index) + sizeof out.subprotocol_index)) {
    out.subprotocol_index = d.subprotocol_index();
  }
  if (d.status() != 0) return wss_accept_decision_set_reason(&out, d.reason().c_str());
  for (const auto& h : d.headers()) {
    const wss_result rc = wss_accept_decision_add_header(&out, h.first.c_str(), h.second.c_str());
    if (rc != WSS_OK) return rc;
  }
  return WSS_OK;
}

// Answer a pull-mode accept event: `d` is read during the call.
inline wss_result decide(wss_server* server, uint64_t request_id, const AcceptDecision& d) noexcept {
  std::vector<wss_header> headers;
  try {
    headers.reserve(d.headers().size());
  } catch (...) {
    return WSS_ERR_INTERNAL;
  }
  for (const auto& h : d.headers()) headers.push_back({h.first.c_str(), h.second.c_str()});
  wss_accept_decision raw{};
  raw.struct_size = sizeof raw;
  raw.status = d.status();
  raw.subprotocol_index = d.subprotocol_index();
  raw.reason = d.status() != 0 ? d.reason().c_str() : nullptr;
  raw.headers = headers.empty() ? nullptr : headers.data();
  raw.header_count = headers.size();
  return wss_server_decide(server, request_id, &raw);
}

}  // namespace detail

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
  /// (TLS handshake, timeouts: the peer address is in the error). A client started with
  /// Client::connect_async learns that its connect failed here, with its own connection id and
  /// before any on_open (no on_close follows).
  std::function<void(Connection&, const Error&)> on_error;
};

}  // namespace wss

#endif  // WSS_HANDLERS_HPP
