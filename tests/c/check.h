/*
 * Tiny test support for the C programs in tests/c (built and run by tests/c_abi.rs).
 *
 * Include this first: it selects POSIX.1-2008 for clock_gettime and pthread_cond_timedwait
 * under -std=c99. CHECK counts passes and failures (thread-safe); every program ends with
 * `return check_summary();`, which prints "N passed, N failed" and gives the exit code.
 * Waiting is done on events (mutex + condition variable, or pull-mode next_event with a
 * timeout), always with a bound; never with sleeps.
 *
 * Harnesses shared by several programs live beside it: blocking_host.h (a server callback that
 * blocks until the test lets it go, for release timing), client_events.h (a client that records
 * its events, for the non-blocking connect), raw_peer.h (a raw TCP/WebSocket peer).
 */
#ifndef WSS_TEST_CHECK_H
#define WSS_TEST_CHECK_H

#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wss.h"

/* Upper bound for any single expected event (generous: the programs also run under valgrind). */
#define WAIT_MS 60000u

static pthread_mutex_t check_lock = PTHREAD_MUTEX_INITIALIZER;
static int check_passed;
static int check_failed;

static inline int check_impl(int ok, const char *what, const char *file, int line) {
    pthread_mutex_lock(&check_lock);
    if (ok) {
        check_passed++;
    } else {
        check_failed++;
        fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
        fflush(stderr);
    }
    pthread_mutex_unlock(&check_lock);
    return ok;
}

/* Count a check; evaluates to the condition so callers can skip dependent checks. */
#define CHECK(cond) check_impl((cond) ? 1 : 0, #cond, __FILE__, __LINE__)

/* An empty wss_error_info with its struct_size set, ready for wss_last_error or
 * wss_error_get_info. */
static inline wss_error_info error_info_init(void) {
    wss_error_info e;
    memset(&e, 0, sizeof e);
    e.struct_size = (uint32_t)sizeof e;
    return e;
}

/* Fill `e` with the calling thread's last error; returns wss_last_error's result. */
static inline wss_result last_error(wss_error_info *e) {
    *e = error_info_init();
    return wss_last_error(e);
}

/* Print the calling thread's last error (used when a check on a result code fails). */
static inline void dump_last_error(const char *context) {
    wss_error_info e;
    size_t i;
    if (last_error(&e) != WSS_OK) {
        fprintf(stderr, "  (%s: wss_last_error failed)\n", context);
        return;
    }
    fprintf(stderr, "  %s: last error code %d (%s): %s\n", context, (int)e.code,
            e.kind ? e.kind : "?", e.message ? e.message : "(null)");
    if (e.hint) fprintf(stderr, "    hint: %s\n", e.hint);
    if (e.verify_code) {
        fprintf(stderr, "    verify %d at depth %d: %s (%s)\n", (int)e.verify_code,
                (int)e.verify_depth, e.verify_text ? e.verify_text : "?",
                e.verify_subject ? e.verify_subject : "?");
    }
    for (i = 0; i < e.openssl_error_count; i++) {
        fprintf(stderr, "    openssl: %s: %s\n", e.openssl_errors[i].library,
                e.openssl_errors[i].reason);
    }
}

static inline int check_rc_impl(wss_result got, wss_result want, const char *call, const char *file,
                         int line) {
    char what[512];
    if (got == want) return check_impl(1, call, file, line);
    snprintf(what, sizeof what, "%s returned %d (%s), expected %d (%s)", call, (int)got,
             wss_result_str(got), (int)want, wss_result_str(want));
    check_impl(0, what, file, line);
    if (got != WSS_OK) dump_last_error(call);
    return 0;
}

/* The call must return `want`. */
#define CHECK_RC(call, want) check_rc_impl((call), (want), #call, __FILE__, __LINE__)
/* The call must succeed. */
#define CHECK_OK(call) check_rc_impl((call), WSS_OK, #call, __FILE__, __LINE__)

