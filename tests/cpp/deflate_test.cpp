// permessage-deflate through the wrapper: Options::deflate on both ends (the client asking for a
// 10-bit server window), ConnectionInfo::extensions on both sides, echoes of compressed
// messages and of one sent with SendFlags::no_compress, and unknown flag bits refused.
#include <string>
#include <vector>

#include "support.hpp"

using wss_test::ErrorLog;
using wss_test::Waiter;

namespace {

constexpr const char* kAgreed = "permessage-deflate; server_max_window_bits=10";

TEST(Deflate, EchoWithCompressionAndOptOut) {
  ErrorLog server_errors, client_errors;
  Waiter server_waiter;
  std::optional<std::string> server_extensions;
  bool server_opened = false;

  wss::Handlers sh;
  sh.on_open = [&](wss::Connection& c) {
    auto info = c.info();
    server_waiter.update([&] {
      server_extensions = info.extensions;
      server_opened = true;
    });
  };
  sh.on_message = [](wss::Connection& c, const wss::Message& m) { c.send(m.kind, m.data, m.size); };
  sh.on_error = server_errors.handler();
  wss::Options so;
  so.deflate(true);
  wss::Server server = wss::Server::listen("127.0.0.1:0", sh, nullptr, &so);

  Waiter client_waiter;
  std::vector<std::vector<uint8_t>> got;
  wss::Handlers ch;
  ch.on_message = [&](wss::Connection&, const wss::Message& m) {
    client_waiter.update([&] { got.push_back(m.bytes()); });
  };
  ch.on_error = client_errors.handler();
  wss::Options co;
  co.deflate(true).deflate_max_window_bits(10, 15).deflate_threshold(0);
  wss::Client client =
      wss::Client::connect("ws://127.0.0.1:" + std::to_string(server.port()) + "/", ch, nullptr, &co);
  wss::Connection conn = client.connection();

  EXPECT_EQ(conn.info().extensions, std::optional<std::string>(kAgreed));
  ASSERT_TRUE(server_waiter.wait([&] { return server_opened; }));
  EXPECT_EQ(server_waiter.read([&] { return server_extensions; }), std::optional<std::string>(kAgreed));

  size_t expected = 0;
  for (size_t size : {size_t{0}, size_t{10}, size_t{70000}, size_t{1} << 20}) {
    for (auto flags : {wss::SendFlags::none, wss::SendFlags::no_compress}) {
      std::vector<uint8_t> payload(size);
      for (size_t i = 0; i < size; ++i) payload[i] = static_cast<uint8_t>('a' + (i / 7) % 26);
      conn.send(wss::MessageKind::binary, payload.data(), payload.size(), flags);
      ++expected;
      ASSERT_TRUE(client_waiter.wait([&] { return got.size() == expected; })) << "no echo of " << size;
      EXPECT_EQ(client_waiter.read([&] { return got.back(); }), payload) << size << " bytes";
    }
  }

  std::error_code ec;
  conn.send(wss::MessageKind::text, "x", 1, static_cast<wss::SendFlags>(2), ec);
  EXPECT_EQ(ec, wss::errc::invalid_argument);
  EXPECT_THROW(wss::Options().deflate_max_window_bits(7, 15), wss::Error);

  client.close();
  server.close();
}

}  // namespace
