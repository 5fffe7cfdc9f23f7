/*
 * Routes from C, each with its own callbacks and user_data (issue 16, defect 4):
 *  - a connection on a route gets that route's callbacks with that route's user_data; once a
 *    route exists other paths get HTTP 404 (the client's error says so, http_status 404);
 *  - removing a route while a connection on it is open: new connections to the path get 404,
 *    the open one keeps the old route's callbacks and user_data until it closes, and only then
 *    is the old route's user_data released (once, after its last callback);
 *  - adding the path again serves new connections with the new callbacks, while the old
 *    connection still talks to the old ones;
 *  - the remaining routes and the server's own user_data are released once when it is freed.
 * Every route answers a message with its own tag, so the client sees who served it.
 */
#include "check.h"

#define MAGIC 0x2047eu

typedef struct {
    unsigned magic;
    char tag[8];
    int open;  /* connections open on this route */
    int opens; /* connections ever opened */
} route;

enum { DEFAULT, KEEP, OLD, NEW, ROUTES };

static waiter w;
static int released[ROUTES], released_with_open_conns, bad_magic, errors;
static route *routes[ROUTES];

static route *route_new(const char *tag) {
    route *r = (route *)calloc(1, sizeof *r);
    if (r) {
        r->magic = MAGIC;
        snprintf(r->tag, sizeof r->tag, "%s", tag);
    }
    return r;
}

static void route_release(void *p) {
    route *r = (route *)p;
    int i;
    pthread_mutex_lock(&w.mu);
    if (r->magic != MAGIC) bad_magic++;
    if (r->open != 0) released_with_open_conns++;
    for (i = 0; i < ROUTES; i++)
        if (routes[i] == r) released[i]++;
    waiter_signal_locked(&w);
    pthread_mutex_unlock(&w.mu);
    r->magic = 0;
    free(r);
}

static void on_open(void *ud, uint64_t conn) {
    route *r = (route *)ud;
    (void)conn;
    pthread_mutex_lock(&w.mu);
    if (r->magic != MAGIC) bad_magic++;
    r->open++;
    r->opens++;
    waiter_signal_locked(&w);
    pthread_mutex_unlock(&w.mu);
}

/* Answer with this route's tag. */
static void on_message(void *ud, uint64_t conn, void *conn_ud, wss_message_kind kind,
                       const uint8_t *data, size_t len) {
    route *r = (route *)ud;
    (void)conn_ud;
    (void)kind;
    (void)data;
    (void)len;
    if (r->magic != MAGIC) {
        pthread_mutex_lock(&w.mu);
        bad_magic++;
        pthread_mutex_unlock(&w.mu);
        return;
    }
    wss_send_text(conn, r->tag);
}

static void on_close(void *ud, uint64_t conn, void *conn_ud, uint16_t code, const char *reason) {
    route *r = (route *)ud;
    (void)conn;
    (void)conn_ud;
    (void)code;
    (void)reason;
    pthread_mutex_lock(&w.mu);
    r->open--;
    waiter_signal_locked(&w);
    pthread_mutex_unlock(&w.mu);
}

static void on_error(void *ud, uint64_t conn, void *conn_ud, const wss_error *e) {
    (void)ud;
    (void)conn_ud;
    count_error_event(&w, &errors, conn, e);
}

/* Wait for route `r` to be released `n` times. */
static int wait_released(int r, int n) { return wait_count(&w, &released[r], n, WAIT_MS); }

static int releases(int r) { return read_count(&w, &released[r]); }

/* Send a message on a pull-mode client and check which route answered. */
static void served_by(wss_client *c, uint64_t id, const char *tag) {
    wss_event *ev = NULL;
    size_t n = strlen(tag);
    if (!CHECK_OK(wss_send_text(id, "who?"))) return;
    if (CHECK_OK(wss_client_next_event(c, WAIT_MS, &ev)) &&
        CHECK(ev->event_type == WSS_EVENT_MESSAGE)) {
        if (!CHECK(ev->len == n && memcmp(ev->data, tag, n) == 0))
            fprintf(stderr, "  answered by '%.*s', expected '%s'\n", (int)ev->len,
                    (const char *)ev->data, tag);
    }
    wss_event_free(ev);
}

