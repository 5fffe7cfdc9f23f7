// wss C++ wrapper: a client connection to a ws:// or wss:// URL, in callback or pull mode.
#ifndef WSS_CLIENT_HPP
#define WSS_CLIENT_HPP

#include <wss.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "connection.hpp"
#include "detail/trampoline.hpp"
#include "error.hpp"
#include "event.hpp"
#include "handlers.hpp"
#include "options.hpp"
#include "tls_config.hpp"

namespace wss {

/// A client connection (owns a wss_client). Move-only. The scheme of the URL alone selects ws
/// or wss; `tls` null uses secure defaults with the system trust store. connect() blocks until
/// the connection is open; connect_async() returns at once and opened() says when it is.
/// close() is the orderly close; the destructor frees without waiting (an open connection gets a
/// normal close, a connect under way is cancelled). The handlers stay alive until their last
/// callback has returned, which may be after the destructor.
class Client {
 public:
  /// No client.
  Client() noexcept = default;

  /// Connect, blocking until open or failed (Options::connect_timeout, default 10 s). On
  /// failure the wss::Error has the full detail (OpenSSL queue, X509 verify result, HTTP
  /// status) and no callback runs.
  static Client connect(const std::string& url, Handlers handlers, const TlsConfig* tls = nullptr,
                        const Options* options = nullptr) {
    std::error_code ec;
    Client c = connect(url, std::move(handlers), tls, options, ec);
    if (ec) throw Error::last();
    return c;
  }
  /// As above; failures go to `ec` (detail: Error::last()) and give an empty Client.
  static Client connect(const std::string& url, Handlers handlers, const TlsConfig* tls,
                        const Options* options, std::error_code& ec) {
    detail::CallbackSet cb(std::move(handlers));
    std::shared_future<void> opened = ready();  // before the call: nothing may throw after it
    wss_client* raw = nullptr;
    if (!detail::check(wss_client_connect(url.c_str(), tls ? tls->get() : nullptr,
                                          options ? options->get() : nullptr, &cb.table,
                                          cb.state.get(), &detail::release_handlers, &raw),
                       ec)) {
      return Client();
    }
    cb.state.release();  // the library owns it now; release_handlers frees it
    return Client(raw, std::move(opened));
  }
  /// Connect in pull mode (blocking): take events with next_event().
  static Client connect_pull(const std::string& url, const TlsConfig* tls = nullptr,
                             const Options* options = nullptr) {
    std::error_code ec;
    Client c = connect_pull(url, tls, options, ec);
    if (ec) throw Error::last();
    return c;
  }
  /// As above; failures go to `ec` (detail: Error::last()) and give an empty Client.
  static Client connect_pull(const std::string& url, const TlsConfig* tls, const Options* options,
                             std::error_code& ec) {
    std::shared_future<void> opened = ready();  // before the call: nothing may throw after it
    wss_client* raw = nullptr;
    if (!detail::check(wss_client_connect(url.c_str(), tls ? tls->get() : nullptr,
                                          options ? options->get() : nullptr, nullptr, nullptr, nullptr, &raw),
                       ec)) {
      return Client();
    }
    return Client(raw, std::move(opened));
  }

