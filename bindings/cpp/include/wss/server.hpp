// wss C++ wrapper: a server (listening socket, I/O threads, routes), in callback or pull mode.
#ifndef WSS_SERVER_HPP
#define WSS_SERVER_HPP

#include <wss.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "detail/trampoline.hpp"
#include "error.hpp"
#include "event.hpp"
#include "handlers.hpp"
#include "options.hpp"
#include "tls_config.hpp"

namespace wss {

/// A running server (owns a wss_server). Move-only. `tls` null serves ws://, otherwise wss://:
/// the same code serves both. close() is the orderly, blocking shutdown; the destructor only
/// frees (never blocks; open connections end abruptly, peers see 1006). The handlers stay alive
/// until their last callback has returned, which may be after the destructor: whatever they
/// capture must live that long (or be owned by them). An Event::accept / refuse running on
/// another thread when the Server is destroyed finishes first; the handle is freed as it returns.
class Server {
 public:
  /// No server.
  Server() noexcept = default;
  /// Move-only: one Server owns the handle (shared_ptr inside only for the events' weak_ptr).
  Server(const Server&) = delete;
  /// Move-only.
  Server& operator=(const Server&) = delete;
  /// Takes the handle; `other` is left empty.
  Server(Server&& other) noexcept = default;
  /// Frees the handle held (never blocks) and takes `other`'s.
  Server& operator=(Server&& other) noexcept = default;
  /// Frees the handle (never blocks; see the class comment).
  ~Server() = default;

  /// Listen on `address` ("127.0.0.1:0": port 0 picks one, see port()) with callbacks.
  static Server listen(const std::string& address, Handlers handlers, const TlsConfig* tls = nullptr,
                       const Options* options = nullptr) {
    std::error_code ec;
    Server s = listen(address, std::move(handlers), tls, options, ec);
    if (ec) throw Error::last();
    return s;
  }
  /// As above; failures go to `ec` (detail: Error::last()) and give an empty Server.
  static Server listen(const std::string& address, Handlers handlers, const TlsConfig* tls,
                       const Options* options, std::error_code& ec) {
    detail::CallbackSet cb(std::move(handlers));
    wss_server* raw = nullptr;
    if (!detail::check(wss_server_new(address.c_str(), tls ? tls->get() : nullptr,
                                      options ? options->get() : nullptr, &cb.table, cb.state.get(),
                                      &detail::release_handlers, &raw),
                       ec)) {
      return Server();
    }
    cb.state.release();  // the library owns it now; release_handlers frees it
    return Server(raw);
  }
  /// Listen in pull mode: take events with next_event().
  static Server listen_pull(const std::string& address, const TlsConfig* tls = nullptr,
                            const Options* options = nullptr) {
    std::error_code ec;
    Server s = listen_pull(address, tls, options, ec);
    if (ec) throw Error::last();
    return s;
  }
  /// As above; failures go to `ec` (detail: Error::last()) and give an empty Server.
  static Server listen_pull(const std::string& address, const TlsConfig* tls, const Options* options,
                            std::error_code& ec) {
    wss_server* raw = nullptr;
    if (!detail::check(wss_server_new(address.c_str(), tls ? tls->get() : nullptr,
                                      options ? options->get() : nullptr, nullptr, nullptr, nullptr, &raw),
                       ec)) {
      return Server();
    }
    return Server(raw);
  }

