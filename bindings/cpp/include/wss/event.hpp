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
};

/// One event taken in pull mode (owns a wss_event). Move-only; views it hands out (message(),
/// reason()) stay valid while it lives.
class Event {
 public:
  /// Take ownership of an event from wss_*_next_event.
  explicit Event(wss_event* raw) noexcept : ptr_(raw) {}

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
  /// The C event (owned by this object).
  const wss_event* get() const noexcept { return ptr_.get(); }

 private:
  struct Deleter {
    void operator()(wss_event* p) const noexcept { wss_event_free(p); }
  };
  std::unique_ptr<wss_event, Deleter> ptr_;
};

namespace detail {

inline uint32_t timeout_ms(std::chrono::milliseconds t) noexcept {
  if (t.count() <= 0) return 0;
  return t.count() > static_cast<int64_t>(UINT32_MAX) ? UINT32_MAX : static_cast<uint32_t>(t.count());
}

// next_event for servers and clients: nullopt on timeout; failures (errc::closed once the
// endpoint is closed and drained) go to `ec`.
template <class Handle, class Fn>
std::optional<Event> next_event(Fn fn, const Handle* h, std::chrono::milliseconds timeout,
                                std::error_code& ec) noexcept {
  wss_event* raw = nullptr;
  const wss_result rc = fn(h, timeout_ms(timeout), &raw);
  if (rc == WSS_ERR_TIMEOUT) {
    ec.clear();
    return std::nullopt;
  }
  if (!check(rc, ec)) return std::nullopt;
  return Event(raw);
}

template <class Handle, class Fn>
std::optional<Event> next_event(Fn fn, const Handle* h, std::chrono::milliseconds timeout) {
  std::error_code ec;
  auto ev = next_event(fn, h, timeout, ec);
  if (ec) throw Error::last();
  return ev;
}

}  // namespace detail
}  // namespace wss

#endif  // WSS_EVENT_HPP
