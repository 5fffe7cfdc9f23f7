/*
 * Owned errors (wss_error): taken after a failing call, they keep their detail on any thread,
 * after later failures on the thread that took them, and after the thread ends.
 *  1. A connection refused: wss_error_last on the calling thread, then another failing call
 *     there; a second thread reads the owned error (WSS_ERR_IO, ECONNREFUSED) and frees it.
 *  2. A certificate verify failure (client trusting the rogue CA): the error is copied, and the
 *     two references are read and freed on two other threads (freed twice, once each).
 *  3. The server's on_error for that handshake: the borrowed error is copied inside the
 *     callback and read by the main thread after the callback returned.
 *  4. A pull-mode error event: the error copied from the event outlives the event.
 *  5. An error taken on a thread that then ends is still readable.
 * valgrind and AddressSanitizer check that nothing is read after its last free.
 */
#include "check.h"

static waiter w;

/* ---------------------------------------------------------------- helpers */

typedef struct {
    wss_error *err;
    wss_result want_code;
    int want_errno;
    int32_t want_verify;
    int start; /* set by main when the thread may read */
    int ok;
} reader;

static int may_start(void *a) { return ((reader *)a)->start; }

/* Read an owned error on this thread (once main says so), check it, free it. */
static void *read_and_free(void *arg) {
    reader *r = (reader *)arg;
    wss_error_info info = error_info_init();
    int ok;
    waiter_wait(&w, may_start, r, WAIT_MS);
    ok = wss_error_get_info(r->err, &info) == WSS_OK && info.code == r->want_code &&
         wss_error_code(r->err) == r->want_code && nonempty(info.message) &&
         nonempty(info.kind) && strcmp(info.message, wss_error_message(r->err)) == 0;
    if (ok && r->want_errno) ok = info.os_errno == r->want_errno;
    if (ok && r->want_verify)
        ok = info.verify_code == r->want_verify && nonempty(info.verify_text) &&
             contains(info.peer_address, "127.0.0.1:") && info.openssl_error_count > 0 &&
             info.openssl_errors != NULL && nonempty(info.openssl_errors[0].reason);
    if (!ok)
        fprintf(stderr, "  owned error read on another thread: code %d, errno %d, verify %d: %s\n",
                (int)info.code, (int)info.os_errno, (int)info.verify_code,
                info.message ? info.message : "(null)");
    wss_error_free(r->err);
    r->ok = ok;
    return NULL;
}

static void start(reader *r) {
    pthread_mutex_lock(&w.mu);
    r->start = 1;
    waiter_signal_locked(&w);
    pthread_mutex_unlock(&w.mu);
}

/* A port nobody listens on: a server's, after it was closed. */
static uint16_t closed_port(void) {
    wss_server *s = NULL;
    uint16_t port = 0;
    if (CHECK_OK(plain_server(1, NULL, NULL, NULL, &s, &port)))
        CHECK_OK(wss_server_close(s, WAIT_MS));
    wss_server_free(s);
    return port;
}

/* ---------------------------------------------------------------- 1 */

static void used_on_another_thread(void) {
    wss_client *c = NULL;
    reader r;
    pthread_t t;
    memset(&r, 0, sizeof r);
    r.want_code = WSS_ERR_IO;
    r.want_errno = ECONNREFUSED;
    CHECK_ERR(plain_client(closed_port(), "/", NULL, NULL, NULL, &c, NULL), WSS_ERR_IO);
    if (!CHECK_OK(wss_error_last(&r.err)) || !CHECK(r.err != NULL)) return;
    if (!CHECK(pthread_create(&t, NULL, read_and_free, &r) == 0)) {
        wss_error_free(r.err);
        return;
    }
    /* Later failures on this thread replace its last error, not the owned one. */
    CHECK_ERR(wss_send_text(1, "x"), WSS_ERR_NOT_CONNECTED);
    start(&r);
    pthread_join(t, NULL);
    CHECK(r.ok);
}

/* ---------------------------------------------------------------- 2, 3 */

static wss_error *server_copy;
static int server_errors;

static void srv_error(void *ud, uint64_t conn, void *conn_ud, const wss_error *e) {
    wss_error *copy = NULL;
    (void)ud;
    (void)conn_ud;
    CHECK(conn == 0); /* before the connection opened */
    if (!CHECK_OK(wss_error_copy(e, &copy))) return;
    pthread_mutex_lock(&w.mu);
    if (server_copy == NULL) {
        server_copy = copy;
        copy = NULL;
    }
    server_errors++;
    waiter_signal_locked(&w);
    pthread_mutex_unlock(&w.mu);
    wss_error_free(copy);
}

static int server_error_seen(void *a) {
    (void)a;
    return server_copy != NULL;
}

