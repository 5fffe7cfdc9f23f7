/*
 * permessage-deflate through the C options:
 *  - a C client and a C echo server, both with wss_options_set_deflate (the client asks for a
 *    10-bit server window and compresses without context takeover): wss_conn_info_get's
 *    `extensions` names what was agreed on both sides, and text, binary and a
 *    WSS_SEND_NO_COMPRESS message come back byte for byte;
 *  - against a raw peer that offers permessage-deflate: a compressible message goes out with
 *    RSV1 set, the same message with WSS_SEND_NO_COMPRESS without it.
 */
#include "check.h"
#include "raw_peer.h"

#define AGREED "permessage-deflate; client_no_context_takeover; server_max_window_bits=10"

typedef struct {
    waiter w;
    uint64_t conn;
    int opens, closes, errors, messages;
    wss_message_kind kind;
    unsigned char *data;
    size_t len;
} side;

static side srv, cli;

static void on_open(void *ud, uint64_t conn) {
    side *s = (side *)ud;
    pthread_mutex_lock(&s->w.mu);
    s->conn = conn;
    s->opens++;
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

/* The server echoes; the client keeps the last message. */
static void on_message(void *ud, uint64_t conn, void *conn_ud, wss_message_kind kind,
                       const uint8_t *data, size_t len) {
    side *s = (side *)ud;
    (void)conn_ud;
    if (s == &srv) {
        CHECK_OK(wss_send(conn, data, len, kind));
        return;
    }
    pthread_mutex_lock(&s->w.mu);
    free(s->data);
    s->data = (unsigned char *)malloc(len ? len : 1);
    if (s->data) memcpy(s->data, data, len);
    s->len = len;
    s->kind = kind;
    s->messages++;
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static void on_close(void *ud, uint64_t conn, void *conn_ud, uint16_t code, const char *reason) {
    side *s = (side *)ud;
    (void)conn, (void)conn_ud, (void)code, (void)reason;
    count_up(&s->w, &s->closes);
}

static void on_error(void *ud, uint64_t conn, void *conn_ud, const wss_error *e) {
    side *s = (side *)ud;
    (void)conn_ud;
    count_error_event(&s->w, &s->errors, conn, e);
}

static int opened(void *a) { return ((side *)a)->opens > 0; }

static wss_callbacks callbacks(void) {
    wss_callbacks cb = callbacks_init();
    cb.on_open = on_open;
    cb.on_message = on_message;
    cb.on_close = on_close;
    cb.on_error = on_error;
    return cb;
}

/* wss_conn_info_get(conn)->extensions equals `want` (NULL: none). */
static void extensions_are(uint64_t conn, const char *want) {
    wss_conn_info *info = NULL;
    if (!CHECK_OK(wss_conn_info_get(conn, &info))) return;
    CHECK(info->struct_size >= offsetof(wss_conn_info, extensions) + sizeof info->extensions);
    if (want == NULL) {
        CHECK(info->extensions == NULL);
    } else if (!CHECK(info->extensions != NULL && strcmp(info->extensions, want) == 0)) {
        fprintf(stderr, "  extensions: %s\n", info->extensions ? info->extensions : "(null)");
    }
    wss_conn_info_free(info);
}

/* Send `len` bytes with `flags` from the client and check the echo. */
static void echo(wss_message_kind kind, size_t len, wss_send_flags flags) {
    unsigned char *msg = (unsigned char *)malloc(len ? len : 1);
    int before;
    if (!CHECK(msg != NULL)) return;
    fill_pattern(msg, len, (unsigned)len);
    before = read_count(&cli.w, &cli.messages);
    if (CHECK_OK(wss_send_ex(cli.conn, msg, len, kind, flags)) &&
        CHECK(wait_count(&cli.w, &cli.messages, before + 1, WAIT_MS))) {
        pthread_mutex_lock(&cli.w.mu);
        if (!CHECK(cli.kind == kind && cli.len == len && memcmp(cli.data, msg, len) == 0))
            fprintf(stderr, "  echo of %zu bytes (flags %u) differs\n", len, (unsigned)flags);
        pthread_mutex_unlock(&cli.w.mu);
    }
    free(msg);
}

static void echo_between_c_endpoints(void) {
    wss_options *so = generous_options(), *co = generous_options();
    wss_callbacks cb = callbacks();
    wss_server *server = NULL;
    wss_client *client = NULL;
    uint16_t port = 0;
    char url[64];
    size_t big = test_light() ? 64 * 1024 : 1024 * 1024;

    memset(&srv, 0, sizeof srv);
    memset(&cli, 0, sizeof cli);
    waiter_init(&srv.w);
    waiter_init(&cli.w);
    if (!CHECK(so != NULL && co != NULL)) return;
    CHECK_OK(wss_options_set_deflate(so, 1));
    CHECK_OK(wss_options_set_deflate(co, 1));
    CHECK_OK(wss_options_set_deflate_max_window_bits(co, 10, 15));
    CHECK_OK(wss_options_set_deflate_no_context_takeover(co, 0, 1));
    if (CHECK_OK(wss_server_new("127.0.0.1:0", NULL, so, &cb, &srv, NULL, &server)) &&
        CHECK_OK(wss_server_port(server, &port))) {
        snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)port);
        if (CHECK_OK(wss_client_connect(url, NULL, co, &cb, &cli, NULL, &client)) &&
            CHECK(waiter_wait(&srv.w, opened, &srv, WAIT_MS)) &&
            CHECK(waiter_wait(&cli.w, opened, &cli, WAIT_MS))) {
            extensions_are(cli.conn, AGREED);
            extensions_are(srv.conn, AGREED);
            echo(WSS_MESSAGE_TEXT, 0, 0);
            echo(WSS_MESSAGE_TEXT, 100, 0);
            echo(WSS_MESSAGE_TEXT, 100, 0); /* the second one without the client's context */
            echo(WSS_MESSAGE_BINARY, big, 0);
            echo(WSS_MESSAGE_TEXT, 5000, WSS_SEND_NO_COMPRESS);
            CHECK_OK(wss_client_close(client, 1000, "bye", WAIT_MS));
            CHECK(wait_count(&srv.w, &srv.closes, 1, WAIT_MS));
        }
    }
    wss_client_free(client);
    if (server) CHECK_OK(wss_server_close(server, WAIT_MS));
    wss_server_free(server);
    CHECK(read_count(&srv.w, &srv.errors) == 0 && read_count(&cli.w, &cli.errors) == 0);
    wss_options_free(so);
    wss_options_free(co);
    free(cli.data);
    waiter_destroy(&srv.w);
    waiter_destroy(&cli.w);
}

