/*
 * Pull mode (callbacks NULL) on both ends, everything handled on this thread:
 * OPEN, MESSAGE (echoed by the host with wss_send after wss_server_next_event; small and
 * 200 KiB payloads), PONG and CLOSE
 * arrive in order; next_event with timeout 0 on an idle server gives WSS_ERR_TIMEOUT; after
 * wss_server_close and draining, WSS_ERR_CLOSED; a callback-mode server or client gives
 * WSS_ERR_INVALID_STATE; wss_server_close wakes a host thread waiting in next_event; with a
 * 1-byte event queue limit the server reads one message per event taken, losing none; freeing
 * a server whose connections are paused leaks no descriptor.
 */
#include "check.h"

#include <dirent.h>
#include <sched.h>
#include <unistd.h>

/* Timeout given to next_event on a closed endpoint (it must not be waited out). */
#define CLOSED_TIMEOUT_MS 4000u

/* Next server event (bounded wait); NULL on failure (counted). */
static wss_event *server_event(wss_server *s) {
    wss_event *ev = NULL;
    if (!CHECK_OK(wss_server_next_event(s, WAIT_MS, &ev))) return NULL;
    CHECK(ev != NULL);
    return ev;
}

static wss_event *client_event(wss_client *c) {
    wss_event *ev = NULL;
    if (!CHECK_OK(wss_client_next_event(c, WAIT_MS, &ev))) return NULL;
    CHECK(ev != NULL);
    return ev;
}

static int is_event(const wss_event *ev, wss_event_type type, uint64_t conn) {
    if (ev == NULL) return 0;
    if (ev->event_type != type || ev->conn != conn) {
        fprintf(stderr, "  got event type %d on conn %llu, wanted type %d on conn %llu\n",
                (int)ev->event_type, (unsigned long long)ev->conn, (int)type,
                (unsigned long long)conn);
        if (ev->event_type == WSS_EVENT_ERROR && ev->error)
            fprintf(stderr, "  error: %s\n", wss_error_message(ev->error));
        return 0;
    }
    return 1;
}

static int same_payload(const wss_event *ev, const void *data, size_t len) {
    return ev->len == len && (len == 0 || (ev->data != NULL && memcmp(ev->data, data, len) == 0));
}

/* One message from the client, echoed by the host via the server's queue. */
static void round_trip(wss_server *server, wss_client *client, uint64_t sconn, uint64_t cconn,
                       wss_message_kind kind, const unsigned char *data, size_t len) {
    wss_event *ev;
    CHECK_OK(wss_send(cconn, data, len, kind));
    ev = server_event(server);
    if (CHECK(is_event(ev, WSS_EVENT_MESSAGE, sconn))) {
        CHECK(ev->kind == kind);
        CHECK(same_payload(ev, data, len));
        CHECK(ev->reason == NULL && ev->error == NULL);
        /* Echo from the host thread, using the event's data before freeing it. */
        CHECK_OK(wss_send(sconn, ev->data, ev->len, ev->kind));
    }
    wss_event_free(ev);
    ev = client_event(client);
    if (CHECK(is_event(ev, WSS_EVENT_MESSAGE, cconn))) {
        CHECK(ev->kind == kind);
        CHECK(same_payload(ev, data, len));
    }
    wss_event_free(ev);
}

struct taker {
    wss_server *server;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int started;
    wss_result rc;
    double took_ms;
};

static void *take_one(void *arg) {
    struct taker *t = arg;
    wss_event *ev = NULL;
    double t0;
    pthread_mutex_lock(&t->mu);
    t->started = 1;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    t0 = now_ms();
    t->rc = wss_server_next_event(t->server, WAIT_MS, &ev);
    t->took_ms = now_ms() - t0;
    wss_event_free(ev);
    return NULL;
}

/* A host thread waiting in next_event on an idle server is woken by wss_server_close from
 * another thread with WSS_ERR_CLOSED, instead of sleeping out its timeout. */
