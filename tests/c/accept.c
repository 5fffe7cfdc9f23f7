/*
 * on_accept from C (run under valgrind too, so every pointer it reads is checked):
 *  - the request view: struct_size, id, path, query, remote address, every header (a custom
 *    one among them) and the offered subprotocols in order, all readable during the call;
 *  - refusal with a status and a reason: a wss client's error has http_status 403, and the raw
 *    answer's status line is "HTTP/1.1 403 Go away";
 *  - subprotocol selection by index: the client sees the chosen one in its connection info;
 *  - an out-of-range index, and a status that is neither 0 nor 400..599: HTTP 500, and on_error
 *    on the server says why;
 *  - extra response headers on a 101 (seen on the raw answer, and in order in a wss client's
 *    conn_info; a server's conn_info has none);
 *  - the connection accepted afterwards carries the id the request had.
 */
#include "check.h"
#include "raw_peer.h"

#include <stddef.h>
#include <strings.h>

typedef struct {
    waiter w;
    int requests;
    int view_ok;          /* every request's view was complete and consistent */
    int custom_header_ok; /* the X-Test header seen on /proto */
    int offered_ok;       /* "chat.v1", "chat.v2" offered in that order on /proto */
    uint64_t proto_request_id;
    uint64_t proto_conn_id;
    int errors;
    wss_result last_error_code;
    char last_error_message[256];
} state;

static state st;

static const wss_header extra_headers[] = {{"X-Extra", "yes"}, {"X-Second", "2"}};

static int view_complete(const wss_upgrade_request *r) {
    size_t i;
    if (r->struct_size != sizeof *r || r->id == 0 || r->is_tls != 0) return 0;
    if (!nonempty(r->path) || r->path[0] != '/' || !contains(r->remote_address, "127.0.0.1:"))
        return 0;
    if (r->header_count == 0 || r->headers == NULL) return 0;
    for (i = 0; i < r->header_count; i++)
        if (!nonempty(r->headers[i].name) || r->headers[i].value == NULL) return 0;
    if (r->subprotocol_count > 0 && r->subprotocols == NULL) return 0;
    for (i = 0; i < r->subprotocol_count; i++)
        if (!nonempty(r->subprotocols[i])) return 0;
    return r->peer_certificate == NULL; /* plain ws */
}

static void on_accept(void *ud, const wss_upgrade_request *r, wss_accept_decision *d) {
    state *s = (state *)ud;
    size_t i;
    int complete = view_complete(r);
    pthread_mutex_lock(&s->w.mu);
    s->requests++;
    if (!complete) s->view_ok = 0;
    pthread_mutex_unlock(&s->w.mu);
    if (d->struct_size < sizeof *d) return; /* an older library: accept as pre-filled */
    CHECK(d->status == 0 && d->subprotocol_index == -1); /* pre-filled: accept, none */
    if (strcmp(r->path, "/refuse") == 0) {
        d->status = 403;
        d->reason = "Go away";
    } else if (strcmp(r->path, "/proto") == 0) {
        int v2 = -1, custom = 0;
        for (i = 0; i < r->header_count; i++)
            if (strcmp(r->headers[i].name, "X-Test") == 0 && strcmp(r->headers[i].value, "42") == 0)
                custom = 1;
        for (i = 0; i < r->subprotocol_count; i++)
            if (strcmp(r->subprotocols[i], "chat.v2") == 0) v2 = (int)i;
        pthread_mutex_lock(&s->w.mu);
        s->custom_header_ok = custom && r->query != NULL && strcmp(r->query, "q=1") == 0;
        s->offered_ok = r->subprotocol_count == 2 && strcmp(r->subprotocols[0], "chat.v1") == 0 &&
                        v2 == 1;
        s->proto_request_id = r->id;
        pthread_mutex_unlock(&s->w.mu);
        d->subprotocol_index = v2;
    } else if (strcmp(r->path, "/bad-index") == 0) {
        d->subprotocol_index = (int32_t)r->subprotocol_count + 3;
    } else if (strcmp(r->path, "/bad-status") == 0) {
        d->status = 200;
    } else if (strcmp(r->path, "/headers") == 0) {
        d->headers = extra_headers;
        d->header_count = 2;
    } else if (strcmp(r->path, "/copied") == 0) {
        /* Strings on this stack frame, gone when the library reads the decision: the setters
         * copy them; the frame's buffers are scribbled over before returning. */
        char reason[32], name[16], value[16];
        wss_accept_decision other;
        snprintf(reason, sizeof reason, "%s", "Stack Reason");
        snprintf(name, sizeof name, "%s", "X-Copied");
        snprintf(value, sizeof value, "%s", "1");
        d->status = 451;
        CHECK_OK(wss_accept_decision_set_reason(d, reason));
        CHECK_OK(wss_accept_decision_add_header(d, name, value));
        memset(&other, 0, sizeof other);
        CHECK_ERR(wss_accept_decision_set_reason(&other, reason), WSS_ERR_INVALID_STATE);
        memset(reason, 'X', sizeof reason - 1);
        memset(name, 'X', sizeof name - 1);
    } else if (strcmp(r->path, "/copied-headers") == 0) {
        char name[16];
        d->headers = extra_headers; /* static: kept, then the copied one follows */
        d->header_count = 1;
        snprintf(name, sizeof name, "%s", "X-Copied");
        CHECK_OK(wss_accept_decision_add_header(d, name, "2"));
        /* Headers the library writes, and broken ones, are refused at once. */
        CHECK_ERR(wss_accept_decision_add_header(d, "Sec-WebSocket-Extensions", "x"),
                  WSS_ERR_INVALID_ARGUMENT);
        CHECK_ERR(wss_accept_decision_add_header(d, "X-Bad", "a\r\nInjected: 1"),
                  WSS_ERR_INVALID_ARGUMENT);
        memset(name, 'X', sizeof name - 1);
    }
}

