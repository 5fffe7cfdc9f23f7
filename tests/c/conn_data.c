/*
 * Per-connection user data (wss_conn_set_user_data / wss_conn_get_user_data):
 *  1. Callback mode: each side attaches its data in on_open; every later callback of that
 *     connection (on_message, on_pong, on_close) receives it as conn_user_data, and
 *     wss_conn_get_user_data reads it back; its release runs exactly once per connection,
 *     after the connection's on_close, on both sides: once the connection has ended, with the
 *     server running and the client handle not yet freed.
 *  2. Pull mode: the data attached after taking WSS_EVENT_OPEN comes with every later event of
 *     the connection (MESSAGE, CLOSE); an event keeps it alive, so its release runs only once
 *     the connection has ended and its last event is freed.
 *  3. wss_conn_user_data_retain: a reference taken outside the callbacks holds the release back
 *     past the connection's end and its last event; wss_conn_data_ref_free runs it (there and
 *     then, being the last reference). No data: NULL pointer and reference; unknown id refused.
 * The data is heap memory its release frees; callbacks read it, so valgrind and
 * AddressSanitizer see any use after an early release.
 */
#include "check.h"

#define CONNS 3
#define MAGIC 0xda7au

typedef struct {
    unsigned magic;
    uint64_t conn;
    int client_side;
    int closed; /* on_close seen */
    int messages;
    int pongs;
} conn_data;

static waiter w;
static int attached[2], closes[2], released[2], released_before_close, bad_data, bad_magic;

static conn_data *data_new(uint64_t conn, int client_side) {
    conn_data *d = (conn_data *)calloc(1, sizeof *d);
    if (d) {
        d->magic = MAGIC;
        d->conn = conn;
        d->client_side = client_side;
    }
    return d;
}

static void data_release(void *p) {
    conn_data *d = (conn_data *)p;
    pthread_mutex_lock(&w.mu);
    if (d->magic != MAGIC) bad_magic++;
    if (!d->closed) released_before_close++;
    released[d->client_side]++;
    waiter_signal_locked(&w);
    pthread_mutex_unlock(&w.mu);
    d->magic = 0;
    free(d);
}

/* The data a callback got must be the connection's own. */
static conn_data *check_data(uint64_t conn, void *conn_ud) {
    conn_data *d = (conn_data *)conn_ud;
    void *via_get = NULL;
    int ok = d != NULL && d->magic == MAGIC && d->conn == conn;
    /* On an open connection the getter agrees (on_close: the id may already be stale). */
    if (ok && !d->closed && wss_conn_get_user_data(conn, &via_get) == WSS_OK)
        ok = via_get == conn_ud;
    if (!ok) {
        pthread_mutex_lock(&w.mu);
        bad_data++;
        pthread_mutex_unlock(&w.mu);
    }
    return ok ? d : NULL;
}

static void attach(uint64_t conn, int client_side) {
    conn_data *d = data_new(conn, client_side);
    void *back = NULL;
    if (!CHECK(d != NULL)) return;
    if (!CHECK_OK(wss_conn_set_user_data(conn, d, data_release))) {
        free(d);
        return;
    }
    CHECK_OK(wss_conn_get_user_data(conn, &back));
    CHECK(back == d);
    count_up(&w, &attached[client_side]);
}

static void srv_open(void *ud, uint64_t conn) {
    (void)ud;
    attach(conn, 0);
}

static void cli_open(void *ud, uint64_t conn) {
    (void)ud;
    attach(conn, 1);
}

static void on_message(void *ud, uint64_t conn, void *conn_ud, wss_message_kind kind,
                       const uint8_t *data, size_t len) {
    conn_data *d = check_data(conn, conn_ud);
    (void)ud;
    if (!d) return;
    count_up(&w, &d->messages);
    if (!d->client_side) wss_send(conn, data, len, kind); /* the server echoes */
}

static void on_pong(void *ud, uint64_t conn, void *conn_ud, const uint8_t *data, size_t len) {
    conn_data *d = check_data(conn, conn_ud);
    (void)ud;
    (void)data;
    (void)len;
    if (d) count_up(&w, &d->pongs);
}

static void on_close(void *ud, uint64_t conn, void *conn_ud, uint16_t code, const char *reason) {
    conn_data *d = check_data(conn, conn_ud);
    (void)ud;
    (void)code;
    (void)reason;
    if (!d) return;
    pthread_mutex_lock(&w.mu);
    d->closed = 1;
    closes[d->client_side]++;
    waiter_signal_locked(&w);
    pthread_mutex_unlock(&w.mu);
}

static void on_error(void *ud, uint64_t conn, void *conn_ud, const wss_error *e) {
    (void)ud;
    (void)conn_ud;
    count_error_event(&w, &bad_data, conn, e);
}

