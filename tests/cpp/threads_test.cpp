// Eight threads send on one connection at once: every message is echoed, each thread's in order.
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using wss_test::ErrorLog;
using wss_test::Waiter;

namespace {

TEST(Threads, EightSendersOnOneConnection) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  ErrorLog server_errors, client_errors;
  auto stls = wss_test::server_tls();
  wss::Server server = wss::Server::listen("127.0.0.1:0", wss_test::echo_handlers(server_errors), &stls);

  Waiter waiter;
  std::map<int, std::vector<int>> seen;  // thread -> sequence numbers in arrival order
  int total = 0;
  wss::Handlers ch;
  ch.on_message = [&](wss::Connection&, const wss::Message& m) {
    const std::string s(m.text());  // "t<thread>:<n>"
    const auto colon = s.find(':');
    const int t = std::stoi(s.substr(1, colon - 1));
    const int n = std::stoi(s.substr(colon + 1));
    waiter.update([&] {
      seen[t].push_back(n);
      total++;
    });
  };
  ch.on_error = client_errors.handler();
  auto ctls = wss_test::client_tls();
  wss::Client client =
      wss::Client::connect("wss://localhost:" + std::to_string(server.port()) + "/", ch, &ctls);
  const wss::Connection conn = client.connection();

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([conn, t] {
      for (int n = 0; n < kPerThread; ++n) conn.send_text("t" + std::to_string(t) + ":" + std::to_string(n));
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(waiter.wait([&] { return total == kThreads * kPerThread; }))
      << waiter.read([&] { return total; }) << " of " << kThreads * kPerThread;
  waiter.read([&] {
    for (int t = 0; t < kThreads; ++t) {
      const auto& got = seen[t];
      ASSERT_EQ(got.size(), static_cast<size_t>(kPerThread)) << "thread " << t;
      for (int n = 0; n < kPerThread; ++n) ASSERT_EQ(got[n], n) << "thread " << t << " out of order";
    }
  });
  client.close(wss::close_code::normal, "", std::chrono::seconds(30));
  server.close(std::chrono::seconds(10));
  EXPECT_EQ(server_errors.count(), 0u) << server_errors.describe();
  EXPECT_EQ(client_errors.count(), 0u) << client_errors.describe();
}

}  // namespace
