/*
 * The server process tests/hostile.rs attacks: an echo server on the C ABI, as a C host writes
 * one, that reports every error its callbacks get on stdout, one line each:
 *
 *   ERROR <kind> | <message> | <hint>
 *   SEND <result> | connection <id>      (an echo refused, e.g. "send queue full"; once per
 *                                         connection)
 *
 * so the test can check that the host was told. Prints "PORT <n>" once listening on 127.0.0.1,
 * serves until its standard input closes (the test ends it that way, or by dying), then closes
 * gracefully. One I/O thread (so one peer's attack competes with everyone), a 1 MiB send queue.
 * Environment: WSS_HANDSHAKE_TIMEOUT_MS (default 10000).
 *
 *   attack_server CERT.pem KEY.pem
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "wss.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_message(void *user_data, uint64_t conn, void *conn_user_data, wss_message_kind kind,
                       const uint8_t *data, size_t len) {
    (void)user_data;
    (void)conn_user_data;
    /* A peer that never reads fills its send queue: the host learns it here (once per
     * connection on this line), and reading that peer pauses by itself until it drains. */
    static uint64_t reported;
    wss_result r = wss_send(conn, data, len, kind);
    if (r != WSS_OK && conn != reported) {
        reported = conn; /* only the I/O thread calls this: no lock needed */
        pthread_mutex_lock(&out_lock);
        printf("SEND %s | connection %llu\n", wss_result_str(r), (unsigned long long)conn);
        fflush(stdout);
        pthread_mutex_unlock(&out_lock);
    }
}

static void on_error(void *user_data, uint64_t conn, void *conn_user_data, const wss_error *e) {
    (void)user_data;
    (void)conn;
    (void)conn_user_data;
    wss_error_info info = {0};
    info.struct_size = sizeof info;
    if (wss_error_get_info(e, &info) != WSS_OK) return;
    pthread_mutex_lock(&out_lock);
    printf("ERROR %s | %s | %s\n", info.kind ? info.kind : "?", info.message ? info.message : "",
           info.hint ? info.hint : "");
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
}

static int fail(const char *what) {
    wss_error_info e = {0};
    e.struct_size = sizeof e;
    wss_last_error(&e);
    fprintf(stderr, "%s: %s\n", what, e.message ? e.message : "");
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s CERT.pem KEY.pem\n", argv[0]);
        return 2;
    }
    wss_tls_config *tls = NULL;
    wss_options *opts = NULL;
    wss_server *server = NULL;
    if (wss_tls_config_new(&tls) != WSS_OK) return fail("tls config");
    if (wss_tls_config_load_pem_chain(tls, argv[1], argv[2], NULL) != WSS_OK) return fail("load certificate");
    if (wss_options_new(&opts) != WSS_OK) return fail("options");
    if (wss_options_set_io_threads(opts, 1) != WSS_OK) return fail("io threads");
    if (wss_options_set_send_queue_limit(opts, 1u << 20) != WSS_OK) return fail("send queue limit");
    const char *timeout = getenv("WSS_HANDSHAKE_TIMEOUT_MS");
    if (timeout && wss_options_set_handshake_timeout_ms(opts, (uint32_t)atoi(timeout)) != WSS_OK)
        return fail("handshake timeout");
    wss_callbacks cb = {0};
    cb.struct_size = sizeof cb;
    cb.on_message = on_message;
    cb.on_error = on_error;
    if (wss_server_new("127.0.0.1:0", tls, opts, &cb, NULL, NULL, &server) != WSS_OK) return fail("server");
    wss_tls_config_free(tls);
    wss_options_free(opts);
    uint16_t port = 0;
    if (wss_server_port(server, &port) != WSS_OK) return fail("port");
    pthread_mutex_lock(&out_lock);
    printf("PORT %u\n", port);
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
    while (getchar() != EOF) {
    }
    wss_server_close(server, 2000);
    wss_server_free(server);
    return 0;
}