static void copied_and_freed_twice(void) {
    wss_tls_config *stls = NULL, *ctls = NULL;
    wss_callbacks cb = callbacks_init();
    wss_server *server = NULL;
    wss_client *client = NULL;
    wss_error *err = NULL;
    reader r1, r2;
    pthread_t t1, t2;
    uint16_t port = 0;
    char url[64];
    int ok;

    cb.on_error = srv_error;
    CHECK_OK(wss_tls_config_new(&stls));
    CHECK_OK(wss_tls_config_load_pfx_file(stls, need_env("WSS_SERVER_P12"),
                                          need_env("WSS_PFX_PASSWORD")));
    if (!CHECK_OK(wss_server_new("127.0.0.1:0", stls, NULL, &cb, NULL, NULL, &server))) goto out;
    CHECK_OK(wss_server_port(server, &port));
    CHECK_OK(wss_tls_config_new(&ctls));
    CHECK_OK(wss_tls_config_load_ca_file(ctls, need_env("WSS_ROGUE_CA")));
    snprintf(url, sizeof url, "wss://127.0.0.1:%u/", (unsigned)port);
    CHECK_ERR(wss_client_connect(url, ctls, NULL, NULL, NULL, NULL, &client), WSS_ERR_CERT_VERIFY);
    if (!CHECK_OK(wss_error_last(&err)) || !CHECK(err != NULL)) goto out;

    /* Two references, each read and freed on its own thread. */
    memset(&r1, 0, sizeof r1);
    r1.want_code = WSS_ERR_CERT_VERIFY;
    r1.want_verify = 19; /* self-signed certificate in chain: server.p12 sends its root */
    r2 = r1;
    r1.err = err;
    if (!CHECK_OK(wss_error_copy(err, &r2.err))) {
        wss_error_free(err);
        goto out;
    }
    CHECK(r2.err != NULL);
    if (CHECK(pthread_create(&t1, NULL, read_and_free, &r1) == 0)) {
        start(&r1);
        pthread_join(t1, NULL);
        CHECK(r1.ok);
    } else {
        wss_error_free(r1.err);
    }
    /* The first reference is gone; the copy still reads. */
    if (CHECK(pthread_create(&t2, NULL, read_and_free, &r2) == 0)) {
        start(&r2);
        pthread_join(t2, NULL);
        CHECK(r2.ok);
    } else {
        wss_error_free(r2.err);
    }

    /* 3. The server's on_error copy, read here after the callback returned. */
    ok = waiter_wait(&w, server_error_seen, NULL, WAIT_MS);
    if (CHECK(ok)) {
        wss_error_info info = error_info_init();
        pthread_mutex_lock(&w.mu);
        err = server_copy;
        server_copy = NULL;
        pthread_mutex_unlock(&w.mu);
        if (CHECK_OK(wss_error_get_info(err, &info))) {
            CHECK(info.code == WSS_ERR_TLS || info.code == WSS_ERR_CERT_VERIFY ||
                  info.code == WSS_ERR_IO);
            CHECK(nonempty(info.message));
            CHECK(contains(info.peer_address, "127.0.0.1:"));
        }
        wss_error_free(err);
    }
out:
    wss_client_free(client);
    if (server) CHECK_OK(wss_server_close(server, WAIT_MS));
    wss_server_free(server);
    wss_error_free(server_copy); /* further copies, if any */
    wss_tls_config_free(stls);
    wss_tls_config_free(ctls);
}

/* ---------------------------------------------------------------- 4 */

static void error_event_outlives_its_event(void) {
    wss_tls_config *stls = NULL, *ctls = NULL;
    wss_server *server = NULL;
    wss_client *client = NULL;
    wss_event *ev = NULL;
    wss_error *copy = NULL;
    wss_error_info info = error_info_init();
    uint16_t port = 0;
    char url[64];

    /* A pull-mode wss server; a client that distrusts it aborts the handshake, and the server
     * queues the failure as an error event (conn 0). */
    CHECK_OK(wss_tls_config_new(&stls));
    CHECK_OK(wss_tls_config_load_pfx_file(stls, need_env("WSS_SERVER_P12"),
                                          need_env("WSS_PFX_PASSWORD")));
    if (!CHECK_OK(wss_server_new("127.0.0.1:0", stls, NULL, NULL, NULL, NULL, &server))) goto out;
    CHECK_OK(wss_server_port(server, &port));
    CHECK_OK(wss_tls_config_new(&ctls));
    CHECK_OK(wss_tls_config_load_ca_file(ctls, need_env("WSS_ROGUE_CA")));
    snprintf(url, sizeof url, "wss://127.0.0.1:%u/", (unsigned)port);
    CHECK_ERR(wss_client_connect(url, ctls, NULL, NULL, NULL, NULL, &client), WSS_ERR_CERT_VERIFY);
    if (CHECK_OK(wss_server_next_event(server, WAIT_MS, &ev)) &&
        CHECK(ev->event_type == WSS_EVENT_ERROR && ev->conn == 0 && ev->error != NULL))
        CHECK_OK(wss_error_copy(ev->error, &copy));
    wss_event_free(ev); /* the event's reference goes; the copy stays */
    if (copy && CHECK_OK(wss_error_get_info(copy, &info))) {
        CHECK(info.code != WSS_OK);
        CHECK(nonempty(info.message));
        CHECK(contains(info.peer_address, "127.0.0.1:"));
    }
    wss_error_free(copy);
out:
    wss_client_free(client);
    if (server) CHECK_OK(wss_server_close(server, WAIT_MS));
    wss_server_free(server);
    wss_tls_config_free(stls);
    wss_tls_config_free(ctls);
}

/* ---------------------------------------------------------------- 5 */

static void *fail_and_take(void *arg) {
    wss_error **out = (wss_error **)arg;
    wss_send_text(777, "x");
    if (wss_error_last(out) != WSS_OK) *out = NULL;
    return NULL;
}

static void outlives_its_thread(void) {
    wss_error *err = NULL;
    pthread_t t;
    if (!CHECK(pthread_create(&t, NULL, fail_and_take, &err) == 0)) return;
    pthread_join(t, NULL);
    if (CHECK(err != NULL)) {
        CHECK(wss_error_code(err) == WSS_ERR_NOT_CONNECTED);
        CHECK(contains(wss_error_message(err), "777"));
    }
    wss_error_free(err);
}

int main(void) {
    waiter_init(&w);
    used_on_another_thread();
    copied_and_freed_twice();
    error_event_outlives_its_event();
    outlives_its_thread();
    waiter_destroy(&w);
    return check_summary();
}
