// wss C++ wrapper, internal: the one place where the library calls into C++. Each endpoint's
// Handlers live in a heap object whose address is the C user_data; the library releases it
// (release_handlers) after the last callback. Every callback runs inside guarded(), which
// catches every exception so none ever unwinds into the library.
#ifndef WSS_DETAIL_TRAMPOLINE_HPP
#define WSS_DETAIL_TRAMPOLINE_HPP

#include <wss.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <future>
#include <memory>
#include <string>
#include <utility>

#include "../connection.hpp"
#include "../error.hpp"
#include "../handlers.hpp"

namespace wss {
namespace detail {

/// The outcome of a non-blocking connect (Client::connect_async) as a promise, settled exactly
/// once: by on_open, by the on_error that ends a failed connect, or, when the client was
/// destroyed first, by the library's release of the handlers (which runs exactly once).
class ConnectOutcome {
 public:
  ConnectOutcome() : future_(promise_.get_future().share()) {}
  ConnectOutcome(const ConnectOutcome&) = delete;
  ConnectOutcome& operator=(const ConnectOutcome&) = delete;
  ~ConnectOutcome() {
    if (settled()) return;
    try {
      fail(std::make_exception_ptr(Error(errc::closed, "the client was destroyed while it was connecting")));
    } catch (...) {  // out of memory: the promise's own broken_promise still wakes the waiter
    }
  }

  /// The future the Client hands out.
  const std::shared_future<void>& future() const noexcept { return future_; }
  /// The connection opened.
  void open() noexcept {
    if (settled_.exchange(true)) return;
    try {
      promise_.set_value();
    } catch (...) {  // only if already satisfied, which settled_ rules out
    }
  }
  /// The connect failed (or never finished).
  void fail(std::exception_ptr e) noexcept {
    if (settled_.exchange(true)) return;
    try {
      promise_.set_exception(std::move(e));
    } catch (...) {
    }
  }
  /// True once open() or fail() ran.
  bool settled() const noexcept { return settled_.load(); }

