// wss C++ wrapper: one WebSocket connection, named by its id. Callable from any thread,
// including inside callbacks.
#ifndef WSS_CONNECTION_HPP
#define WSS_CONNECTION_HPP

#include <wss.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <typeinfo>
#include <vector>

#include "connection_info.hpp"
#include "error.hpp"

namespace wss {

/// Kind of a data message.
enum class MessageKind : int32_t {
  text = WSS_MESSAGE_TEXT,      ///< UTF-8 text (always validated).
  binary = WSS_MESSAGE_BINARY,  ///< Binary data.
};

/// Per-message send flags (Connection::send with flags).
enum class SendFlags : uint32_t {
  none = 0,                              ///< As Connection::send without flags.
  no_compress = WSS_SEND_NO_COMPRESS,    ///< Uncompressed even where permessage-deflate was negotiated.
};

/// Close codes (RFC 6455 section 7.4).
namespace close_code {
constexpr uint16_t normal = WSS_CLOSE_NORMAL;                  ///< Normal closure.
constexpr uint16_t going_away = WSS_CLOSE_GOING_AWAY;          ///< Endpoint going away.
constexpr uint16_t protocol_error = WSS_CLOSE_PROTOCOL_ERROR;  ///< Protocol error.
constexpr uint16_t unsupported_data = WSS_CLOSE_UNSUPPORTED_DATA;  ///< Data type not accepted.
constexpr uint16_t abnormal = WSS_CLOSE_ABNORMAL;              ///< No close frame (1006).
constexpr uint16_t invalid_payload = WSS_CLOSE_INVALID_PAYLOAD;  ///< e.g. bad UTF-8.
constexpr uint16_t policy = WSS_CLOSE_POLICY;                  ///< Policy violation.
constexpr uint16_t too_big = WSS_CLOSE_TOO_BIG;                ///< Message too big.
constexpr uint16_t internal = WSS_CLOSE_INTERNAL;              ///< Internal error.
}  // namespace close_code

namespace detail {
// What the wrapper attaches to a connection with wss_conn_set_user_data: the host's object and
// its type, so user_data<T>() can refuse the wrong T.
struct UserDataBox {
  std::shared_ptr<void> data;
  const std::type_info* type;
};
inline void release_user_data(void* p) noexcept {
  std::unique_ptr<UserDataBox> box(static_cast<UserDataBox*>(p));
}
}  // namespace detail

/// A connection, named by its process-unique id: a cheap value (copying it copies the id, it
/// owns nothing). A stale id gives errc::not_connected, never a crash. Sending, ping, close,
/// info and buffered_amount have a throwing form and a std::error_code form.
class Connection {
 public:
  /// No connection (id 0).
  Connection() noexcept = default;
  /// The connection with this id.
  explicit Connection(uint64_t id) noexcept : id_(id) {}
  /// Copies keep the id only: the callback's borrowed view of the user data stays behind.
  Connection(const Connection& other) noexcept : id_(other.id_) {}
  /// As the copy constructor.
  Connection& operator=(const Connection& other) noexcept {
    id_ = other.id_;
    box_ = nullptr;
    return *this;
  }

  /// The connection id (0: none, e.g. an error before a connection opened).
  uint64_t id() const noexcept { return id_; }
  /// True when this names a connection (id != 0).
  explicit operator bool() const noexcept { return id_ != 0; }

