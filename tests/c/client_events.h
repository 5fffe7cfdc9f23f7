/*
 * A callback-mode client that records its events, for the programs that connect with
 * wss_client_connect_async (async_connect.c, accept_events.c). Include after check.h.
 *
 * client_start connects with these callbacks and the state as user_data; the test waits on
 * s->w with the reached_* predicates, and client_finish frees the client and checks that its
 * release ran exactly once.
 */
#ifndef WSS_TEST_CLIENT_EVENTS_H
#define WSS_TEST_CLIENT_EVENTS_H

#include "check.h"

typedef struct {
    waiter w;
    wss_client *client;      /* the out-parameter of the connect call */
    int handle_set_at_event; /* the handle was already written when the first event came */
    int opens, closes, errors, messages, released;
    uint64_t error_conn;
    wss_result error_code;
    int32_t verify_code;
    uint16_t http_status;
} client_state;

static inline void note_first_event(client_state *s) {
    if (s->opens + s->errors == 0) s->handle_set_at_event = s->client != NULL;
}

static inline void c_open(void *ud, uint64_t conn) {
    client_state *s = (client_state *)ud;
    (void)conn;
    pthread_mutex_lock(&s->w.mu);
    note_first_event(s);
    s->opens++;
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static inline void c_close(void *ud, uint64_t conn, void *cd, uint16_t code, const char *reason) {
    client_state *s = (client_state *)ud;
    (void)conn, (void)cd, (void)code, (void)reason;
    count_up(&s->w, &s->closes);
}

static inline void c_error(void *ud, uint64_t conn, void *cd, const wss_error *err) {
    client_state *s = (client_state *)ud;
    wss_error_info info = error_info_init();
    (void)cd;
    CHECK_OK(wss_error_get_info(err, &info));
    pthread_mutex_lock(&s->w.mu);
    note_first_event(s);
    s->errors++;
    s->error_conn = conn;
    s->error_code = wss_error_code(err);
    s->verify_code = info.verify_code;
    s->http_status = info.http_status;
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static inline void c_release(void *ud) {
    client_state *s = (client_state *)ud;
    count_up(&s->w, &s->released);
}

static inline int reached_open(void *p) { return ((client_state *)p)->opens > 0; }
static inline int reached_error(void *p) { return ((client_state *)p)->errors > 0; }
static inline int reached_message(void *p) { return ((client_state *)p)->messages > 0; }
static inline int reached_close(void *p) { return ((client_state *)p)->closes > 0; }
static inline int reached_release(void *p) { return ((client_state *)p)->released > 0; }

/* The type of wss_callbacks.on_message. */
typedef void (*client_message_fn)(void *ud, uint64_t conn, void *conn_ud, wss_message_kind kind,
                                  const uint8_t *data, size_t len);

/* Start a client on `url` with the recording callbacks plus `on_message` (may be NULL); the
 * state's `client` is the out-parameter. */
static inline wss_result client_start(client_state *s, const char *url, const wss_tls_config *tls,
                                      const wss_options *o, client_message_fn on_message) {
    wss_callbacks cb = callbacks_init();
    cb.on_open = c_open;
    cb.on_message = on_message;
    cb.on_close = c_close;
    cb.on_error = c_error;
    memset(s, 0, sizeof *s);
    waiter_init(&s->w);
    return wss_client_connect_async(url, tls, o, &cb, s, c_release, &s->client);
}

/* Free the client and check its release ran exactly once. */
static inline void client_finish(client_state *s) {
    wss_client_free(s->client);
    CHECK(waiter_wait(&s->w, reached_release, s, WAIT_MS));
    pthread_mutex_lock(&s->w.mu);
    CHECK(s->released == 1);
    pthread_mutex_unlock(&s->w.mu);
    waiter_destroy(&s->w);
}

#endif /* WSS_TEST_CLIENT_EVENTS_H */
