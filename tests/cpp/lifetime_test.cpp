// Ownership: moving servers and clients while traffic flows, destroying them mid-traffic (the
// handlers and per-connection data are released exactly when the library is done), and a
// throwing callback that is reported while the process lives on.
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using wss_test::ErrorLog;
using wss_test::ReleaseProbe;
using wss_test::Waiter;

namespace {

// The RAII types own their handle alone: moved, never copied.
static_assert(!std::is_copy_constructible_v<wss::Server> && !std::is_copy_assignable_v<wss::Server>);
static_assert(std::is_nothrow_move_constructible_v<wss::Server> && std::is_nothrow_move_assignable_v<wss::Server>);
static_assert(!std::is_copy_constructible_v<wss::Client> && !std::is_copy_assignable_v<wss::Client>);
static_assert(std::is_nothrow_move_constructible_v<wss::Client> && std::is_nothrow_move_assignable_v<wss::Client>);
static_assert(!std::is_copy_constructible_v<wss::Event> && std::is_nothrow_move_constructible_v<wss::Event>);
static_assert(!std::is_copy_constructible_v<wss::TlsConfig> && !std::is_copy_assignable_v<wss::TlsConfig>);
static_assert(std::is_nothrow_move_constructible_v<wss::TlsConfig> &&
              std::is_nothrow_move_assignable_v<wss::TlsConfig>);
static_assert(!std::is_copy_constructible_v<wss::Options> && !std::is_copy_assignable_v<wss::Options>);
static_assert(std::is_nothrow_move_constructible_v<wss::Options> && std::is_nothrow_move_assignable_v<wss::Options>);

std::string ws_url(const wss::Server& s) { return "ws://127.0.0.1:" + std::to_string(s.port()) + "/"; }

TEST(Lifetime, MoveAndDestroyWhileTrafficFlows) {
  Waiter waiter;
  bool server_handlers_released = false, client_handlers_released = false, session_released = false;
  int echoes = 0;
  int client_closes = 0;
  uint16_t client_close_code = 0;

  auto server_probe = std::make_shared<ReleaseProbe>(&waiter, &server_handlers_released);
  wss::Handlers sh;
  sh.on_open = [&waiter, &session_released](wss::Connection& c) {
    c.set_user_data(std::make_shared<ReleaseProbe>(&waiter, &session_released));
  };
  sh.on_message = [server_probe](wss::Connection& c, const wss::Message& m) {
    std::error_code ec;  // the client may be gone: a failed echo is fine here
    c.send(m.kind, m.data, m.size, ec);
  };
  server_probe.reset();  // the handlers hold the only reference now
  std::vector<wss::Server> servers;
  servers.push_back(wss::Server::listen("127.0.0.1:0", std::move(sh)));
  wss::Server* server = &servers.back();

  auto client_probe = std::make_shared<ReleaseProbe>(&waiter, &client_handlers_released);
  wss::Handlers ch;
  ch.on_message = [&waiter, &echoes, client_probe](wss::Connection&, const wss::Message&) {
    waiter.update([&] { echoes++; });
  };
  ch.on_close = [&](wss::Connection&, uint16_t code, std::string_view) {
    waiter.update([&] {
      client_closes++;
      client_close_code = code;
    });
  };
  client_probe.reset();
  wss::Client first = wss::Client::connect(ws_url(*server), std::move(ch));
  const wss::Connection conn = first.connection();

  bool stop = false;
  std::thread sender([&] {
    // At most 64 messages in flight, so the sender never spins on a full queue.
    int sent = 0;
    std::error_code ec;
    for (;;) {
      if (!waiter.wait([&] { return stop || sent - echoes < 64; })) break;
      if (waiter.read([&] { return stop; })) break;
      conn.send_text("traffic", ec);
      if (ec && ec != wss::errc::backpressure) break;  // closed: done
      if (!ec) ++sent;
    }
  });
  ASSERT_TRUE(waiter.wait([&] { return echoes >= 50; }));

  // Moves keep the one handle: the connection and its traffic are unaffected.
  wss::Client second = std::move(first);
  EXPECT_FALSE(first);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  wss::Client third;
  third = std::move(second);
  servers.push_back(std::move(servers.front()));  // may reallocate: the Server object moves
  server = &servers.back();
  const int before = waiter.read([&] { return echoes; });
  ASSERT_TRUE(waiter.wait([&] { return echoes >= before + 50; })) << "traffic stopped after moves";
  EXPECT_EQ(third.connection(), conn);

  // Destroy the server mid-traffic (never blocks): the client sees the connection end, and
  // every handler and user data object is released once the library is done with it.
  servers.clear();
  ASSERT_TRUE(waiter.wait([&] { return client_closes == 1; }));
  EXPECT_TRUE(client_close_code == wss::close_code::abnormal || client_close_code == wss::close_code::going_away)
      << client_close_code;
  ASSERT_TRUE(waiter.wait([&] { return server_handlers_released && session_released; }));
  waiter.update([&] { stop = true; });
  sender.join();
  third = wss::Client();  // frees the client
  ASSERT_TRUE(waiter.wait([&] { return client_handlers_released; }));
}

TEST(Lifetime, DestroyClientWhileItsSenderThreadSends) {
  // The Client is freed while another thread keeps sending on its connection: that thread's
  // sends fail with an error code (a stale id, never a crash or a use after free), the server
  // sees the normal close the destructor sends, and the client's handlers are released.
  ErrorLog server_errors;
  Waiter waiter;
  int server_closes = 0;
  uint16_t server_close_code = 0;
  wss::Handlers sh;
  sh.on_message = [](wss::Connection& c, const wss::Message& m) {
    std::error_code ec;  // the client may be gone already
    c.send(m.kind, m.data, m.size, ec);
  };
  sh.on_close = [&](wss::Connection&, uint16_t code, std::string_view) {
    waiter.update([&] {
      server_closes++;
      server_close_code = code;
    });
  };
  sh.on_error = server_errors.handler();
  wss::Server server = wss::Server::listen("127.0.0.1:0", sh);

  bool client_handlers_released = false;
  int echoes = 0;
  auto probe = std::make_shared<ReleaseProbe>(&waiter, &client_handlers_released);
  wss::Handlers ch;
  ch.on_message = [&waiter, &echoes, probe](wss::Connection&, const wss::Message&) {
    waiter.update([&] { echoes++; });
  };
  probe.reset();
  auto client = std::make_unique<wss::Client>(wss::Client::connect(ws_url(server), std::move(ch)));
  const wss::Connection conn = client->connection();

  bool client_gone = false;
  int sent = 0, sent_after_free = 0;
  std::error_code last;
  std::thread sender([&] {
    for (;;) {
      // At most 64 in flight while the client lives; once it is gone, send until refused.
      if (!waiter.wait([&] { return client_gone || sent - echoes < 64; })) break;
      const bool gone = waiter.read([&] { return client_gone; });
      std::error_code ec;
      conn.send_text("traffic", ec);
      if (ec == wss::errc::backpressure) continue;
      if (ec) {
        waiter.update([&] { last = ec; });
        break;
      }
      waiter.update([&] {
        ++sent;
        if (gone) ++sent_after_free;
      });
    }
  });
  ASSERT_TRUE(waiter.wait([&] { return echoes >= 50; }));
  client.reset();  // mid-traffic: the sender is between sends or inside one
  waiter.update([&] { client_gone = true; });
  sender.join();
  const std::error_code refused = waiter.read([&] { return last; });
  EXPECT_TRUE(refused == wss::errc::not_connected || refused == wss::errc::closed) << refused.message();
  EXPECT_EQ(waiter.read([&] { return sent_after_free; }), 0) << "a send after the free was accepted";
  std::error_code ec;
  conn.send_text("after", ec);
  EXPECT_EQ(ec, wss::errc::not_connected);
  ASSERT_TRUE(waiter.wait([&] { return server_closes == 1; })) << "the server never saw the close";
  EXPECT_EQ(waiter.read([&] { return server_close_code; }), wss::close_code::normal);
  ASSERT_TRUE(waiter.wait([&] { return client_handlers_released; }));
  server.close(10s);
  // Echoes the server still had queued when the client went are reported as undelivered;
  // nothing else may go wrong.
  for (const auto& e : server_errors.waiter.read([&] { return server_errors.errors; })) {
    EXPECT_EQ(e.code(), wss::errc::not_connected) << e.what();
    EXPECT_NE(e.message().find("not delivered"), std::string::npos) << e.what();
  }
}

TEST(Lifetime, ClientConnectionDataIsReleasedAfterItsLastCallbackNotAtFree) {
  // The server ends the connection; the client's typed user data goes right after its on_close,
  // while the Client object still exists.
  wss::Handlers sh;
  sh.on_message = [](wss::Connection& c, const wss::Message& m) {
    if (m.text() == "bye") c.close(wss::close_code::normal, "bye");
  };
  wss::Server server = wss::Server::listen("127.0.0.1:0", sh);
  Waiter waiter;
  bool attached = false, released = false, data_in_close = false, closed = false;
  wss::Handlers ch;
  ch.on_open = [&](wss::Connection& c) {
    c.set_user_data(std::make_shared<ReleaseProbe>(&waiter, &released));
    waiter.update([&] { attached = true; });
  };
  ch.on_close = [&](wss::Connection& c, uint16_t, std::string_view) {
    const bool present = c.user_data<ReleaseProbe>() != nullptr;
    waiter.update([&] {
      data_in_close = present;
      closed = true;
    });
  };
  wss::Client client = wss::Client::connect_async(ws_url(server), ch);
  client.opened().get();
  ASSERT_TRUE(waiter.wait([&] { return attached; }));
  client.connection().send_text("bye");
  ASSERT_TRUE(waiter.wait([&] { return closed && released; })) << "released after on_close, before the free";
  EXPECT_TRUE(waiter.read([&] { return data_in_close; })) << "on_close still sees the data";
  EXPECT_TRUE(client);
  EXPECT_EQ(client.connection().user_data<ReleaseProbe>(), nullptr) << "the connection is gone";
}

TEST(Lifetime, HandlersOutliveTheServerObjectUntilTheLastCallback) {
  // Destroying the Server from inside its own callback is allowed and never deadlocks.
  Waiter waiter;
  bool released = false, freed_in_callback = false;
  auto holder = std::make_shared<wss::Server>();
  auto probe = std::make_shared<ReleaseProbe>(&waiter, &released);
  wss::Handlers sh;
  sh.on_message = [&waiter, &freed_in_callback, holder, probe](wss::Connection&, const wss::Message&) {
    *holder = wss::Server();  // frees the server from its own I/O thread
    waiter.update([&] { freed_in_callback = true; });
  };
  probe.reset();
  *holder = wss::Server::listen("127.0.0.1:0", std::move(sh));
  wss::Client c = wss::Client::connect(ws_url(*holder), wss::Handlers{});
  holder.reset();  // the handlers' copy keeps the Server object alive
  c.connection().send_text("free yourself");
  ASSERT_TRUE(waiter.wait([&] { return freed_in_callback; }));
  ASSERT_TRUE(waiter.wait([&] { return released; }));
}

TEST(ThrowingCallback, ReportedOnErrorAndTheConnectionLivesOn) {
  ErrorLog log;
  Waiter waiter;
  int replies = 0;
  wss::Handlers sh;
  sh.on_message = [](wss::Connection& c, const wss::Message& m) {
    if (m.text() == "throw") throw std::runtime_error("boom from on_message");
    if (m.text() == "throw-int") throw 42;
    c.send_text("ok");
  };
  sh.on_error = log.handler();
  wss::Server server = wss::Server::listen("127.0.0.1:0", sh);
  wss::Handlers ch;
  ch.on_message = [&](wss::Connection&, const wss::Message&) { waiter.update([&] { replies++; }); };
  wss::Client client = wss::Client::connect(ws_url(server), ch);
  auto conn = client.connection();
  conn.send_text("throw");
  conn.send_text("throw-int");
  conn.send_text("after");
  ASSERT_TRUE(waiter.wait([&] { return replies == 1; })) << "the connection must survive the throws";
  ASSERT_TRUE(log.waiter.wait([&] { return log.errors.size() == 2; }));
  const auto errors = log.waiter.read([&] { return log.errors; });
  EXPECT_EQ(errors[0].code(), wss::errc::internal);
  EXPECT_NE(errors[0].message().find("on_message threw: boom from on_message"), std::string::npos)
      << errors[0].what();
  EXPECT_NE(errors[1].message().find("not derived from std::exception"), std::string::npos);
}

TEST(ThrowingCallback, OnAcceptFailsClosed) {
  ErrorLog log;
  wss::Handlers sh;
  sh.on_accept = [](const wss::UpgradeRequest&, wss::AcceptDecision&) {
    throw std::runtime_error("token store unavailable");
  };
  sh.on_error = log.handler();
  wss::Server server = wss::Server::listen("127.0.0.1:0", sh);
  try {
    wss::Client c = wss::Client::connect(ws_url(server), wss::Handlers{});
    FAIL() << "a throwing on_accept must not accept";
  } catch (const wss::Error& e) {
    EXPECT_EQ(e.code(), wss::errc::handshake) << e.what();
    EXPECT_EQ(e.http_status(), 500) << e.what();
  }
  ASSERT_TRUE(log.waiter.wait([&] { return !log.errors.empty(); }));
  const auto first = log.waiter.read([&] { return log.errors.front(); });
  EXPECT_NE(first.message().find("on_accept threw: token store unavailable"), std::string::npos)
      << first.what();
}

TEST(ThrowingCallback, WithoutOnErrorGoesToStderr) {
  Waiter waiter;
  bool thrown = false;
  wss::Handlers sh;
  sh.on_open = [&](wss::Connection&) {
    waiter.update([&] { thrown = true; });
    throw std::logic_error("open failed in the host");
  };
  wss::Server server = wss::Server::listen("127.0.0.1:0", sh);
  testing::internal::CaptureStderr();
  {
    wss::Client client = wss::Client::connect(ws_url(server), wss::Handlers{});
    ASSERT_TRUE(waiter.wait([&] { return thrown; }));
    server.close(10s);  // the callback has returned once close does
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("on_open"), std::string::npos) << err;
  EXPECT_NE(err.find("open failed in the host"), std::string::npos) << err;
}

}  // namespace