  /// The bound port.
  uint16_t port() const {
    uint16_t p = 0;
    detail::check(wss_server_port(get(), &p));
    return p;
  }
  /// As above; failures (e.g. an empty Server) go to `ec` and give 0.
  uint16_t port(std::error_code& ec) const noexcept {
    uint16_t p = 0;
    detail::check(wss_server_port(get(), &p), ec);
    return p;
  }
  /// Connections accepted and not yet finished.
  uint64_t active_connections() const {
    uint64_t n = 0;
    detail::check(wss_server_active_connections(get(), &n));
    return n;
  }
  /// As above; failures go to `ec` and give 0.
  uint64_t active_connections(std::error_code& ec) const noexcept {
    uint64_t n = 0;
    detail::check(wss_server_active_connections(get(), &n), ec);
    return n;
  }
  /// Serve upgrades on `path` with these handlers; other paths then get 404. Adding a path
  /// again replaces its route for new connections.
  void add_route(const std::string& path, Handlers handlers) {
    detail::CallbackSet cb(std::move(handlers));
    detail::check(wss_server_add_route(get(), path.c_str(), &cb.table, cb.state.get(),
                                       &detail::release_handlers));  // throws before cb drops them
    cb.state.release();  // the library owns it now; release_handlers frees it
  }
  /// As above; failures go to `ec` (detail: Error::last()); the handlers are then dropped.
  void add_route(const std::string& path, Handlers handlers, std::error_code& ec) {
    detail::CallbackSet cb(std::move(handlers));
    if (!detail::check(wss_server_add_route(get(), path.c_str(), &cb.table, cb.state.get(),
                                            &detail::release_handlers),
                       ec)) {
      return;
    }
    cb.state.release();  // the library owns it now; release_handlers frees it
  }
  /// Pull mode: serve upgrades on `path` (events go to next_event()).
  void add_route(const std::string& path) {
    detail::check(wss_server_add_route(get(), path.c_str(), nullptr, nullptr, nullptr));
  }
  /// As above; failures go to `ec`.
  void add_route(const std::string& path, std::error_code& ec) noexcept {
    detail::check(wss_server_add_route(get(), path.c_str(), nullptr, nullptr, nullptr), ec);
  }
  /// Stop serving `path` to new connections (open ones keep its handlers until they close).
  void remove_route(const std::string& path) { detail::check(wss_server_remove_route(get(), path.c_str())); }
  /// As above; failures (e.g. no such route) go to `ec`.
  void remove_route(const std::string& path, std::error_code& ec) noexcept {
    detail::check(wss_server_remove_route(get(), path.c_str()), ec);
  }

  /// Pull mode: wait up to `timeout` for the next event; nullopt on timeout. Throws
  /// errc::closed once the server is closed and every event was taken. With
  /// Options::accept_events, each upgrade request first arrives as an EventType::accept event,
  /// answered with Event::accept / Event::refuse (or decide() here) before the handshake timeout
  /// (unanswered ones are refused with 503 and reported as an errc::timeout error event).
  std::optional<Event> next_event(std::chrono::milliseconds timeout) const {
    return detail::next_event(&wss_server_next_event, get(), timeout, std::weak_ptr<wss_server>(ptr_));
  }
  /// As above; failures (errc::closed at the end) go to `ec`.
  std::optional<Event> next_event(std::chrono::milliseconds timeout, std::error_code& ec) const noexcept {
    return detail::next_event(&wss_server_next_event, get(), timeout, ec, std::weak_ptr<wss_server>(ptr_));
  }
  /// Pull mode: answer the accept event whose request id is `request_id` (the event's
  /// connection().id()), also after the event itself is gone. Any thread. errc::not_connected
  /// when the request is unknown, already decided, timed out or its peer left;
  /// errc::invalid_argument for a bad decision (the request stays undecided).
  void decide(uint64_t request_id, const AcceptDecision& decision) const {
    detail::check(detail::decide(get(), request_id, decision));
  }
  /// As above; failures go to `ec`.
  void decide(uint64_t request_id, const AcceptDecision& decision, std::error_code& ec) const noexcept {
    detail::check(detail::decide(get(), request_id, decision), ec);
  }

  /// Graceful shutdown: stop accepting, close every connection (1001) after its queued
  /// messages, wait up to `timeout` for peers, stop the I/O threads. Not from a callback.
  void close(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    detail::check(wss_server_close(get(), detail::timeout_ms(timeout)));
  }
  /// As above; failures go to `ec` (errc::timeout: a callback was still running).
  void close(std::chrono::milliseconds timeout, std::error_code& ec) noexcept {
    detail::check(wss_server_close(get(), detail::timeout_ms(timeout)), ec);
  }

  /// True when this holds a server.
  explicit operator bool() const noexcept { return ptr_ != nullptr; }
  /// The C handle (owned by this object).
  wss_server* get() const noexcept { return ptr_.get(); }

 private:
  // Shared only so that pull events can answer accept requests without outliving the handle
  // (they hold a weak_ptr); the Server is its one owner.
  explicit Server(wss_server* raw) : ptr_(raw, Deleter()) {}
  struct Deleter {
    void operator()(wss_server* p) const noexcept { wss_server_free(p); }
  };
  std::shared_ptr<wss_server> ptr_;
};

}  // namespace wss

#endif  // WSS_SERVER_HPP