static void on_open(void *ud, uint64_t conn) {
    state *s = (state *)ud;
    wss_conn_info *info = NULL;
    /* A server's view has no response headers. */
    if (wss_conn_info_get(conn, &info) == WSS_OK &&
        (info->response_headers != NULL || info->response_header_count != 0))
        CHECK(!"server-side conn_info has response headers");
    if (info && info->path && strcmp(info->path, "/proto") == 0) {
        pthread_mutex_lock(&s->w.mu);
        s->proto_conn_id = conn;
        waiter_signal_locked(&s->w);
        pthread_mutex_unlock(&s->w.mu);
    }
    wss_conn_info_free(info);
}

static void on_error(void *ud, uint64_t conn, void *conn_ud, const wss_error *e) {
    state *s = (state *)ud;
    (void)conn;
    (void)conn_ud;
    pthread_mutex_lock(&s->w.mu);
    s->errors++;
    s->last_error_code = wss_error_code(e);
    snprintf(s->last_error_message, sizeof s->last_error_message, "%s", wss_error_message(e));
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static int want_errors;
static int errors_reached(void *a) { return ((state *)a)->errors >= want_errors; }
static int proto_opened(void *a) { return ((state *)a)->proto_conn_id != 0; }

/* A wss client to `path` must fail with `status`. */
static void refused_with(uint16_t port, const char *path, int status) {
    wss_client *c = NULL;
    wss_error_info e;
    if (CHECK_ERR(plain_client(port, path, NULL, NULL, NULL, &c, NULL), WSS_ERR_HANDSHAKE)) {
        CHECK_OK(last_error(&e));
        if (!CHECK(e.http_status == status))
            fprintf(stderr, "  %s: HTTP %u, expected %d\n", path, e.http_status, status);
    }
    wss_client_free(c);
}

/* The raw answer to an upgrade of `path`: its status and head. */
static int raw_answer(uint16_t port, const char *path, const char *extra, char *head, size_t cap) {
    int fd = raw_connect(port), status;
    if (!CHECK(fd >= 0)) return -1;
    status = raw_upgrade(fd, path, extra, head, cap);
    close(fd);
    return status;
}

/* An invalid decision: HTTP 500 and one on_error naming the problem. */
static void invalid_decision(uint16_t port, const char *path, const char *needle) {
    int ok;
    pthread_mutex_lock(&st.w.mu);
    want_errors = st.errors + 1;
    pthread_mutex_unlock(&st.w.mu);
    refused_with(port, path, 500);
    ok = waiter_wait(&st.w, errors_reached, &st, WAIT_MS);
    pthread_mutex_lock(&st.w.mu);
    if (CHECK(ok)) {
        CHECK(st.last_error_code == WSS_ERR_INVALID_ARGUMENT);
        if (!CHECK(contains(st.last_error_message, needle)))
            fprintf(stderr, "  on_error said: %s\n", st.last_error_message);
    }
    pthread_mutex_unlock(&st.w.mu);
}

int main(void) {
    wss_callbacks cb = callbacks_init();
    wss_server *server = NULL;
    wss_client *client = NULL;
    wss_options *opts = generous_options();
    wss_conn_info *info = NULL;
    uint16_t port = 0;
    uint64_t cid = 0;
    char head[2048], url[96];
    int status, ok;

    memset(&st, 0, sizeof st);
    waiter_init(&st.w);
    st.view_ok = 1;
    cb.on_accept = on_accept;
    cb.on_open = on_open;
    cb.on_error = on_error;
    if (!CHECK(opts != NULL) || !CHECK_OK(plain_server(1, &cb, &st, NULL, &server, &port)))
        return check_summary();

    /* Refusal with status and reason. */
    refused_with(port, "/refuse", 403);
    status = raw_answer(port, "/refuse", "", head, sizeof head);
    CHECK(status == 403);
    if (!CHECK(strncmp(head, "HTTP/1.1 403 Go away\r\n", 22) == 0))
        fprintf(stderr, "  answer: %.60s\n", head);

    /* Reason and headers set with the copying setters from stack buffers. */
    status = raw_answer(port, "/copied", "", head, sizeof head);
    CHECK(status == 451);
    if (!CHECK(strncmp(head, "HTTP/1.1 451 Stack Reason\r\n", 27) == 0))
        fprintf(stderr, "  answer: %.60s\n", head);
    status = raw_answer(port, "/copied-headers", "", head, sizeof head);
    CHECK(status == 101);
    if (!CHECK(head_has(head, "X-Extra: yes") && head_has(head, "X-Copied: 2")))
        fprintf(stderr, "  answer:\n%s\n", head);
    /* Outside on_accept the setters refuse. */
    {
        wss_accept_decision none;
        memset(&none, 0, sizeof none);
        CHECK_ERR(wss_accept_decision_set_reason(&none, "x"), WSS_ERR_INVALID_STATE);
        CHECK_ERR(wss_accept_decision_add_header(&none, "a", "b"), WSS_ERR_INVALID_STATE);
        CHECK_ERR(wss_accept_decision_set_reason(NULL, "x"), WSS_ERR_INVALID_ARGUMENT);
        CHECK_ERR(wss_accept_decision_add_header(NULL, "a", "b"), WSS_ERR_INVALID_ARGUMENT);
    }

    /* Subprotocol selection, with a custom request header and a query. */
    CHECK_OK(wss_options_add_subprotocol(opts, "chat.v1"));
    CHECK_OK(wss_options_add_subprotocol(opts, "chat.v2"));
    CHECK_OK(wss_options_add_header(opts, "X-Test", "42"));
    CHECK_ERR(wss_options_add_header(opts, "connection", "close"), WSS_ERR_INVALID_ARGUMENT);
    CHECK_ERR(wss_options_add_header(opts, "Sec-WebSocket-Key", "x"), WSS_ERR_INVALID_ARGUMENT);
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/proto?q=1", (unsigned)port);
    if (CHECK_OK(wss_client_connect(url, NULL, opts, NULL, NULL, NULL, &client))) {
        CHECK_OK(wss_client_conn_id(client, &cid));
        if (CHECK_OK(wss_conn_info_get(cid, &info)))
            CHECK(info->subprotocol && strcmp(info->subprotocol, "chat.v2") == 0);
        wss_conn_info_free(info);
        ok = waiter_wait(&st.w, proto_opened, &st, WAIT_MS);
        pthread_mutex_lock(&st.w.mu);
        CHECK(ok && st.proto_conn_id == st.proto_request_id); /* the request's id is the conn's */
        CHECK(st.custom_header_ok);
        CHECK(st.offered_ok);
        pthread_mutex_unlock(&st.w.mu);
        CHECK_OK(wss_client_close(client, 1000, NULL, WAIT_MS));
    }
    wss_client_free(client);

    /* The client sees the 101's headers in order: what on_accept added, after the library's. */
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/copied-headers", (unsigned)port);
    client = NULL;
    if (CHECK_OK(wss_client_connect(url, NULL, NULL, NULL, NULL, NULL, &client))) {
        CHECK_OK(wss_client_conn_id(client, &cid));
        info = NULL;
        if (CHECK_OK(wss_conn_info_get(cid, &info)) &&
            CHECK(info->struct_size >= offsetof(wss_conn_info, response_header_count) +
                                           sizeof info->response_header_count)) {
            size_t i, upgrade = 0, extra = 0, copied = 0;
            for (i = 0; i < info->response_header_count; i++) {
                const wss_header *h = &info->response_headers[i];
                if (strcasecmp(h->name, "Upgrade") == 0 && strcmp(h->value, "websocket") == 0)
                    upgrade = i + 1;
                if (strcmp(h->name, "X-Extra") == 0 && strcmp(h->value, "yes") == 0) extra = i + 1;
                if (strcmp(h->name, "X-Copied") == 0 && strcmp(h->value, "2") == 0) copied = i + 1;
            }
            if (!CHECK(info->is_client == 1 && upgrade && extra && copied && upgrade < extra &&
                       extra < copied))
                fprintf(stderr, "  %zu response headers: upgrade %zu extra %zu copied %zu\n",
                        info->response_header_count, upgrade, extra, copied);
        }
        wss_conn_info_free(info);
        CHECK_OK(wss_client_close(client, 1000, NULL, WAIT_MS));
    }
    wss_client_free(client);
    client = NULL;

    /* Invalid decisions: 500, reported to the host. */
    invalid_decision(port, "/bad-index", "subprotocol_index");
    invalid_decision(port, "/bad-status", "status");

    /* Extra response headers on the 101. */
    status = raw_answer(port, "/headers", "", head, sizeof head);
    CHECK(status == 101);
    if (!CHECK(head_has(head, "X-Extra: yes") && head_has(head, "X-Second: 2")))
        fprintf(stderr, "  answer:\n%s\n", head);

    CHECK_OK(wss_server_close(server, WAIT_MS));
    wss_server_free(server);
    pthread_mutex_lock(&st.w.mu);
    CHECK(st.requests >= 8);
    CHECK(st.view_ok);
    CHECK(st.errors == 2); /* no error but the two invalid decisions */
    pthread_mutex_unlock(&st.w.mu);
    wss_options_free(opts);
    waiter_destroy(&st.w);
    return check_summary();
}
