/*
 * Release callbacks: every user_data is released exactly once, after the last callback that
 * receives it has returned. The host's data is heap memory its release frees, and callbacks
 * write to it after they unblock, so a release that came too early is a use after free that
 * valgrind and AddressSanitizer report (tests/c_abi.rs runs this program under both).
 *  1. A server callback blocks (on a condition variable this program controls) while the main
 *     thread frees the server: the free returns at once, no release for 3 s while the callback
 *     is blocked, then release once, after it returned.
 *  2. The same with the free coming from another connection's callback on the other I/O thread
 *     (io_threads 2): B's on_message frees the server while A's on_message blocks.
 *  3. A server freed from inside its own callback, and a client freed from inside its own
 *     callback: release once, after that callback returned.
 *  4. A server with open connections (on the default callbacks and on a route, each with
 *     per-connection data) and its clients, freed from a thread that did not create them:
 *     every release (server, route, each connection's data, each client) runs exactly once.
 */
#include "check.h"
#include "blocking_host.h"

/* Set by a callback that freed its own endpoint; whether "free" ran on another thread than the
 * blocked callback. */
static int free_done, different_threads;

static void reset(void) {
    host_reset();
    pthread_mutex_lock(&w.mu);
    free_done = different_threads = 0;
    pthread_mutex_unlock(&w.mu);
}

static void srv_message(void *ud, uint64_t conn, void *conn_ud, wss_message_kind kind,
                        const uint8_t *data, size_t len) {
    host *h = (host *)ud;
    (void)conn;
    (void)conn_ud;
    (void)kind;
    if (is_word(data, len, "block")) {
        host_block(h);
    } else if (is_word(data, len, "free")) {
        pthread_mutex_lock(&w.mu);
        entered++;
        different_threads = entered == 1 || !pthread_equal(blocked_thread, pthread_self());
        pthread_mutex_unlock(&w.mu);
        wss_server_free(h->server); /* from inside a callback of this very server */
        h->touched++;               /* still ours: this callback has not returned */
        pthread_mutex_lock(&w.mu);
        free_done = 1;
        returned++;
        waiter_signal_locked(&w);
        pthread_mutex_unlock(&w.mu);
    }
}

static void cli_message(void *ud, uint64_t conn, void *conn_ud, wss_message_kind kind,
                        const uint8_t *data, size_t len) {
    host *h = (host *)ud;
    (void)conn;
    (void)conn_ud;
    (void)kind;
    if (is_word(data, len, "free-me")) {
        wss_client_free(h->client); /* from inside its own callback */
        h->touched++;
        pthread_mutex_lock(&w.mu);
        free_done = 1;
        waiter_signal_locked(&w);
        pthread_mutex_unlock(&w.mu);
    }
}

static void conn_release(void *p) { host_release(p); }

static void srv_open_attach(void *ud, uint64_t conn) {
    host *c = host_new(CONN_DATA);
    (void)ud;
    if (!CHECK(c != NULL)) return;
    if (!CHECK_OK(wss_conn_set_user_data(conn, c, conn_release))) free(c);
    count_up(&w, &entered); /* counts opens here */
}

/* While a callback blocks, the server's release must not run (3 s), then run once after the
 * callback returns. */
static void release_waits_for_the_blocked_callback(void) {
    CHECK(!wait_released(SERVER_DATA, 1, 3000));
    let_go();
    check_one_late_release();
    pthread_mutex_lock(&w.mu);
    CHECK(returned == entered);
    pthread_mutex_unlock(&w.mu);
}

/* 1. Free from the main thread while a callback blocks. */
static void free_while_callback_blocks(void) {
    wss_callbacks cb = callbacks_init();
    wss_server *server = NULL;
    wss_client *client = NULL;
    uint16_t port = 0;
    host *h;
    double t0, took;

    reset();
    cb.on_message = srv_message;
    if (!host_server(1, &cb, &h, &server, &port)) return;
    if (block_a_callback(port, &client)) {
        t0 = now_ms();
        wss_server_free(server);
        took = now_ms() - t0;
        if (!CHECK(took < 2000.0)) fprintf(stderr, "  wss_server_free took %.0f ms\n", took);
        server = NULL;
        release_waits_for_the_blocked_callback();
    }
    let_go();
    wss_server_free(server);
    wss_client_free(client);
    CHECK(wait_released(SERVER_DATA, 1, WAIT_MS));
}

/* 2. Connection B's callback frees the server while A's blocks on the other I/O thread. */
static void free_from_another_connections_callback(void) {
    wss_callbacks cb = callbacks_init();
    wss_server *server = NULL;
    wss_client *a = NULL, *b = NULL;
    uint16_t port = 0;
    uint64_t aid = 0, bid = 0;
    host *h;

    reset();
    cb.on_message = srv_message;
    if (!host_server(2, &cb, &h, &server, &port)) return;
    h->server = server;
    /* Consecutive connections go to the two I/O threads in turn. */
    if (CHECK_OK(plain_client(port, "/a", NULL, NULL, NULL, &a, &aid)) &&
        CHECK_OK(plain_client(port, "/b", NULL, NULL, NULL, &b, &bid)) &&
        CHECK_OK(wss_send_text(aid, "block")) && CHECK(wait_entered(1)) &&
        CHECK_OK(wss_send_text(bid, "free"))) {
        if (CHECK(wait_count(&w, &free_done, 1, WAIT_MS))) {
            server = NULL; /* freed by B's callback */
            pthread_mutex_lock(&w.mu);
            CHECK(different_threads);
            pthread_mutex_unlock(&w.mu);
            release_waits_for_the_blocked_callback();
        }
    }
    let_go();
    wss_server_free(server);
    wss_client_free(a);
    wss_client_free(b);
    CHECK(wait_released(SERVER_DATA, 1, WAIT_MS));
}

