// Mutual-TLS echo through the wrapper (PFX identity + hashed CA folder), connection facts on
// both sides, per-connection user data, and the same echo in pull mode.
#include <string>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using wss_test::ErrorLog;
using wss_test::Waiter;

namespace {

struct Received {
  std::vector<std::pair<wss::MessageKind, std::vector<uint8_t>>> messages;
  int closes = 0;
  uint16_t close_code = 0;
  std::string close_reason;
};

struct Session {
  std::string peer_subject;
  int messages = 0;
};

TEST(MtlsEcho, PfxIdentityAndHashedCaFolder) {
  ErrorLog server_errors, client_errors;
  Waiter server_waiter;
  wss::ConnectionInfo server_side;
  bool server_opened = false;
  int server_closes = 0;
  uint16_t server_close_code = 0;
  std::string server_close_reason;
  int sessions_counted = 0;

  wss::Handlers sh;
  sh.on_open = [&](wss::Connection& c) {
    auto info = c.info();
    auto session = std::make_shared<Session>();
    session->peer_subject = info.peer_certificate ? info.peer_certificate->subject : "";
    c.set_user_data(session);
    server_waiter.update([&] {
      server_side = info;
      server_opened = true;
    });
  };
  sh.on_message = [](wss::Connection& c, const wss::Message& m) {
    auto session = c.user_data<Session>();
    ASSERT_TRUE(session);
    EXPECT_FALSE(c.user_data<std::string>()) << "user data of another type must not be handed out";
    session->messages++;
    c.send(m.kind, m.data, m.size);
  };
  sh.on_close = [&](wss::Connection& c, uint16_t code, std::string_view reason) {
    auto session = c.user_data<Session>();
    server_waiter.update([&] {
      server_closes++;
      server_close_code = code;
      server_close_reason = std::string(reason);
      if (session) sessions_counted = session->messages;
    });
  };
  sh.on_error = server_errors.handler();
  auto stls = wss_test::server_tls();
  wss::Server server = wss::Server::listen("127.0.0.1:0", sh, &stls);
  ASSERT_NE(server.port(), 0);

  Waiter client_waiter;
  Received got;
  wss::Handlers ch;
  ch.on_message = [&](wss::Connection&, const wss::Message& m) {
    client_waiter.update([&] { got.messages.emplace_back(m.kind, m.bytes()); });
  };
  ch.on_close = [&](wss::Connection&, uint16_t code, std::string_view reason) {
    client_waiter.update([&] {
      got.closes++;
      got.close_code = code;
      got.close_reason = std::string(reason);
    });
  };
  ch.on_error = client_errors.handler();
  auto ctls = wss_test::client_tls();
  wss::Client client =
      wss::Client::connect("wss://127.0.0.1:" + std::to_string(server.port()) + "/echo", ch, &ctls);
  wss::Connection conn = client.connection();
  ASSERT_TRUE(conn);

  const std::vector<size_t> sizes = {0, 1, 125, 126, 65535, 65536, 1 << 20};
  size_t expected = 0;
  for (size_t size : sizes) {
    for (auto kind : {wss::MessageKind::text, wss::MessageKind::binary}) {
      std::vector<uint8_t> payload(size);
      for (size_t i = 0; i < size; ++i) payload[i] = static_cast<uint8_t>('a' + i % 26);
      if (kind == wss::MessageKind::text) {
        conn.send_text(std::string_view(reinterpret_cast<const char*>(payload.data()), size));
      } else {
        conn.send_binary(payload);
      }
      ++expected;
      ASSERT_TRUE(client_waiter.wait([&] { return got.messages.size() == expected; }))
          << "no echo of " << size << " bytes";
      auto last = client_waiter.read([&] { return got.messages.back(); });
      EXPECT_EQ(last.first, kind);
      EXPECT_EQ(last.second, payload) << size << " bytes";
    }
  }

  ASSERT_TRUE(server_waiter.wait([&] { return server_opened; }));
  auto server_info = server_waiter.read([&] { return server_side; });
  EXPECT_FALSE(server_info.is_client);
  EXPECT_EQ(server_info.path, "/echo");
  ASSERT_TRUE(server_info.tls_version.has_value());
  EXPECT_TRUE(*server_info.tls_version == "TLSv1.3" || *server_info.tls_version == "TLSv1.2");
  EXPECT_TRUE(server_info.cipher.has_value());
  ASSERT_TRUE(server_info.peer_certificate.has_value());
  EXPECT_NE(server_info.peer_certificate->subject.find("test client"), std::string::npos);
  EXPECT_TRUE(server_info.peer_certificate->verified);

  auto client_info = conn.info();
  EXPECT_TRUE(client_info.is_client);
  EXPECT_EQ(client_info.id, conn.id());
  ASSERT_TRUE(client_info.peer_certificate.has_value());
  EXPECT_NE(client_info.peer_certificate->subject.find("localhost"), std::string::npos);
  const auto& sans = client_info.peer_certificate->sans;
  EXPECT_NE(std::find(sans.begin(), sans.end(), "IP:127.0.0.1"), sans.end());
  EXPECT_EQ(client_info.peer_certificate->sha256_fingerprint.size(), 32u * 3 - 1);
  EXPECT_EQ(conn.buffered_amount(), 0u);

  client.close(4000, "bye", 30s);
  ASSERT_TRUE(server_waiter.wait([&] { return server_closes == 1; }));
  server_waiter.read([&] {
    EXPECT_EQ(server_close_code, 4000);
    EXPECT_EQ(server_close_reason, "bye");
    EXPECT_EQ(sessions_counted, static_cast<int>(expected));
    return 0;
  });
  ASSERT_TRUE(client_waiter.wait([&] { return got.closes == 1; }));
  EXPECT_EQ(got.close_code, 4000);
  server.close(10s);
  EXPECT_EQ(server_errors.count(), 0u) << server_errors.describe();
  EXPECT_EQ(client_errors.count(), 0u) << client_errors.describe();
}

TEST(PullMode, EchoOnTheHostThreadWithUserData) {
  auto stls = wss_test::server_tls();
  wss::Server server = wss::Server::listen_pull("127.0.0.1:0", &stls);
  auto ctls = wss_test::client_tls();
  wss::Client client = wss::Client::connect_pull("wss://localhost:" + std::to_string(server.port()) + "/", &ctls);

  // Server: take the open, attach a session, echo one message.
  auto open = server.next_event(wss_test::kWait);
  ASSERT_TRUE(open.has_value());
  ASSERT_EQ(open->type(), wss::EventType::open);
  auto conn = open->connection();
  conn.set_user_data(std::make_shared<Session>(Session{"pulled", 0}));

  auto client_open = client.next_event(wss_test::kWait);
  ASSERT_TRUE(client_open.has_value());
  EXPECT_EQ(client_open->type(), wss::EventType::open);
  client.connection().send_text("hello pull");

  auto msg = server.next_event(wss_test::kWait);
  ASSERT_TRUE(msg.has_value());
  ASSERT_EQ(msg->type(), wss::EventType::message);
  EXPECT_EQ(msg->message().text(), "hello pull");
  EXPECT_EQ(msg->message().kind, wss::MessageKind::text);
  auto session = msg->user_data<Session>();
  ASSERT_TRUE(session);
  EXPECT_EQ(session->peer_subject, "pulled");
  msg->connection().send(msg->message().kind, msg->message().data, msg->message().size);

  auto echo = client.next_event(wss_test::kWait);
  ASSERT_TRUE(echo.has_value());
  ASSERT_EQ(echo->type(), wss::EventType::message);
  EXPECT_EQ(echo->message().text(), "hello pull");

  // Nothing more: a short poll times out as nullopt, not an exception.
  EXPECT_FALSE(server.next_event(0ms).has_value());

  client.close(wss::close_code::normal, "done", 30s);
  auto closed = server.next_event(wss_test::kWait);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->type(), wss::EventType::close);
  EXPECT_EQ(closed->close_code(), wss::close_code::normal);
  EXPECT_EQ(closed->reason(), "done");

  // The client's queue ends with its close event, then errc::closed.
  std::error_code ec;
  for (int i = 0; i < 10 && !ec; ++i) {
    auto ev = client.next_event(wss_test::kWait, ec);
    if (ev) {
      EXPECT_NE(ev->type(), wss::EventType::error) << ev->error().what();
    }
  }
  EXPECT_EQ(ec, wss::errc::closed);
  EXPECT_THROW(client.next_event(0ms), wss::Error);
}

}  // namespace
