// Connection::ping: the peer's pong comes back with the same payload, as on_pong in callback
// mode (both directions) and as an EventType::pong event in pull mode.
#include <string>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using wss_test::ErrorLog;
using wss_test::kWait;
using wss_test::Waiter;

namespace {

std::string ws_url(const wss::Server& s) { return "ws://127.0.0.1:" + std::to_string(s.port()) + "/"; }

TEST(Ping, PongArrivesOnPongWithThePayloadBothWays) {
  ErrorLog server_errors, client_errors;
  Waiter waiter;
  std::vector<std::string> server_pongs, client_pongs;
  wss::Handlers sh;
  sh.on_open = [](wss::Connection& c) { c.ping("from the server"); };
  sh.on_pong = [&](wss::Connection&, const wss::Message& m) {
    waiter.update([&] { server_pongs.emplace_back(m.text()); });
  };
  sh.on_error = server_errors.handler();
  wss::Server server = wss::Server::listen("127.0.0.1:0", sh);

  wss::Handlers ch;
  ch.on_pong = [&](wss::Connection&, const wss::Message& m) {
    waiter.update([&] { client_pongs.emplace_back(m.text()); });
  };
  ch.on_error = client_errors.handler();
  wss::Client client = wss::Client::connect(ws_url(server), ch);
  client.connection().ping("from the client");
  client.connection().ping();  // empty payload
  ASSERT_TRUE(waiter.wait([&] { return client_pongs.size() == 2 && server_pongs.size() == 1; }))
      << "client pongs " << waiter.read([&] { return client_pongs.size(); }) << ", server pongs "
      << waiter.read([&] { return server_pongs.size(); });
  waiter.read([&] {
    EXPECT_EQ(client_pongs[0], "from the client");
    EXPECT_EQ(client_pongs[1], "");
    EXPECT_EQ(server_pongs[0], "from the server");
    return 0;
  });
  // Over the 125-byte control-frame limit: refused at the call, the connection unharmed.
  std::error_code ec;
  client.connection().ping(std::string(126, 'x'), ec);
  EXPECT_EQ(ec, wss::errc::invalid_argument);
  client.connection().ping("again");
  ASSERT_TRUE(waiter.wait([&] { return client_pongs.size() == 3; }));
  client.close(wss::close_code::normal, "", 30s);
  server.close(10s);
  EXPECT_EQ(server_errors.count(), 0u) << server_errors.describe();
  EXPECT_EQ(client_errors.count(), 0u) << client_errors.describe();
}

TEST(Ping, PongIsAnEventInPullMode) {
  wss::Server server = wss::Server::listen_pull("127.0.0.1:0");
  wss::Client client = wss::Client::connect_pull(ws_url(server));
  const auto open = client.next_event(kWait);
  ASSERT_TRUE(open.has_value());
  ASSERT_EQ(open->type(), wss::EventType::open);
  client.connection().ping("pull ping");
  std::optional<wss::Event> pong;
  for (int i = 0; i < 10 && !pong; ++i) {
    auto ev = client.next_event(kWait);
    ASSERT_TRUE(ev.has_value()) << "no pong within the wait";
    ASSERT_NE(ev->type(), wss::EventType::error) << ev->error().what();
    if (ev->type() == wss::EventType::pong) pong = std::move(ev);
  }
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(pong->message().text(), "pull ping");
  EXPECT_EQ(pong->message().kind, wss::MessageKind::binary);
  EXPECT_EQ(pong->connection(), client.connection());
  // The server, also pulling, pings back; its pong is an event too.
  auto server_open = server.next_event(kWait);
  ASSERT_TRUE(server_open.has_value());
  ASSERT_EQ(server_open->type(), wss::EventType::open);
  server_open->connection().ping("server ping");
  auto server_pong = server.next_event(kWait);
  ASSERT_TRUE(server_pong.has_value());
  ASSERT_EQ(server_pong->type(), wss::EventType::pong);
  EXPECT_EQ(server_pong->message().text(), "server ping");
  client.close(wss::close_code::normal, "", 30s);
}

}  // namespace
