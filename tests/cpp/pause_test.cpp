// Host-driven pause and resume of reading through the wrapper, and the hostile-peer options.
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using wss_test::ErrorLog;
using wss_test::Waiter;

TEST(PauseReading, NothingArrivesWhilePausedEverythingAfterResume) {
  ErrorLog server_errors, client_errors;
  Waiter waiter;
  std::vector<std::string> got;
  wss::Connection server_conn;
  wss::Handlers sh;
  sh.on_open = [&](wss::Connection& c) {
    // Paused before the client can send anything: the check below cannot race the read.
    c.pause_reading();
    waiter.update([&] { server_conn = c; });
  };
  sh.on_message = [&](wss::Connection&, const wss::Message& m) {
    waiter.update([&] { got.emplace_back(m.text()); });
  };
  sh.on_error = server_errors.handler();
  wss::Options opts;
  opts.listen_backlog(1024).close_on_backpressure(false);
  wss::Server server = wss::Server::listen("127.0.0.1:0", sh, nullptr, &opts);

  wss::Handlers ch;
  ch.on_error = client_errors.handler();
  wss::Client client = wss::Client::connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/", ch);
  ASSERT_TRUE(waiter.wait([&] { return static_cast<bool>(server_conn); }));
  client.connection().send_text("while paused");
  // A bounded negative check: unpaused, the message arrives well within it on any machine (a
  // slow machine only makes the check weaker, never flaky).
  std::this_thread::sleep_for(500ms);  // the observation window, not a synchronisation
  EXPECT_TRUE(waiter.read([&] { return got.empty(); })) << "a message arrived while paused";
  auto conn = waiter.read([&] { return server_conn; });
  conn.resume_reading();
  ASSERT_TRUE(waiter.wait([&] { return got.size() == 1; }));
  EXPECT_EQ(waiter.read([&] { return got[0]; }), "while paused");
  std::error_code ec;
  conn.pause_reading(ec);
  EXPECT_FALSE(ec);
  conn.resume_reading(ec);
  EXPECT_FALSE(ec);
  client.close(1000, "", 30s);
  server.close(10s);
  // On a connection that has ended: the error code form reports it.
  conn.pause_reading(ec);
  EXPECT_EQ(ec, wss::errc::not_connected);
  EXPECT_EQ(server_errors.count(), 0u) << server_errors.describe();
  EXPECT_EQ(client_errors.count(), 0u) << client_errors.describe();
}

TEST(Options, ListenBacklogRejectsZero) {
  wss::Options opts;
  EXPECT_THROW(opts.listen_backlog(0), wss::Error);
}
