// echo_client: connects, sends lines from stdin (or --count N messages of --size S bytes), then
// --binary N binary messages of --size S bytes, prints every reply and the negotiated TLS facts. Takes events on its own thread (pull mode).
//
//   echo_client wss://localhost:8443/ --pfx client.p12 --password secret --ca-dir cas
//   echo_client ws://127.0.0.1:9000/ --count 100 --size 1024
//   echo_client ws://127.0.0.1:9000/ --deflate     (offers permessage-deflate)
//
// A failed connect (e.g. a TLS handshake) prints the full detail and exits with status 1.
#include <chrono>
#include <iostream>
#include <string>
#include <vector>
#include <wss/wss.hpp>

#include "report.hpp"
#include "tls_args.hpp"

namespace {

void usage() {
  std::cerr << "usage: echo_client URL [--cert F --key F | --pfx F --password P] [--ca-file F]\n"
               "                   [--ca-dir D] [--count N --size S] [--binary N] [--deflate]\n";
}

constexpr std::chrono::seconds kReplyWait{30};

// Wait for the next message; report errors. False when the connection ended or timed out.
bool await_reply(const wss::Client& client, int& failures) {
  for (;;) {
    auto ev = client.next_event(kReplyWait);
    if (!ev) {
      std::cerr << "no reply within " << kReplyWait.count() << " s\n";
      return false;
    }
    switch (ev->type()) {
      case wss::EventType::message:
        std::cout << "reply: " << (ev->message().kind == wss::MessageKind::text
                                       ? std::string(ev->message().text())
                                       : std::to_string(ev->message().size) + " bytes")
                  << std::endl;  // flushed: a script or a pipe sees each reply as it comes
        return true;
      case wss::EventType::error:
        report::error(std::cerr, ev->error());
        ++failures;
        break;
      case wss::EventType::close:
        std::cout << "closed by server: " << ev->close_code() << " " << ev->reason() << "\n";
        return false;
      default:
        break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage();
    return 2;
  }
  const std::string url = argv[1];
  TlsArgs tls_args;
  long count = -1, binary = 0;
  size_t size = 16;
  bool deflate = false;
  try {
    for (int i = 2; i < argc; ++i) {
      const std::string a = argv[i];
      if (tls_args.parse(argc, argv, i)) continue;
      if (a == "--count" && i + 1 < argc) {
        count = std::stol(argv[++i]);
      } else if (a == "--size" && i + 1 < argc) {
        size = std::stoul(argv[++i]);
      } else if (a == "--binary" && i + 1 < argc) {
        binary = std::stol(argv[++i]);
      } else if (a == "--deflate") {
        deflate = true;
      } else {
        usage();
        return 2;
      }
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    usage();
    return 2;
  }

  int failures = 0;
  try {
    wss::TlsConfig tls = tls_args.config();
    wss::Options options;
    options.deflate(deflate);
    wss::Client client = wss::Client::connect_pull(url, &tls, &options);
    wss::Connection conn = client.connection();
    const auto info = conn.info();
    std::cout << "connected: " << report::tls_facts(info) << report::compression(info) << std::endl;
    long replies = 0;
    if (count >= 0) {
      const std::string payload(size, 'x');
      for (long n = 0; n < count; ++n) {
        conn.send_text(payload);
        if (!await_reply(client, failures)) break;
        ++replies;
      }
    } else {
      std::string line;
      while (std::getline(std::cin, line)) {
        conn.send_text(line);
        if (!await_reply(client, failures)) break;
        ++replies;
      }
    }
    const std::vector<uint8_t> bytes(size, 0xA5);
    for (long n = 0; n < binary; ++n) {
      conn.send_binary(bytes.data(), bytes.size());
      if (!await_reply(client, failures)) break;
      ++replies;
    }
    std::cout << replies << " replies" << std::endl;
    client.close(wss::close_code::normal, "bye", std::chrono::seconds(5));
    const bool complete = count < 0 || replies == count + binary;
    return failures == 0 && complete ? 0 : 1;
  } catch (const wss::Error& e) {
    report::error(std::cerr, e);
    return 1;
  }
}
