// Upgrade decisions. Pull mode (Options::accept_events): accept events show the request and are
// answered on the test's thread with Event::accept / refuse or Server::decide; bad decisions,
// second decisions, undecided requests (503 at the handshake timeout) and events that outlive
// their server. Callback mode: response headers built inside on_accept reach the peer (the
// library copies them during the call).
#include <string>
#include <thread>

#include "raw_peer.hpp"
#include "support.hpp"

using namespace std::chrono_literals;
using wss_test::kWait;

namespace {

// A pull-mode ws:// server that queues upgrade requests as accept events.
wss::Server deciding_server(std::chrono::milliseconds handshake_timeout = std::chrono::seconds(60)) {
  wss::Options o;
  o.accept_events(true).handshake_timeout(handshake_timeout);
  return wss::Server::listen_pull("127.0.0.1:0", nullptr, &o);
}

// A client that offers chat.v1 and chat.v2 and sends X-Test: yes.
wss::Client offering_client(const wss::Server& server, const std::string& path, wss::Handlers h = {}) {
  wss::Options o;
  o.subprotocol("chat.v1").subprotocol("chat.v2").header("X-Test", "yes");
  return wss::Client::connect_async("ws://127.0.0.1:" + std::to_string(server.port()) + path, std::move(h),
                                    nullptr, &o);
}

// The next server event, which must be of `type`.
wss::Event take(const wss::Server& server, wss::EventType type) {
  auto ev = server.next_event(kWait);
  if (!ev) throw std::runtime_error("no event within the wait");
  if (ev->type() != type) {
    throw std::runtime_error("expected event " + std::to_string(static_cast<int>(type)) + ", got " +
                             std::to_string(static_cast<int>(ev->type())));
  }
  return std::move(*ev);
}

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

TEST(AcceptEvents, RequestViewBadDecisionThenAcceptWithSubprotocol) {
  wss::Server server = deciding_server();
  wss::Client client = offering_client(server, "/chat?room=42");
  const wss::Event ev = take(server, wss::EventType::accept);
  const uint64_t request_id = ev.connection().id();
  {
    const wss::UpgradeRequest req = ev.request();
    EXPECT_EQ(req.id(), request_id);
    EXPECT_EQ(req.path(), "/chat");
    EXPECT_EQ(req.query(), "room=42");
    EXPECT_EQ(req.header("x-test"), std::optional<std::string_view>("yes"));
    EXPECT_EQ(req.subprotocols(), (std::vector<std::string_view>{"chat.v1", "chat.v2"}));
    EXPECT_FALSE(req.is_tls());
    EXPECT_FALSE(req.peer_certificate().has_value());
    EXPECT_EQ(req.remote_address().rfind("127.0.0.1:", 0), 0u);
  }
  // A bad decision is refused and leaves the request undecided.
  try {
    ev.accept(2);
    FAIL() << "only two subprotocols were offered";
  } catch (const wss::Error& e) {
    EXPECT_EQ(e.code(), wss::errc::invalid_argument) << e.what();
  }
  std::error_code ec;
  ev.refuse(200, "OK", ec);
  EXPECT_EQ(ec, wss::errc::invalid_argument);

  ev.accept(1, {{"X-Room", "42"}});
  ASSERT_EQ(client.opened().wait_for(kWait), std::future_status::ready);
  client.opened().get();
  const wss::ConnectionInfo info = client.connection().info();
  EXPECT_EQ(info.subprotocol, std::optional<std::string>("chat.v2"));
  // The client sees the 101's headers: the host's after the library's.
  EXPECT_EQ(info.response_header("x-room"), std::optional<std::string>("42"));
  EXPECT_EQ(info.response_header("Sec-WebSocket-Protocol"), std::optional<std::string>("chat.v2"));
  ASSERT_GE(info.response_headers.size(), 4u);
  EXPECT_EQ(info.response_headers.back(), (std::pair<std::string, std::string>("X-Room", "42")));
  const wss::Event open = take(server, wss::EventType::open);
  EXPECT_EQ(open.connection().id(), request_id) << "the connection keeps the request's id";
  EXPECT_THROW(open.request(), wss::Error);
  open.accept(-1, {}, ec);
  EXPECT_EQ(ec, wss::errc::invalid_state) << "only accept events are answered";

  // A second answer finds the request decided.
  ev.accept(-1, {}, ec);
  EXPECT_EQ(ec, wss::errc::not_connected);
  EXPECT_EQ(wss::Error::last().code(), wss::errc::not_connected);
  client.close(wss::close_code::normal, "", kWait);
  take(server, wss::EventType::close);
}

TEST(AcceptEvents, RefuseWithStatusAndReason) {
  wss::Server server = deciding_server();
  wss::Client client = offering_client(server, "/");
  take(server, wss::EventType::accept).refuse(403, "Members Only");
  const wss::Error e = failure_of(client.opened());
  EXPECT_EQ(e.code(), wss::errc::handshake) << e.what();
  EXPECT_EQ(e.http_status(), 403) << e.what();
  EXPECT_NE(e.message().find("Members Only"), std::string::npos) << e.what();
}

TEST(AcceptEvents, DecideByIdAfterTheEventIsGoneAndResponseHeadersReachThePeer) {
  wss::Server server = deciding_server();
  std::string head;
  std::thread peer([&] { head = wss_test::raw_upgrade(server.port(), "/raw"); });
  uint64_t id = 0;
  {
    const wss::Event ev = take(server, wss::EventType::accept);
    id = ev.connection().id();
  }  // the event is freed; the request is still waiting
  wss::AcceptDecision d;
  d.add_header("X-Room", std::string("4") + "2");
  server.decide(id, d);
  peer.join();
  EXPECT_EQ(head.rfind("http/1.1 101", 0), 0u) << head;
  EXPECT_NE(head.find("\r\nx-room: 42\r\n"), std::string::npos) << head;
  std::error_code ec;
  server.decide(id, d, ec);
  EXPECT_EQ(ec, wss::errc::not_connected);
}

TEST(AcceptEvents, UndecidedRequestsAreRefusedAtTheHandshakeTimeout) {
  wss::Server server = deciding_server(300ms);
  wss::Client client = offering_client(server, "/");
  const wss::Event ev = take(server, wss::EventType::accept);
  const wss::Error e = failure_of(client.opened());
  EXPECT_EQ(e.http_status(), 503) << e.what();
  const wss::Event timeout = take(server, wss::EventType::error);
  EXPECT_EQ(timeout.error().code(), wss::errc::timeout) << timeout.error().what();
  std::error_code ec;
  ev.accept(-1, {}, ec);
  EXPECT_EQ(ec, wss::errc::not_connected) << "too late";
}

TEST(AcceptEvents, AnEventThatOutlivesItsServerReportsClosed) {
  wss::Server server = deciding_server();
  wss::Client client = offering_client(server, "/");
  const wss::Event ev = take(server, wss::EventType::accept);
  server = wss::Server();  // freed: the event's request can no longer be answered
  try {
    ev.accept();
    FAIL() << "the server is gone";
  } catch (const wss::Error& e) {
    EXPECT_EQ(e.code(), wss::errc::closed) << e.what();
  }
  std::error_code ec;
  ev.refuse(403, "late", ec);
  EXPECT_EQ(ec, wss::errc::closed);
  EXPECT_EQ(ev.request().path(), "/") << "the event's own data stays readable";
  EXPECT_EQ(client.opened().wait_for(kWait), std::future_status::ready);
}

TEST(OnAccept, ResponseHeadersBuiltInTheCallbackReachThePeer) {
  wss_test::ErrorLog log;
  wss::Handlers h;
  h.on_accept = [](const wss::UpgradeRequest& req, wss::AcceptDecision& d) {
    // Strings that die with the callback: the library copies them during it.
    std::string value = "request-" + std::to_string(req.id()) + std::string(80, '.');
    d.add_header("X-Request", value);
    d.add_header("X-Path", std::string(req.path()));
    const auto offered = req.subprotocols();
    if (offered.size() == 2) d.accept(1);
  };
  h.on_error = log.handler();
  wss::Options o;
  o.io_threads(2);
  wss::Server server = wss::Server::listen("127.0.0.1:0", h, nullptr, &o);
  for (int i = 0; i < 20; ++i) {
    const std::string head =
        wss_test::raw_upgrade(server.port(), "/p" + std::to_string(i), "Sec-WebSocket-Protocol: a, b\r\n");
    ASSERT_EQ(head.rfind("http/1.1 101", 0), 0u) << head;
    ASSERT_NE(head.find("\r\nx-path: /p" + std::to_string(i) + "\r\n"), std::string::npos) << head;
    ASSERT_NE(head.find(std::string(80, '.') + "\r\n"), std::string::npos) << head;
    ASSERT_NE(head.find("\r\nsec-websocket-protocol: b\r\n"), std::string::npos) << head;
  }
  server.close(kWait);
  EXPECT_EQ(log.count(), 0u) << log.describe();
}

}  // namespace
