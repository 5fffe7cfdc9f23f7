/*
 * Issue 16, defect 1: freeing a pull-mode handle while other threads wait in
 * wss_server_next_event / wss_client_next_event. Each waiter returns WSS_ERR_CLOSED promptly
 * (well before its 30 s timeout), no invalid access follows (valgrind, AddressSanitizer), and
 * the handle's release runs once (a waiter's call holds the handle, so the release may run as
 * the last waiter's call returns, not before it woke).
 *
 * The free must come while the waiters are inside the call (a call that starts after the free
 * returned would be the host's bug): each waiter thread is watched through
 * /proc/self/task/<tid>/syscall until it sleeps in a futex wait with a timeout, which is the
 * queue's timed wait inside next_event (nothing else this thread does waits with a timeout).
 */
#define _GNU_SOURCE
#include "check.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TAKERS 2
#define TAKE_TIMEOUT_MS 30000u

static waiter w;
static int inside, woken, released;

typedef struct {
    const wss_server *server;
    const wss_client *client;
    pid_t tid;
    int ready;
    wss_result rc;
    double returned_at;
} taker;

static void host_release(void *p) {
    count_up(&w, &released);
    free(p);
}

static void *take(void *arg) {
    taker *t = (taker *)arg;
    wss_event *ev = NULL;
    pthread_mutex_lock(&w.mu);
    t->tid = (pid_t)syscall(SYS_gettid);
    t->ready = 1;
    inside++;
    woken++; /* counts down as each call returns */
    waiter_signal_locked(&w);
    pthread_mutex_unlock(&w.mu);
    if (t->server)
        t->rc = wss_server_next_event(t->server, TAKE_TIMEOUT_MS, &ev);
    else
        t->rc = wss_client_next_event(t->client, TAKE_TIMEOUT_MS, &ev);
    t->returned_at = now_ms();
    pthread_mutex_lock(&w.mu);
    woken--;
    pthread_mutex_unlock(&w.mu);
    wss_event_free(ev);
    pthread_mutex_lock(&w.mu);
    inside--;
    waiter_signal_locked(&w);
    pthread_mutex_unlock(&w.mu);
    return NULL;
}

/* Whether thread `tid` sleeps in a futex wait with a timeout. */
static int in_timed_futex_wait(pid_t tid) {
    char path[64], line[512];
    unsigned long long nr = 0, uaddr = 0, op = 0, val = 0, timeout = 0;
    FILE *f;
    int n;
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    f = fopen(path, "r");
    if (!f) return 0;
    n = fgets(line, sizeof line, f) ? sscanf(line, "%llu %llx %llx %llx %llx", &nr, &uaddr, &op,
                                             &val, &timeout)
                                    : 0;
    fclose(f);
    return n == 5 && nr == (unsigned long long)SYS_futex && timeout != 0;
}

/* Wait (bounded) until every taker sleeps inside next_event. */
static int takers_asleep(taker *t, int n) {
    double t0 = now_ms();
    int i, ready;
    for (i = 0; i < n; i++) {
        pthread_mutex_lock(&w.mu);
        while (!t[i].ready) pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
    }
    for (;;) {
        ready = 1;
        for (i = 0; i < n; i++)
            if (!in_timed_futex_wait(t[i].tid)) ready = 0;
        if (ready) return 1;
        if (now_ms() - t0 > WAIT_MS) return 0;
        sched_yield();
    }
}

static void check_takers(taker *t, int n, double freed_at) {
    int i;
    for (i = 0; i < n; i++) {
        CHECK_RC(t[i].rc, WSS_ERR_CLOSED);
        if (!CHECK(t[i].returned_at - freed_at < TAKE_TIMEOUT_MS / 6))
            fprintf(stderr, "  a waiter returned %.0f ms after the free\n",
                    t[i].returned_at - freed_at);
    }
    CHECK(wait_count(&w, &released, 1, WAIT_MS));
    pthread_mutex_lock(&w.mu);
    if (!CHECK(released == 1 && inside == 0 && woken == 0))
        fprintf(stderr, "  released %d times, %d waiters inside\n", released, inside);

    pthread_mutex_unlock(&w.mu);
}

/* Start TAKERS threads waiting in next_event on `server` (or, when it is NULL, `client`), free
 * that handle once they all sleep inside the call, and check how the waiters ended. */
static void free_under_takers(wss_server *server, wss_client *client) {
    taker t[TAKERS];
    pthread_t th[TAKERS];
    int i, started = 0;
    double freed_at;

    memset(t, 0, sizeof t);
    for (i = 0; i < TAKERS; i++) {
        t[i].server = server;
        t[i].client = client;
        if (CHECK(pthread_create(&th[i], NULL, take, &t[i]) == 0)) started++;
    }
    CHECK(takers_asleep(t, started));
    freed_at = now_ms();
    if (server)
        wss_server_free(server);
    else
        wss_client_free(client);
    for (i = 0; i < started; i++) pthread_join(th[i], NULL);
    check_takers(t, started, freed_at);
}

static void free_server_under_takers(void) {
    wss_server *server = NULL;
    uint16_t port = 0;
    void *data = malloc(16);

    released = inside = woken = 0;
    if (!CHECK(data != NULL)) return;
    if (!CHECK_OK(plain_server(1, NULL, data, host_release, &server, &port))) {
        free(data);
        return;
    }
    free_under_takers(server, NULL);
}

static void free_client_under_takers(void) {
    wss_server *server = NULL;
    wss_client *client = NULL;
    wss_event *ev = NULL;
    uint16_t port = 0;
    void *data = malloc(16);

    released = inside = woken = 0;
    if (!CHECK(data != NULL)) return;
    if (!CHECK_OK(plain_server(1, NULL, NULL, NULL, &server, &port))) {
        free(data);
        return;
    }
    if (!CHECK_OK(plain_client(port, "/", NULL, data, host_release, &client, NULL))) {
        free(data);
        wss_server_free(server);
        return;
    }
    /* Take the client's OPEN: then it has nothing to take until it is freed. */
    if (CHECK_OK(wss_client_next_event(client, WAIT_MS, &ev)))
        CHECK(ev->event_type == WSS_EVENT_OPEN);
    wss_event_free(ev);
    free_under_takers(NULL, client);
    CHECK_OK(wss_server_close(server, WAIT_MS));
    wss_server_free(server);
}

int main(void) {
    waiter_init(&w);
    free_server_under_takers();
    free_client_under_takers();
    waiter_destroy(&w);
    return check_summary();
}
