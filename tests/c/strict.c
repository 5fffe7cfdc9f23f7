/*
 * Strict failure behaviour (RFC 6455 sections 5, 7.1.7, 8.1) as a C host sees it; the Rust
 * side is tests/strict.rs. A plain ws:// callback server echoes every message from inside
 * on_message with wss_send. For each violation a raw peer (raw_peer.h) upgrades, then sends in
 * one write a valid masked text message "hello" followed by the bad frame, and checks:
 *  - on the wire: the echo of "hello" (0x81) first, then the server's close with the code
 *    (1002, or 1007 for invalid UTF-8), nothing between, then the end of the stream;
 *  - at the host: one on_error for that connection with wss_error_code WSS_ERR_PROTOCOL (also
 *    for invalid UTF-8: the library reports it as a protocol error, closed with 1007) and a
 *    plain-English message (naming the violation, no Rust debug formatting, the peer's
 *    address in the detail), then on_close with the same code.
 */
#include "check.h"
#include "raw_peer.h"

typedef struct {
    waiter w;
    uint64_t conn; /* the connection under test (the last one opened) */
    int opens;
    int errors; /* on_error for `conn` */
    wss_result error_code;
    char error_message[512];
    char error_peer[128];
    int closes; /* on_close for `conn` */
    uint16_t close_code;
    int strays;         /* on_error or on_close for any other connection */
    int echo_failures;  /* wss_send from on_message that failed */
    int other_messages; /* messages other than "hello" */
} state;

static state st;

