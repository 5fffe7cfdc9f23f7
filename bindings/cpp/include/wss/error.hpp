// wss C++ wrapper: errors. wss::Error (an exception carrying every detail of a failure), the
// std::error_category for wss result codes, and the helpers every other header uses to turn a
// wss_result into an exception or a std::error_code.
#ifndef WSS_ERROR_HPP
#define WSS_ERROR_HPP

#include <wss.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace wss {

/// The library's result codes (`WSS_ERR_*`) as a scoped enum, usable as a std::error_code.
enum class errc : int32_t {
  invalid_argument = WSS_ERR_INVALID_ARGUMENT,  ///< NULL, bad UTF-8, unknown enum, range.
  io = WSS_ERR_IO,                              ///< Socket or file error (see os_errno()).
  tls = WSS_ERR_TLS,                            ///< TLS failure other than verification.
  cert_verify = WSS_ERR_CERT_VERIFY,            ///< Peer certificate failed verification.
  handshake = WSS_ERR_HANDSHAKE,                ///< HTTP upgrade failed or refused.
  timeout = WSS_ERR_TIMEOUT,                    ///< Connect, handshake, close, dead peer, poll.
  not_connected = WSS_ERR_NOT_CONNECTED,        ///< The id names no open connection.
  backpressure = WSS_ERR_BACKPRESSURE,          ///< Send queue full: retry after it drains.
  closed = WSS_ERR_CLOSED,                      ///< The endpoint is closed.
  protocol = WSS_ERR_PROTOCOL,                  ///< The peer broke the WebSocket protocol.
  message_too_big = WSS_ERR_MESSAGE_TOO_BIG,    ///< A message exceeded a size limit.
  config = WSS_ERR_CONFIG,                      ///< Unusable TLS configuration.
  internal = WSS_ERR_INTERNAL,                  ///< An internal error was caught.
  invalid_state = WSS_ERR_INVALID_STATE,        ///< Not allowed now.
};

/// The std::error_category of wss result codes (name "wss"; messages from wss_result_str).
inline const std::error_category& category() noexcept {
  struct Category final : std::error_category {
    const char* name() const noexcept override { return "wss"; }
    std::string message(int code) const override { return wss_result_str(code); }
  };
  static const Category instance;
  return instance;
}

/// A std::error_code for a wss code (found by argument-dependent lookup).
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

}  // namespace wss

template <>
struct std::is_error_code_enum<wss::errc> : std::true_type {};

namespace wss {

/// One entry of the OpenSSL error queue at the failure.
struct OpenSslError {
  uint64_t code = 0;     ///< Packed code (ERR_get_error).
  std::string library;   ///< e.g. "SSL routines".
  std::string reason;    ///< e.g. "certificate verify failed".
  std::string function;  ///< Function OpenSSL recorded, or "".
  std::string data;      ///< Extra data OpenSSL attached, or "".
};

/// A failure with all its detail: result code, kind, message, hint, the OpenSSL error queue,
/// the X509 verify result (code, text, depth, subject), errno, peer address and HTTP status.
/// Copyable (the C error object is shared and immutable); what() is one line a person can act
/// on. Thrown by every wrapper call that fails; handed to on_error callbacks.
class Error : public std::runtime_error {
 public:
  /// Takes ownership of one reference to `err` (which must not be NULL).
  explicit Error(wss_error* err) : Error(Handle(err, &wss_error_free)) {}

  /// An error raised by the wrapper itself (no C error object), e.g. a throwing callback.
  Error(errc code, std::string message)
      : std::runtime_error(one_line(summary(code, message))), code_(code), message_(std::move(message)) {
    kind_ = wss_result_str(static_cast<int32_t>(code));
  }

  /// The calling thread's last failure (read it right after the call that failed).
  static Error last() {
    wss_error* err = nullptr;
    if (wss_error_last(&err) != WSS_OK || err == nullptr) {
      return Error(errc::internal, "the library recorded no detail for this failure");
    }
    return Error(err);
  }

  /// A new reference to a borrowed C error (as on_error and pull events hand them out).
  static Error copy_of(const wss_error* err) {
    wss_error* copy = nullptr;
    if (err == nullptr || wss_error_copy(err, &copy) != WSS_OK || copy == nullptr) {
      return Error(errc::internal, "could not copy the library's error");
    }
    return Error(copy);
  }