  /// Queue a UTF-8 text message (copied). errc::backpressure when the send queue is full.
  void send_text(std::string_view text) const { detail::check(raw_send(text.data(), text.size(), MessageKind::text)); }
  /// As above; failures go to `ec`.
  void send_text(std::string_view text, std::error_code& ec) const noexcept {
    detail::check(raw_send(text.data(), text.size(), MessageKind::text), ec);
  }
  /// Queue a binary message (copied).
  void send_binary(const void* data, size_t len) const { detail::check(raw_send(data, len, MessageKind::binary)); }
  /// As above; failures go to `ec`.
  void send_binary(const void* data, size_t len, std::error_code& ec) const noexcept {
    detail::check(raw_send(data, len, MessageKind::binary), ec);
  }
  /// Queue a binary message (copied).
  void send_binary(const std::vector<uint8_t>& data) const { send_binary(data.data(), data.size()); }
  /// As above; failures go to `ec`.
  void send_binary(const std::vector<uint8_t>& data, std::error_code& ec) const noexcept {
    send_binary(data.data(), data.size(), ec);
  }
  /// Queue a message of either kind (copied): the echo case.
  void send(MessageKind kind, const void* data, size_t len) const { detail::check(raw_send(data, len, kind)); }
  /// As above; failures go to `ec`.
  void send(MessageKind kind, const void* data, size_t len, std::error_code& ec) const noexcept {
    detail::check(raw_send(data, len, kind), ec);
  }
  /// Queue a message with `flags`: SendFlags::no_compress sends it as it is even where
  /// permessage-deflate was negotiated (data already compressed, or secrets next to
  /// attacker-chosen text).
  void send(MessageKind kind, const void* data, size_t len, SendFlags flags) const {
    detail::check(raw_send(data, len, kind, flags));
  }
  /// As above; failures go to `ec`.
  void send(MessageKind kind, const void* data, size_t len, SendFlags flags, std::error_code& ec) const noexcept {
    detail::check(raw_send(data, len, kind, flags), ec);
  }
  /// Queue a ping (payload at most 125 bytes); the answer arrives as on_pong.
  void ping(std::string_view payload = {}) const {
    detail::check(wss_ping(id_, reinterpret_cast<const uint8_t*>(payload.data()), payload.size()));
  }
  /// As above; failures go to `ec`.
  void ping(std::string_view payload, std::error_code& ec) const noexcept {
    detail::check(wss_ping(id_, reinterpret_cast<const uint8_t*>(payload.data()), payload.size()), ec);
  }
  /// Start closing after the queued messages (code 1000, 1001-1003, 1007-1011, 3000-4999;
  /// reason at most 123 bytes); on_close follows.
  void close(uint16_t code = close_code::normal, const std::string& reason = {}) const {
    detail::check(wss_close_conn(id_, code, reason.c_str()));
  }
  /// As above; failures go to `ec`.
  void close(uint16_t code, const std::string& reason, std::error_code& ec) const noexcept {
    detail::check(wss_close_conn(id_, code, reason.c_str()), ec);
  }
  /// TLS version, cipher, peer certificate, address, path, subprotocol.
  ConnectionInfo info() const {
    wss_conn_info* raw = nullptr;
    detail::check(wss_conn_info_get(id_, &raw));
    std::unique_ptr<wss_conn_info, InfoDeleter> owned(raw);
    return ConnectionInfo::from(*owned);
  }
  /// As above; failures go to `ec` (an empty ConnectionInfo returned).
  ConnectionInfo info(std::error_code& ec) const {
    wss_conn_info* raw = nullptr;
    if (!detail::check(wss_conn_info_get(id_, &raw), ec)) return ConnectionInfo();
    std::unique_ptr<wss_conn_info, InfoDeleter> owned(raw);
    return ConnectionInfo::from(*owned);
  }
  /// Stop reading this connection's input until resume_reading (TCP backpressure on the peer);
  /// keepalive does not count a paused connection's silence.
  void pause_reading() const { detail::check(wss_conn_pause_reading(id_)); }
  /// As above; failures go to `ec`.
  void pause_reading(std::error_code& ec) const noexcept {
    detail::check(wss_conn_pause_reading(id_), ec);
  }
  /// Read again after pause_reading (pull mode: ask at once whether events are taken again).
  void resume_reading() const { detail::check(wss_conn_resume_reading(id_)); }
  /// As above; failures go to `ec`.
  void resume_reading(std::error_code& ec) const noexcept {
    detail::check(wss_conn_resume_reading(id_), ec);
  }
  /// Bytes queued for sending and not yet handed to the socket.
  size_t buffered_amount() const {
    size_t n = 0;
    detail::check(wss_conn_buffered_amount(id_, &n));
    return n;
  }
  /// As above; failures go to `ec` (0 returned).
  size_t buffered_amount(std::error_code& ec) const noexcept {
    size_t n = 0;
    detail::check(wss_conn_buffered_amount(id_, &n), ec);
    return n;
  }

