// wss C++ wrapper: pull mode. Hosts with their own loop take events with next_event(timeout)
// instead of receiving callbacks.
#ifndef WSS_EVENT_HPP
#define WSS_EVENT_HPP

#include <wss.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <typeinfo>

#include "connection.hpp"
#include "error.hpp"
#include "handlers.hpp"

namespace wss {

/// Type of a pulled event.
enum class EventType : int32_t {
  open = WSS_EVENT_OPEN,        ///< A connection opened.
  message = WSS_EVENT_MESSAGE,  ///< A message arrived (message()).
  close = WSS_EVENT_CLOSE,      ///< A connection closed (close_code(), reason()).
  error = WSS_EVENT_ERROR,      ///< Something failed (error()).
  pong = WSS_EVENT_PONG,        ///< A pong arrived (message()).
  accept = WSS_EVENT_ACCEPT,    ///< An upgrade request waits for accept() or refuse() (request()).
};

/// One event taken in pull mode (owns a wss_event). Move-only; views it hands out (message(),
/// reason(), request()) stay valid while it lives.
class Event {
 public:
  /// Take ownership of an event from wss_*_next_event.
  explicit Event(wss_event* raw) noexcept : ptr_(raw) {}
  /// Take ownership of an event from wss_server_next_event; `server` lets accept events be
  /// answered (the event does not keep the server alive).
  Event(wss_event* raw, std::weak_ptr<wss_server> server) noexcept : ptr_(raw), server_(std::move(server)) {}

  /// What happened.
  EventType type() const noexcept { return static_cast<EventType>(ptr_->event_type); }
  /// The connection (id 0 for an error before a connection opened).
  Connection connection() const noexcept { return Connection(ptr_->conn); }
  /// Message or pong payload (kind is binary for pongs).
  Message message() const noexcept {
    const MessageKind kind = type() == EventType::message ? static_cast<MessageKind>(ptr_->kind)
                                                          : MessageKind::binary;
    return Message{kind, ptr_->data, ptr_->len};
  }
  /// Close code (close events).
  uint16_t close_code() const noexcept { return ptr_->close_code; }
  /// Close reason (close events; empty if none).
  std::string_view reason() const noexcept { return detail::view(ptr_->reason); }
  /// The failure (error events), with every detail.
  Error error() const {
    return ptr_->error != nullptr ? Error::copy_of(ptr_->error)
                                  : Error(errc::internal, "event carries no error");
  }
  /// The connection's data (Connection::set_user_data), kept alive by this event.
  template <class T>
  std::shared_ptr<T> user_data() const {
    const auto* box = static_cast<const detail::UserDataBox*>(ptr_->conn_user_data);
    if (box == nullptr || *box->type != typeid(T)) return nullptr;
    return std::static_pointer_cast<T>(box->data);
  }
  /// The upgrade request of an accept event (Options::accept_events), a view valid while this
  /// event lives; its id() is connection().id(). errc::invalid_state for other events.
  UpgradeRequest request() const {
    if (ptr_->request == nullptr) throw Error(errc::invalid_state, "request() of an event that is not an accept event");
    return UpgradeRequest(*ptr_->request);
  }
  /// As above; errc::invalid_state in `ec` and nullopt for other events (a wrapper check: no
  /// library detail in Error::last()).
  std::optional<UpgradeRequest> request(std::error_code& ec) const noexcept {
    if (ptr_->request == nullptr) {
      ec = errc::invalid_state;
      return std::nullopt;
    }
    ec.clear();
    return UpgradeRequest(*ptr_->request);
  }
  /// Answer an accept event: accept, selecting the offered subprotocol at `subprotocol_index`
  /// (-1: none), with these response headers. Any thread; the decision is taken at once.
  /// errc::not_connected when the request was already decided, timed out or its peer left;
  /// errc::invalid_argument for a bad decision (the request stays undecided); errc::closed when
  /// the server is gone.
  void accept(int32_t subprotocol_index = -1, const Headers& headers = {}) const {
    decide(accepting(subprotocol_index, headers));
  }
  /// As above; failures go to `ec`.
  void accept(int32_t subprotocol_index, const Headers& headers, std::error_code& ec) const {
    decide(accepting(subprotocol_index, headers), ec);
  }
  /// Answer an accept event: refuse with an HTTP status (400..599) and reason phrase.
  void refuse(uint16_t status, std::string reason = "Forbidden") const {
    AcceptDecision d;
    d.refuse(status, std::move(reason));
    decide(d);
  }
  /// As above; failures go to `ec`.
  void refuse(uint16_t status, std::string reason, std::error_code& ec) const {
    AcceptDecision d;
    d.refuse(status, std::move(reason));
    decide(d, ec);
  }
  /// Answer an accept event with a decision built beforehand.
  void decide(const AcceptDecision& decision) const {
    std::error_code ec;
    const std::shared_ptr<wss_server> server = origin(ec);
    if (ec == errc::invalid_state) throw Error(errc::invalid_state, "only an accept event can be accepted or refused");
    if (ec) throw Error(errc::closed, "the server this accept event came from is gone");
    detail::check(detail::decide(server.get(), ptr_->conn, decision));
  }
  /// As above; failures go to `ec` (errc::invalid_state: not an accept event; errc::closed: the
  /// server is gone; others: detail in Error::last()).
  void decide(const AcceptDecision& decision, std::error_code& ec) const noexcept {
    const std::shared_ptr<wss_server> server = origin(ec);
    if (!ec) detail::check(detail::decide(server.get(), ptr_->conn, decision), ec);
  }

