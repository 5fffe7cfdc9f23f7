// Shared pieces of the C++ wrapper tests: the test PKI's paths, a waiter (mutex + condition
// variable, always bounded, never sleeps) and an echo server.
#ifndef WSS_TESTS_CPP_SUPPORT_HPP
#define WSS_TESTS_CPP_SUPPORT_HPP

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <vector>
#include <wss/wss.hpp>

namespace wss_test {

/// Upper bound for any one expected event: generous for a loaded 2-core machine and sanitizers.
constexpr std::chrono::seconds kWait{60};

/// A file of the test PKI made by make_pki.sh (folder in $WSS_TEST_PKI).
inline std::string pki(const std::string& name) {
  const char* dir = std::getenv("WSS_TEST_PKI");
  return std::string(dir != nullptr ? dir : "pki") + "/" + name;
}

/// State guarded by one mutex; wait() blocks until a predicate holds (or kWait passes).
class Waiter {
 public:
  /// Run `f` under the lock and wake waiters. The wake-up happens under the lock too: a waiter
  /// that then returns and destroys this object cannot do so while the notifier still uses it.
  template <class F>
  void update(F&& f) {
    std::lock_guard<std::mutex> lock(mu_);
    f();
    cv_.notify_all();
  }
  /// Wait for `pred` (evaluated under the lock); false when kWait passed first.
  template <class P>
  bool wait(P&& pred) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, std::forward<P>(pred));
  }
  /// Run `f` under the lock and return what it returns.
  template <class F>
  auto read(F&& f) {
    std::lock_guard<std::mutex> lock(mu_);
    return f();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

/// Signals its waiter when destroyed: captured by handlers, it shows the library released them.
/// Not copyable, so no temporary copy can signal early: create it with std::make_shared.
class ReleaseProbe {
 public:
  ReleaseProbe(Waiter* waiter, bool* released) : waiter_(waiter), released_(released) {}
  ReleaseProbe(const ReleaseProbe&) = delete;
  ReleaseProbe& operator=(const ReleaseProbe&) = delete;
  ~ReleaseProbe() {
    waiter_->update([this] { *released_ = true; });
  }

 private:
  Waiter* waiter_;
  bool* released_;
};

/// A server TLS config: identity from the PFX, trust from the hashed CA folder, mutual TLS.
inline wss::TlsConfig server_tls(bool require_client = true) {
  wss::TlsConfig tls;
  tls.pfx_file(pki("server.p12"), "server-pass").ca_dir(pki("cadir"));
  if (require_client) tls.require_client_certificate();
  return tls;
}

/// A client TLS config with the given PFX (empty: none), trusting the test CA folder.
inline wss::TlsConfig client_tls(const std::string& pfx = "client.p12") {
  wss::TlsConfig tls;
  if (!pfx.empty()) tls.pfx_file(pki(pfx), "client-pass");
  tls.ca_dir(pki("cadir"));
  return tls;
}

/// Errors a server or client reported, to assert "none unexpected" at the end of a test.
struct ErrorLog {
  Waiter waiter;
  std::vector<wss::Error> errors;

  std::function<void(wss::Connection&, const wss::Error&)> handler() {
    return [this](wss::Connection&, const wss::Error& e) { waiter.update([&] { errors.push_back(e); }); };
  }
  std::string describe() {
    return waiter.read([this] {
      std::string s;
      for (const auto& e : errors) s += std::string(e.what()) + "\n";
      return s;
    });
  }
  size_t count() {
    return waiter.read([this] { return errors.size(); });
  }
};

/// Handlers that echo every message back, reporting errors to `log`.
inline wss::Handlers echo_handlers(ErrorLog& log) {
  wss::Handlers h;
  h.on_message = [](wss::Connection& c, const wss::Message& m) { c.send(m.kind, m.data, m.size); };
  h.on_error = log.handler();
  return h;
}

}  // namespace wss_test

#endif  // WSS_TESTS_CPP_SUPPORT_HPP
