// The std::error_code overloads, one header at a time: each failing call leaves the code in `ec`
// (category wss::category(), message from the library's table), throws nothing, and keeps the
// library's detail readable with wss::Error::last(); the next success clears `ec`.
#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using wss_test::pki;
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

// `ec` holds `want` as a wss code whose message is reachable, and the thread's last error is
// this failure with a message of its own.
void expect_failure(const std::error_code& ec, wss::errc want, const std::string& call) {
  SCOPED_TRACE(call);
  EXPECT_EQ(ec, want) << ec.message();
  EXPECT_EQ(&ec.category(), &wss::category());
  EXPECT_STREQ(ec.category().name(), "wss");
  EXPECT_EQ(ec.message(), wss_result_str(ec.value()));
  EXPECT_FALSE(ec.message().empty());
  const wss::Error last = wss::Error::last();
  EXPECT_EQ(last.error_code(), ec) << last.what();
  EXPECT_FALSE(last.message().empty());
}

struct Case {
  const char* call;
  wss::errc want;
  std::function<void(std::error_code&)> run;
};

void run_cases(const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    std::error_code ec = wss::errc::internal;  // any stale value: the call must set or clear it
    EXPECT_NO_THROW(c.run(ec)) << c.call;
    expect_failure(ec, c.want, c.call);
  }
}

TEST(ErrorCodeOverloads, TlsConfigSetters) {
  wss::TlsConfig tls;
  const std::vector<uint8_t> not_pkcs12(64, 0x42);
  run_cases({
      {"min_version(any)", wss::errc::invalid_argument,
       [&](std::error_code& ec) { tls.min_version(wss::TlsVersion::any, ec); }},
      {"max_version(99)", wss::errc::invalid_argument,
       [&](std::error_code& ec) { tls.max_version(static_cast<wss::TlsVersion>(99), ec); }},
      {"verify_mode(99)", wss::errc::invalid_argument,
       [&](std::error_code& ec) { tls.verify_mode(static_cast<wss::VerifyMode>(99), ec); }},
      {"servername(\"\")", wss::errc::invalid_argument, [&](std::error_code& ec) { tls.servername("", ec); }},
      {"ciphers", wss::errc::invalid_argument, [&](std::error_code& ec) { tls.ciphers("NOT-A-CIPHER", ec); }},
      {"ciphersuites", wss::errc::invalid_argument, [&](std::error_code& ec) { tls.ciphersuites("NOT_A_SUITE", ec); }},
      {"ecdh_curve", wss::errc::invalid_argument, [&](std::error_code& ec) { tls.ecdh_curve("not-a-group", ec); }},
      {"dhparam_file", wss::errc::config, [&](std::error_code& ec) { tls.dhparam_file(pki("no-such.pem"), ec); }},
      {"pfx(bytes)", wss::errc::config, [&](std::error_code& ec) { tls.pfx(not_pkcs12, "x", ec); }},
      {"cert(pem)", wss::errc::config, [&](std::error_code& ec) { tls.cert("not pem", "not pem", "", ec); }},
      {"alpn_protocols", wss::errc::invalid_argument,
       [&](std::error_code& ec) { tls.alpn_protocols({std::string(300, 'a')}, ec); }},
  });
  std::error_code ec = wss::errc::config;
  tls.min_version(wss::TlsVersion::v1_3, ec).max_version(wss::TlsVersion::any, ec);
  EXPECT_FALSE(ec) << "success clears ec: " << ec.message();
}

TEST(ErrorCodeOverloads, OptionsSetters) {
  wss::Options opts;
  run_cases({
      {"listen_backlog(0)", wss::errc::invalid_argument, [&](std::error_code& ec) { opts.listen_backlog(0, ec); }},
      {"deflate_max_window_bits(7, 7)", wss::errc::invalid_argument,
       [&](std::error_code& ec) { opts.deflate_max_window_bits(7, 7, ec); }},
      {"deflate_level(0, 0)", wss::errc::invalid_argument, [&](std::error_code& ec) { opts.deflate_level(0, 0, ec); }},
      {"header", wss::errc::invalid_argument, [&](std::error_code& ec) { opts.header("Bad Name", "v", ec); }},
  });
  // A duration the library cannot take is the wrapper's own check: the code, no library detail.
  std::error_code ec;
  opts.handshake_timeout(-1ms, ec);
  EXPECT_EQ(ec, wss::errc::invalid_argument);
  EXPECT_EQ(&ec.category(), &wss::category());
  ec.clear();
  opts.keepalive(1s, std::chrono::hours(24 * 365 * 200), ec);
  EXPECT_EQ(ec, wss::errc::invalid_argument);
  EXPECT_THROW(opts.keepalive(1s, std::chrono::hours(24 * 365 * 200)), wss::Error);
  opts.listen_backlog(16, ec).handshake_timeout(5s, ec);
  EXPECT_FALSE(ec) << "success clears ec";
}