static void close_wakes_a_waiting_taker(void) {
    struct taker t;
    pthread_t th;
    memset(&t, 0, sizeof t);
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cv, NULL);
    if (!CHECK_OK(wss_server_new("127.0.0.1:0", NULL, NULL, NULL, NULL, NULL, &t.server))) return;
    if (CHECK(pthread_create(&th, NULL, take_one, &t) == 0)) {
        /* The taker is about to wait. Whether it is asleep before the server counts as closed
         * (woken) or only calls in after (answered at once), it must get WSS_ERR_CLOSED
         * promptly; the unit tests in src/pull.rs check the wake-up itself
         * deterministically. */
        pthread_mutex_lock(&t.mu);
        while (!t.started) pthread_cond_wait(&t.cv, &t.mu);
        pthread_mutex_unlock(&t.mu);
        CHECK_OK(wss_server_close(t.server, WAIT_MS));
        pthread_join(th, NULL);
        CHECK(t.rc == WSS_ERR_CLOSED);
        if (!CHECK(t.took_ms < WAIT_MS / 2))
            fprintf(stderr, "  the waiting taker returned after %.0f ms\n", t.took_ms);
    }
    wss_server_free(t.server);
    pthread_mutex_destroy(&t.mu);
    pthread_cond_destroy(&t.cv);
}

/* An event queue limit of 1 byte: the server reads one message, then waits for the host to
 * take it before reading the next (the rest back up in TCP). All arrive, in order. */
static void tiny_event_queue_keeps_order(void) {
    enum { COUNT = 60 };
    wss_options *opts = generous_options();
    wss_server *server = NULL;
    wss_client *client = NULL;
    uint16_t port = 0;
    uint64_t cconn = 0, sconn = 0;
    unsigned char msg[2048];
    char url[64];
    int i;
    wss_event *ev;

    if (!CHECK(opts != NULL)) return;
    CHECK_OK(wss_options_set_event_queue_limit(opts, 1));
    if (!CHECK_OK(wss_server_new("127.0.0.1:0", NULL, opts, NULL, NULL, NULL, &server))) goto out;
    CHECK_OK(wss_server_port(server, &port));
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)port);
    if (!CHECK_OK(wss_client_connect(url, NULL, NULL, NULL, NULL, NULL, &client))) goto out;
    CHECK_OK(wss_client_conn_id(client, &cconn));
    ev = server_event(server);
    if (CHECK(ev != NULL && ev->event_type == WSS_EVENT_OPEN)) sconn = ev->conn;
    wss_event_free(ev);
    for (i = 0; i < COUNT; i++) {
        fill_pattern(msg, sizeof msg, (unsigned)i);
        CHECK_OK(wss_send(cconn, msg, sizeof msg, WSS_MESSAGE_BINARY));
    }
    for (i = 0; i < COUNT; i++) {
        ev = server_event(server);
        fill_pattern(msg, sizeof msg, (unsigned)i);
        if (!CHECK(is_event(ev, WSS_EVENT_MESSAGE, sconn) && same_payload(ev, msg, sizeof msg))) {
            fprintf(stderr, "  message %d out of order or damaged\n", i);
            wss_event_free(ev);
            break;
        }
        wss_event_free(ev);
    }
    CHECK_OK(wss_client_close(client, 1000, NULL, WAIT_MS));
    ev = server_event(server);
    if (CHECK(is_event(ev, WSS_EVENT_CLOSE, sconn))) CHECK(ev->close_code == 1000);
    wss_event_free(ev);
out:
    wss_client_free(client);
    if (server) CHECK_OK(wss_server_close(server, WAIT_MS));
    wss_server_free(server);
    wss_options_free(opts);
}

/* Open eventfds of this process (Linux): each I/O thread's waker holds one. Sockets are left
 * out, because clients close theirs asynchronously. */
static int open_eventfds(void) {
    int n = 0;
    char path[300], target[64];
    ssize_t len;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        len = readlink(path, target, sizeof target - 1);
        if (len <= 0) continue;
        target[len] = '\0';
        if (strstr(target, "eventfd")) n++;
    }
    closedir(d);
    return n;
}

