// chat: one path, /chat; every message is broadcast to every connected peer, prefixed with the
// sender's name. The name lives in per-connection user data (Connection::set_user_data): set in
// on_open, read back in every later callback of that connection.
//
//   chat --port 9000 --plain
//   chat --port 9443 --pfx server.p12 --password secret
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <wss/wss.hpp>

#include "stop_signals.hpp"
#include "tls_args.hpp"

namespace {

/// What the chat keeps per connection.
struct Member {
  std::string name;
};

/// Everyone connected, for broadcasting.
class Room {
 public:
  void join(const wss::Connection& c) {
    std::lock_guard<std::mutex> lock(mu_);
    members_.insert(c.id());
  }
  void leave(const wss::Connection& c) {
    std::lock_guard<std::mutex> lock(mu_);
    members_.erase(c.id());
  }
  /// Send `text` to every member (except `skip`); a member that is gone is skipped.
  void broadcast(const std::string& text, uint64_t skip = 0) {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t id : members_) {
      if (id == skip) continue;
      std::error_code ec;
      wss::Connection(id).send_text(text, ec);
    }
  }

 private:
  std::mutex mu_;
  std::set<uint64_t> members_;
};

}  // namespace

int main(int argc, char** argv) {
  int port = 9000;
  bool plain = false;
  TlsArgs tls_args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (tls_args.parse(argc, argv, i)) continue;
    if (a == "--port" && i + 1 < argc) {
      port = std::stoi(argv[++i]);
    } else if (a == "--plain") {
      plain = true;
    } else {
      std::cerr << "usage: chat [--port N] [--plain] [--cert F --key F | --pfx F --password P]\n";
      return 2;
    }
  }
  const StopSignals stop;  // before the library starts its threads

  auto room = std::make_shared<Room>();  // shared with the handlers, which may outlive main's scope
  wss::Handlers chat;
  chat.on_open = [room](wss::Connection& c) {
    auto me = std::make_shared<Member>();
    me->name = "peer" + std::to_string(c.id());
    c.set_user_data(me);
    room->broadcast("* " + me->name + " joined", c.id());
    room->join(c);
  };
  chat.on_message = [room](wss::Connection& c, const wss::Message& m) {
    auto me = c.user_data<Member>();
    room->broadcast((me ? me->name : "?") + ": " + std::string(m.text()));
  };
  chat.on_close = [room](wss::Connection& c, uint16_t, std::string_view) {
    room->leave(c);
    if (auto me = c.user_data<Member>()) room->broadcast("* " + me->name + " left");
  };

  try {
    wss::TlsConfig tls = tls_args.config();
    wss::Server server = wss::Server::listen("0.0.0.0:" + std::to_string(port), wss::Handlers{},
                                             plain ? nullptr : &tls);
    server.add_route("/chat", chat);  // every other path gets 404
    std::cout << "chat on port " << server.port() << ", path /chat" << std::endl;
    stop.wait();
    server.close(std::chrono::seconds(5));
    std::cout << "stopped" << std::endl;
  } catch (const wss::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