static void on_open(void *ud, uint64_t conn) {
    state *s = (state *)ud;
    pthread_mutex_lock(&s->w.mu);
    s->conn = conn;
    s->opens++;
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static void on_message(void *ud, uint64_t conn, void *conn_ud, wss_message_kind kind,
                       const uint8_t *data, size_t len) {
    state *s = (state *)ud;
    wss_result rc = wss_send(conn, data, len, kind);
    (void)conn_ud;
    pthread_mutex_lock(&s->w.mu);
    if (rc != WSS_OK) {
        s->echo_failures++;
        fprintf(stderr, "echo on conn %llu failed: %s\n", (unsigned long long)conn,
                wss_result_str(rc));
    }
    if (kind != WSS_MESSAGE_TEXT || len != 5 || memcmp(data, "hello", 5) != 0) s->other_messages++;
    pthread_mutex_unlock(&s->w.mu);
}

static void on_error(void *ud, uint64_t conn, void *conn_ud, const wss_error *e) {
    state *s = (state *)ud;
    wss_error_info info = error_info_init();
    const char *msg = wss_error_message(e);
    int have_info = wss_error_get_info(e, &info) == WSS_OK;
    (void)conn_ud;
    pthread_mutex_lock(&s->w.mu);
    if (conn == s->conn && conn != 0) {
        s->errors++;
        s->error_code = wss_error_code(e);
        snprintf(s->error_message, sizeof s->error_message, "%s", msg ? msg : "");
        snprintf(s->error_peer, sizeof s->error_peer, "%s",
                 have_info && info.peer_address ? info.peer_address : "");
    } else {
        s->strays++;
        fprintf(stderr, "stray on_error (conn %llu): %s\n", (unsigned long long)conn,
                msg ? msg : "(null)");
    }
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static void on_close(void *ud, uint64_t conn, void *conn_ud, uint16_t code, const char *reason) {
    state *s = (state *)ud;
    (void)conn_ud;
    (void)reason;
    pthread_mutex_lock(&s->w.mu);
    if (conn == s->conn && conn != 0) {
        s->closes++;
        s->close_code = code;
    } else {
        s->strays++;
        fprintf(stderr, "stray on_close (conn %llu): %u\n", (unsigned long long)conn,
                (unsigned)code);
    }
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

typedef struct {
    state *s;
    int opens;
} open_goal;

static int opened(void *a) {
    const open_goal *g = (const open_goal *)a;
    return g->s->opens >= g->opens;
}

static int told(void *a) {
    const state *s = (const state *)a;
    return s->errors > 0 && s->closes > 0;
}

/* One violation: the bad frame's first byte and payload, whether it is masked, the close code
 * and words the host's error must contain. */
typedef struct {
    const char *name;
    unsigned char first;
    const unsigned char *payload;
    size_t len;
    int masked;
    uint16_t code;
    const char *says;
} violation;

static void run(uint16_t port, const violation *v) {
    unsigned char wire[256], got[256];
    char head[1024];
    size_t n, m, got_len = 0;
    int fd, first;
    open_goal g;

    fprintf(stderr, "case: %s\n", v->name);
    pthread_mutex_lock(&st.w.mu);
    st.conn = 0;
    st.errors = st.closes = 0;
    st.error_code = WSS_OK;
    st.error_message[0] = st.error_peer[0] = '\0';
    st.close_code = 0;
    g.s = &st;
    g.opens = st.opens + 1;
    pthread_mutex_unlock(&st.w.mu);

    fd = raw_connect(port);
    if (!CHECK(fd >= 0)) return;
    if (!CHECK(raw_upgrade(fd, "/", "", head, sizeof head) == 101) ||
        !CHECK(waiter_wait(&st.w, opened, &g, WAIT_MS))) {
        close(fd);
        return;
    }

    /* "hello" and the violation in one write. */
    n = raw_frame(wire, sizeof wire, 0x81, (const unsigned char *)"hello", 5, 1);
    m = raw_frame(wire + n, sizeof wire - n, v->first, v->payload, v->len, v->masked);
    if (!CHECK(n > 0 && m > 0) || !CHECK(send(fd, wire, n + m, 0) == (ssize_t)(n + m))) {
        close(fd);
        return;
    }

    /* The echo first, then our close with the code, then the end. */
    first = raw_read_frame_payload(fd, got, sizeof got, &got_len, WAIT_MS);
    if (!CHECK(first == 0x81 && got_len == 5 && memcmp(got, "hello", 5) == 0))
        fprintf(stderr, "  %s: first frame 0x%x, %zu bytes\n", v->name, (unsigned)first, got_len);
    first = raw_read_frame_payload(fd, got, sizeof got, &got_len, WAIT_MS);
    if (!CHECK(first == 0x88 && got_len >= 2 && ((got[0] << 8) | got[1]) == v->code))
        fprintf(stderr, "  %s: second frame 0x%x, %zu bytes\n", v->name, (unsigned)first,
                got_len);
    CHECK(raw_read_eof(fd, WAIT_MS));

    /* The host was told: the error for this connection, then its close. */
    pthread_mutex_lock(&st.w.mu);
    if (CHECK(waiter_wait_locked(&st.w, told, &st, WAIT_MS))) {
        if (!CHECK(st.error_code == WSS_ERR_PROTOCOL))
            fprintf(stderr, "  %s: error code %d\n", v->name, (int)st.error_code);
        if (!CHECK(nonempty(st.error_message) && contains(st.error_message, v->says) &&
                   !contains(st.error_message, "{") &&
                   !contains(st.error_message, "Incomplete")))
            fprintf(stderr, "  %s: message '%s' (want '%s')\n", v->name, st.error_message,
                    v->says);
        if (!CHECK(contains(st.error_peer, "127.0.0.1:")))
            fprintf(stderr, "  %s: peer address '%s'\n", v->name, st.error_peer);
        CHECK(st.close_code == v->code);
        CHECK(st.errors == 1 && st.closes == 1);
    }
    pthread_mutex_unlock(&st.w.mu);
    close(fd);
}

int main(void) {
    static const unsigned char x[] = {'x'};
    static const unsigned char zero[] = {0x00};
    static const unsigned char bad_utf8[] = {0xc3, 0x28};
    static const violation cases[] = {
        {"reserved data opcode", 0x83, x, 1, 1, WSS_CLOSE_PROTOCOL_ERROR, "invalid opcode 3"},
        {"RSV2 on a text frame", 0xA1, x, 1, 1, WSS_CLOSE_PROTOCOL_ERROR, "RSV2/RSV3"},
        {"continuation with nothing to continue", 0x80, x, 1, 1, WSS_CLOSE_PROTOCOL_ERROR,
         "nothing to continue"},
        {"unmasked frame", 0x82, zero, 1, 0, WSS_CLOSE_PROTOCOL_ERROR, "unmasked frame"},
        {"invalid UTF-8 in a text frame", 0x81, bad_utf8, 2, 1, WSS_CLOSE_INVALID_PAYLOAD,
         "peer sent invalid UTF-8 in a text message"},
    };
    wss_callbacks cb = callbacks_init();
    wss_server *server = NULL;
    uint16_t port = 0;
    size_t i;

    memset(&st, 0, sizeof st);
    waiter_init(&st.w);
    cb.on_open = on_open;
    cb.on_message = on_message;
    cb.on_error = on_error;
    cb.on_close = on_close;
    if (CHECK_OK(plain_server(0, &cb, &st, NULL, &server, &port))) {
        for (i = 0; i < sizeof cases / sizeof cases[0]; i++) run(port, &cases[i]);
        CHECK_OK(wss_server_close(server, WAIT_MS));
    }
    wss_server_free(server);
    pthread_mutex_lock(&st.w.mu);
    CHECK(st.strays == 0);
    CHECK(st.echo_failures == 0);
    CHECK(st.other_messages == 0);
    CHECK(st.opens == (int)(sizeof cases / sizeof cases[0]));
    pthread_mutex_unlock(&st.w.mu);
    waiter_destroy(&st.w);
    return check_summary();
}