  /// The C event (owned by this object).
  const wss_event* get() const noexcept { return ptr_.get(); }

 private:
  static AcceptDecision accepting(int32_t subprotocol_index, const Headers& headers) {
    AcceptDecision d;
    d.accept(subprotocol_index);
    for (const auto& h : headers) d.add_header(h.first, h.second);
    return d;
  }
  // The server to answer, held for the call: a Server destroyed meanwhile is freed when the
  // call returns (wss_server_free never blocks).
  std::shared_ptr<wss_server> origin(std::error_code& ec) const noexcept {
    if (ptr_->event_type != WSS_EVENT_ACCEPT) {
      ec = errc::invalid_state;
      return nullptr;
    }
    std::shared_ptr<wss_server> server = server_.lock();
    if (!server) {
      ec = errc::closed;
      return nullptr;
    }
    ec.clear();
    return server;
  }

  struct Deleter {
    void operator()(wss_event* p) const noexcept { wss_event_free(p); }
  };
  std::unique_ptr<wss_event, Deleter> ptr_;
  std::weak_ptr<wss_server> server_;
};

namespace detail {

inline uint32_t timeout_ms(std::chrono::milliseconds t) noexcept {
  if (t.count() <= 0) return 0;
  return t.count() > static_cast<int64_t>(UINT32_MAX) ? UINT32_MAX : static_cast<uint32_t>(t.count());
}

// next_event for servers and clients: nullopt on timeout; failures (errc::closed once the
// endpoint is closed and drained) go to `ec`.
// `server`: the server handle that accept events answer to (empty for clients).
template <class Handle, class Fn>
std::optional<Event> next_event(Fn fn, const Handle* h, std::chrono::milliseconds timeout,
                                std::error_code& ec, std::weak_ptr<wss_server> server = {}) noexcept {
  wss_event* raw = nullptr;
  const wss_result rc = fn(h, timeout_ms(timeout), &raw);
  if (rc == WSS_ERR_TIMEOUT) {
    ec.clear();
    return std::nullopt;
  }
  if (!check(rc, ec)) return std::nullopt;
  return Event(raw, std::move(server));
}

template <class Handle, class Fn>
std::optional<Event> next_event(Fn fn, const Handle* h, std::chrono::milliseconds timeout,
                                std::weak_ptr<wss_server> server = {}) {
  std::error_code ec;
  auto ev = next_event(fn, h, timeout, ec, std::move(server));
  if (ec) throw Error::last();
  return ev;
}

}  // namespace detail
}  // namespace wss

#endif  // WSS_EVENT_HPP