/* A connection to `path` must be refused with 404. */
static void not_found(uint16_t port, const char *path) {
    wss_client *c = NULL;
    wss_error_info e;
    if (CHECK_ERR(plain_client(port, path, NULL, NULL, NULL, &c, NULL), WSS_ERR_HANDSHAKE)) {
        CHECK_OK(last_error(&e));
        if (!CHECK(e.http_status == 404)) fprintf(stderr, "  %s: HTTP %u\n", path, e.http_status);
    }
    CHECK(c == NULL);
}

/* Take the client's OPEN event. */
static void opened(wss_client *c) {
    wss_event *ev = NULL;
    if (CHECK_OK(wss_client_next_event(c, WAIT_MS, &ev))) CHECK(ev->event_type == WSS_EVENT_OPEN);
    wss_event_free(ev);
}

int main(void) {
    wss_callbacks cb = callbacks_init();
    wss_server *server = NULL;
    wss_client *c1 = NULL, *c2 = NULL, *c3 = NULL;
    uint64_t id1 = 0, id2 = 0, id3 = 0;
    uint16_t port = 0;
    int i;

    waiter_init(&w);
    routes[DEFAULT] = route_new("default");
    routes[KEEP] = route_new("keep");
    routes[OLD] = route_new("old");
    routes[NEW] = route_new("new");
    for (i = 0; i < ROUTES; i++)
        if (!CHECK(routes[i] != NULL)) return check_summary();
    cb.on_open = on_open;
    cb.on_message = on_message;
    cb.on_close = on_close;
    cb.on_error = on_error;
    if (!CHECK_OK(plain_server(0, &cb, routes[DEFAULT], route_release, &server, &port)))
        return check_summary();

    /* Before any route, the server's own callbacks serve every path. */
    if (CHECK_OK(plain_client(port, "/anything", NULL, NULL, NULL, &c3, &id3))) {
        opened(c3);
        served_by(c3, id3, "default");
        CHECK_OK(wss_client_close(c3, 1000, NULL, WAIT_MS));
    }
    wss_client_free(c3);

    CHECK_OK(wss_server_add_route(server, "/keep", &cb, routes[KEEP], route_release));
    CHECK_OK(wss_server_add_route(server, "/r", &cb, routes[OLD], route_release));
    not_found(port, "/anything");
    not_found(port, "/r/sub");

    /* A connection on /r talks to the old route. */
    if (!CHECK_OK(plain_client(port, "/r", NULL, NULL, NULL, &c1, &id1))) goto out;
    opened(c1);
    CHECK(wait_count(&w, &routes[OLD]->opens, 1, WAIT_MS));
    served_by(c1, id1, "old");

    /* Remove /r: new connections get 404; the open one keeps the old callbacks and data. */
    CHECK_OK(wss_server_remove_route(server, "/r"));
    not_found(port, "/r");
    served_by(c1, id1, "old");
    CHECK(releases(OLD) == 0);

    /* Add /r again: new connections get the new route, the old connection the old one. */
    CHECK_OK(wss_server_add_route(server, "/r", &cb, routes[NEW], route_release));
    if (CHECK_OK(plain_client(port, "/r", NULL, NULL, NULL, &c2, &id2))) {
        opened(c2);
        served_by(c2, id2, "new");
    }
    served_by(c1, id1, "old");
    if (CHECK_OK(plain_client(port, "/keep", NULL, NULL, NULL, &c3, &id3))) {
        opened(c3);
        served_by(c3, id3, "keep");
    }
    CHECK(releases(OLD) == 0);

    /* The old connection closes: now the old route's data is released, once. */
    CHECK_OK(wss_client_close(c1, 1000, NULL, WAIT_MS));
    CHECK(wait_released(OLD, 1));
    if (c2) CHECK_OK(wss_client_close(c2, 1000, NULL, WAIT_MS));
    if (c3) CHECK_OK(wss_client_close(c3, 1000, NULL, WAIT_MS));
    CHECK(releases(NEW) == 0 && releases(KEEP) == 0 && releases(DEFAULT) == 0);

out:
    wss_client_free(c1);
    wss_client_free(c2);
    wss_client_free(c3);
    CHECK_OK(wss_server_close(server, WAIT_MS));
    wss_server_free(server);
    for (i = 0; i < ROUTES; i++) CHECK(wait_released(i, 1));
    pthread_mutex_lock(&w.mu);
    for (i = 0; i < ROUTES; i++) CHECK(released[i] == 1);
    CHECK(released_with_open_conns == 0);
    CHECK(bad_magic == 0);
    CHECK(errors == 0);
    pthread_mutex_unlock(&w.mu);
    waiter_destroy(&w);
    return check_summary();
}
