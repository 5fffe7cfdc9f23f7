// Consumer of an installed wss: a ws:// echo through the C++ wrapper, in one process.
#include <cstdio>
#include <wss/wss.hpp>

int main() {
  if (!wss::library_matches_header()) {
    std::fprintf(stderr, "header %d.%d does not match library %s\n", WSS_VERSION_MAJOR, WSS_VERSION_MINOR,
                 wss::version().c_str());
    return 1;
  }
  wss::Handlers echo;
  echo.on_message = [](wss::Connection& c, const wss::Message& m) { c.send(m.kind, m.data, m.size); };
  wss::Server server = wss::Server::listen("127.0.0.1:0", echo);
  wss::Client client = wss::Client::connect_pull("ws://127.0.0.1:" + std::to_string(server.port()) + "/");
  client.next_event(std::chrono::seconds(60));  // open
  client.connection().send_text("installed");
  auto reply = client.next_event(std::chrono::seconds(60));
  if (!reply || reply->type() != wss::EventType::message || reply->message().text() != "installed") {
    std::fprintf(stderr, "no echo\n");
    return 1;
  }
  std::printf("consumer ok (wss %s)\n", wss::version().c_str());
  return 0;
}
