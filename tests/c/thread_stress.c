/*
 * Concurrency across the ABI: one echo server (wss, callback mode) and 4 clients. 8 host threads
 * send on the 8 connection ids (4 server-side ids from on_open, 4 client-side ids from
 * wss_client_conn_id) while 2 other threads close some of the connections midway. Every send
 * returns WSS_OK, WSS_ERR_NOT_CONNECTED or WSS_ERR_BACKPRESSURE, nothing crashes, and every
 * connection reports on_close exactly once on each end.
 */
#include "check.h"

#define CLIENTS 4
#define SENDERS 8
#define CLOSERS 2
#define IDS (2 * CLIENTS)

typedef struct {
    uint64_t id;
    int closes;
    uint16_t code;
} conn_rec;

typedef struct {
    waiter w;
    /* server side */
    conn_rec server[CLIENTS];
    int server_opens;
    int server_closes;
    int unknown_closes;
    int errors;
    int bad_echo_results;
    /* client side (index = client) */
    int client_opens;
    int client_closes;
    /* progress of the senders, for the closers */
    long sends_done;
    long sends_total;
    /* outcomes */
    int bad_send_results;
    long ok_sends, not_connected, backpressure;
} state;

typedef struct {
    state *s;
    int index;
    uint64_t id;
    int opens;
    int closes;
    long msgs;
} client_slot;

static state st;
static client_slot slots[CLIENTS];
static uint64_t ids[IDS];

