// Every TlsConfig builder over a real handshake: each test shows the setting taking effect (a
// negotiated value in ConnectionInfo, or a handshake that fails only because of it). Versions,
// TLS 1.2 ciphers, TLS 1.3 suites, groups, SNI and the host name check, ALPN, DH parameters,
// verify modes, reject_unauthorized, identities from PKCS#12 bytes, PEM text and PEM files, and
// a CRL.
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using wss_test::ErrorLog;
using wss_test::pki;
using wss_test::Waiter;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A server identity alone (no client certificates asked for).
wss::TlsConfig server_identity() {
  wss::TlsConfig tls;
  tls.pfx_file(pki("server.p12"), "server-pass");
  return tls;
}

// A client that trusts the test CA and presents no certificate.
wss::TlsConfig trusting_client() {
  wss::TlsConfig tls;
  tls.ca_file(pki("ca.pem"));
  return tls;
}

// What one connect attempt gave.
struct Outcome {
  std::optional<wss::ConnectionInfo> client;  // set when the connect succeeded
  std::optional<wss::ConnectionInfo> server;  // the server's view of the same connection
  std::optional<wss::Error> error;            // set when it failed
};

// A wss:// server with `tls` that records the ConnectionInfo of each connection it opens.
class TlsServer {
 public:
  explicit TlsServer(const wss::TlsConfig& tls) {
    wss::Handlers h;
    h.on_open = [this](wss::Connection& c) {
      const wss::ConnectionInfo info = c.info();
      waiter_.update([&] { opened_.push_back(info); });
    };
    h.on_error = errors.handler();
    server_ = wss::Server::listen("127.0.0.1:0", h, &tls);
  }
  ~TlsServer() {
    std::error_code ec;  // a destructor must not throw; the handlers capture this, so close first
    server_.close(10s, ec);
  }

  // Connect with `tls` to wss://HOST:port/ (and close again when it opened).
  Outcome connect(const wss::TlsConfig& tls, const std::string& host = "127.0.0.1") {
    Outcome out;
    const size_t before = waiter_.read([&] { return opened_.size(); });
    try {
      wss::Client c =
          wss::Client::connect("wss://" + host + ":" + std::to_string(server_.port()) + "/", wss::Handlers{}, &tls);
      out.client = c.connection().info();
      if (waiter_.wait([&] { return opened_.size() > before; })) {
        out.server = waiter_.read([&] { return opened_.back(); });
      }
      c.close(wss::close_code::normal, "", 30s);
    } catch (const wss::Error& e) {
      out.error = e;
    }
    return out;
  }

  // The first error the server reported (waits for one).
  std::optional<wss::Error> first_error() {
    if (!errors.waiter.wait([&] { return !errors.errors.empty(); })) return std::nullopt;
    return errors.waiter.read([&] { return errors.errors.front(); });
  }

  ErrorLog errors;

 private:
  Waiter waiter_;
  std::vector<wss::ConnectionInfo> opened_;
  wss::Server server_;
};

std::string openssl_reasons(const wss::Error& e) {
  std::string s;
  for (const auto& o : e.openssl_errors()) s += o.reason + "; ";
  return s;
}

TEST(TlsVersions, ClientMax12AgainstServerMin13FailsWithOpenSslDetail) {
  auto stls = server_identity();
  stls.min_version(wss::TlsVersion::v1_3);
  TlsServer server(stls);
  auto ctls = trusting_client();
  ctls.max_version(wss::TlsVersion::v1_2);
  const Outcome o = server.connect(ctls);
  ASSERT_TRUE(o.error.has_value()) << "a 1.2-only client reached a 1.3-only server";
  EXPECT_EQ(o.error->code(), wss::errc::tls) << o.error->what();
  ASSERT_FALSE(o.error->openssl_errors().empty()) << o.error->what();
  EXPECT_NE(openssl_reasons(*o.error).find("version"), std::string::npos) << openssl_reasons(*o.error);
  // The same client against the default server (1.2 and 1.3) gets 1.2.
  TlsServer any(server_identity());
  const Outcome ok = any.connect(ctls);
  ASSERT_TRUE(ok.client.has_value()) << ok.error->what();
  EXPECT_EQ(ok.client->tls_version, "TLSv1.2");
}

