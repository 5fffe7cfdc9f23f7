// wss C++ wrapper: endpoint options (limits, timeouts, keepalive, threads, client headers,
// permessage-deflate).
#ifndef WSS_OPTIONS_HPP
#define WSS_OPTIONS_HPP

#include <wss.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include "error.hpp"

namespace wss {

/// Endpoint settings (owns a wss_options); servers and clients copy them when created.
/// Move-only. Setters throw wss::Error (errc::invalid_argument) on values out of range; each has
/// a std::error_code form as its last overload (failures go to `ec`, the detail stays readable
/// with Error::last(), except a duration out of the uint32_t millisecond range, which the wrapper
/// rejects itself: errc::invalid_argument with no library detail). Only the constructor always
/// throws (when the library cannot create the settings).
class Options {
 public:
  /// The defaults (64 MiB messages, 16 MiB frames, 10 s handshake timeout, ...; see wss.h).
  Options() {
    wss_options* raw = nullptr;
    detail::check(wss_options_new(&raw));
    ptr_.reset(raw);
  }

  /// Largest incoming message (larger closes with 1009).
  Options& max_message_size(uint64_t bytes) { return set(wss_options_set_max_message_size(get(), bytes)); }
  Options& max_message_size(uint64_t bytes, std::error_code& ec) noexcept {
    return set(wss_options_set_max_message_size(get(), bytes), ec);
  }
  /// Largest incoming frame payload.
  Options& max_frame_size(uint64_t bytes) { return set(wss_options_set_max_frame_size(get(), bytes)); }
  Options& max_frame_size(uint64_t bytes, std::error_code& ec) noexcept {
    return set(wss_options_set_max_frame_size(get(), bytes), ec);
  }
  /// Largest HTTP upgrade head (servers answer 431 above it).
  Options& max_header_size(uint64_t bytes) { return set(wss_options_set_max_header_size(get(), bytes)); }
  Options& max_header_size(uint64_t bytes, std::error_code& ec) noexcept {
    return set(wss_options_set_max_header_size(get(), bytes), ec);
  }
  /// Servers: most simultaneous connections (more get HTTP 503).
  Options& max_connections(uint64_t n) { return set(wss_options_set_max_connections(get(), n)); }
  Options& max_connections(uint64_t n, std::error_code& ec) noexcept {
    return set(wss_options_set_max_connections(get(), n), ec);
  }
  /// Bytes a connection may queue before sends fail with errc::backpressure.
  Options& send_queue_limit(uint64_t bytes) { return set(wss_options_set_send_queue_limit(get(), bytes)); }
  Options& send_queue_limit(uint64_t bytes, std::error_code& ec) noexcept {
    return set(wss_options_set_send_queue_limit(get(), bytes), ec);
  }
  /// Pull mode: bytes of events that may wait before the endpoint stops reading its peers.
  Options& event_queue_limit(uint64_t bytes) { return set(wss_options_set_event_queue_limit(get(), bytes)); }
  Options& event_queue_limit(uint64_t bytes, std::error_code& ec) noexcept {
    return set(wss_options_set_event_queue_limit(get(), bytes), ec);
  }
  /// Pull-mode servers: queue every upgrade request as an EventType::accept event for the host
  /// to answer (Event::accept / Event::refuse) before the handshake timeout. Off by default
  /// (every request accepted); no effect on callback servers (they have on_accept) or clients.
  Options& accept_events(bool on) { return set(wss_options_set_accept_events(get(), on ? 1 : 0)); }
  Options& accept_events(bool on, std::error_code& ec) noexcept {
    return set(wss_options_set_accept_events(get(), on ? 1 : 0), ec);
  }
  /// Servers: time from TCP accept to open WebSocket (slowloris guard).
  Options& handshake_timeout(std::chrono::milliseconds t) {
    return set(wss_options_set_handshake_timeout_ms(get(), ms(t)));
  }
  Options& handshake_timeout(std::chrono::milliseconds t, std::error_code& ec) noexcept {
    return in_range(t, ec) ? set(wss_options_set_handshake_timeout_ms(get(), ms(t)), ec) : *this;
  }
  /// Time allowed for the close handshake.
  Options& close_timeout(std::chrono::milliseconds t) {
    return set(wss_options_set_close_timeout_ms(get(), ms(t)));
  }
  Options& close_timeout(std::chrono::milliseconds t, std::error_code& ec) noexcept {
    return in_range(t, ec) ? set(wss_options_set_close_timeout_ms(get(), ms(t)), ec) : *this;
  }
  /// Clients: time allowed for TCP connect + TLS + upgrade.
  Options& connect_timeout(std::chrono::milliseconds t) {
    return set(wss_options_set_connect_timeout_ms(get(), ms(t)));
  }
  Options& connect_timeout(std::chrono::milliseconds t, std::error_code& ec) noexcept {
    return in_range(t, ec) ? set(wss_options_set_connect_timeout_ms(get(), ms(t)), ec) : *this;
  }
  /// Ping after `interval` of silence, close when nothing arrives within `timeout` (0 = off).
  Options& keepalive(std::chrono::milliseconds interval, std::chrono::milliseconds timeout) {
    return set(wss_options_set_keepalive(get(), ms(interval), ms(timeout)));
  }
  Options& keepalive(std::chrono::milliseconds interval, std::chrono::milliseconds timeout,
                     std::error_code& ec) noexcept {
    if (!in_range(interval, ec) || !in_range(timeout, ec)) return *this;
    return set(wss_options_set_keepalive(get(), ms(interval), ms(timeout)), ec);
  }
  /// Servers: number of I/O threads (0 = number of cores).
  Options& io_threads(uint32_t n) { return set(wss_options_set_io_threads(get(), n)); }
  Options& io_threads(uint32_t n, std::error_code& ec) noexcept {
    return set(wss_options_set_io_threads(get(), n), ec);
  }
  /// Servers: Strict-Transport-Security on HTTP answers over TLS (default on).
  Options& hsts(bool on) { return set(wss_options_set_hsts(get(), on ? 1 : 0)); }
  Options& hsts(bool on, std::error_code& ec) noexcept { return set(wss_options_set_hsts(get(), on ? 1 : 0), ec); }
  /// Servers: the listen backlog (default 4096; the kernel caps it at net.core.somaxconn).
  Options& listen_backlog(uint32_t n) { return set(wss_options_set_listen_backlog(get(), n)); }
  Options& listen_backlog(uint32_t n, std::error_code& ec) noexcept {
    return set(wss_options_set_listen_backlog(get(), n), ec);
  }
  /// Close a peer whose send queue is over its limit with 1008 instead of pausing its reading
  /// until the queue drains (default off: pause).
  Options& close_on_backpressure(bool on) {
    return set(wss_options_set_close_on_backpressure(get(), on ? 1 : 0));
  }
  Options& close_on_backpressure(bool on, std::error_code& ec) noexcept {
    return set(wss_options_set_close_on_backpressure(get(), on ? 1 : 0), ec);
  }
  /// Clients: add a request header.
  Options& header(const std::string& name, const std::string& value) {
    return set(wss_options_add_header(get(), name.c_str(), value.c_str()));
  }
  Options& header(const std::string& name, const std::string& value, std::error_code& ec) noexcept {
    return set(wss_options_add_header(get(), name.c_str(), value.c_str()), ec);
  }
  /// Clients: offer a subprotocol (in preference order of the calls).
  Options& subprotocol(const std::string& protocol) {
    return set(wss_options_add_subprotocol(get(), protocol.c_str()));
  }
  Options& subprotocol(const std::string& protocol, std::error_code& ec) noexcept {
    return set(wss_options_add_subprotocol(get(), protocol.c_str()), ec);
  }