static void srv_open(void *ud, uint64_t conn) {
    state *s = (state *)ud;
    pthread_mutex_lock(&s->w.mu);
    if (s->server_opens < CLIENTS) s->server[s->server_opens].id = conn;
    s->server_opens++;
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static void srv_message(void *ud, uint64_t conn, void *conn_ud, wss_message_kind kind,
                        const uint8_t *data, size_t len) {
    state *s = (state *)ud;
    wss_result rc = wss_send(conn, data, len, kind);
    (void)conn_ud;
    if (rc != WSS_OK && rc != WSS_ERR_NOT_CONNECTED && rc != WSS_ERR_BACKPRESSURE) {
        pthread_mutex_lock(&s->w.mu);
        s->bad_echo_results++;
        pthread_mutex_unlock(&s->w.mu);
    }
}

static void srv_close(void *ud, uint64_t conn, void *conn_ud, uint16_t code,
                      const char *reason) {
    state *s = (state *)ud;
    int i, found = 0;
    (void)conn_ud;
    (void)reason;
    pthread_mutex_lock(&s->w.mu);
    for (i = 0; i < CLIENTS; i++) {
        if (s->server[i].id == conn) {
            s->server[i].closes++;
            s->server[i].code = code;
            found = 1;
        }
    }
    if (!found) s->unknown_closes++;
    s->server_closes++;
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static void any_error(void *ud, uint64_t conn, void *conn_ud, const wss_error *e) {
    (void)ud;
    (void)conn_ud;
    /* Expected now and then: messages still queued when a connection closes are reported. */
    if (wss_error_code(e) != WSS_ERR_NOT_CONNECTED) {
        fprintf(stderr, "on_error (conn %llu): %d %s\n", (unsigned long long)conn,
                (int)wss_error_code(e), wss_error_message(e));
        pthread_mutex_lock(&st.w.mu);
        st.errors++;
        pthread_mutex_unlock(&st.w.mu);
    }
}

static void cli_open(void *ud, uint64_t conn) {
    client_slot *c = (client_slot *)ud;
    (void)conn;
    pthread_mutex_lock(&c->s->w.mu);
    c->opens++;
    c->s->client_opens++;
    waiter_signal_locked(&c->s->w);
    pthread_mutex_unlock(&c->s->w.mu);
}

static void cli_message(void *ud, uint64_t conn, void *conn_ud, wss_message_kind kind,
                        const uint8_t *data, size_t len) {
    client_slot *c = (client_slot *)ud;
    (void)conn;
    (void)conn_ud;
    (void)kind;
    (void)data;
    (void)len;
    pthread_mutex_lock(&c->s->w.mu);
    c->msgs++;
    pthread_mutex_unlock(&c->s->w.mu);
}

static void cli_close(void *ud, uint64_t conn, void *conn_ud, uint16_t code,
                      const char *reason) {
    client_slot *c = (client_slot *)ud;
    (void)conn;
    (void)conn_ud;
    (void)code;
    (void)reason;
    pthread_mutex_lock(&c->s->w.mu);
    c->closes++;
    c->s->client_closes++;
    waiter_signal_locked(&c->s->w);
    pthread_mutex_unlock(&c->s->w.mu);
}

static int all_open(void *a) {
    state *s = (state *)a;
    return s->server_opens >= CLIENTS && s->client_opens >= CLIENTS;
}
static int all_closed(void *a) {
    state *s = (state *)a;
    return s->server_closes >= CLIENTS && s->client_closes >= CLIENTS;
}
static int halfway(void *a) {
    state *s = (state *)a;
    return s->sends_done * 2 >= s->sends_total;
}

static int iterations;

static void record(wss_result rc, int send_like) {
    pthread_mutex_lock(&st.w.mu);
    if (rc == WSS_OK) {
        st.ok_sends++;
    } else if (rc == WSS_ERR_NOT_CONNECTED) {
        st.not_connected++;
    } else if (rc == WSS_ERR_BACKPRESSURE && send_like) {
        st.backpressure++;
    } else {
        st.bad_send_results++;
        fprintf(stderr, "unexpected result %d (%s)\n", (int)rc, wss_result_str(rc));
    }
    pthread_mutex_unlock(&st.w.mu);
}

static void *sender(void *arg) {
    int t = (int)(size_t)arg, i;
    unsigned char buf[512];
    for (i = 0; i < iterations; i++) {
        uint64_t id = ids[(size_t)(t + i) % IDS];
        size_t len = 1 + (size_t)((i * 37 + t * 11) % (int)sizeof buf);
        fill_pattern(buf, len, (unsigned)(t + i));
        switch (i % 6) {
        case 0:
        case 1:
            record(wss_send(id, buf, len, WSS_MESSAGE_BINARY), 1);
            break;
        case 2:
            record(wss_send(id, buf, len, WSS_MESSAGE_TEXT), 1);
            break;
        case 3:
            record(wss_ping(id, buf, len > 125 ? 125 : len), 1);
            break;
        case 4: {
            size_t amount = 0;
            record(wss_conn_buffered_amount(id, &amount), 0);
            break;
        }
        default: {
            wss_conn_info *info = NULL;
            wss_result rc = wss_conn_info_get(id, &info);
            if (rc == WSS_OK && (info == NULL || info->id != id)) rc = WSS_ERR_INTERNAL;
            wss_conn_info_free(info);
            record(rc, 0);
            break;
        }
        }
        pthread_mutex_lock(&st.w.mu);
        st.sends_done++;
        waiter_signal_locked(&st.w);
        pthread_mutex_unlock(&st.w.mu);
    }
    return NULL;
}

/* Closer 0 closes two server-side ids; closer 1 closes two client-side ids. */
static void *closer(void *arg) {
    int c = (int)(size_t)arg, k;
    int ok = waiter_wait(&st.w, halfway, &st, WAIT_MS);
    CHECK(ok);
    for (k = 0; k < 2; k++) {
        uint64_t id = c == 0 ? ids[k] : ids[CLIENTS + 2 + k];
        wss_result rc = wss_close_conn(id, (uint16_t)(4001 + c), "stress");
        if (!CHECK(rc == WSS_OK || rc == WSS_ERR_NOT_CONNECTED))
            fprintf(stderr, "  close of %llu: %s\n", (unsigned long long)id, wss_result_str(rc));
    }
    return NULL;
}

int main(void) {
    wss_tls_config *stls = NULL, *ctls = NULL;
    wss_server *server = NULL;
    wss_client *clients[CLIENTS];
    wss_options *opts = generous_options();
    wss_callbacks scb, ccb;
    pthread_t threads[SENDERS + CLOSERS];
    uint16_t port = 0;
    char url[64];
    int i, ok, started = 0;

    memset(&st, 0, sizeof st);
    memset(clients, 0, sizeof clients);
    waiter_init(&st.w);
    iterations = test_light() ? 30 : 400;
    st.sends_total = (long)iterations * SENDERS;
    CHECK(opts != NULL);

    CHECK_OK(wss_tls_config_new(&stls));
    CHECK_OK(wss_tls_config_load_pfx_file(stls, need_env("WSS_SERVER_P12"),
                                          need_env("WSS_PFX_PASSWORD")));
    memset(&scb, 0, sizeof scb);
    scb.struct_size = (uint32_t)sizeof scb;
    scb.on_open = srv_open;
    scb.on_message = srv_message;
    scb.on_close = srv_close;
    scb.on_error = any_error;
    if (!CHECK_OK(wss_server_new("127.0.0.1:0", stls, opts, &scb, &st, NULL, &server))) goto out;
    CHECK_OK(wss_server_port(server, &port));

    CHECK_OK(wss_tls_config_new(&ctls));
    CHECK_OK(wss_tls_config_load_ca_file(ctls, need_env("WSS_CA_PEM")));
    memset(&ccb, 0, sizeof ccb);
    ccb.struct_size = (uint32_t)sizeof ccb;
    ccb.on_open = cli_open;
    ccb.on_message = cli_message;
    ccb.on_close = cli_close;
    ccb.on_error = any_error;
    snprintf(url, sizeof url, "wss://127.0.0.1:%u/stress", (unsigned)port);
    for (i = 0; i < CLIENTS; i++) {
        slots[i].s = &st;
        slots[i].index = i;
        if (!CHECK_OK(wss_client_connect(url, ctls, opts, &ccb, &slots[i], NULL, &clients[i]))) goto out;
        CHECK_OK(wss_client_conn_id(clients[i], &slots[i].id));
        ids[CLIENTS + i] = slots[i].id;
    }
    /* Use the ids once both ends report open (the client's id is registered by its I/O thread,
     * see echo_mtls.c). */
    ok = waiter_wait(&st.w, all_open, &st, WAIT_MS);
    if (!CHECK(ok)) goto out;
    pthread_mutex_lock(&st.w.mu);
    for (i = 0; i < CLIENTS; i++) ids[i] = st.server[i].id;
    pthread_mutex_unlock(&st.w.mu);

    for (i = 0; i < SENDERS; i++)
        if (CHECK(pthread_create(&threads[started], NULL, sender, (void *)(size_t)i) == 0))
            started++;
    for (i = 0; i < CLOSERS; i++)
        if (CHECK(pthread_create(&threads[started], NULL, closer, (void *)(size_t)i) == 0))
            started++;
    for (i = 0; i < started; i++) pthread_join(threads[i], NULL);

    /* Close what is left from the client side, then the server. */
    for (i = 0; i < CLIENTS; i++) {
        wss_result rc = wss_client_close(clients[i], 1000, "done", WAIT_MS);
        if (!CHECK(rc == WSS_OK || rc == WSS_ERR_NOT_CONNECTED)) dump_last_error("client close");
    }
    ok = waiter_wait(&st.w, all_closed, &st, WAIT_MS);
    CHECK(ok);
    CHECK_OK(wss_server_close(server, WAIT_MS));

out:
    for (i = 0; i < CLIENTS; i++) wss_client_free(clients[i]);
    wss_server_free(server);
    /* No callback runs after the frees: the counts are final. */
    pthread_mutex_lock(&st.w.mu);
    CHECK(st.server_opens == CLIENTS);
    CHECK(st.client_opens == CLIENTS);
    for (i = 0; i < CLIENTS; i++) {
        if (!CHECK(st.server[i].closes == 1))
            fprintf(stderr, "  server conn %llu closed %d times\n",
                    (unsigned long long)st.server[i].id, st.server[i].closes);
        if (!CHECK(slots[i].opens == 1 && slots[i].closes == 1))
            fprintf(stderr, "  client %d opened %d, closed %d times\n", i, slots[i].opens,
                    slots[i].closes);
    }
    CHECK(st.unknown_closes == 0);
    CHECK(st.bad_send_results == 0);
    CHECK(st.bad_echo_results == 0);
    CHECK(st.errors == 0);
    CHECK(st.ok_sends > 0);
    CHECK(st.sends_done == st.sends_total);
    printf("calls: %ld ok, %ld not connected, %ld backpressure\n", st.ok_sends, st.not_connected,
           st.backpressure);
    pthread_mutex_unlock(&st.w.mu);
    wss_tls_config_free(ctls);
    wss_tls_config_free(stls);
    wss_options_free(opts);
    waiter_destroy(&st.w);
    return check_summary();
}
