// echo_server: echoes every message back. The same code serves ws:// (--plain) and wss://.
//
//   echo_server --port 8443 --pfx server.p12 --password secret --ca-dir cas --require-client-cert
//   echo_server --port 0 --plain          (prints the port it got)
//   echo_server --port 0 --plain --deflate (accepts permessage-deflate)
//
// Prints each connection's TLS version, cipher and client certificate subject; stops cleanly
// (closing every connection with 1001) on SIGINT or SIGTERM.
#include <iostream>
#include <mutex>
#include <string>
#include <wss/wss.hpp>

#include "report.hpp"
#include "stop_signals.hpp"
#include "tls_args.hpp"

namespace {
void usage() {
  std::cerr << "usage: echo_server [--port N] [--plain] [--cert F --key F | --pfx F --password P]\n"
               "                   [--ca-file F] [--ca-dir D] [--crl F] [--require-client-cert]\n"
               "                   [--io-threads N] [--deflate]\n";
}
}  // namespace

int main(int argc, char** argv) {
  int port = 8443;
  bool plain = false;
  unsigned io_threads = 0;
  bool deflate = false;
  TlsArgs tls_args;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (tls_args.parse(argc, argv, i)) continue;
      if (a == "--port" && i + 1 < argc) {
        port = std::stoi(argv[++i]);
      } else if (a == "--plain") {
        plain = true;
      } else if (a == "--io-threads" && i + 1 < argc) {
        io_threads = static_cast<unsigned>(std::stoul(argv[++i]));
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

  const StopSignals stop;  // before the library starts its threads

  std::mutex out_mu;  // callbacks run on several I/O threads
  wss::Handlers handlers;
  handlers.on_open = [&](wss::Connection& c) {
    const auto info = c.info();
    std::lock_guard<std::mutex> lock(out_mu);
    std::cout << "open " << c.id() << " from " << info.remote_address << " " << info.path << ": "
              << report::tls_facts(info) << report::compression(info) << std::endl;
  };
  handlers.on_message = [](wss::Connection& c, const wss::Message& m) { c.send(m.kind, m.data, m.size); };
  handlers.on_close = [&](wss::Connection& c, uint16_t code, std::string_view reason) {
    std::lock_guard<std::mutex> lock(out_mu);
    std::cout << "close " << c.id() << ": " << code << " " << reason << std::endl;
  };
  handlers.on_error = [&](wss::Connection& c, const wss::Error& e) {
    std::lock_guard<std::mutex> lock(out_mu);
    if (c.id() != 0) std::cout << "error on connection " << c.id() << "\n";
    else std::cout << "error before a connection opened (TLS or upgrade handshake)\n";
    report::error(std::cout, e);
    std::cout.flush();
  };

  try {
    wss::Options options;
    options.io_threads(io_threads).deflate(deflate);
    wss::TlsConfig tls = tls_args.config();
    wss::Server server =
        wss::Server::listen("0.0.0.0:" + std::to_string(port), handlers, plain ? nullptr : &tls, &options);
    {
      std::lock_guard<std::mutex> lock(out_mu);
      std::cout << "listening on port " << server.port() << (plain ? " (ws)" : " (wss)") << std::endl;
    }
    const int sig = stop.wait();
    {
      std::lock_guard<std::mutex> lock(out_mu);
      std::cout << "signal " << sig << ": closing" << std::endl;
    }
    server.close(std::chrono::seconds(5));
    std::cout << "stopped" << std::endl;
  } catch (const wss::Error& e) {
    report::error(std::cerr, e);
    return 1;
  }
  return 0;
}