/* The call must fail with `want`, and wss_last_error must then report the same code with a
 * non-empty message. */
static inline int check_err_impl(wss_result got, wss_result want, const char *call, const char *file,
                          int line) {
    wss_error_info e;
    char what[512];
    if (!check_rc_impl(got, want, call, file, line)) return 0;
    if (last_error(&e) != WSS_OK || e.code != want || e.message == NULL ||
        e.message[0] == '\0' || e.kind == NULL || e.kind[0] == '\0') {
        snprintf(what, sizeof what, "%s: wss_last_error has code %d and message '%s'", call,
                 (int)e.code, e.message ? e.message : "(null)");
        return check_impl(0, what, file, line);
    }
    return check_impl(1, call, file, line);
}
#define CHECK_ERR(call, want) check_err_impl((call), (want), #call, __FILE__, __LINE__)

/* Final line and exit code. */
static inline int check_summary(void) {
    pthread_mutex_lock(&check_lock);
    printf("%d passed, %d failed\n", check_passed, check_failed);
    fflush(stdout);
    pthread_mutex_unlock(&check_lock);
    return check_failed == 0 && check_passed > 0 ? 0 : 1;
}

/* A required environment variable (set by tests/c_abi.rs). */
static inline const char *need_env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "missing environment variable %s (run through tests/c_abi.rs)\n", name);
        exit(2);
    }
    return v;
}

/* WSS_TEST_LIGHT=1: scale work down (valgrind runs). */
static inline int test_light(void) {
    const char *v = getenv("WSS_TEST_LIGHT");
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

/* Whether `s` is non-NULL and non-empty. */
static inline int nonempty(const char *s) { return s != NULL && s[0] != '\0'; }

/* Whether `s` is non-NULL and contains `needle`. */
static inline int contains(const char *s, const char *needle) {
    return s != NULL && strstr(s, needle) != NULL;
}

/* Absolute deadline `ms` from now, for pthread_cond_timedwait. */
static inline struct timespec deadline_in(unsigned ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000u);
    ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec += 1;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Milliseconds on a monotonic clock (for checking that a call returns promptly). */
static inline double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* A mutex + condition variable pair for waiting on callback-side state. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
} waiter;

static inline void waiter_init(waiter *w) {
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
}

static inline void waiter_destroy(waiter *w) {
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

/* Wait (w->mu held by the caller) until pred(arg) is true or `ms` pass; returns pred's value. */
static inline int waiter_wait_locked(waiter *w, int (*pred)(void *), void *arg, unsigned ms) {
    struct timespec until = deadline_in(ms);
    while (!pred(arg)) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT) return pred(arg);
    }
    return 1;
}

/* Lock, wait for pred(arg) (at most `ms`), unlock. */
static inline int waiter_wait(waiter *w, int (*pred)(void *), void *arg, unsigned ms) {
    int ok;
    pthread_mutex_lock(&w->mu);
    ok = waiter_wait_locked(w, pred, arg, ms);
    pthread_mutex_unlock(&w->mu);
    return ok;
}

/* Wake all waiters (call with w->mu held after changing the state). */
static inline void waiter_signal_locked(waiter *w) { pthread_cond_broadcast(&w->cv); }

/* Counters of callback-side events, guarded by a waiter's mutex: a callback counts with
 * count_up, the test waits for a number with wait_count and reads one with read_count. */

/* Add one to *counter and wake the waiters (takes w->mu). */
static inline void count_up(waiter *w, int *counter) {
    pthread_mutex_lock(&w->mu);
    (*counter)++;
    waiter_signal_locked(w);
    pthread_mutex_unlock(&w->mu);
}

typedef struct {
    const int *counter;
    int n;
} count_goal;

static inline int count_goal_reached(void *arg) {
    const count_goal *g = (const count_goal *)arg;
    return *g->counter >= g->n;
}