/* Closing and freeing a pull-mode server whose connection is paused for room (events not
 * taken) releases everything: a paused connection once kept the queue, its handler and the I/O
 * threads' wakers (eventfds) alive through a reference cycle. wss_server_close joins the I/O
 * threads, so the count is exact once it returns. */
static void freeing_with_paused_connections_leaks_nothing(void) {
    enum { ROUNDS = 4, MSGS = 8 };
    unsigned char msg[16384];
    int fds_before = -1, r, i;
    memset(msg, 7, sizeof msg);
    for (r = 0; r < ROUNDS; r++) {
        wss_options *opts = generous_options();
        wss_server *server = NULL;
        wss_client *client = NULL;
        uint16_t port = 0;
        uint64_t cconn = 0;
        char url[64];
        wss_event *ev;
        if (!CHECK(opts != NULL)) return;
        CHECK_OK(wss_options_set_event_queue_limit(opts, 1024));
        if (CHECK_OK(wss_server_new("127.0.0.1:0", NULL, opts, NULL, NULL, NULL, &server))) {
            CHECK_OK(wss_server_port(server, &port));
            snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)port);
            if (CHECK_OK(wss_client_connect(url, NULL, NULL, NULL, NULL, NULL, &client))) {
                CHECK_OK(wss_client_conn_id(client, &cconn));
                ev = server_event(server);
                CHECK(ev != NULL && ev->event_type == WSS_EVENT_OPEN);
                wss_event_free(ev);
                for (i = 0; i < MSGS; i++) CHECK_OK(wss_send(cconn, msg, sizeof msg, WSS_MESSAGE_BINARY));
                /* Everything the client sent is on the socket, so it reaches the server before
                 * the client's answer to our close: the server reads one message (past the
                 * limit, none taken) and pauses or, closing, parks and reads on. */
                {
                    size_t left = 1;
                    double t0 = now_ms();
                    while (left != 0 && now_ms() - t0 < WAIT_MS) {
                        if (!CHECK_OK(wss_conn_buffered_amount(cconn, &left))) break;
                        if (left) sched_yield();
                    }
                    CHECK(left == 0);
                }
            }
            /* Close and free without taking the rest. */
            CHECK_OK(wss_server_close(server, WAIT_MS));
            wss_server_free(server);
        }
        wss_client_free(client);
        wss_options_free(opts);
        /* The first round starts the process-wide client I/O threads: count from the second. */
        if (r == 0) fds_before = open_eventfds();
    }
    if (!CHECK(fds_before >= 0 && open_eventfds() == fds_before))
        fprintf(stderr, "  open eventfds: %d after the first round, %d at the end\n", fds_before,
                open_eventfds());
}

static void callback_mode_rejects_pull(void) {
    wss_server *server = NULL;
    wss_client *client = NULL;
    wss_callbacks cb;
    wss_event *ev = (wss_event *)&cb; /* must be reset to NULL */
    uint16_t port = 0;
    char url[64];

    memset(&cb, 0, sizeof cb); /* all callbacks NULL: still callback mode */
    cb.struct_size = (uint32_t)sizeof cb;
    if (!CHECK_OK(wss_server_new("127.0.0.1:0", NULL, NULL, &cb, NULL, NULL, &server))) return;
    CHECK_ERR(wss_server_next_event(server, 0, &ev), WSS_ERR_INVALID_STATE);
    CHECK(ev == NULL);
    CHECK_ERR(wss_server_next_event(server, 10, &ev), WSS_ERR_INVALID_STATE);
    CHECK_OK(wss_server_port(server, &port));
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)port);
    if (CHECK_OK(wss_client_connect(url, NULL, NULL, &cb, NULL, NULL, &client))) {
        CHECK_ERR(wss_client_next_event(client, 0, &ev), WSS_ERR_INVALID_STATE);
        CHECK(ev == NULL);
        CHECK_OK(wss_client_close(client, 1000, NULL, WAIT_MS));
    }
    wss_client_free(client);
    CHECK_OK(wss_server_close(server, WAIT_MS));
    CHECK_ERR(wss_server_next_event(server, 0, &ev), WSS_ERR_INVALID_STATE);
    wss_server_free(server);
}