TEST(TlsVersions, TwelveOnlyPairReportsTls12AndMin13Gives13) {
  auto stls = server_identity();
  stls.min_version(wss::TlsVersion::v1_2).max_version(wss::TlsVersion::v1_2);
  TlsServer server(stls);
  auto ctls = trusting_client();
  ctls.max_version(wss::TlsVersion::v1_2);
  const Outcome o = server.connect(ctls);
  ASSERT_TRUE(o.client.has_value()) << o.error->what();
  EXPECT_EQ(o.client->tls_version, "TLSv1.2");
  ASSERT_TRUE(o.server.has_value());
  EXPECT_EQ(o.server->tls_version, "TLSv1.2");
  // A client that insists on 1.3 cannot talk to this 1.2-only server.
  auto strict = trusting_client();
  strict.min_version(wss::TlsVersion::v1_3);
  const Outcome refused = server.connect(strict);
  ASSERT_TRUE(refused.error.has_value());
  EXPECT_EQ(refused.error->code(), wss::errc::tls) << refused.error->what();
  // And against a default server it gets 1.3.
  TlsServer any(server_identity());
  const Outcome thirteen = any.connect(strict);
  ASSERT_TRUE(thirteen.client.has_value()) << thirteen.error->what();
  EXPECT_EQ(thirteen.client->tls_version, "TLSv1.3");
}

TEST(Ciphers, Tls12ListChoosesTheSuiteAndDisjointListsFail) {
  auto stls = server_identity();
  stls.max_version(wss::TlsVersion::v1_2).ciphers("ECDHE-ECDSA-CHACHA20-POLY1305");
  TlsServer server(stls);
  auto ctls = trusting_client();
  ctls.max_version(wss::TlsVersion::v1_2).ciphers("ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305");
  const Outcome o = server.connect(ctls);
  ASSERT_TRUE(o.client.has_value()) << o.error->what();
  EXPECT_EQ(o.client->cipher, "ECDHE-ECDSA-CHACHA20-POLY1305");
  ASSERT_TRUE(o.server.has_value());
  EXPECT_EQ(o.server->cipher, "ECDHE-ECDSA-CHACHA20-POLY1305");
  auto disjoint = trusting_client();
  disjoint.max_version(wss::TlsVersion::v1_2).ciphers("ECDHE-ECDSA-AES256-GCM-SHA384");
  const Outcome refused = server.connect(disjoint);
  ASSERT_TRUE(refused.error.has_value());
  EXPECT_EQ(refused.error->code(), wss::errc::tls) << refused.error->what();
  EXPECT_FALSE(refused.error->openssl_errors().empty());
}

TEST(Ciphers, Tls13SuitesChooseTheSuiteAndDisjointSuitesFail) {
  auto stls = server_identity();
  stls.ciphersuites("TLS_CHACHA20_POLY1305_SHA256");
  TlsServer server(stls);
  const Outcome o = server.connect(trusting_client());
  ASSERT_TRUE(o.client.has_value()) << o.error->what();
  EXPECT_EQ(o.client->tls_version, "TLSv1.3");
  EXPECT_EQ(o.client->cipher, "TLS_CHACHA20_POLY1305_SHA256");
  auto disjoint = trusting_client();
  disjoint.min_version(wss::TlsVersion::v1_3).ciphersuites("TLS_AES_256_GCM_SHA384");
  const Outcome refused = server.connect(disjoint);
  ASSERT_TRUE(refused.error.has_value());
  EXPECT_EQ(refused.error->code(), wss::errc::tls) << refused.error->what();
}

TEST(Groups, EcdhCurveMustOverlap) {
  auto stls = server_identity();
  stls.ecdh_curve("P-384");
  TlsServer server(stls);
  auto same = trusting_client();
  same.ecdh_curve("P-384:X25519");
  const Outcome o = server.connect(same);
  EXPECT_TRUE(o.client.has_value()) << o.error->what();
  auto other = trusting_client();
  other.ecdh_curve("X25519");
  const Outcome refused = server.connect(other);
  ASSERT_TRUE(refused.error.has_value()) << "no common group, yet the handshake succeeded";
  EXPECT_EQ(refused.error->code(), wss::errc::tls) << refused.error->what();
  EXPECT_FALSE(refused.error->openssl_errors().empty());
}