  /// permessage-deflate (RFC 7692): clients offer it, servers accept it. Off by default (a
  /// compressing connection keeps ~420 KiB of zlib state with context takeover; compression
  /// over TLS mixes secrets with attacker-chosen data). ConnectionInfo::extensions tells.
  Options& deflate(bool on) { return set(wss_options_set_deflate(get(), on ? 1 : 0)); }
  Options& deflate(bool on, std::error_code& ec) noexcept {
    return set(wss_options_set_deflate(get(), on ? 1 : 0), ec);
  }
  /// permessage-deflate: messages shorter than `bytes` go uncompressed (default 64).
  Options& deflate_threshold(uint64_t bytes) { return set(wss_options_set_deflate_threshold(get(), bytes)); }
  Options& deflate_threshold(uint64_t bytes, std::error_code& ec) noexcept {
    return set(wss_options_set_deflate_threshold(get(), bytes), ec);
  }
  /// permessage-deflate: the server / the client compresses each message on its own (the
  /// compressing side then keeps no zlib state between messages). Default false, false.
  Options& deflate_no_context_takeover(bool server, bool client) {
    return set(wss_options_set_deflate_no_context_takeover(get(), server ? 1 : 0, client ? 1 : 0));
  }
  Options& deflate_no_context_takeover(bool server, bool client, std::error_code& ec) noexcept {
    return set(wss_options_set_deflate_no_context_takeover(get(), server ? 1 : 0, client ? 1 : 0), ec);
  }
  /// permessage-deflate: largest windows (8 to 15 bits) the server and the client compress with.
  Options& deflate_max_window_bits(uint8_t server, uint8_t client) {
    return set(wss_options_set_deflate_max_window_bits(get(), server, client));
  }
  Options& deflate_max_window_bits(uint8_t server, uint8_t client, std::error_code& ec) noexcept {
    return set(wss_options_set_deflate_max_window_bits(get(), server, client), ec);
  }
  /// permessage-deflate: zlib level (1-9, default 6) and memory level (1-9, default 8).
  Options& deflate_level(uint8_t level, uint8_t mem_level) {
    return set(wss_options_set_deflate_level(get(), level, mem_level));
  }
  Options& deflate_level(uint8_t level, uint8_t mem_level, std::error_code& ec) noexcept {
    return set(wss_options_set_deflate_level(get(), level, mem_level), ec);
  }
  /// The C handle (owned by this object).
  wss_options* get() const noexcept { return ptr_.get(); }

 private:
  static bool fits(std::chrono::milliseconds t) noexcept {
    return t.count() >= 0 && t.count() <= static_cast<int64_t>(UINT32_MAX);
  }
  // The duration in milliseconds; throws when it does not fit the library's uint32_t.
  static uint32_t ms(std::chrono::milliseconds t) {
    if (!fits(t)) throw Error(errc::invalid_argument, "duration out of range: " + std::to_string(t.count()) + " ms");
    return static_cast<uint32_t>(t.count());
  }
  // The error_code forms check first, so ms() cannot throw after it.
  static bool in_range(std::chrono::milliseconds t, std::error_code& ec) noexcept {
    if (fits(t)) return true;
    ec = errc::invalid_argument;
    return false;
  }
  Options& set(wss_result rc) {
    detail::check(rc);
    return *this;
  }
  Options& set(wss_result rc, std::error_code& ec) noexcept {
    detail::check(rc, ec);
    return *this;
  }
  struct Deleter {
    void operator()(wss_options* p) const noexcept { wss_options_free(p); }
  };
  std::unique_ptr<wss_options, Deleter> ptr_;
};

}  // namespace wss

#endif  // WSS_OPTIONS_HPP