 private:
  std::promise<void> promise_;
  std::shared_future<void> future_;
  std::atomic<bool> settled_{false};
};

/// The heap object behind one user_data: the host's handlers, and for a client started with
/// connect_async the outcome its future waits for.
struct HandlerState {
  Handlers handlers;
  std::unique_ptr<ConnectOutcome> connect;
};

/// wss_release_fn for HandlerState: the library is done with it (an unsettled connect outcome
/// fails with errc::closed as it goes).
inline void release_handlers(void* p) noexcept {
  std::unique_ptr<HandlerState> owned(static_cast<HandlerState*>(p));
}

/// Report an exception that escaped a callback: on_error if there is one, else stderr.
inline void report_exception(HandlerState& s, const char* callback, uint64_t conn,
                             void* conn_user_data, const std::string& what) noexcept {
  try {
    if (s.handlers.on_error) {
      Connection c(conn, conn_user_data);
      s.handlers.on_error(c, Error(errc::internal, std::string(callback) + " threw: " + what));
      return;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wss: on_error threw while reporting %s's exception: %s\n", callback, e.what());
  } catch (...) {
    std::fprintf(stderr, "wss: on_error threw while reporting %s's exception\n", callback);
  }
  std::fprintf(stderr, "wss: %s (connection %llu) threw: %s\n", callback,
               static_cast<unsigned long long>(conn), what.c_str());
}

/// Run `body` for a callback, catching everything it throws.
template <class F>
void guarded(void* user_data, const char* callback, uint64_t conn, void* conn_user_data,
             F&& body) noexcept {
  auto& s = *static_cast<HandlerState*>(user_data);
  try {
    std::forward<F>(body)(s.handlers);
  } catch (const std::exception& e) {
    report_exception(s, callback, conn, conn_user_data, e.what());
  } catch (...) {
    report_exception(s, callback, conn, conn_user_data, "an exception not derived from std::exception");
  }
}

/// The C function table: one trampoline per callback, each only adapting arguments.
struct Trampolines {
  static void on_accept(void* ud, const wss_upgrade_request* req, wss_accept_decision* out) noexcept {
    bool decided = false;
    guarded(ud, "on_accept", req->id, nullptr, [&](Handlers& h) {
      AcceptDecision decision;
      if (h.on_accept) h.on_accept(UpgradeRequest(*req), decision);
      decided = true;
      // The strings are copied by the library now (wss_accept_decision_set_reason / _add_header):
      // nothing has to outlive this call.
      if (apply(decision, *out) != WSS_OK) {
        decided = false;
        throw Error::last();
      }
    });
    // Fail closed: if the host's check threw (reported above), refuse with 500, not accept.
    if (!decided) {
      out->status = 500;
      (void)wss_accept_decision_set_reason(out, "Internal Server Error");
    }
  }
  static void on_open(void* ud, uint64_t conn) noexcept {
    guarded(ud, "on_open", conn, nullptr, [&](Handlers& h) {
      if (!h.on_open) return;
      Connection c(conn, nullptr);
      h.on_open(c);
    });
    // After the host's on_open: whoever waits on the future finds on_open's work done.
    if (auto& outcome = static_cast<HandlerState*>(ud)->connect) outcome->open();
  }
  static void on_message(void* ud, uint64_t conn, void* cud, wss_message_kind kind,
                         const uint8_t* data, size_t len) noexcept {
    guarded(ud, "on_message", conn, cud, [&](Handlers& h) {
      if (!h.on_message) return;
      Connection c(conn, cud);
      h.on_message(c, Message{static_cast<MessageKind>(kind), data, len});
    });
  }
  static void on_pong(void* ud, uint64_t conn, void* cud, const uint8_t* data, size_t len) noexcept {
    guarded(ud, "on_pong", conn, cud, [&](Handlers& h) {
      if (!h.on_pong) return;
      Connection c(conn, cud);
      h.on_pong(c, Message{MessageKind::binary, data, len});
    });
  }
  static void on_close(void* ud, uint64_t conn, void* cud, uint16_t code, const char* reason) noexcept {
    guarded(ud, "on_close", conn, cud, [&](Handlers& h) {
      if (!h.on_close) return;
      Connection c(conn, cud);
      h.on_close(c, code, reason != nullptr ? std::string_view(reason) : std::string_view());
    });
  }
  static void on_error(void* ud, uint64_t conn, void* cud, const wss_error* err) noexcept {
    auto& outcome = static_cast<HandlerState*>(ud)->connect;
    // An error before the connection opened is the failed connect: its future gets it too.
    const bool connect_failed = outcome && !outcome->settled();
    std::exception_ptr failure;
    guarded(ud, "on_error", conn, cud, [&](Handlers& h) {
      const Error e = Error::copy_of(err);
      if (connect_failed) failure = std::make_exception_ptr(e);
      if (!h.on_error) return;
      Connection c(conn, cud);
      h.on_error(c, e);
    });
    // After the host's on_error, as on_open; settled even if that handler threw.
    if (connect_failed) {
      outcome->fail(failure ? failure
                            : std::make_exception_ptr(Error(errc::internal, "the connect failed; its detail was lost")));
    }
  }
};

/// Handlers moved to the heap plus the C table pointing at the trampolines. Hand `state` to the
/// library (release()) only once the creating call succeeded. `track_connect` (connect_async)
/// adds the ConnectOutcome, which needs on_open and on_error whether the host set them or not.
struct CallbackSet {
  std::unique_ptr<HandlerState> state;
  wss_callbacks table{};

  explicit CallbackSet(Handlers h, bool track_connect = false)
      : state(std::make_unique<HandlerState>(HandlerState{std::move(h), nullptr})) {
    if (track_connect) state->connect = std::make_unique<ConnectOutcome>();
    table.struct_size = sizeof table;
    const Handlers& hs = state->handlers;
    table.on_accept = hs.on_accept ? &Trampolines::on_accept : nullptr;
    table.on_open = hs.on_open || track_connect ? &Trampolines::on_open : nullptr;
    table.on_message = hs.on_message ? &Trampolines::on_message : nullptr;
    table.on_pong = hs.on_pong ? &Trampolines::on_pong : nullptr;
    table.on_close = hs.on_close ? &Trampolines::on_close : nullptr;
    table.on_error = hs.on_error || track_connect ? &Trampolines::on_error : nullptr;
  }
};

}  // namespace detail
}  // namespace wss

#endif  // WSS_DETAIL_TRAMPOLINE_HPP