static void rsv1_on_the_wire(void) {
    wss_options *so = generous_options();
    wss_callbacks cb = callbacks();
    wss_server *server = NULL;
    uint16_t port = 0;
    char head[1024];
    unsigned char msg[1000];
    int fd = -1;

    memset(&srv, 0, sizeof srv);
    waiter_init(&srv.w);
    fill_pattern(msg, sizeof msg, 3);
    if (CHECK(so != NULL) && CHECK_OK(wss_options_set_deflate(so, 1)) &&
        CHECK_OK(wss_server_new("127.0.0.1:0", NULL, so, &cb, &srv, NULL, &server)) &&
        CHECK_OK(wss_server_port(server, &port))) {
        fd = raw_connect(port);
        if (CHECK(fd >= 0) &&
            CHECK(raw_upgrade(fd, "/", "Sec-WebSocket-Extensions: permessage-deflate\r\n", head,
                              sizeof head) == 101) &&
            CHECK(head_has(head, "Sec-WebSocket-Extensions: permessage-deflate")) &&
            CHECK(waiter_wait(&srv.w, opened, &srv, WAIT_MS))) {
            CHECK_OK(wss_send(srv.conn, msg, sizeof msg, WSS_MESSAGE_TEXT));
            CHECK_OK(wss_send_ex(srv.conn, msg, sizeof msg, WSS_MESSAGE_TEXT, WSS_SEND_NO_COMPRESS));
            CHECK(raw_read_frame_first(fd, WAIT_MS) == 0xC1); /* FIN, RSV1, text */
            CHECK(raw_read_frame_first(fd, WAIT_MS) == 0x81); /* FIN, text */
        }
    }
    if (fd >= 0) close(fd);
    if (server) CHECK_OK(wss_server_close(server, WAIT_MS));
    wss_server_free(server);
    wss_options_free(so);
    waiter_destroy(&srv.w);
}

int main(void) {
    echo_between_c_endpoints();
    rsv1_on_the_wire();
    return check_summary();
}
