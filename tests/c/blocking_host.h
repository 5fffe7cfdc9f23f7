/*
 * A host whose server callback blocks until the test lets it go, for the programs that check
 * when release callbacks run (release.c, close_race.c). Include after check.h.
 *
 * The host's data is heap memory its release frees, and a blocked callback writes to it after
 * it unblocks: a release that came too early is a use after free that valgrind and
 * AddressSanitizer report (tests/c_abi.rs runs these programs under both). The counters and the
 * waiter are static, so they outlive the host data; they are guarded by w.mu.
 */
#ifndef WSS_TEST_BLOCKING_HOST_H
#define WSS_TEST_BLOCKING_HOST_H

#include "check.h"

#define HOST_MAGIC 0x5eedu

/* Which release counter a host's data counts in. SERVER_DATA is the blocking server's own: its
 * release must come only after every callback that entered has returned. */
enum { SERVER_DATA, ROUTE_DATA, CONN_DATA, CLIENT_DATA, HOST_KINDS };

/* The host's data for an endpoint (or a route, or a connection): freed by its release. */
typedef struct {
    unsigned magic;
    long touched;       /* written by callbacks, also after they unblock */
    wss_server *server; /* for a callback that frees its own server */
    wss_client *client; /* for a callback that frees its own client */
    int kind;           /* which release counter */
} host;

static waiter w;
/* Callbacks that entered host_block (or that a program counts itself) and that returned; `go`
 * lets blocked callbacks return. */
static int entered, returned, go;
static int released[HOST_KINDS], early_releases, bad_magic;
/* The thread of the last callback that blocked. */
static pthread_t blocked_thread;

/* Zero the shared counters (programs reset their own beside it). */
static inline void host_reset(void) {
    pthread_mutex_lock(&w.mu);
    entered = returned = go = 0;
    memset(released, 0, sizeof released);
    early_releases = bad_magic = 0;
    pthread_mutex_unlock(&w.mu);
}

static inline host *host_new(int kind) {
    host *h = (host *)calloc(1, sizeof *h);
    if (h) {
        h->magic = HOST_MAGIC;
        h->kind = kind;
    }
    return h;
}

/* The release function for every host: counts, checks it came late enough, frees. */
static inline void host_release(void *p) {
    host *h = (host *)p;
    pthread_mutex_lock(&w.mu);
    if (h->magic != HOST_MAGIC) bad_magic++;
    if (h->kind == SERVER_DATA && returned != entered) early_releases++;
    released[h->kind]++;
    waiter_signal_locked(&w);
    pthread_mutex_unlock(&w.mu);
    h->magic = 0;
    free(h);
}

static inline int go_given(void *a) {
    (void)a;
    return go;
}

/* Called from a server callback: count it as entered, block until let_go (at most WAIT_MS),
 * then write the host data (which must still be alive) and count the return. */
static inline void host_block(host *h) {
    pthread_mutex_lock(&w.mu);
    entered++;
    blocked_thread = pthread_self();
    waiter_signal_locked(&w);
    waiter_wait_locked(&w, go_given, NULL, WAIT_MS);
    pthread_mutex_unlock(&w.mu);
    h->touched++;
    count_up(&w, &returned);
}

/* Start a plain server with `io_threads` I/O threads and `cb`, its user data a new SERVER_DATA
 * host (*h, released by host_release). Returns whether it started (a counted check); when it did
 * not, nothing is left to free. */
static inline int host_server(uint32_t io_threads, const wss_callbacks *cb, host **h,
                              wss_server **server, uint16_t *port) {
    *h = host_new(SERVER_DATA);
    if (!CHECK(*h != NULL)) return 0;
    if (!CHECK_OK(plain_server(io_threads, cb, *h, host_release, server, port))) {
        free(*h);
        *h = NULL;
        return 0;
    }
    return 1;
}

/* Whether a message is exactly `word`. */
static inline int is_word(const uint8_t *data, size_t len, const char *word) {
    return len == strlen(word) && memcmp(data, word, len) == 0;
}

/* Let every blocked callback return. */
static inline void let_go(void) {
    pthread_mutex_lock(&w.mu);
    go = 1;
    waiter_signal_locked(&w);
    pthread_mutex_unlock(&w.mu);
}

static inline int wait_entered(int n) { return wait_count(&w, &entered, n, WAIT_MS); }

/* Wait up to `ms` for `n` releases of `kind`; returns whether they came. */
static inline int wait_released(int kind, int n, unsigned ms) {
    return wait_count(&w, &released[kind], n, ms);
}

static inline int releases(int kind) { return read_count(&w, &released[kind]); }

/* Connect a client to the server on `port` and send "block", which the server's on_message
 * passes to host_block. Returns (a counted check) once that callback has blocked; *client is
 * the caller's to free. */
static inline int block_a_callback(uint16_t port, wss_client **client) {
    uint64_t id = 0;
    return CHECK_OK(plain_client(port, "/", NULL, NULL, NULL, client, &id)) &&
           CHECK_OK(wss_send_text(id, "block")) && CHECK(wait_entered(1));
}

/* After let_go: the server's data is released once, not early, intact. */
static inline void check_one_late_release(void) {
    CHECK(wait_released(SERVER_DATA, 1, WAIT_MS));
    pthread_mutex_lock(&w.mu);
    CHECK(released[SERVER_DATA] == 1);
    CHECK(early_releases == 0);
    CHECK(bad_magic == 0);
    pthread_mutex_unlock(&w.mu);
}

#endif /* WSS_TEST_BLOCKING_HOST_H */