TEST(ServerName, SentAsSniAndVerifiedUnlessIdentityCheckIsOff) {
  TlsServer server(server_identity());
  auto named = trusting_client();
  named.servername("localhost");
  const Outcome o = server.connect(named, "127.0.0.1");
  ASSERT_TRUE(o.client.has_value()) << o.error->what();
  ASSERT_TRUE(o.server.has_value());
  EXPECT_EQ(o.server->server_name, "localhost") << "the SNI the server saw";

  auto wrong = trusting_client();
  wrong.servername("other.example");
  const Outcome refused = server.connect(wrong);
  ASSERT_TRUE(refused.error.has_value()) << "a certificate for localhost passed as other.example";
  EXPECT_EQ(refused.error->code(), wss::errc::cert_verify) << refused.error->what();
  EXPECT_EQ(refused.error->verify_code(), 62) << refused.error->what();  // X509_V_ERR_HOSTNAME_MISMATCH

  wrong.check_server_identity(false);
  const Outcome unchecked = server.connect(wrong);
  ASSERT_TRUE(unchecked.client.has_value()) << unchecked.error->what();
  ASSERT_TRUE(unchecked.server.has_value());
  EXPECT_EQ(unchecked.server->server_name, "other.example");
  ASSERT_TRUE(unchecked.client->peer_certificate.has_value());
  EXPECT_TRUE(unchecked.client->peer_certificate->verified) << "the chain is still verified";
}

TEST(Alpn, ServerPreferenceIsNegotiatedAndVisibleOnBothSides) {
  auto stls = server_identity();
  stls.alpn_protocols({"x-wss-b", "x-wss-a"});
  TlsServer server(stls);
  auto ctls = trusting_client();
  ctls.alpn_protocols({"x-wss-a", "x-wss-b"});
  const Outcome o = server.connect(ctls);
  ASSERT_TRUE(o.client.has_value()) << o.error->what();
  EXPECT_EQ(o.client->alpn, "x-wss-b");
  ASSERT_TRUE(o.server.has_value());
  EXPECT_EQ(o.server->alpn, "x-wss-b");
  // No protocol in common: the connection goes on without one.
  auto other = trusting_client();
  other.alpn_protocols({"x-other"});
  const Outcome none = server.connect(other);
  ASSERT_TRUE(none.client.has_value()) << none.error->what();
  EXPECT_FALSE(none.client->alpn.has_value()) << *none.client->alpn;
  // Without ALPN configured on the client nothing is negotiated.
  const Outcome unasked = server.connect(trusting_client());
  ASSERT_TRUE(unasked.client.has_value());
  EXPECT_FALSE(unasked.client->alpn.has_value());
}

TEST(Dhparam, EnablesTheDheSuites) {
  constexpr const char* kDhe = "DHE-RSA-AES128-GCM-SHA256";
  auto client = trusting_client();
  client.max_version(wss::TlsVersion::v1_2).ciphers(kDhe);
  auto rsa_server = [&] {
    wss::TlsConfig tls;
    tls.cert_file(pki("server-rsa.pem"), pki("server-rsa.key")).max_version(wss::TlsVersion::v1_2).ciphers(kDhe);
    return tls;
  };
  {
    TlsServer without(rsa_server());
    const Outcome refused = without.connect(client);
    ASSERT_TRUE(refused.error.has_value()) << "DHE without DH parameters";
    EXPECT_EQ(refused.error->code(), wss::errc::tls) << refused.error->what();
  }
  auto with_dh = rsa_server();
  with_dh.dhparam_file(pki("dh.pem"));
  TlsServer server(with_dh);
  const Outcome o = server.connect(client);
  ASSERT_TRUE(o.client.has_value()) << o.error->what();
  EXPECT_EQ(o.client->cipher, kDhe);
  EXPECT_EQ(o.client->tls_version, "TLSv1.2");
}

TEST(VerifyModes, NoneOptionalAndRequired) {
  auto with_cert = wss_test::client_tls();       // presents client.p12
  auto without_cert = wss_test::client_tls("");  // presents nothing
  {
    auto stls = server_identity();
    stls.ca_dir(pki("cadir")).verify_mode(wss::VerifyMode::none);
    TlsServer server(stls);
    const Outcome o = server.connect(with_cert);
    ASSERT_TRUE(o.server.has_value()) << (o.error ? o.error->what() : "no server open");
    EXPECT_FALSE(o.server->peer_certificate.has_value()) << "none: no certificate is asked for";
  }
  {
    auto stls = server_identity();
    stls.ca_dir(pki("cadir")).request_cert();
    TlsServer server(stls);
    const Outcome anonymous = server.connect(without_cert);
    ASSERT_TRUE(anonymous.server.has_value()) << (anonymous.error ? anonymous.error->what() : "no server open");
    EXPECT_FALSE(anonymous.server->peer_certificate.has_value());
    const Outcome presented = server.connect(with_cert);
    ASSERT_TRUE(presented.server.has_value());
    ASSERT_TRUE(presented.server->peer_certificate.has_value()) << "optional: a certificate is asked for";
    EXPECT_TRUE(presented.server->peer_certificate->verified);
    const Outcome expired = server.connect(wss_test::client_tls("client-expired.p12"));
    EXPECT_TRUE(expired.error.has_value()) << "optional: a presented certificate must still verify";
  }
  {
    auto stls = server_identity();
    stls.ca_dir(pki("cadir")).verify_mode(wss::VerifyMode::required);
    TlsServer server(stls);
    const Outcome refused = server.connect(without_cert);
    ASSERT_TRUE(refused.error.has_value()) << "required: a client without a certificate got in";
    EXPECT_FALSE(refused.error->openssl_errors().empty()) << refused.error->what();
    const std::optional<wss::Error> seen = server.first_error();
    ASSERT_TRUE(seen.has_value());
    EXPECT_NE(std::string(seen->what()).find("certificate"), std::string::npos) << seen->what();
  }
}

