// websocketpp TLS echo server used as a benchmark peer for `wss`.
//
//   websocketpp_echo <cert.pem> <key.pem>
//
// Listens on 127.0.0.1 with an ephemeral port and prints `PORT <n>` as the
// first stdout line once listening. Echoes every text/binary message back with
// the same opcode. Single-threaded asio event loop (one io_service::run()).
//
// Settings are websocketpp defaults (asio_tls config, per-message-deflate off)
// except: logging disabled, max message size 16 MiB, TCP_NODELAY on accepted
// sockets (as libwebsockets does by default), one shared SSL_CTX (the
// websocketpp examples build a new context per connection, which re-reads the
// key for every handshake and defeats TLS session resumption; a production
// server would share one).
#include <websocketpp/config/asio.hpp>
#include <websocketpp/server.hpp>

#include <cstdio>
#include <iostream>
#include <string>

typedef websocketpp::server<websocketpp::config::asio_tls> server;
typedef websocketpp::lib::shared_ptr<boost::asio::ssl::context> context_ptr;

int main(int argc, char **argv) {
    if (argc < 3) {
        std::cerr << "usage: " << argv[0] << " <cert.pem> <key.pem>\n";
        return 2;
    }
    std::string cert = argv[1], key = argv[2];

    context_ptr ctx = websocketpp::lib::make_shared<boost::asio::ssl::context>(
        boost::asio::ssl::context::tls_server);
    try {
        ctx->set_options(boost::asio::ssl::context::default_workarounds |
                         boost::asio::ssl::context::no_sslv2 |
                         boost::asio::ssl::context::no_sslv3 |
                         boost::asio::ssl::context::single_dh_use);
        ctx->use_certificate_chain_file(cert);
        ctx->use_private_key_file(key, boost::asio::ssl::context::pem);
    } catch (std::exception const &e) {
        std::cerr << "TLS setup failed: " << e.what() << "\n";
        return 1;
    }

    server s;
    s.clear_access_channels(websocketpp::log::alevel::all);
    s.clear_error_channels(websocketpp::log::elevel::all);
    s.init_asio();
    s.set_reuse_addr(true);
    s.set_listen_backlog(4096);
    s.set_max_message_size(16 * 1024 * 1024);

    s.set_tls_init_handler([ctx](websocketpp::connection_hdl) { return ctx; });
    // websocketpp leaves Nagle on; with request/response traffic that costs a
    // delayed-ACK round (~40 ms) per message, so disable it like lws does.
    // (set in the TCP pre-init handler: it runs after accept, before the TLS
    // handshake; the socket-init handler runs before the socket is open.)
    s.set_tcp_pre_init_handler([&s](websocketpp::connection_hdl hdl) {
        websocketpp::lib::error_code ec;
        server::connection_ptr con = s.get_con_from_hdl(hdl, ec);
        if (ec) return;
        boost::system::error_code bec;
        con->get_socket().lowest_layer().set_option(boost::asio::ip::tcp::no_delay(true), bec);
    });
    s.set_message_handler([&s](websocketpp::connection_hdl hdl, server::message_ptr msg) {
        websocketpp::lib::error_code ec;
        s.send(hdl, msg->get_payload(), msg->get_opcode(), ec);
    });

    try {
        boost::asio::ip::tcp::endpoint ep(boost::asio::ip::address::from_string("127.0.0.1"), 0);
        s.listen(ep);
        s.start_accept();
        websocketpp::lib::asio::error_code ec;
        auto local = s.get_local_endpoint(ec);
        if (ec) {
            std::cerr << "get_local_endpoint: " << ec.message() << "\n";
            return 1;
        }
        std::printf("PORT %u\n", (unsigned)local.port());
        std::fflush(stdout);
        s.run();
    } catch (std::exception const &e) {
        std::cerr << "server error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
