// Client::connect_async: the Client comes back at once and opened() becomes ready exactly once
// with the outcome: success over mutual TLS, a refused port (errno), an untrusted server (verify
// code, depth, subject), a peer that never answers (timeout), the Client destroyed while it
// connects (errc::closed, handlers released, no callback); and the pull-mode form.
#include <cerrno>
#include <future>
#include <memory>
#include <string>

#include "raw_peer.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using wss_test::ErrorLog;
using wss_test::kWait;
using wss_test::ReleaseProbe;
using wss_test::Waiter;

namespace {

// A port nothing listens on: bound by a server that is then closed.
uint16_t closed_port() {
  wss::Server s = wss::Server::listen("127.0.0.1:0", wss::Handlers{});
  const uint16_t port = s.port();
  s.close(10s);
  return port;
}

// Wait for the outcome and return the wss::Error it carries (fails the test on success).
wss::Error failure_of(const std::shared_future<void>& opened) {
  EXPECT_EQ(opened.wait_for(kWait), std::future_status::ready);
  try {
    opened.get();
  } catch (const wss::Error& e) {
    return e;
  }
  ADD_FAILURE() << "the connect was expected to fail";
  return wss::Error(wss::errc::internal, "no failure");
}

// What a client's callbacks saw.
struct Seen {
  Waiter waiter;
  int opens = 0, closes = 0, errors = 0, messages = 0;
  uint64_t error_conn = 0;
  bool opened_before_future = false;
};

wss::Handlers watching(Seen& seen) {
  wss::Handlers h;
  h.on_open = [&seen](wss::Connection&) { seen.waiter.update([&] { seen.opens++; }); };
  h.on_message = [&seen](wss::Connection&, const wss::Message&) { seen.waiter.update([&] { seen.messages++; }); };
  h.on_close = [&seen](wss::Connection&, uint16_t, std::string_view) { seen.waiter.update([&] { seen.closes++; }); };
  h.on_error = [&seen](wss::Connection& c, const wss::Error&) {
    seen.waiter.update([&] {
      seen.errors++;
      seen.error_conn = c.id();
    });
  };
  return h;
}

TEST(ConnectAsync, OpensOverMutualTlsAndEchoes) {
  ErrorLog server_errors;
  auto stls = wss_test::server_tls();
  wss::Server server = wss::Server::listen("127.0.0.1:0", wss_test::echo_handlers(server_errors), &stls);
  auto ctls = wss_test::client_tls();
  Seen seen;
  wss::Client client = wss::Client::connect_async("wss://localhost:" + std::to_string(server.port()) + "/echo",
                                                  watching(seen), &ctls);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client.opened().valid());
  ASSERT_EQ(client.opened().wait_for(kWait), std::future_status::ready);
  client.opened().get();  // success: returns
  // The future is ready only after on_open has returned.
  EXPECT_EQ(seen.waiter.read([&] { return seen.opens; }), 1);
  const wss::ConnectionInfo info = client.connection().info();
  EXPECT_TRUE(info.is_client);
  EXPECT_TRUE(info.tls_version.has_value());
  client.connection().send_text("hello");
  ASSERT_TRUE(seen.waiter.wait([&] { return seen.messages == 1; }));
  client.close(wss::close_code::normal, "done", kWait);
  ASSERT_TRUE(seen.waiter.wait([&] { return seen.closes == 1; }));
  EXPECT_EQ(seen.waiter.read([&] { return seen.errors; }), 0);
  server.close(kWait);
  EXPECT_EQ(server_errors.count(), 0u) << server_errors.describe();
}