TEST(RejectUnauthorized, FalseAcceptsAnUntrustedServerAndSaysSo) {
  wss::TlsConfig stls;
  stls.pfx_file(pki("server-untrusted.p12"), "server-pass");
  TlsServer server(stls);
  const Outcome refused = server.connect(trusting_client());
  ASSERT_TRUE(refused.error.has_value());
  EXPECT_EQ(refused.error->code(), wss::errc::cert_verify) << refused.error->what();
  auto insecure = trusting_client();
  insecure.reject_unauthorized(false);
  const Outcome o = server.connect(insecure);
  ASSERT_TRUE(o.client.has_value()) << o.error->what();
  ASSERT_TRUE(o.client->peer_certificate.has_value());
  EXPECT_FALSE(o.client->peer_certificate->verified);
  insecure.reject_unauthorized(true);
  EXPECT_TRUE(server.connect(insecure).error.has_value()) << "reject_unauthorized(true) restores the check";
}

TEST(Identities, PfxBytesPemTextAndPemFiles) {
  const std::string server_p12 = read_file(pki("server.p12"));
  wss::TlsConfig from_bytes;
  from_bytes.pfx(std::vector<uint8_t>(server_p12.begin(), server_p12.end()), "server-pass");
  wss::TlsConfig from_pem;
  from_pem.cert(read_file(pki("server.pem")), read_file(pki("server.key")));
  for (auto* stls : {&from_bytes, &from_pem}) {
    TlsServer server(*stls);
    const Outcome o = server.connect(trusting_client(), "localhost");
    ASSERT_TRUE(o.client.has_value()) << o.error->what();
    ASSERT_TRUE(o.client->peer_certificate.has_value());
    EXPECT_NE(o.client->peer_certificate->subject.find("localhost"), std::string::npos);
    EXPECT_TRUE(o.client->peer_certificate->verified);
  }
  // The client's identity from PEM files, for mutual TLS.
  TlsServer mtls(wss_test::server_tls());
  auto ctls = trusting_client();
  ctls.cert_file(pki("client.pem"), pki("client.key"));
  const Outcome o = mtls.connect(ctls);
  ASSERT_TRUE(o.server.has_value()) << (o.error ? o.error->what() : "no server open");
  ASSERT_TRUE(o.server->peer_certificate.has_value());
  EXPECT_NE(o.server->peer_certificate->subject.find("test client"), std::string::npos);
  EXPECT_EQ(mtls.errors.count(), 0u) << mtls.errors.describe();
}

TEST(Crl, RevokedClientIsRefusedWithX509Error23) {
  auto stls = wss_test::server_tls();
  stls.crl_file(pki("crl.pem"));
  TlsServer server(stls);
  const Outcome good = server.connect(wss_test::client_tls());
  ASSERT_TRUE(good.client.has_value()) << "an unrevoked client with the CRL loaded: " << good.error->what();
  const Outcome revoked = server.connect(wss_test::client_tls("client-revoked.p12"));
  ASSERT_TRUE(revoked.error.has_value()) << "a revoked client connected";
  EXPECT_FALSE(revoked.error->openssl_errors().empty()) << revoked.error->what();
  const std::optional<wss::Error> seen = server.first_error();
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->code(), wss::errc::cert_verify) << seen->what();
  EXPECT_EQ(seen->verify_code(), 23) << seen->what();  // X509_V_ERR_CERT_REVOKED
  ASSERT_TRUE(seen->verify_subject().has_value());
  EXPECT_NE(seen->verify_subject()->find("revoked client"), std::string::npos);
}

}  // namespace