/* Wait (at most `ms`) until *counter reaches `n`; returns whether it did. */
static inline int wait_count(waiter *w, const int *counter, int n, unsigned ms) {
    count_goal g;
    g.counter = counter;
    g.n = n;
    return waiter_wait(w, count_goal_reached, &g, ms);
}

/* The value of *counter (read under w->mu). */
static inline int read_count(waiter *w, const int *counter) {
    int n;
    pthread_mutex_lock(&w->mu);
    n = *counter;
    pthread_mutex_unlock(&w->mu);
    return n;
}

/* For an on_error callback that expects none: print the error and count it in *counter. */
static inline void count_error_event(waiter *w, int *counter, uint64_t conn, const wss_error *e) {
    fprintf(stderr, "on_error (conn %llu): %s\n", (unsigned long long)conn, wss_error_message(e));
    count_up(w, counter);
}

/* Endpoint options with generous connect/handshake/close timeouts: under valgrind on a loaded
 * machine a TLS handshake can take seconds, and the 10 s defaults would turn slowness into
 * failures. Free with wss_options_free. */
static inline wss_options *generous_options(void) {
    wss_options *o = NULL;
    if (wss_options_new(&o) != WSS_OK) return NULL;
    if (wss_options_set_connect_timeout_ms(o, WAIT_MS) != WSS_OK ||
        wss_options_set_handshake_timeout_ms(o, WAIT_MS) != WSS_OK ||
        wss_options_set_close_timeout_ms(o, WAIT_MS) != WSS_OK) {
        wss_options_free(o);
        return NULL;
    }
    return o;
}

/* A callback-struct with its struct_size set and every callback NULL. */
static inline wss_callbacks callbacks_init(void) {
    wss_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.struct_size = (uint32_t)sizeof cb;
    return cb;
}

/* A plain ws:// server on 127.0.0.1 with `io_threads` I/O threads (0: default) and generous
 * timeouts; `cb` NULL for pull mode. Returns WSS_OK and fills *server and *port. */
static inline wss_result plain_server(uint32_t io_threads, const wss_callbacks *cb, void *ud,
                                      wss_release_fn release, wss_server **server,
                                      uint16_t *port) {
    wss_options *o = generous_options();
    wss_result rc = o ? WSS_OK : WSS_ERR_INTERNAL;
    if (rc == WSS_OK && io_threads) rc = wss_options_set_io_threads(o, io_threads);
    if (rc == WSS_OK) rc = wss_server_new("127.0.0.1:0", NULL, o, cb, ud, release, server);
    if (rc == WSS_OK) rc = wss_server_port(*server, port);
    wss_options_free(o);
    return rc;
}

/* Connect a plain ws:// client to 127.0.0.1:`port``path` (blocking, generous timeouts); `cb`
 * NULL for pull mode. Fills *client and, when `conn` is not NULL, its connection id. */
static inline wss_result plain_client(uint16_t port, const char *path, const wss_callbacks *cb,
                                      void *ud, wss_release_fn release, wss_client **client,
                                      uint64_t *conn) {
    char url[128];
    wss_options *o = generous_options();
    wss_result rc = o ? WSS_OK : WSS_ERR_INTERNAL;
    snprintf(url, sizeof url, "ws://127.0.0.1:%u%s", (unsigned)port, path);
    if (rc == WSS_OK) rc = wss_client_connect(url, NULL, o, cb, ud, release, client);
    if (rc == WSS_OK && conn) rc = wss_client_conn_id(*client, conn);
    wss_options_free(o);
    return rc;
}

/* Fill `buf` with a printable, position-dependent pattern (valid UTF-8 for text messages). */
static inline void fill_pattern(unsigned char *buf, size_t len, unsigned seed) {
    size_t i;
    for (i = 0; i < len; i++) buf[i] = (unsigned char)('a' + (i * 7u + seed) % 26u);
}

#endif /* WSS_TEST_CHECK_H */