namespace {

TEST(Routes, EachPathItsHandlersOthers404AndRemovalReleases) {
  Waiter waiter;
  bool a_released = false;
  std::vector<std::string> seen;
  auto route = [&](const std::string& name, std::shared_ptr<ReleaseProbe> probe) {
    wss::Handlers h;
    h.on_message = [&waiter, &seen, name, probe](wss::Connection& c, const wss::Message& m) {
      waiter.update([&] { seen.push_back(name + ":" + std::string(m.text())); });
      c.send_text(name);
    };
    return h;
  };
  wss::Server server = wss::Server::listen("127.0.0.1:0", wss::Handlers{});
  server.add_route("/a", route("a", std::make_shared<ReleaseProbe>(&waiter, &a_released)));
  server.add_route("/b", route("b", nullptr));
  const std::string base = "ws://127.0.0.1:" + std::to_string(server.port());

  for (const char* path : {"/a", "/b"}) {
    wss::Client c = wss::Client::connect_pull(base + path);
    ASSERT_EQ(c.next_event(wss_test::kWait)->type(), wss::EventType::open);
    c.connection().send_text("hi");
    auto reply = c.next_event(wss_test::kWait);
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->message().text(), std::string(path + 1));
    c.close(wss::close_code::normal, "", std::chrono::seconds(30));
  }
  EXPECT_EQ(waiter.read([&] { return seen; }), (std::vector<std::string>{"a:hi", "b:hi"}));
  try {
    wss::Client c = wss::Client::connect(base + "/elsewhere", wss::Handlers{});
    FAIL() << "a path without a route must be refused";
  } catch (const wss::Error& e) {
    EXPECT_EQ(e.http_status(), 404) << e.what();
  }

  // Removing /a releases its handlers once its connections are done (they are, above).
  server.remove_route("/a");
  ASSERT_TRUE(waiter.wait([&] { return a_released; }));
  EXPECT_THROW(server.remove_route("/a"), wss::Error);
  try {
    wss::Client c = wss::Client::connect(base + "/a", wss::Handlers{});
    FAIL() << "a removed route must be refused";
  } catch (const wss::Error& e) {
    EXPECT_EQ(e.http_status(), 404) << e.what();
  }
}

}  // namespace