/* Wait until both sides have counted `n` in counters[2]. */
static int wait_both(const int *counters, int n) {
    return wait_count(&w, &counters[0], n, WAIT_MS) && wait_count(&w, &counters[1], n, WAIT_MS);
}

/* Wait until side `side` (0 server, 1 client) has released `n` data. */
static int wait_released(int side, int n) { return wait_count(&w, &released[side], n, WAIT_MS); }

static void callback_mode(void) {
    wss_callbacks cb = callbacks_init();
    wss_server *server = NULL;
    wss_client *clients[CONNS];
    uint64_t ids[CONNS];
    uint16_t port = 0;
    int i, n = 0;

    memset(clients, 0, sizeof clients);
    cb.on_open = srv_open;
    cb.on_message = on_message;
    cb.on_pong = on_pong;
    cb.on_close = on_close;
    cb.on_error = on_error;
    if (!CHECK_OK(plain_server(0, &cb, NULL, NULL, &server, &port))) return;
    cb.on_open = cli_open;
    for (i = 0; i < CONNS; i++) {
        if (!CHECK_OK(plain_client(port, "/", &cb, NULL, NULL, &clients[i], &ids[i]))) break;
        n++;
    }
    CHECK(wait_both(attached, n));
    for (i = 0; i < n; i++) {
        void *ud = NULL;
        conn_data *d;
        CHECK_OK(wss_conn_get_user_data(ids[i], &ud));
        if (!CHECK(ud != NULL)) continue;
        d = (conn_data *)ud;
        CHECK_OK(wss_send_text(ids[i], "hello"));
        CHECK_OK(wss_ping(ids[i], (const uint8_t *)"p", 1));
        /* The client's own data sees the echo and the pong. */
        CHECK(wait_count(&w, &d->messages, 1, WAIT_MS) && wait_count(&w, &d->pongs, 1, WAIT_MS));
    }
    pthread_mutex_lock(&w.mu);
    CHECK(released[0] == 0 && released[1] == 0);
    pthread_mutex_unlock(&w.mu);
    /* The first with timeout 0: that only starts the close and returns WSS_OK (on_close
     * follows, awaited below), the others wait for the close handshake. */
    for (i = 0; i < n; i++)
        CHECK_OK(wss_client_close(clients[i], 1000, "bye", i == 0 ? 0 : WAIT_MS));
    CHECK(wait_both(closes, n));
    /* Released once each connection has ended: the server still runs, the clients are not
     * freed yet. */
    CHECK(wait_released(0, n));
    CHECK(wait_released(1, n));
    for (i = 0; i < n; i++) wss_client_free(clients[i]);
    CHECK_OK(wss_server_close(server, WAIT_MS));
    wss_server_free(server);
    pthread_mutex_lock(&w.mu);
    CHECK(released[0] == n && released[1] == n); /* exactly once each */
    CHECK(released_before_close == 0);
    CHECK(bad_data == 0 && bad_magic == 0);
    pthread_mutex_unlock(&w.mu);
}

static wss_event *next(wss_server *s, wss_client *c) {
    wss_event *ev = NULL;
    wss_result rc =
        s ? wss_server_next_event(s, WAIT_MS, &ev) : wss_client_next_event(c, WAIT_MS, &ev);
    return CHECK_OK(rc) ? ev : NULL;
}

