/*
 * Limits set through the C options, against a hand-made peer (raw_peer.h):
 *  - backpressure: with a 64 KiB send queue limit and a peer that never reads, wss_send returns
 *    WSS_ERR_BACKPRESSURE (with that code in wss_last_error) whenever 64 KiB wait unsent; the
 *    host retries as the queue drains into the socket, until the socket buffers are full and
 *    the queue stays full (no progress for 3 s): many times the limit went out by then, and
 *    sends keep failing with WSS_ERR_BACKPRESSURE;
 *  - keepalive: a peer that stops answering gets pings, then is closed with 1006 and an
 *    on_error carrying WSS_ERR_TIMEOUT for its connection.
 */
#include "check.h"
#include "raw_peer.h"

#include <sched.h>

#define MSG 4096
#define LIMIT (64 * 1024)
#define MAX_SENDS 100000 /* 400 MB: far beyond any socket buffer */
#define STUCK_MS 3000.0  /* no drain for this long: the socket is full */

typedef struct {
    waiter w;
    uint64_t conn;
    int opens, closes;
    uint16_t close_code;
    int timeouts;     /* on_error WSS_ERR_TIMEOUT for `conn` */
    int other_errors; /* anything else, while it matters */
    int peer_gone;    /* the raw peer closed its socket: errors are expected from then on */
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

static void on_close(void *ud, uint64_t conn, void *conn_ud, uint16_t code, const char *reason) {
    state *s = (state *)ud;
    (void)conn_ud;
    (void)reason;
    pthread_mutex_lock(&s->w.mu);
    if (conn == s->conn) {
        s->closes++;
        s->close_code = code;
    }
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static void on_error(void *ud, uint64_t conn, void *conn_ud, const wss_error *e) {
    state *s = (state *)ud;
    (void)conn_ud;
    pthread_mutex_lock(&s->w.mu);
    if (conn == s->conn && wss_error_code(e) == WSS_ERR_TIMEOUT) {
        s->timeouts++;
    } else if (!s->peer_gone) {
        s->other_errors++;
        fprintf(stderr, "on_error (conn %llu): %d %s\n", (unsigned long long)conn,
                (int)wss_error_code(e), wss_error_message(e));
    }
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static int opened(void *a) { return ((state *)a)->opens > 0; }
static int timed_out(void *a) { return ((state *)a)->closes > 0 && ((state *)a)->timeouts > 0; }

/* A callback server with `opts`, and a raw peer upgraded on it. */
static int start(wss_options *opts, wss_server **server, int *fd) {
    wss_callbacks cb = callbacks_init();
    uint16_t port = 0;
    char head[1024];
    memset(&st, 0, sizeof st);
    waiter_init(&st.w);
    cb.on_open = on_open;
    cb.on_close = on_close;
    cb.on_error = on_error;
    if (!CHECK_OK(wss_server_new("127.0.0.1:0", NULL, opts, &cb, &st, NULL, server))) return 0;
    CHECK_OK(wss_server_port(*server, &port));
    *fd = raw_connect(port);
    if (!CHECK(*fd >= 0)) return 0;
    if (!CHECK(raw_upgrade(*fd, "/", "", head, sizeof head) == 101)) return 0;
    return CHECK(waiter_wait(&st.w, opened, &st, WAIT_MS));
}

static void stop(wss_server *server, int fd) {
    pthread_mutex_lock(&st.w.mu);
    st.peer_gone = 1;
    pthread_mutex_unlock(&st.w.mu);
    if (fd >= 0) close(fd);
    if (server) CHECK_OK(wss_server_close(server, WAIT_MS));
    wss_server_free(server);
    waiter_destroy(&st.w);
}

static void backpressure(void) {
    wss_options *opts = generous_options();
    wss_server *server = NULL;
    unsigned char msg[MSG];
    size_t buffered = 0;
    wss_result rc = WSS_OK;
    uint64_t conn;
    int fd = -1, sent = 0;

    if (!CHECK(opts != NULL)) return;
    CHECK_OK(wss_options_set_send_queue_limit(opts, LIMIT));
    if (start(opts, &server, &fd)) {
        int stuck = 0, refusals = 0;
        pthread_mutex_lock(&st.w.mu);
        conn = st.conn;
        pthread_mutex_unlock(&st.w.mu);
        fill_pattern(msg, sizeof msg, 1);
        while (sent < MAX_SENDS && !stuck) {
            double since;
            rc = wss_send(conn, msg, sizeof msg, WSS_MESSAGE_BINARY);
            if (rc == WSS_OK) {
                sent++;
                continue;
            }
            if (!CHECK_ERR(rc, WSS_ERR_BACKPRESSURE)) break;
            refusals++;
            /* Full: wait for the queue to drain below the limit, or for it to stay put. */
            since = now_ms();
            for (;;) {
                if (wss_conn_buffered_amount(conn, &buffered) != WSS_OK) {
                    CHECK(!"wss_conn_buffered_amount failed");
                    break;
                }
                if (buffered + MSG <= LIMIT) break;
                if (now_ms() - since > STUCK_MS) {
                    stuck = 1;
                    break;
                }
                sched_yield();
            }
        }
        CHECK(stuck);
        CHECK(refusals > 0);
        /* Far more than the queue limit went out: the limit is on bytes not yet in the
         * socket, and the socket buffers took the rest. */
        if (!CHECK((size_t)sent * MSG > 4u * LIMIT))
            fprintf(stderr, "  only %d sends of %d bytes\n", sent, MSG);
        CHECK_OK(wss_conn_buffered_amount(conn, &buffered));
        CHECK(buffered > 0 && buffered <= LIMIT + MSG);
        /* Still backpressured: the peer still reads nothing. */
        CHECK_ERR(wss_send(conn, msg, sizeof msg, WSS_MESSAGE_BINARY), WSS_ERR_BACKPRESSURE);
        pthread_mutex_lock(&st.w.mu);
        CHECK(st.other_errors == 0 && st.closes == 0);
        pthread_mutex_unlock(&st.w.mu);
    }
    stop(server, fd);
    wss_options_free(opts);
}

static void keepalive(void) {
    wss_options *opts = generous_options();
    wss_server *server = NULL;
    int fd = -1, opcode = -1, ok;

    if (!CHECK(opts != NULL)) return;
    CHECK_OK(wss_options_set_keepalive(opts, 300, 1000));
    if (start(opts, &server, &fd)) {
        /* The server pings the silent peer (opcode 9), which never answers. */
        opcode = raw_read_frame(fd, WAIT_MS);
        CHECK(opcode == 9);
        ok = waiter_wait(&st.w, timed_out, &st, WAIT_MS);
        pthread_mutex_lock(&st.w.mu);
        if (CHECK(ok)) {
            CHECK(st.close_code == WSS_CLOSE_ABNORMAL);
            CHECK(st.closes == 1 && st.timeouts == 1);
        }
        CHECK(st.other_errors == 0);
        pthread_mutex_unlock(&st.w.mu);
    }
    stop(server, fd);
    wss_options_free(opts);
}

int main(void) {
    backpressure();
    keepalive();
    return check_summary();
}
