// The benchmark's echo server through the C++ wrapper (bindings/cpp): the same behaviour as
// examples/c/echo_server.c in callback mode, so the `wss-cpp` row against the `wss` row is
// what the wrapper costs (issue 18: at most 1.02x).
//
//   wss_cpp_echo CERT.pem KEY.pem [CLIENT_CA.pem]
//
// prints "PORT <n>" once listening on 127.0.0.1, serves until SIGINT or SIGTERM, then closes.
// Environment: WSS_IO_THREADS=N, WSS_QUIET (no error logging), as the C server.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <wss/wss.hpp>

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: %s CERT.pem KEY.pem [CLIENT_CA.pem]\n", argv[0]);
    return 2;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  try {
    wss::TlsConfig tls;
    tls.cert_file(argv[1], argv[2]);
    if (argc == 4) tls.ca_file(argv[3]).request_cert();
    wss::Options options;
    options.max_message_size(64u << 20).max_connections(20000);
    if (const char* threads = std::getenv("WSS_IO_THREADS")) {
      options.io_threads(static_cast<uint32_t>(std::atoi(threads)));
    }
    wss::Handlers echo;
    echo.on_message = [](wss::Connection& c, const wss::Message& m) {
      std::error_code ec;
      c.send(m.kind, m.data, m.size, ec);
      if (ec && ec != wss::errc::not_connected) std::fprintf(stderr, "send failed: %s\n", ec.message().c_str());
    };
    if (std::getenv("WSS_QUIET") == nullptr) {
      echo.on_error = [](wss::Connection& c, const wss::Error& e) {
        std::fprintf(stderr, "error on %llu: %s\n", static_cast<unsigned long long>(c.id()), e.what());
      };
    }
    wss::Server server = wss::Server::listen("127.0.0.1:0", echo, &tls, &options);
    std::printf("PORT %u\n", static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    std::error_code ec;
    server.close(std::chrono::milliseconds(2000), ec);
  } catch (const wss::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