int main(void) {
    const char *ca = need_env("WSS_CA_PEM");
    wss_tls_config *stls = NULL, *ctls = NULL;
    wss_server *server = NULL;
    wss_client *client = NULL;
    wss_event *ev = NULL;
    wss_options *opts = generous_options();
    uint16_t port = 0;
    uint64_t sconn = 0, cconn = 0, active = 99;
    char url[64];
    unsigned char buf[300];
    int drained, i;
    wss_result rc;

    CHECK(opts != NULL);
    CHECK_OK(wss_tls_config_new(&stls));
    CHECK_OK(wss_tls_config_load_pfx_file(stls, need_env("WSS_SERVER_P12"),
                                          need_env("WSS_PFX_PASSWORD")));
    if (!CHECK_OK(wss_server_new("127.0.0.1:0", stls, opts, NULL, NULL, NULL, &server))) goto out;
    CHECK_OK(wss_server_port(server, &port));

    /* Idle: nothing to take. */
    ev = (wss_event *)&port;
    CHECK_ERR(wss_server_next_event(server, 0, &ev), WSS_ERR_TIMEOUT);
    CHECK(ev == NULL);
    CHECK_ERR(wss_server_next_event(server, 20, &ev), WSS_ERR_TIMEOUT);
    CHECK(ev == NULL);

    CHECK_OK(wss_tls_config_new(&ctls));
    CHECK_OK(wss_tls_config_load_ca_file(ctls, ca));
    snprintf(url, sizeof url, "wss://localhost:%u/pull?x=1", (unsigned)port);
    if (!CHECK_OK(wss_client_connect(url, ctls, opts, NULL, NULL, NULL, &client))) goto out;
    CHECK_OK(wss_client_conn_id(client, &cconn));

    /* OPEN first, on both ends. */
    ev = server_event(server);
    if (CHECK(ev != NULL && ev->event_type == WSS_EVENT_OPEN)) sconn = ev->conn;
    CHECK(sconn != 0 && sconn != cconn);
    wss_event_free(ev);
    ev = client_event(client);
    CHECK(is_event(ev, WSS_EVENT_OPEN, cconn));
    wss_event_free(ev);
    CHECK_OK(wss_server_active_connections(server, &active));
    CHECK(active == 1);

    /* Info is available for a pulled connection id. */
    {
        wss_conn_info *info = NULL;
        if (CHECK_OK(wss_conn_info_get(sconn, &info))) {
            CHECK(info->path && strcmp(info->path, "/pull") == 0);
            CHECK(info->peer_certificate == NULL); /* no client certificate requested */
            CHECK(nonempty(info->tls_version));
        }
        wss_conn_info_free(info);
    }

    /* MESSAGE events, echoed by this thread; order is kept. */
    round_trip(server, client, sconn, cconn, WSS_MESSAGE_TEXT, (const unsigned char *)"hi", 2);
    fill_pattern(buf, sizeof buf, 5);
    round_trip(server, client, sconn, cconn, WSS_MESSAGE_BINARY, buf, sizeof buf);
    round_trip(server, client, sconn, cconn, WSS_MESSAGE_BINARY, NULL, 0);
    {
        /* Large payloads are handed to the event as received (no copy): same bytes out. */
        size_t big_len = 200 * 1024 + 3;
        unsigned char *big = malloc(big_len);
        if (CHECK(big != NULL)) {
            fill_pattern(big, big_len, 9);
            round_trip(server, client, sconn, cconn, WSS_MESSAGE_BINARY, big, big_len);
            round_trip(server, client, sconn, cconn, WSS_MESSAGE_TEXT, (const unsigned char *)"after", 5);
        }
        free(big);
    }
    for (i = 0; i < 5; i++) {
        buf[0] = (unsigned char)('0' + i);
        CHECK_OK(wss_send(cconn, buf, 1, WSS_MESSAGE_TEXT));
    }
    for (i = 0; i < 5; i++) {
        ev = server_event(server);
        if (CHECK(is_event(ev, WSS_EVENT_MESSAGE, sconn)))
            CHECK(ev->len == 1 && ev->data[0] == (unsigned char)('0' + i));
        wss_event_free(ev);
    }

    /* PONG answers a ping (the server answers by itself, no server event). */
    CHECK_OK(wss_ping(cconn, (const uint8_t *)"ping!", 5));
    ev = client_event(client);
    if (CHECK(is_event(ev, WSS_EVENT_PONG, cconn))) CHECK(same_payload(ev, "ping!", 5));
    wss_event_free(ev);

    /* CLOSE on both ends; then the client has no more events. */
    CHECK_OK(wss_client_close(client, 1000, "done", WAIT_MS));
    ev = server_event(server);
    if (CHECK(is_event(ev, WSS_EVENT_CLOSE, sconn))) {
        CHECK(ev->close_code == 1000);
        CHECK(ev->reason && strcmp(ev->reason, "done") == 0);
    }
    wss_event_free(ev);
    ev = client_event(client);
    if (CHECK(is_event(ev, WSS_EVENT_CLOSE, cconn))) CHECK(ev->close_code == 1000);
    wss_event_free(ev);
    ev = NULL;
    CHECK_ERR(wss_client_next_event(client, 0, &ev), WSS_ERR_CLOSED);
    CHECK(ev == NULL);
    CHECK_ERR(wss_client_next_event(client, 10, &ev), WSS_ERR_CLOSED);
    CHECK_ERR(wss_send(sconn, buf, 1, WSS_MESSAGE_BINARY), WSS_ERR_NOT_CONNECTED);

    /* Server: idle again, then closed and drained. Once wss_server_close has returned, every
     * event is queued, so draining with timeout 0 sees them all. */
    CHECK_ERR(wss_server_next_event(server, 0, &ev), WSS_ERR_TIMEOUT);
    CHECK_OK(wss_server_close(server, WAIT_MS));
    drained = 0;
    for (i = 0; i < 100; i++) {
        rc = wss_server_next_event(server, 0, &ev);
        if (rc != WSS_OK) {
            drained = rc == WSS_ERR_CLOSED;
            if (!drained) dump_last_error("drain");
            break;
        }
        wss_event_free(ev);
        ev = NULL;
    }
    CHECK(drained);
    CHECK(ev == NULL);
    /* A closed, drained endpoint answers WSS_ERR_CLOSED at once, whatever the timeout (a host
     * loop `while (wss_server_next_event(s, long_timeout, &ev) == WSS_OK)` must not stall). */
    {
        double t0 = now_ms(), took;
        CHECK_ERR(wss_server_next_event(server, CLOSED_TIMEOUT_MS, &ev), WSS_ERR_CLOSED);
        took = now_ms() - t0;
        if (!CHECK(took < CLOSED_TIMEOUT_MS / 2))
            fprintf(stderr, "  wss_server_next_event on a closed server took %.0f ms\n", took);
        t0 = now_ms();
        CHECK_ERR(wss_client_next_event(client, CLOSED_TIMEOUT_MS, &ev), WSS_ERR_CLOSED);
        took = now_ms() - t0;
        if (!CHECK(took < CLOSED_TIMEOUT_MS / 2))
            fprintf(stderr, "  wss_client_next_event on a closed client took %.0f ms\n", took);
    }

    callback_mode_rejects_pull();
    close_wakes_a_waiting_taker();
    tiny_event_queue_keeps_order();
    freeing_with_paused_connections_leaks_nothing();

out:
    wss_client_free(client);
    wss_server_free(server);
    wss_tls_config_free(ctls);
    wss_tls_config_free(stls);
    wss_options_free(opts);
    return check_summary();
}