  /// The result code.
  errc code() const noexcept { return code_; }
  /// The result code as a std::error_code (category wss::category()).
  std::error_code error_code() const noexcept { return make_error_code(code_); }
  /// Short description of the code, e.g. "certificate verification failed".
  const std::string& kind() const noexcept { return kind_; }
  /// What failed, with context.
  const std::string& message() const noexcept { return message_; }
  /// Advice for a common mistake, if the library has one.
  const std::optional<std::string>& hint() const noexcept { return hint_; }
  /// The OpenSSL error queue at the failure, oldest first.
  const std::vector<OpenSslError>& openssl_errors() const noexcept { return openssl_; }
  /// X509 verify result (X509_V_ERR_*), 0 when no certificate failed.
  int32_t verify_code() const noexcept { return verify_code_; }
  /// Chain depth of the failing certificate (0 = the peer's own), -1 if unknown.
  int32_t verify_depth() const noexcept { return verify_depth_; }
  /// OpenSSL's text for verify_code().
  const std::optional<std::string>& verify_text() const noexcept { return verify_text_; }
  /// Subject of the failing certificate.
  const std::optional<std::string>& verify_subject() const noexcept { return verify_subject_; }
  /// Peer address ("ip:port").
  const std::optional<std::string>& peer_address() const noexcept { return peer_; }
  /// OS error number, 0 if none.
  int32_t os_errno() const noexcept { return errno_; }
  /// HTTP status of a refused upgrade, 0 if none.
  uint16_t http_status() const noexcept { return http_status_; }
  /// The C error object (NULL for errors raised by the wrapper); valid while this Error lives.
  const wss_error* native() const noexcept { return handle_.get(); }

 private:
  using Handle = std::shared_ptr<wss_error>;

  explicit Error(Handle h) : std::runtime_error(""), handle_(std::move(h)) {
    wss_error_info info{};
    info.struct_size = sizeof info;
    if (wss_error_get_info(handle_.get(), &info) != WSS_OK) {
      code_ = errc::internal;
      message_ = "could not read the library's error";
    } else {
      read(info);
    }
    static_cast<std::runtime_error&>(*this) = std::runtime_error(one_line(summary()));
  }

  static std::optional<std::string> opt(const char* s) {
    return s != nullptr ? std::optional<std::string>(s) : std::nullopt;
  }

  void read(const wss_error_info& info) {
    code_ = static_cast<errc>(info.code);
    kind_ = info.kind != nullptr ? info.kind : "";
    message_ = info.message != nullptr ? info.message : "";
    hint_ = opt(info.hint);
    for (size_t i = 0; i < info.openssl_error_count; ++i) {
      const wss_openssl_error& e = info.openssl_errors[i];
      openssl_.push_back({e.code, e.library ? e.library : "", e.reason ? e.reason : "",
                          e.function ? e.function : "", e.data ? e.data : ""});
    }
    verify_code_ = info.verify_code;
    verify_depth_ = info.verify_depth;
    verify_text_ = opt(info.verify_text);
    verify_subject_ = opt(info.verify_subject);
    peer_ = opt(info.peer_address);
    errno_ = info.os_errno;
    http_status_ = info.http_status;
  }

  // what() is one line whatever its parts hold (a callback's exception text, a peer's reason):
  // each line break becomes " | "; message() and the other fields keep the text as it was.
  static std::string one_line(std::string s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\n' && s[i] != '\r') {
        out += s[i];
      } else if (s[i] == '\n' || i + 1 == s.size() || s[i + 1] != '\n') {
        out += " | ";  // "\r\n" is one break
      }
    }
    return out;
  }

  static std::string summary(errc code, const std::string& message) {
    return std::string("wss: ") + wss_result_str(static_cast<int32_t>(code)) + ": " + message;
  }

  // One line: kind, message, then the facts the message does not already state, then the hint.
  std::string summary() const {
    std::string s = "wss: " + kind_ + ": " + message_;
    auto add = [&s, this](const std::string& fact, const std::string& stated_as) {
      if (message_.find(stated_as) == std::string::npos) s += "; " + fact;
    };
    if (verify_code_ != 0) {
      std::string v = "verify error " + std::to_string(verify_code_);
      if (verify_text_) v += " (" + *verify_text_ + ")";
      if (verify_depth_ >= 0) v += " at depth " + std::to_string(verify_depth_);
      if (verify_subject_) v += " for " + *verify_subject_;
      add(v, "verify error " + std::to_string(verify_code_));
    }
    if (http_status_ != 0) add("HTTP " + std::to_string(http_status_), std::to_string(http_status_));
    if (!openssl_.empty()) add("OpenSSL: " + openssl_.back().reason, openssl_.back().reason);
    if (errno_ != 0) add("errno " + std::to_string(errno_), "os error " + std::to_string(errno_));
    if (peer_) add("peer " + *peer_, *peer_);
    if (hint_) s += "; hint: " + *hint_;
    return s;
  }

  Handle handle_;
  errc code_ = errc::internal;
  std::string kind_;
  std::string message_;
  std::optional<std::string> hint_;
  std::vector<OpenSslError> openssl_;
  int32_t verify_code_ = 0;
  int32_t verify_depth_ = -1;
  std::optional<std::string> verify_text_;
  std::optional<std::string> verify_subject_;
  std::optional<std::string> peer_;
  int32_t errno_ = 0;
  uint16_t http_status_ = 0;
};

namespace detail {

/// Throw the thread's last error unless `rc` is WSS_OK.
inline void check(wss_result rc) {
  if (rc != WSS_OK) throw Error::last();
}

/// Record `rc` in `ec` (cleared on success); the detail stays readable with Error::last().
inline bool check(wss_result rc, std::error_code& ec) noexcept {
  if (rc == WSS_OK) {
    ec.clear();
    return true;
  }
  ec = make_error_code(static_cast<errc>(rc));
  return false;
}

}  // namespace detail
}  // namespace wss

#endif  // WSS_ERROR_HPP
