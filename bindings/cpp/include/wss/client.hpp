// wss C++ wrapper: a client connection to a ws:// or wss:// URL, in callback or pull mode.
#ifndef WSS_CLIENT_HPP
#define WSS_CLIENT_HPP

#include <wss.h>

#include <chrono>
#include <cstdint>
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
/// or wss; `tls` null uses secure defaults with the system trust store. close() is the orderly
/// close; the destructor frees without waiting (an open connection gets a normal close). The
/// handlers stay alive until their last callback has returned, which may be after the
/// destructor.
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
    wss_client* raw = nullptr;
    if (!detail::check(wss_client_connect(url.c_str(), tls ? tls->get() : nullptr,
                                          options ? options->get() : nullptr, &cb.table,
                                          cb.state.get(), &detail::release_handlers, &raw),
                       ec)) {
      return Client();
    }
    cb.state.release();  // the library owns it now; release_handlers frees it
    return Client(raw);
  }
  /// Connect in pull mode (blocking): take events with next_event().
  static Client connect_pull(const std::string& url, const TlsConfig* tls = nullptr,
                             const Options* options = nullptr) {
    wss_client* raw = nullptr;
    detail::check(wss_client_connect(url.c_str(), tls ? tls->get() : nullptr,
                                     options ? options->get() : nullptr, nullptr, nullptr, nullptr, &raw));
    return Client(raw);
  }

  /// The connection, for sending (send_text, send_binary, ping, info, ...).
  Connection connection() const {
    uint64_t id = 0;
    detail::check(wss_client_conn_id(get(), &id));
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
  explicit Client(wss_client* raw) noexcept : ptr_(raw) {}
  struct Deleter {
    void operator()(wss_client* p) const noexcept { wss_client_free(p); }
  };
  std::unique_ptr<wss_client, Deleter> ptr_;
};

}  // namespace wss

#endif  // WSS_CLIENT_HPP
