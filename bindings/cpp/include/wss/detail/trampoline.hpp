// wss C++ wrapper, internal: the one place where the library calls into C++. Each endpoint's
// Handlers live in a heap object whose address is the C user_data; the library releases it
// (release_handlers) after the last callback. Every callback runs inside guarded(), which
// catches every exception so none ever unwinds into the library.
#ifndef WSS_DETAIL_TRAMPOLINE_HPP
#define WSS_DETAIL_TRAMPOLINE_HPP

#include <wss.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "../connection.hpp"
#include "../error.hpp"
#include "../handlers.hpp"

namespace wss {
namespace detail {

/// The heap object behind one user_data: the host's handlers.
struct HandlerState {
  Handlers handlers;
};

/// wss_release_fn for HandlerState: the library is done with it.
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
    // The library reads `out` right after this returns (src/ffi/callbacks.rs copies the
    // decision then), so the strings it points to live in this thread's slot until the next
    // on_accept on this thread.
    static thread_local AcceptDecision slot;
    // Fail closed: if the host's check throws, the request is refused with 500, not accepted.
    slot = AcceptDecision();
    slot.refuse(500, "Internal Server Error");
    slot.fill(*out);
    guarded(ud, "on_accept", req->id, nullptr, [&](Handlers& h) {
      AcceptDecision decision;
      if (h.on_accept) h.on_accept(UpgradeRequest(*req), decision);
      slot = std::move(decision);
      slot.fill(*out);
    });
  }
  static void on_open(void* ud, uint64_t conn) noexcept {
    guarded(ud, "on_open", conn, nullptr, [&](Handlers& h) {
      if (!h.on_open) return;
      Connection c(conn, nullptr);
      h.on_open(c);
    });
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
    guarded(ud, "on_error", conn, cud, [&](Handlers& h) {
      if (!h.on_error) return;
      Connection c(conn, cud);
      h.on_error(c, Error::copy_of(err));
    });
  }
};

/// Handlers moved to the heap plus the C table pointing at the trampolines. Hand `state` to the
/// library (release()) only once the creating call succeeded.
struct CallbackSet {
  std::unique_ptr<HandlerState> state;
  wss_callbacks table{};

  explicit CallbackSet(Handlers h) : state(std::make_unique<HandlerState>(HandlerState{std::move(h)})) {
    table.struct_size = sizeof table;
    const Handlers& hs = state->handlers;
    table.on_accept = hs.on_accept ? &Trampolines::on_accept : nullptr;
    table.on_open = hs.on_open ? &Trampolines::on_open : nullptr;
    table.on_message = hs.on_message ? &Trampolines::on_message : nullptr;
    table.on_pong = hs.on_pong ? &Trampolines::on_pong : nullptr;
    table.on_close = hs.on_close ? &Trampolines::on_close : nullptr;
    table.on_error = hs.on_error ? &Trampolines::on_error : nullptr;
  }
};

}  // namespace detail
}  // namespace wss

#endif  // WSS_DETAIL_TRAMPOLINE_HPP