/* 3. A server freed from its own callback; a client freed from its own callback. */
static void free_from_own_callback(void) {
    wss_callbacks scb = callbacks_init(), ccb = callbacks_init();
    wss_server *server = NULL, *pull = NULL;
    wss_client *client = NULL, *c2 = NULL;
    uint16_t port = 0;
    uint64_t cid = 0;
    host *h = host_new(SERVER_DATA), *ch = host_new(CLIENT_DATA);
    wss_event *ev = NULL;

    reset();
    if (!CHECK(h != NULL && ch != NULL)) {
        free(h);
        free(ch);
        return;
    }
    scb.on_message = srv_message;
    if (CHECK_OK(plain_server(1, &scb, h, host_release, &server, &port))) {
        h->server = server;
        if (CHECK_OK(plain_client(port, "/", NULL, NULL, NULL, &client, &cid)) &&
            CHECK_OK(wss_send_text(cid, "free"))) {
            CHECK(wait_released(SERVER_DATA, 1, WAIT_MS));
            pthread_mutex_lock(&w.mu);
            CHECK(free_done && returned == 1 && early_releases == 0 && bad_magic == 0);
            pthread_mutex_unlock(&w.mu);
        } else {
            wss_server_free(server);
        }
        wss_client_free(client);
    } else {
        free(h);
    }

    /* The client side: the server (pull mode) tells the client to free itself. */
    reset();
    ccb.on_message = cli_message;
    if (!CHECK_OK(plain_server(1, NULL, NULL, NULL, &pull, &port))) {
        free(ch);
        return;
    }
    if (CHECK_OK(plain_client(port, "/", &ccb, ch, host_release, &c2, NULL))) {
        ch->client = c2;
        if (CHECK_OK(wss_server_next_event(pull, WAIT_MS, &ev)) &&
            CHECK(ev->event_type == WSS_EVENT_OPEN) &&
            CHECK_OK(wss_send_text(ev->conn, "free-me"))) {
            CHECK(wait_count(&w, &free_done, 1, WAIT_MS));
            CHECK(wait_released(CLIENT_DATA, 1, WAIT_MS));
        } else {
            wss_client_free(c2);
        }
        wss_event_free(ev);
    } else {
        free(ch);
    }
    CHECK_OK(wss_server_close(pull, WAIT_MS));
    wss_server_free(pull);
    CHECK(releases(CLIENT_DATA) == 1);
}

/* 4. Everything freed from a thread that did not create it, connections still open. */
#define OPEN_CLIENTS 3
typedef struct {
    wss_server *server;
    wss_client *clients[OPEN_CLIENTS];
} handles;

static void *free_all(void *arg) {
    handles *hs = (handles *)arg;
    int i;
    wss_server_free(hs->server);
    for (i = 0; i < OPEN_CLIENTS; i++) wss_client_free(hs->clients[i]);
    return NULL;
}

static void free_on_another_thread_with_connections_open(void) {
    wss_callbacks scb = callbacks_init(), ccb = callbacks_init();
    handles hs;
    uint16_t port = 0;
    host *h = host_new(SERVER_DATA), *r = host_new(ROUTE_DATA);
    pthread_t t;
    int i, clients = 0;

    reset();
    memset(&hs, 0, sizeof hs);
    if (!CHECK(h != NULL && r != NULL)) {
        free(h);
        free(r);
        return;
    }
    scb.on_open = srv_open_attach;
    if (!CHECK_OK(plain_server(2, &scb, h, host_release, &hs.server, &port))) {
        free(h);
        free(r);
        return;
    }
    if (!CHECK_OK(wss_server_add_route(hs.server, "/route", &scb, r, host_release))) free(r);
    if (!CHECK_OK(wss_server_add_route(hs.server, "/", &scb, NULL, NULL))) return;
    for (i = 0; i < OPEN_CLIENTS; i++) {
        host *c = host_new(CLIENT_DATA);
        if (!CHECK(c != NULL)) break;
        if (!CHECK_OK(plain_client(port, i == 0 ? "/" : "/route", &ccb, c, host_release,
                                   &hs.clients[i], NULL))) {
            free(c);
            break;
        }
        clients++;
    }
    CHECK(wait_entered(clients)); /* every server-side connection has its data attached */
    CHECK(releases(CONN_DATA) == 0);
    if (CHECK(pthread_create(&t, NULL, free_all, &hs) == 0)) pthread_join(t, NULL);
    CHECK(wait_released(SERVER_DATA, 1, WAIT_MS));
    CHECK(wait_released(ROUTE_DATA, 1, WAIT_MS));
    CHECK(wait_released(CONN_DATA, clients, WAIT_MS));
    CHECK(wait_released(CLIENT_DATA, clients, WAIT_MS));
    pthread_mutex_lock(&w.mu);
    CHECK(released[SERVER_DATA] == 1 && released[ROUTE_DATA] == 1);
    CHECK(released[CONN_DATA] == clients && released[CLIENT_DATA] == clients);
    CHECK(bad_magic == 0);
    pthread_mutex_unlock(&w.mu);
}

int main(void) {
    waiter_init(&w);
    free_while_callback_blocks();
    free_from_another_connections_callback();
    free_from_own_callback();
    free_on_another_thread_with_connections_open();
    waiter_destroy(&w);
    return check_summary();
}