static void pull_mode(void) {
    wss_server *server = NULL;
    wss_client *client = NULL;
    wss_event *ev;
    uint16_t port = 0;
    uint64_t sid = 0, cid = 0;
    conn_data *sd, *cd;
    int ok;

    memset(released, 0, sizeof released);
    released_before_close = 0;
    if (!CHECK_OK(plain_server(1, NULL, NULL, NULL, &server, &port))) return;
    if (!CHECK_OK(plain_client(port, "/", NULL, NULL, NULL, &client, &cid))) goto out;

    ev = next(server, NULL);
    if (CHECK(ev && ev->event_type == WSS_EVENT_OPEN)) {
        sid = ev->conn;
        CHECK(ev->conn_user_data == NULL); /* nothing attached yet */
    }
    wss_event_free(ev);
    ev = next(NULL, client);
    CHECK(ev && ev->event_type == WSS_EVENT_OPEN && ev->conn_user_data == NULL);
    wss_event_free(ev);
    sd = data_new(sid, 0);
    cd = data_new(cid, 1);
    if (!CHECK(sd && cd) || !CHECK_OK(wss_conn_set_user_data(sid, sd, data_release)) ||
        !CHECK_OK(wss_conn_set_user_data(cid, cd, data_release))) {
        free(sd);
        free(cd);
        goto out;
    }

    /* Later events carry the data. */
    CHECK_OK(wss_send_text(cid, "to server"));
    ev = next(server, NULL);
    CHECK(ev && ev->event_type == WSS_EVENT_MESSAGE && ev->conn_user_data == sd);
    wss_event_free(ev);
    CHECK_OK(wss_send_text(sid, "to client"));
    ev = next(NULL, client);
    CHECK(ev && ev->event_type == WSS_EVENT_MESSAGE && ev->conn_user_data == cd);
    wss_event_free(ev);

    /* The close events carry it too, and keep it alive until they are freed. */
    CHECK_OK(wss_client_close(client, 1000, NULL, WAIT_MS));
    ev = next(server, NULL);
    if (CHECK(ev && ev->event_type == WSS_EVENT_CLOSE && ev->conn_user_data == sd)) {
        pthread_mutex_lock(&w.mu);
        sd->closed = 1;
        CHECK(released[0] == 0); /* the event still holds it */
        pthread_mutex_unlock(&w.mu);
        CHECK(sd->magic == MAGIC);
    }
    wss_event_free(ev);
    CHECK(wait_released(0, 1));
    ev = next(NULL, client);
    if (CHECK(ev && ev->event_type == WSS_EVENT_CLOSE && ev->conn_user_data == cd)) {
        pthread_mutex_lock(&w.mu);
        cd->closed = 1;
        pthread_mutex_unlock(&w.mu);
        CHECK(cd->magic == MAGIC);
    }
    wss_event_free(ev);
    wss_client_free(client);
    client = NULL;
    CHECK(wait_released(1, 1));
    pthread_mutex_lock(&w.mu);
    ok = released[0] == 1 && released[1] == 1 && released_before_close == 0 && bad_magic == 0;
    pthread_mutex_unlock(&w.mu);
    CHECK(ok);
out:
    wss_client_free(client);
    if (server) CHECK_OK(wss_server_close(server, WAIT_MS));
    wss_server_free(server);
}

static void retained(void) {
    wss_server *server = NULL;
    wss_client *client = NULL;
    wss_event *ev;
    wss_conn_data_ref *ref = NULL;
    void *ptr = (void *)1;
    uint16_t port = 0;
    uint64_t cid = 0;
    conn_data *cd;

    memset(released, 0, sizeof released);
    if (!CHECK_OK(plain_server(1, NULL, NULL, NULL, &server, &port))) return;
    if (!CHECK_OK(plain_client(port, "/", NULL, NULL, NULL, &client, &cid))) goto out;
    ev = next(NULL, client);
    CHECK(ev && ev->event_type == WSS_EVENT_OPEN);
    wss_event_free(ev);
    /* Nothing attached yet: OK with NULL and no reference. */
    CHECK_OK(wss_conn_user_data_retain(cid, &ptr, &ref));
    CHECK(ptr == NULL && ref == NULL);
    CHECK(wss_conn_user_data_retain(cid, NULL, &ref) == WSS_ERR_INVALID_ARGUMENT);
    CHECK(wss_conn_user_data_retain(cid, &ptr, NULL) == WSS_ERR_INVALID_ARGUMENT);
    CHECK(wss_conn_user_data_retain(0xfffffffffffull, &ptr, &ref) == WSS_ERR_NOT_CONNECTED);
    wss_conn_data_ref_free(NULL);

    cd = data_new(cid, 1);
    if (!CHECK(cd != NULL) || !CHECK_OK(wss_conn_set_user_data(cid, cd, data_release))) {
        free(cd);
        goto out;
    }
    if (!CHECK_OK(wss_conn_user_data_retain(cid, &ptr, &ref)) || !CHECK(ptr == cd && ref != NULL))
        goto out;
    CHECK_OK(wss_client_close(client, 1000, NULL, WAIT_MS));
    ev = next(NULL, client);
    CHECK(ev && ev->event_type == WSS_EVENT_CLOSE && ev->conn_user_data == cd);
    cd->closed = 1;
    wss_event_free(ev);
    wss_client_free(client);
    client = NULL;
    /* Ended, its last event freed, the client freed: only the reference holds the data. */
    pthread_mutex_lock(&w.mu);
    CHECK(released[1] == 0);
    pthread_mutex_unlock(&w.mu);
    CHECK(cd->magic == MAGIC);
    wss_conn_data_ref_free(ref);
    pthread_mutex_lock(&w.mu);
    CHECK(released[1] == 1 && bad_magic == 0);
    pthread_mutex_unlock(&w.mu);
out:
    wss_client_free(client);
    if (server) CHECK_OK(wss_server_close(server, WAIT_MS));
    wss_server_free(server);
}

int main(void) {
    waiter_init(&w);
    callback_mode();
    pull_mode();
    retained();
    waiter_destroy(&w);
    return check_summary();
}