  /// Attach the host's data to this connection, once (typically in on_open). Every later
  /// callback of the connection sees it (user_data<T>()); the library drops its reference after
  /// the connection's last callback. errc::invalid_state if data is already attached.
  template <class T>
  void set_user_data(std::shared_ptr<T> data) const {
    auto box = std::make_unique<detail::UserDataBox>(detail::UserDataBox{std::move(data), &typeid(T)});
    if (wss_conn_set_user_data(id_, box.get(), &detail::release_user_data) == WSS_OK) {
      (void)box.release();  // the library's now: it may release it at any time from here on
      return;
    }
    Error err = Error::last();  // before T's destructor can record another failure
    box.reset();                // refused: still ours
    throw err;
  }
  /// As above; failures go to `ec` (the data is then dropped before this returns: the detail in
  /// Error::last() is this call's unless T's destructor made a failing wss call).
  template <class T>
  void set_user_data(std::shared_ptr<T> data, std::error_code& ec) const {
    auto box = std::make_unique<detail::UserDataBox>(detail::UserDataBox{std::move(data), &typeid(T)});
    if (detail::check(wss_conn_set_user_data(id_, box.get(), &detail::release_user_data), ec)) {
      (void)box.release();  // the library's now
    }
  }
  /// The data attached with set_user_data<T> (null if none, or attached as another type).
  /// Inside a callback of this connection it is always safe. From another thread, the
  /// connection may end and its data be released while this runs: keep your own reference
  /// (the shared_ptr returned in a callback) for such use.
  template <class T>
  std::shared_ptr<T> user_data() const {
    const detail::UserDataBox* box = box_;
    if (box == nullptr) {
      void* raw = nullptr;
      if (wss_conn_get_user_data(id_, &raw) != WSS_OK) return nullptr;
      box = static_cast<const detail::UserDataBox*>(raw);
    }
    if (box == nullptr || *box->type != typeid(T)) return nullptr;
    return std::static_pointer_cast<T>(box->data);
  }

  /// Used by the callback trampolines: this connection's user data as the library passed it.
  Connection(uint64_t id, void* conn_user_data) noexcept
      : id_(id), box_(static_cast<const detail::UserDataBox*>(conn_user_data)) {}

 private:
  struct InfoDeleter {
    void operator()(wss_conn_info* p) const noexcept { wss_conn_info_free(p); }
  };
  wss_result raw_send(const void* data, size_t len, MessageKind kind) const noexcept {
    return wss_send(id_, static_cast<const uint8_t*>(data), len, static_cast<int32_t>(kind));
  }
  wss_result raw_send(const void* data, size_t len, MessageKind kind, SendFlags flags) const noexcept {
    return wss_send_ex(id_, static_cast<const uint8_t*>(data), len, static_cast<int32_t>(kind),
                       static_cast<uint32_t>(flags));
  }

  uint64_t id_ = 0;
  // Borrowed during a callback (the library keeps the box alive until after the connection's
  // last callback); never copied out of it.
  const detail::UserDataBox* box_ = nullptr;
};

/// Same connection id.
inline bool operator==(const Connection& a, const Connection& b) noexcept { return a.id() == b.id(); }
/// Different connection ids.
inline bool operator!=(const Connection& a, const Connection& b) noexcept { return !(a == b); }

}  // namespace wss

#endif  // WSS_CONNECTION_HPP
