// Every error field reaches wss::Error: wrong PFX password, expired client certificate (both
// sides), untrusted server, refused upgrade (HTTP status), refused TCP connect (errno); and the
// std::error_code overloads.
#include <cerrno>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using wss_test::ErrorLog;
using wss_test::pki;

namespace {

std::string url(const wss::Server& s, const char* scheme = "wss") {
  return std::string(scheme) + "://127.0.0.1:" + std::to_string(s.port()) + "/";
}

// A port nothing listens on: bound by a server that is then closed.
uint16_t closed_port() {
  wss::Server s = wss::Server::listen("127.0.0.1:0", wss::Handlers{});
  const uint16_t port = s.port();
  s.close(10s);
  return port;
}

TEST(Errors, WrongPfxPassword) {
  wss::TlsConfig tls;
  try {
    tls.pfx_file(pki("server.p12"), "not-the-password");
    FAIL() << "a wrong PFX password must throw";
  } catch (const wss::Error& e) {
    EXPECT_EQ(e.code(), wss::errc::config);
    EXPECT_EQ(e.error_code(), wss::errc::config);
    EXPECT_FALSE(e.message().empty());
    EXPECT_FALSE(e.kind().empty());
    EXPECT_FALSE(e.openssl_errors().empty()) << e.what();
    EXPECT_NE(std::string(e.what()).find(e.message()), std::string::npos);
    EXPECT_NE(e.native(), nullptr);
  }
}

TEST(Errors, ExpiredClientCertificateOnBothSides) {
  ErrorLog server_errors;
  wss_test::Waiter waiter;
  int opens = 0;
  wss::Handlers sh;
  sh.on_open = [&](wss::Connection&) { waiter.update([&] { opens++; }); };
  sh.on_error = server_errors.handler();
  auto stls = wss_test::server_tls();
  wss::Server server = wss::Server::listen("127.0.0.1:0", sh, &stls);

  auto ctls = wss_test::client_tls("client-expired.p12");
  wss::Handlers ch;
  try {
    wss::Client c = wss::Client::connect(url(server), ch, &ctls);
    FAIL() << "an expired client certificate must not connect";
  } catch (const wss::Error& e) {
    // The client learns it from the server's alert: a TLS failure with OpenSSL's entry.
    EXPECT_TRUE(e.code() == wss::errc::tls || e.code() == wss::errc::cert_verify) << e.what();
    ASSERT_FALSE(e.openssl_errors().empty()) << e.what();
    EXPECT_NE(e.openssl_errors().back().reason.find("expired"), std::string::npos) << e.what();
    EXPECT_TRUE(e.peer_address().has_value()) << e.what();
  }

  ASSERT_TRUE(server_errors.waiter.wait([&] { return !server_errors.errors.empty(); }));
  const wss::Error e = server_errors.waiter.read([&] { return server_errors.errors.front(); });
  EXPECT_EQ(e.code(), wss::errc::cert_verify) << e.what();
  EXPECT_EQ(e.verify_code(), 10) << e.what();  // X509_V_ERR_CERT_HAS_EXPIRED
  EXPECT_EQ(e.verify_depth(), 0);
  ASSERT_TRUE(e.verify_text().has_value());
  EXPECT_NE(e.verify_text()->find("expired"), std::string::npos);
  ASSERT_TRUE(e.verify_subject().has_value());
  EXPECT_NE(e.verify_subject()->find("expired client"), std::string::npos);
  ASSERT_TRUE(e.peer_address().has_value());
  EXPECT_EQ(e.peer_address()->rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(std::string(e.what()).find("verify error 10"), std::string::npos) << e.what();
  EXPECT_EQ(waiter.read([&] { return opens; }), 0);
}

TEST(Errors, UntrustedServer) {
  wss::TlsConfig stls;
  stls.pfx_file(pki("server-untrusted.p12"), "server-pass");
  ErrorLog server_errors;
  wss::Handlers sh;
  sh.on_error = server_errors.handler();
  wss::Server server = wss::Server::listen("127.0.0.1:0", sh, &stls);
  auto ctls = wss_test::client_tls("");
  try {
    wss::Client c = wss::Client::connect(url(server), wss::Handlers{}, &ctls);
    FAIL() << "an untrusted server must be refused";
  } catch (const wss::Error& e) {
    EXPECT_EQ(e.code(), wss::errc::cert_verify) << e.what();
    // The server sends its chain up to the rogue root, which the client does not trust.
    EXPECT_EQ(e.verify_code(), 19) << e.what();  // X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
    EXPECT_EQ(e.verify_depth(), 1);
    EXPECT_TRUE(e.verify_text().has_value());
    ASSERT_TRUE(e.verify_subject().has_value());
    EXPECT_NE(e.verify_subject()->find("rogue CA"), std::string::npos) << e.what();
    EXPECT_TRUE(e.hint().has_value());
    EXPECT_FALSE(e.openssl_errors().empty());
    EXPECT_TRUE(e.peer_address().has_value());
    EXPECT_NE(std::string(e.what()).find("verify error"), std::string::npos) << e.what();
  }
}

TEST(Errors, RefusedUpgradeCarriesHttpStatus) {
  wss::Handlers sh;
  sh.on_accept = [](const wss::UpgradeRequest& req, wss::AcceptDecision& d) {
    if (req.header("X-Token") != std::optional<std::string_view>("let-me-in")) d.refuse(403, "No token");
  };
  wss::Server server = wss::Server::listen("127.0.0.1:0", sh);
  try {
    wss::Client c = wss::Client::connect(url(server, "ws"), wss::Handlers{});
    FAIL() << "the upgrade must be refused";
  } catch (const wss::Error& e) {
    EXPECT_EQ(e.code(), wss::errc::handshake) << e.what();
    EXPECT_EQ(e.http_status(), 403);
    EXPECT_NE(std::string(e.what()).find("403"), std::string::npos) << e.what();
  }
  // The same request with the header is accepted.
  wss::Options opts;
  opts.header("X-Token", "let-me-in");
  wss::Client ok = wss::Client::connect(url(server, "ws"), wss::Handlers{}, nullptr, &opts);
  EXPECT_TRUE(ok.connection());
}

TEST(Errors, RefusalReasonOutlivesTheCallback) {
  // The library copies the decision after on_accept returns: a reason on the heap must still be
  // there then (a reason freed with the callback's locals came out as garbage, or as a
  // malformed response, in about half of these).
  ErrorLog log;
  wss::Handlers sh;
  sh.on_accept = [](const wss::UpgradeRequest& req, wss::AcceptDecision& d) {
    d.refuse(403, "Refused request " + std::to_string(req.id()) + std::string(60, '.'));
  };
  sh.on_error = log.handler();
  wss::Options opts;
  opts.io_threads(2);
  wss::Server server = wss::Server::listen("127.0.0.1:0", sh, nullptr, &opts);
  for (int i = 0; i < 40; ++i) {
    try {
      wss::Client c = wss::Client::connect(url(server, "ws"), wss::Handlers{});
      FAIL() << "the upgrade must be refused";
    } catch (const wss::Error& e) {
      ASSERT_EQ(e.http_status(), 403) << "attempt " << i << ": " << e.what();
      ASSERT_NE(e.message().find("Refused request "), std::string::npos) << e.what();
      ASSERT_NE(e.message().find(std::string(60, '.')), std::string::npos) << e.what();
    }
  }
}

TEST(Errors, RefusedConnectCarriesErrno) {
  const uint16_t port = closed_port();
  try {
    wss::Client c = wss::Client::connect("ws://127.0.0.1:" + std::to_string(port) + "/", wss::Handlers{});
    FAIL() << "nothing listens there";
  } catch (const wss::Error& e) {
    EXPECT_EQ(e.code(), wss::errc::io) << e.what();
    EXPECT_EQ(e.os_errno(), ECONNREFUSED) << e.what();
  }
}

// Each failure below is a real one; what() must stay a single line (a log line, a message box
// title), whatever the library, OpenSSL or a callback put into the parts it is made of.
TEST(Errors, WhatIsOneLine) {
  std::vector<wss::Error> errors;
  auto collect = [&](auto&& fail) {
    try {
      fail();
      ADD_FAILURE() << "expected a failure (case " << errors.size() << ")";
    } catch (const wss::Error& e) {
      errors.push_back(e);
    }
  };
  collect([] { wss::TlsConfig().pfx_file(pki("server.p12"), "not-the-password"); });
  collect([] { wss::TlsConfig().ca_file(pki("no-such-ca.pem")); });
  collect([] { wss::Options().listen_backlog(0); });
  collect([] { wss::Server::listen("not an address", wss::Handlers{}); });
  const uint16_t port = closed_port();
  collect([&] { wss::Client::connect("ws://127.0.0.1:" + std::to_string(port) + "/", wss::Handlers{}); });

  wss::TlsConfig untrusted;
  untrusted.pfx_file(pki("server-untrusted.p12"), "server-pass");
  wss::Server rogue = wss::Server::listen("127.0.0.1:0", wss::Handlers{}, &untrusted);
  auto ctls = wss_test::client_tls("");
  collect([&] { wss::Client::connect(url(rogue), wss::Handlers{}, &ctls); });  // verify error, hint

  ErrorLog server_errors;
  wss::Handlers sh;
  sh.on_accept = [](const wss::UpgradeRequest&, wss::AcceptDecision& d) { d.refuse(403, "Go away"); };
  sh.on_message = [](wss::Connection&, const wss::Message&) {
    throw std::runtime_error("first line\nsecond line\r\nthird line");
  };
  sh.on_error = server_errors.handler();
  wss::Server refusing = wss::Server::listen("127.0.0.1:0", sh);
  collect([&] { wss::Client::connect(url(refusing, "ws"), wss::Handlers{}); });  // HTTP 403

  auto stls = wss_test::server_tls();
  wss::Server mtls = wss::Server::listen("127.0.0.1:0", sh, &stls);
  auto expired = wss_test::client_tls("client-expired.p12");
  collect([&] { wss::Client::connect(url(mtls), wss::Handlers{}, &expired); });  // OpenSSL alert
  ASSERT_TRUE(server_errors.waiter.wait([&] { return !server_errors.errors.empty(); }));

  // A callback's exception text with line breaks.
  sh.on_accept = nullptr;
  wss::Server throwing = wss::Server::listen("127.0.0.1:0", sh);
  wss::Client c = wss::Client::connect(url(throwing, "ws"), wss::Handlers{});
  c.connection().send_text("throw");
  ASSERT_TRUE(server_errors.waiter.wait([&] {
    for (const auto& e : server_errors.errors) {
      if (e.code() == wss::errc::internal) return true;
    }
    return false;
  }));
  for (const auto& e : server_errors.waiter.read([&] { return server_errors.errors; })) errors.push_back(e);

  ASSERT_GE(errors.size(), 10u);
  bool multi_line_message = false;
  for (const auto& e : errors) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_EQ(what.find('\r'), std::string::npos) << what;
    EXPECT_EQ(what.rfind("wss: ", 0), 0u) << what;
    EXPECT_GT(what.size(), e.kind().size() + 7) << "what() says more than the kind: " << what;
    if (e.message().find('\n') != std::string::npos) multi_line_message = true;
  }
  EXPECT_TRUE(multi_line_message) << "the callback's text keeps its lines in message()";
}

TEST(ErrorCode, CategoryAndComparisons) {
  std::error_code ec = wss::errc::backpressure;
  EXPECT_STREQ(ec.category().name(), "wss");
  EXPECT_EQ(ec.value(), WSS_ERR_BACKPRESSURE);
  EXPECT_EQ(ec.message(), wss_result_str(WSS_ERR_BACKPRESSURE));
  EXPECT_EQ(ec, wss::errc::backpressure);
  EXPECT_NE(ec, wss::errc::closed);
  EXPECT_NE(ec, std::make_error_code(std::errc::io_error));
}

TEST(ErrorCode, OverloadsReportInsteadOfThrowing) {
  std::error_code ec;
  wss::TlsConfig tls;
  tls.pfx_file(pki("server.p12"), "wrong", ec);
  EXPECT_EQ(ec, wss::errc::config);
  EXPECT_EQ(wss::Error::last().code(), wss::errc::config) << "the detail stays readable";
  tls.ca_dir(pki("no-such-dir"), ec);
  EXPECT_TRUE(ec);
  tls.ca_file(pki("ca.pem"), ec);
  EXPECT_FALSE(ec) << "success clears ec";
  tls.ciphers("NOT-A-CIPHER", ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(wss::Error::last().error_code(), ec);

  wss::Server bad = wss::Server::listen("not an address", wss::Handlers{}, nullptr, nullptr, ec);
  EXPECT_TRUE(ec);
  EXPECT_FALSE(bad);

  const uint16_t port = closed_port();
  wss::Client c = wss::Client::connect("ws://127.0.0.1:" + std::to_string(port) + "/", wss::Handlers{},
                                       nullptr, nullptr, ec);
  EXPECT_EQ(ec, wss::errc::io);
  EXPECT_FALSE(c);
  EXPECT_EQ(wss::Error::last().os_errno(), ECONNREFUSED);

  wss::Connection stale(0xFFFFFFFFFFFFull);
  stale.send_text("x", ec);
  EXPECT_EQ(ec, wss::errc::not_connected);
  stale.close(1000, "", ec);
  EXPECT_EQ(ec, wss::errc::not_connected);
  EXPECT_EQ(stale.buffered_amount(ec), 0u);
  EXPECT_EQ(ec, wss::errc::not_connected);
  EXPECT_EQ(stale.info(ec).id, 0u);
  EXPECT_EQ(ec, wss::errc::not_connected);
  EXPECT_THROW(stale.send_text("x"), wss::Error);
  try {
    stale.ping();
  } catch (const wss::Error& e) {
    EXPECT_EQ(e.code(), wss::errc::not_connected);
  }
}

}  // namespace
