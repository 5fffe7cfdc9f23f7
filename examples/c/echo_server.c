/*
 * A wss echo server written against the C ABI, as a C host would: used by the benchmark
 * harness (benches/) so our numbers are taken through the same interface hosts use.
 *
 *   echo_server CERT.pem KEY.pem [CLIENT_CA.pem]
 *
 * prints "PORT <n>" once listening on 127.0.0.1, then serves until SIGINT or SIGTERM, and closes
 * gracefully. With CLIENT_CA.pem, client certificates from that CA are requested (optional).
 *
 * Environment: WSS_IO_THREADS=N sets the I/O thread count; WSS_QUIET drops error logging;
 * WSS_PULL=1 echoes from a host thread in pull mode (wss_server_next_event + wss_send from
 * outside the library's threads, as a .NET or queue-driven C++ host would) instead of from the
 * message callback. WSS_DEFLATE=1 accepts permessage-deflate with the defaults (context takeover,
 * 15-bit windows); WSS_DEFLATE=nct accepts it without context takeover in either direction (each
 * message compressed on its own, no zlib state kept between messages).
 *
 * Build (Linux): gcc -Iinclude examples/c/echo_server.c -Ltarget/release -lwss
 * -Wl,-rpath,$PWD/target/release -o echo_server. The program loads the library by its SONAME,
 * libwss.so.1: create it once with `ln -sf libwss.so target/release/libwss.so.1` (benches/run.py
 * does the same next to its copy).
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "wss.h"

static void on_message(void *user_data, uint64_t conn, void *conn_user_data, wss_message_kind kind,
                       const uint8_t *data, size_t len) {
    (void)user_data;
    (void)conn_user_data;
    wss_result r = wss_send(conn, data, len, kind);
    if (r != WSS_OK && r != WSS_ERR_NOT_CONNECTED) {
        fprintf(stderr, "send failed: %s\n", wss_result_str(r));
    }
}

static void on_error(void *user_data, uint64_t conn, void *conn_user_data, const wss_error *e) {
    (void)user_data;
    (void)conn_user_data;
    fprintf(stderr, "error on %llu: %s\n", (unsigned long long)conn, wss_error_message(e));
}

/* Pull mode: take events on this host thread and echo messages until the server is closed. */
static void *pull_loop(void *arg) {
    const wss_server *server = arg;
    for (;;) {
        wss_event *ev = NULL;
        wss_result r = wss_server_next_event(server, 1000, &ev);
        if (r == WSS_ERR_TIMEOUT) continue;
        if (r != WSS_OK) break; /* WSS_ERR_CLOSED once closed and drained */
        if (ev->event_type == WSS_EVENT_MESSAGE) {
            wss_result s = wss_send(ev->conn, ev->data, ev->len, ev->kind);
            if (s != WSS_OK && s != WSS_ERR_NOT_CONNECTED) fprintf(stderr, "send failed: %s\n", wss_result_str(s));
        } else if (ev->event_type == WSS_EVENT_ERROR && !getenv("WSS_QUIET") && ev->error) {
            fprintf(stderr, "error on %llu: %s\n", (unsigned long long)ev->conn, wss_error_message(ev->error));
        }
        wss_event_free(ev);
    }
    return NULL;
}

static int fail(const char *what) {
    wss_error_info e = {0};
    e.struct_size = sizeof e;
    wss_last_error(&e);
    fprintf(stderr, "%s: %s%s%s\n", what, e.message, e.hint ? " hint: " : "", e.hint ? e.hint : "");
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s CERT.pem KEY.pem [CLIENT_CA.pem]\n", argv[0]);
        return 2;
    }
    /* Block the stop signals before the library starts its threads, then wait for them here. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    wss_tls_config *tls = NULL;
    wss_options *opts = NULL;
    wss_server *server = NULL;
    if (wss_tls_config_new(&tls) != WSS_OK) return fail("tls config");
    if (wss_tls_config_load_pem_chain(tls, argv[1], argv[2], NULL) != WSS_OK) return fail("load certificate");
    /* With a CA: client certificates from it are requested and checked when a client sends one. */
    if (argc == 4 && (wss_tls_config_load_ca_file(tls, argv[3]) != WSS_OK ||
                      wss_tls_config_set_verify_mode(tls, WSS_VERIFY_OPTIONAL) != WSS_OK))
        return fail("load client CA");
    if (wss_options_new(&opts) != WSS_OK) return fail("options");
    wss_options_set_max_message_size(opts, 64u << 20);
    wss_options_set_max_connections(opts, 20000);
    const char *deflate = getenv("WSS_DEFLATE");
    if (deflate && deflate[0]) {
        int nct = strcmp(deflate, "nct") == 0;
        if (!nct && strcmp(deflate, "1") != 0) {
            fprintf(stderr, "WSS_DEFLATE must be 1 or nct, not '%s'\n", deflate);
            return 2;
        }
        if (wss_options_set_deflate(opts, 1) != WSS_OK) return fail("deflate");
        if (nct && wss_options_set_deflate_no_context_takeover(opts, 1, 1) != WSS_OK)
            return fail("deflate no context takeover");
    }
    const char *threads = getenv("WSS_IO_THREADS");
    if (threads) wss_options_set_io_threads(opts, (uint32_t)atoi(threads));
    wss_callbacks cb = {0};
    cb.struct_size = sizeof cb;
    cb.on_message = on_message;
    cb.on_error = getenv("WSS_QUIET") ? NULL : on_error;
    const char *pull_env = getenv("WSS_PULL");
    int pull = pull_env && pull_env[0] == '1';
    if (wss_server_new("127.0.0.1:0", tls, opts, pull ? NULL : &cb, NULL, NULL, &server) != WSS_OK) return fail("server");
    pthread_t puller;
    if (pull && pthread_create(&puller, NULL, pull_loop, server) != 0) {
        fprintf(stderr, "cannot start the pull thread\n");
        return 1;
    }
    wss_tls_config_free(tls);
    wss_options_free(opts);
    uint16_t port = 0;
    wss_server_port(server, &port);
    printf("PORT %u\n", port);
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    wss_server_close(server, 2000);
    if (pull) pthread_join(puller, NULL);
    wss_server_free(server);
    return 0;
}