TEST(ConnectAsync, RefusedPortCarriesErrnoAndTheClientsId) {
  Seen seen;
  wss::Client client =
      wss::Client::connect_async("ws://127.0.0.1:" + std::to_string(closed_port()) + "/", watching(seen));
  const wss::Error e = failure_of(client.opened());
  EXPECT_EQ(e.code(), wss::errc::io) << e.what();
  EXPECT_EQ(e.os_errno(), ECONNREFUSED) << e.what();
  // on_error ran (before the future was ready) with the client's own connection id.
  EXPECT_EQ(seen.waiter.read([&] { return seen.errors; }), 1);
  EXPECT_EQ(seen.waiter.read([&] { return seen.error_conn; }), client.connection().id());
  EXPECT_NE(client.connection().id(), 0u);
  std::error_code ec;
  client.connection().send_text("x", ec);
  EXPECT_EQ(ec, wss::errc::not_connected);
  client = wss::Client();
  EXPECT_EQ(seen.waiter.read([&] { return seen.opens + seen.closes; }), 0) << "no on_open, no on_close";
}

TEST(ConnectAsync, UntrustedServerCarriesTheVerifyDetail) {
  wss::TlsConfig stls;
  stls.pfx_file(wss_test::pki("server-untrusted.p12"), "server-pass");
  wss::Server server = wss::Server::listen("127.0.0.1:0", wss::Handlers{}, &stls);
  auto ctls = wss_test::client_tls("");
  Seen seen;
  wss::Client client = wss::Client::connect_async("wss://127.0.0.1:" + std::to_string(server.port()) + "/",
                                                  watching(seen), &ctls);
  const wss::Error e = failure_of(client.opened());
  EXPECT_EQ(e.code(), wss::errc::cert_verify) << e.what();
  // The server sends its chain up to the rogue root, which the client does not trust.
  EXPECT_EQ(e.verify_code(), 19) << e.what();  // X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
  EXPECT_EQ(e.verify_depth(), 1) << e.what();
  ASSERT_TRUE(e.verify_text().has_value());
  ASSERT_TRUE(e.verify_subject().has_value());
  EXPECT_NE(e.verify_subject()->find("rogue CA"), std::string::npos) << e.what();
  EXPECT_FALSE(e.openssl_errors().empty()) << e.what();
  ASSERT_TRUE(e.peer_address().has_value());
  EXPECT_EQ(*e.peer_address(), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_NE(std::string(e.what()).find("verify error 19"), std::string::npos) << e.what();
  EXPECT_EQ(seen.waiter.read([&] { return seen.opens + seen.closes; }), 0);
}

TEST(ConnectAsync, SilentPeerTimesOut) {
  wss_test::SilentListener silent;
  wss::Options quick;
  quick.connect_timeout(300ms);
  Seen seen;
  const auto start = std::chrono::steady_clock::now();
  wss::Client client = wss::Client::connect_async("ws://127.0.0.1:" + std::to_string(silent.port()) + "/",
                                                  watching(seen), nullptr, &quick);
  const wss::Error e = failure_of(client.opened());
  EXPECT_EQ(e.code(), wss::errc::timeout) << e.what();
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
  EXPECT_EQ(seen.waiter.read([&] { return seen.errors; }), 1);
}

TEST(ConnectAsync, DestroyedWhileConnecting) {
  wss_test::SilentListener silent;
  wss::Options patient;
  patient.connect_timeout(std::chrono::duration_cast<std::chrono::milliseconds>(kWait));
  Seen seen;
  bool released = false;
  auto probe = std::make_shared<ReleaseProbe>(&seen.waiter, &released);
  wss::Handlers h = watching(seen);
  h.on_pong = [probe](wss::Connection&, const wss::Message&) {};  // the handlers own the probe
  probe.reset();
  wss::Client client = wss::Client::connect_async("ws://127.0.0.1:" + std::to_string(silent.port()) + "/",
                                                  std::move(h), nullptr, &patient);
  const std::shared_future<void> opened = client.opened();
  // It returned at once: nothing can have answered yet.
  EXPECT_EQ(opened.wait_for(0ms), std::future_status::timeout);
  client = wss::Client();  // cancels the attempt

  const wss::Error e = failure_of(opened);
  EXPECT_EQ(e.code(), wss::errc::closed) << e.what();
  EXPECT_NE(e.message().find("destroyed while it was connecting"), std::string::npos) << e.what();
  ASSERT_TRUE(seen.waiter.wait([&] { return released; })) << "the handlers are released once";
  EXPECT_EQ(seen.waiter.read([&] { return seen.opens + seen.errors + seen.closes; }), 0)
      << "no callback after the client is destroyed";
}

TEST(ConnectAsync, ThrowingOnOpenIsReportedAndTheFutureStillBecomesReady) {
  ErrorLog server_errors;
  wss::Server server = wss::Server::listen("127.0.0.1:0", wss_test::echo_handlers(server_errors));
  ErrorLog client_errors;
  wss::Handlers h;
  h.on_open = [](wss::Connection&) { throw std::runtime_error("no room for you"); };
  h.on_error = client_errors.handler();
  wss::Client client = wss::Client::connect_async("ws://127.0.0.1:" + std::to_string(server.port()) + "/", h);
  ASSERT_EQ(client.opened().wait_for(kWait), std::future_status::ready);
  EXPECT_NO_THROW(client.opened().get()) << "the connection did open";
  ASSERT_EQ(client_errors.count(), 1u);
  EXPECT_NE(client_errors.describe().find("on_open threw: no room for you"), std::string::npos)
      << client_errors.describe();
}

TEST(ConnectAsync, StartFailuresThrowOrGoToTheErrorCode) {
  std::error_code ec;
  wss::Client bad = wss::Client::connect_async("http://127.0.0.1:1/", wss::Handlers{}, nullptr, nullptr, ec);
  EXPECT_EQ(ec, wss::errc::invalid_argument);
  EXPECT_FALSE(bad);
  EXPECT_FALSE(bad.opened().valid());
  try {
    wss::Client c = wss::Client::connect_async("not a url", wss::Handlers{});
    FAIL() << "a malformed URL is refused at once";
  } catch (const wss::Error& e) {
    EXPECT_EQ(e.code(), wss::errc::invalid_argument) << e.what();
  }
}

TEST(ConnectAsync, BlockingConnectsHaveAReadyFuture) {
  ErrorLog log;
  wss::Server server = wss::Server::listen("127.0.0.1:0", wss_test::echo_handlers(log));
  wss::Client c = wss::Client::connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/", wss::Handlers{});
  ASSERT_TRUE(c.opened().valid());
  EXPECT_EQ(c.opened().wait_for(0ms), std::future_status::ready);
}

TEST(ConnectAsync, PullModeOutcomeIsTheFirstEvent) {
  ErrorLog log;
  wss::Server server = wss::Server::listen("127.0.0.1:0", wss_test::echo_handlers(log));
  wss::Client ok = wss::Client::connect_async_pull("ws://127.0.0.1:" + std::to_string(server.port()) + "/");
  EXPECT_FALSE(ok.opened().valid()) << "pull mode: the events are the outcome";
  auto ev = ok.next_event(kWait);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->type(), wss::EventType::open);
  ok.connection().send_text("ping?");
  ev = ok.next_event(kWait);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->message().text(), "ping?");
  ok.close(wss::close_code::normal, "", kWait);

  wss::Client refused = wss::Client::connect_async_pull("ws://127.0.0.1:" + std::to_string(closed_port()) + "/");
  ev = refused.next_event(kWait);
  ASSERT_TRUE(ev.has_value());
  ASSERT_EQ(ev->type(), wss::EventType::error);
  EXPECT_EQ(ev->error().code(), wss::errc::io);
  EXPECT_EQ(ev->error().os_errno(), ECONNREFUSED);
  // The queue ends with the failed connect.
  std::error_code ec;
  EXPECT_FALSE(refused.next_event(kWait, ec).has_value());
  EXPECT_EQ(ec, wss::errc::closed);
}

}  // namespace