  /// Start connecting and return at once; URL, header and option errors still throw here. TCP
  /// connect, TLS and the upgrade run on an I/O thread within Options::connect_timeout (default
  /// 10 s). The outcome arrives as on_open, or as on_error with this client's connection id and
  /// the full detail (no on_close follows a connect that failed); then opened() becomes ready.
  /// Until the connection opens, sends fail with errc::not_connected. Destroying the Client
  /// cancels the attempt (no callback runs after that; opened() gets errc::closed).
  static Client connect_async(const std::string& url, Handlers handlers, const TlsConfig* tls = nullptr,
                              const Options* options = nullptr) {
    std::error_code ec;
    Client c = connect_async(url, std::move(handlers), tls, options, ec);
    if (ec) throw Error::last();
    return c;
  }
  /// As above; failures to start go to `ec` (detail: Error::last()) and give an empty Client.
  static Client connect_async(const std::string& url, Handlers handlers, const TlsConfig* tls,
                              const Options* options, std::error_code& ec) {
    detail::CallbackSet cb(std::move(handlers), /*track_connect=*/true);
    std::shared_future<void> opened = cb.state->connect->future();
    wss_client* raw = nullptr;
    if (!detail::check(wss_client_connect_async(url.c_str(), tls ? tls->get() : nullptr,
                                                options ? options->get() : nullptr, &cb.table,
                                                cb.state.get(), &detail::release_handlers, &raw),
                       ec)) {
      return Client();
    }
    cb.state.release();  // the library owns it now; release_handlers frees it
    return Client(raw, std::move(opened));
  }
  /// Start connecting in pull mode and return at once: the first event is EventType::open, or
  /// EventType::error with the detail, after which next_event() reports errc::closed. opened()
  /// is not valid() on such a client: the events are the outcome.
  static Client connect_async_pull(const std::string& url, const TlsConfig* tls = nullptr,
                                   const Options* options = nullptr) {
    std::error_code ec;
    Client c = connect_async_pull(url, tls, options, ec);
    if (ec) throw Error::last();
    return c;
  }
  /// As above; failures to start go to `ec` (detail: Error::last()) and give an empty Client.
  static Client connect_async_pull(const std::string& url, const TlsConfig* tls, const Options* options,
                                   std::error_code& ec) noexcept {
    wss_client* raw = nullptr;
    if (!detail::check(wss_client_connect_async(url.c_str(), tls ? tls->get() : nullptr,
                                                options ? options->get() : nullptr, nullptr, nullptr, nullptr,
                                                &raw),
                       ec)) {
      return Client();
    }
    return Client(raw, {});
  }

  /// Ready once the connection is open: at once for connect() and connect_pull(); for
  /// connect_async() after on_open has returned (get() returns), or after the on_error that
  /// ended a failed connect has returned (get() throws that wss::Error, with every detail), or
  /// once the Client was destroyed while connecting (get() throws errc::closed). It becomes
  /// ready exactly once. Copies may be kept and waited on from any thread, but not from inside
  /// this client's callbacks (they run on the thread that would make it ready).
  const std::shared_future<void>& opened() const noexcept { return opened_; }

  /// The connection, for sending (send_text, send_binary, ping, info, ...).
  Connection connection() const {
    uint64_t id = 0;
    detail::check(wss_client_conn_id(get(), &id));
    return Connection(id);
  }
  /// As above; failures (e.g. an empty Client) go to `ec` and give Connection() (id 0).
  Connection connection(std::error_code& ec) const noexcept {
    uint64_t id = 0;
    if (!detail::check(wss_client_conn_id(get(), &id), ec)) return Connection();
    return Connection(id);
  }

  /// Close with `code` and `reason`, waiting up to `timeout` for the close handshake
  /// (errc::timeout if it did not finish). A zero timeout only starts the close.
  void close(uint16_t code = close_code::normal, const std::string& reason = {},
             std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    detail::check(wss_client_close(get(), code, reason.c_str(), detail::timeout_ms(timeout)));
  }
  /// As above; failures go to `ec`.
  void close(uint16_t code, const std::string& reason, std::chrono::milliseconds timeout,
             std::error_code& ec) noexcept {
    detail::check(wss_client_close(get(), code, reason.c_str(), detail::timeout_ms(timeout)), ec);
  }

  /// Pull mode: wait up to `timeout` for the next event; nullopt on timeout. Throws
  /// errc::closed once the connection closed and every event was taken.
  std::optional<Event> next_event(std::chrono::milliseconds timeout) const {
    return detail::next_event(&wss_client_next_event, get(), timeout);
  }
  /// As above; failures (errc::closed at the end) go to `ec`.
  std::optional<Event> next_event(std::chrono::milliseconds timeout, std::error_code& ec) const noexcept {
    return detail::next_event(&wss_client_next_event, get(), timeout, ec);
  }

  /// True when this holds a client.
  explicit operator bool() const noexcept { return ptr_ != nullptr; }
  /// The C handle (owned by this object).
  wss_client* get() const noexcept { return ptr_.get(); }

 private:
  Client(wss_client* raw, std::shared_future<void> opened) noexcept : ptr_(raw), opened_(std::move(opened)) {}
  static std::shared_future<void> ready() {
    std::promise<void> p;
    p.set_value();
    return p.get_future().share();
  }
  struct Deleter {
    void operator()(wss_client* p) const noexcept { wss_client_free(p); }
  };
  std::unique_ptr<wss_client, Deleter> ptr_;
  std::shared_future<void> opened_;
};

}  // namespace wss

#endif  // WSS_CLIENT_HPP