TEST(ErrorCodeOverloads, ClientCalls) {
  const uint16_t port = closed_port();
  std::error_code ec;
  wss::Client pulled = wss::Client::connect_pull("ws://127.0.0.1:" + std::to_string(port) + "/", nullptr, nullptr, ec);
  expect_failure(ec, wss::errc::io, "connect_pull");
  EXPECT_EQ(wss::Error::last().os_errno(), ECONNREFUSED);
  EXPECT_FALSE(pulled);

  wss::Client started = wss::Client::connect_async_pull("not a url", nullptr, nullptr, ec);
  expect_failure(ec, wss::errc::invalid_argument, "connect_async_pull");
  EXPECT_FALSE(started);

  const wss::Client empty;
  EXPECT_FALSE(empty.connection(ec));
  expect_failure(ec, wss::errc::invalid_argument, "connection() of an empty Client");
  EXPECT_THROW(empty.connection(), wss::Error);
}

TEST(ErrorCodeOverloads, ServerCalls) {
  std::error_code ec;
  wss::Server bad = wss::Server::listen_pull("not an address", nullptr, nullptr, ec);
  expect_failure(ec, wss::errc::invalid_argument, "listen_pull");
  EXPECT_FALSE(bad);

  const wss::Server empty;
  EXPECT_EQ(empty.port(ec), 0);
  expect_failure(ec, wss::errc::invalid_argument, "port() of an empty Server");
  EXPECT_EQ(empty.active_connections(ec), 0u);
  expect_failure(ec, wss::errc::invalid_argument, "active_connections() of an empty Server");

  wss::Server server = wss::Server::listen("127.0.0.1:0", wss::Handlers{});
  // A refused route's handlers are dropped at once, not leaked.
  Waiter waiter;
  bool released = false;
  auto probe = std::make_shared<ReleaseProbe>(&waiter, &released);
  wss::Handlers h;
  h.on_open = [probe](wss::Connection&) {};
  probe.reset();
  server.add_route("no-leading-slash", std::move(h), ec);
  expect_failure(ec, wss::errc::invalid_argument, "add_route with handlers");
  EXPECT_TRUE(waiter.read([&] { return released; })) << "the refused route's handlers were kept";
  server.add_route("also-no-slash", ec);
  expect_failure(ec, wss::errc::invalid_argument, "add_route (pull)");
  server.remove_route("/never-added", ec);
  expect_failure(ec, wss::errc::invalid_argument, "remove_route");
  EXPECT_NE(wss::Error::last().message().find("/never-added"), std::string::npos);
  EXPECT_NE(server.port(ec), 0);
  EXPECT_FALSE(ec) << "success clears ec";
}

TEST(ErrorCodeOverloads, ConnectionAndEventCalls) {
  wss::Server server = wss::Server::listen_pull("127.0.0.1:0");
  wss::Client client = wss::Client::connect_pull("ws://127.0.0.1:" + std::to_string(server.port()) + "/");
  auto open = server.next_event(wss_test::kWait);
  ASSERT_TRUE(open.has_value());
  ASSERT_EQ(open->type(), wss::EventType::open);

  std::error_code ec;
  EXPECT_FALSE(open->request(ec).has_value());
  EXPECT_EQ(ec, wss::errc::invalid_state) << "request() of an open event";
  EXPECT_EQ(&ec.category(), &wss::category());

  const wss::Connection conn = open->connection();
  conn.set_user_data(std::make_shared<int>(1), ec);
  EXPECT_FALSE(ec);
  conn.set_user_data(std::make_shared<int>(2), ec);
  expect_failure(ec, wss::errc::invalid_state, "set_user_data twice");
  EXPECT_EQ(*conn.user_data<int>(), 1) << "the first data stays";

  const wss::Connection stale(0xFFFFFFFFFFFFull);
  stale.send_binary(std::vector<uint8_t>{1, 2, 3}, ec);
  expect_failure(ec, wss::errc::not_connected, "send_binary(vector) on a stale id");
  stale.ping("p", ec);
  expect_failure(ec, wss::errc::not_connected, "ping on a stale id");
  client.close(wss::close_code::normal, "", 30s);
}

}  // namespace
