// Plain POSIX sockets for the tests that need a peer the library does not provide: a listener
// that never answers (connect timeouts, destroying a client while it connects) and a WebSocket
// upgrade written by hand, to read the exact response headers a server sent.
#ifndef WSS_TESTS_CPP_RAW_PEER_HPP
#define WSS_TESTS_CPP_RAW_PEER_HPP

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "support.hpp"

namespace wss_test {

/// A socket file descriptor closed on destruction.
class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

inline sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

/// A TCP listener on 127.0.0.1 that never accepts: connects complete in the kernel's backlog
/// and nothing is ever answered.
class SilentListener {
 public:
  SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a = loopback(0);
    socklen_t len = sizeof a;
    if (fd_.get() < 0 || ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_.get(), 8) != 0 || ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("cannot make a silent listener");
    }
    port_ = ntohs(a.sin_port);
  }
  uint16_t port() const noexcept { return port_; }

 private:
  Fd fd_;
  uint16_t port_ = 0;
};

/// Send a WebSocket upgrade for `path` to 127.0.0.1:`port` (extra request header lines in
/// `extra`, each ending in \r\n) and return the response head the server sent (up to the blank
/// line), in lower case (header names are case-insensitive). When it is a 101, the connection is then closed properly (a masked close frame, then
/// the server's close read to EOF), so the server sees a normal close. Reads are bounded by kWait.
inline std::string raw_upgrade(uint16_t port, const std::string& path, const std::string& extra = {}) {
  Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  const sockaddr_in a = loopback(port);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(kWait.count());
  if (fd.get() < 0 || ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    throw std::runtime_error("raw_upgrade: cannot connect");
  }
  auto send_all = [&](const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("raw_upgrade: send failed");
      done += static_cast<size_t>(n);
    }
  };
  send_all("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
           extra + "\r\n");
  std::string head;
  char buf[1024];
  while (head.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) throw std::runtime_error("raw_upgrade: no complete response, got: " + head);
    head.append(buf, static_cast<size_t>(n));
  }
  head.resize(head.find("\r\n\r\n") + 2);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (head.rfind("http/1.1 101", 0) == 0) {
    // Close frame, FIN + opcode 8, masked (zero mask), payload 1000.
    send_all(std::string("\x88\x82\x00\x00\x00\x00\x03\xe8", 8));
    while (::recv(fd.get(), buf, sizeof buf, 0) > 0) {
    }
  }
  return head;
}

}  // namespace wss_test

#endif  // WSS_TESTS_CPP_RAW_PEER_HPP
