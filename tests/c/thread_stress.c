/*
 * Concurrency across the ABI: one echo server (wss, callback mode) and 4 clients. 8 host threads
 * send on the 8 connection ids (4 server-side ids, 4 client-side ids from wss_client_conn_id)
 * while 2 other threads close two of the connections midway (client 0 from the server side
 * with 4001, client 1 from the client side with 4002); clients 2 and 3 stay open until the end.
 *
 * Every send returns WSS_OK, WSS_ERR_NOT_CONNECTED or WSS_ERR_BACKPRESSURE and nothing crashes.
 * Every payload names its direction, kind, client, sender thread and sequence number, and the
 * rest of it is a pattern derived from those: each message received (by the server, echoed to
 * the client, or sent by the server to the client) is checked byte for byte, arrives with its
 * kind, on the right connection, at most once and in order per sender thread. On the two
 * connections open until the end nothing is lost: every message sent with WSS_OK arrives and
 * is echoed. Every connection reports on_close exactly once on each end, with the code its
 * closer sent (4001, 4002, or 1000 for the final close).
 */
#include "check.h"

#define CLIENTS 4
#define SENDERS 8
#define CLOSERS 2
#define IDS (2 * CLIENTS)
/* Payload header: direction ('C' client sent, 'S' server sent), kind ('T'/'B'), client index,
 * sender thread, sequence number, '|'. */
#define HEADER_LEN 12
#define MAX_PAYLOAD 512

typedef struct {
    uint64_t id;
    int closes;
    uint16_t code;
} conn_rec;

/* What arrived from one (client, direction), per sender thread. */
typedef struct {
    long count;
    int last_seq[SENDERS];
} arrivals;

typedef struct {
    waiter w;
    /* server side, by client index (learnt from each client's hello) */
    conn_rec server[CLIENTS];
    int hellos;
    int server_opens;
    int server_closes;
    int unknown_closes;
    int errors;
    int bad_echo_results;
    arrivals at_server[CLIENTS];     /* client-sent messages, as the server got them */
    arrivals echoes[CLIENTS];        /* the same, echoed back to the client */
    arrivals direct[CLIENTS];        /* server-sent messages, as the client got them */
    int bad_payloads;
    /* client side */
    int client_opens;
    int client_closes;
    /* progress of the senders, for the closers */
    long sends_done;
    long sends_total;
    /* outcomes */
    int bad_send_results;
    long ok_sends, not_connected, backpressure;
    long sent_ok_from_client[CLIENTS]; /* messages (not pings) sent with WSS_OK */
    long sent_ok_from_server[CLIENTS];
} state;

typedef struct {
    state *s;
    int index;
    uint64_t id;
    int opens;
    int closes;
    uint16_t code;
} client_slot;

static state st;
static client_slot slots[CLIENTS];
static uint64_t ids[IDS]; /* ids[i]: server side of client i; ids[CLIENTS + i]: client side */

/* Write a message's payload: header, then a pattern seeded by the header's fields. */
static size_t make_payload(unsigned char *buf, size_t len, char dir, wss_message_kind kind,
                           int client, int thread, int seq) {
    char head[HEADER_LEN + 1];
    snprintf(head, sizeof head, "%c%c%d%02d%06d|", dir, kind == WSS_MESSAGE_TEXT ? 'T' : 'B',
             client, thread, seq);
    memcpy(buf, head, HEADER_LEN);
    fill_pattern(buf + HEADER_LEN, len - HEADER_LEN, (unsigned)(thread * 1000003 + seq));
    return len;
}

/* Parse and check a payload; returns 1 if intact (fields in the out-parameters). */
static int check_payload(const uint8_t *data, size_t len, wss_message_kind kind, char *dir,
                         int *client, int *thread, int *seq) {
    unsigned char expect[MAX_PAYLOAD];
    char head[HEADER_LEN + 1];
    char d, k;
    if (len < HEADER_LEN || len > MAX_PAYLOAD) return 0;
    memcpy(head, data, HEADER_LEN);
    head[HEADER_LEN] = '\0';
    if (sscanf(head, "%c%c%1d%2d%6d|", &d, &k, client, thread, seq) != 5) return 0;
    if (k != (kind == WSS_MESSAGE_TEXT ? 'T' : 'B')) return 0;
    if (*client < 0 || *client >= CLIENTS || *thread < 0 || *thread >= SENDERS) return 0;
    make_payload(expect, len, d, kind, *client, *thread, *seq);
    *dir = d;
    return memcmp(expect, data, len) == 0;
}

/* Count an arrival (s->w.mu held); 0 if out of order or a duplicate. */
static int arrived(arrivals *a, int thread, int seq) {
    int in_order = seq > a->last_seq[thread];
    a->last_seq[thread] = seq;
    a->count++;
    return in_order;
}

static void srv_open(void *ud, uint64_t conn) {
    state *s = (state *)ud;
    (void)conn;
    pthread_mutex_lock(&s->w.mu);
    s->server_opens++;
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static void srv_message(void *ud, uint64_t conn, void *conn_ud, wss_message_kind kind,
                        const uint8_t *data, size_t len) {
    state *s = (state *)ud;
    wss_result rc;
    char dir = 0;
    int client = -1, thread = -1, seq = -1, ok;
    (void)conn_ud;
    if (len == 7 && memcmp(data, "hello:", 6) == 0 && data[6] >= '0' &&
        data[6] < '0' + CLIENTS) {
        /* Which client this connection belongs to (sent once, before the senders start). */
        pthread_mutex_lock(&s->w.mu);
        s->server[data[6] - '0'].id = conn;
        s->hellos++;
        waiter_signal_locked(&s->w);
        pthread_mutex_unlock(&s->w.mu);
        return;
    }
    ok = check_payload(data, len, kind, &dir, &client, &thread, &seq) && dir == 'C';
    pthread_mutex_lock(&s->w.mu);
    if (ok && s->server[client].id != conn) ok = 0; /* arrived on another client's connection */
    if (ok) ok = arrived(&s->at_server[client], thread, seq);
    if (!ok) s->bad_payloads++;
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
    if (!ok) fprintf(stderr, "server got a bad message of %lu bytes\n", (unsigned long)len);
    rc = wss_send(conn, data, len, kind);
    if (rc != WSS_OK && rc != WSS_ERR_NOT_CONNECTED && rc != WSS_ERR_BACKPRESSURE) {
        pthread_mutex_lock(&s->w.mu);
        s->bad_echo_results++;
        pthread_mutex_unlock(&s->w.mu);
    } else if (rc != WSS_OK && client >= 2) {
        /* Clients 2 and 3 stay open: their echoes must not fail. */
        pthread_mutex_lock(&s->w.mu);
        s->bad_echo_results++;
        pthread_mutex_unlock(&s->w.mu);
        fprintf(stderr, "echo to client %d: %s\n", client, wss_result_str(rc));
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
    char dir = 0;
    int client = -1, thread = -1, seq = -1;
    int ok = check_payload(data, len, kind, &dir, &client, &thread, &seq) &&
             client == c->index && (dir == 'C' || dir == 'S');
    (void)conn;
    (void)conn_ud;
    pthread_mutex_lock(&c->s->w.mu);
    if (ok) ok = arrived(dir == 'C' ? &c->s->echoes[client] : &c->s->direct[client], thread, seq);
    if (!ok) c->s->bad_payloads++;
    waiter_signal_locked(&c->s->w);
    pthread_mutex_unlock(&c->s->w.mu);
    if (!ok) fprintf(stderr, "client %d got a bad message of %lu bytes\n", c->index,
                     (unsigned long)len);
}

static void cli_close(void *ud, uint64_t conn, void *conn_ud, uint16_t code,
                      const char *reason) {
    client_slot *c = (client_slot *)ud;
    (void)conn;
    (void)conn_ud;
    (void)reason;
    pthread_mutex_lock(&c->s->w.mu);
    c->closes++;
    c->code = code;
    c->s->client_closes++;
    waiter_signal_locked(&c->s->w);
    pthread_mutex_unlock(&c->s->w.mu);
}

static int all_open(void *a) {
    state *s = (state *)a;
    return s->server_opens >= CLIENTS && s->client_opens >= CLIENTS;
}
static int all_greeted(void *a) { return ((state *)a)->hellos >= CLIENTS; }
static int all_closed(void *a) {
    state *s = (state *)a;
    return s->server_closes >= CLIENTS && s->client_closes >= CLIENTS;
}
/* Clients 0 and 1 closed on both ends; everything sent on 2 and 3 arrived and was echoed. */
static int settled(void *a) {
    state *s = (state *)a;
    int i;
    for (i = 0; i < 2; i++)
        if (s->server[i].closes < 1 || slots[i].closes < 1) return 0;
    for (i = 2; i < CLIENTS; i++) {
        if (s->at_server[i].count < s->sent_ok_from_client[i] ||
            s->echoes[i].count < s->sent_ok_from_client[i] ||
            s->direct[i].count < s->sent_ok_from_server[i])
            return 0;
    }
    return 1;
}
static int halfway(void *a) {
    state *s = (state *)a;
    return s->sends_done * 2 >= s->sends_total;
}

static int iterations;

/* Count a call's outcome; `message_to` is the client index a message was sent to or from
 * (-1 for other calls), `from_client` its direction. */
static void record(wss_result rc, int send_like, int message_to, int from_client) {
    pthread_mutex_lock(&st.w.mu);
    if (rc == WSS_OK) {
        st.ok_sends++;
        if (message_to >= 0) {
            if (from_client)
                st.sent_ok_from_client[message_to]++;
            else
                st.sent_ok_from_server[message_to]++;
        }
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
    unsigned char buf[MAX_PAYLOAD];
    for (i = 0; i < iterations; i++) {
        size_t idx = (size_t)(t + i) % IDS;
        uint64_t id = ids[idx];
        int client = (int)(idx % CLIENTS), from_client = idx >= CLIENTS;
        char dir = from_client ? 'C' : 'S';
        size_t len = HEADER_LEN + (size_t)((i * 37 + t * 11) % (MAX_PAYLOAD - HEADER_LEN + 1));
        switch (i % 6) {
        case 0:
        case 1:
            make_payload(buf, len, dir, WSS_MESSAGE_BINARY, client, t, i);
            record(wss_send(id, buf, len, WSS_MESSAGE_BINARY), 1, client, from_client);
            break;
        case 2:
            make_payload(buf, len, dir, WSS_MESSAGE_TEXT, client, t, i);
            record(wss_send(id, buf, len, WSS_MESSAGE_TEXT), 1, client, from_client);
            break;
        case 3:
            fill_pattern(buf, 125, (unsigned)i);
            record(wss_ping(id, buf, len > 125 ? 125 : len), 1, -1, 0);
            break;
        case 4: {
            size_t amount = 0;
            record(wss_conn_buffered_amount(id, &amount), 0, -1, 0);
            break;
        }
        default: {
            wss_conn_info *info = NULL;
            wss_result rc = wss_conn_info_get(id, &info);
            if (rc == WSS_OK && (info == NULL || info->id != id)) rc = WSS_ERR_INTERNAL;
            wss_conn_info_free(info);
            record(rc, 0, -1, 0);
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

/* Closer 0 closes client 0's connection from the server side (4001); closer 1 closes client 1's
 * from the client side (4002). */
static void *closer(void *arg) {
    int c = (int)(size_t)arg;
    int ok = waiter_wait(&st.w, halfway, &st, WAIT_MS);
    uint64_t id = c == 0 ? ids[0] : ids[CLIENTS + 1];
    wss_result rc;
    CHECK(ok);
    rc = wss_close_conn(id, (uint16_t)(4001 + c), "stress");
    if (!CHECK(rc == WSS_OK))
        fprintf(stderr, "  close of %llu: %s\n", (unsigned long long)id, wss_result_str(rc));
    return NULL;
}

/* The close code each client's connection must report on both ends. */
static uint16_t expected_code(int client) {
    return client == 0 ? 4001 : client == 1 ? 4002 : 1000;
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
    int i, t, ok, started = 0;

    memset(&st, 0, sizeof st);
    memset(clients, 0, sizeof clients);
    for (i = 0; i < CLIENTS; i++) {
        for (t = 0; t < SENDERS; t++) {
            st.at_server[i].last_seq[t] = -1;
            st.echoes[i].last_seq[t] = -1;
            st.direct[i].last_seq[t] = -1;
        }
    }
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
        if (!CHECK_OK(wss_client_connect(url, ctls, opts, &ccb, &slots[i], NULL, &clients[i])))
            goto out;
        CHECK_OK(wss_client_conn_id(clients[i], &slots[i].id));
        ids[CLIENTS + i] = slots[i].id;
    }
    /* Use the ids once both ends report open (the client's id is registered by its I/O thread,
     * see echo_mtls.c); each client then says which it is, so the server side is known. */
    ok = waiter_wait(&st.w, all_open, &st, WAIT_MS);
    if (!CHECK(ok)) goto out;
    for (i = 0; i < CLIENTS; i++) {
        char hello[8];
        snprintf(hello, sizeof hello, "hello:%d", i);
        CHECK_OK(wss_send_text(slots[i].id, hello));
    }
    ok = waiter_wait(&st.w, all_greeted, &st, WAIT_MS);
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

    /* Before the final close, wait until every message is through: sends still queued when
     * the peer's close arrives are not delivered (the close reply goes first; they are
     * reported with on_error WSS_ERR_NOT_CONNECTED), which would blur the count. A lost
     * message shows here as a timeout. */
    ok = waiter_wait(&st.w, settled, &st, WAIT_MS);
    CHECK(ok);
    /* Close what is left from the client side (clients 0 and 1 are closed), then the
     * server. */
    for (i = 0; i < CLIENTS; i++) {
        wss_result rc = wss_client_close(clients[i], 1000, "done", WAIT_MS);
        if (!CHECK(rc == (i < 2 ? WSS_ERR_NOT_CONNECTED : WSS_OK)))
            dump_last_error("client close");
    }
    ok = waiter_wait(&st.w, all_closed, &st, WAIT_MS);
    CHECK(ok);
    CHECK_OK(wss_server_close(server, WAIT_MS));

out:
    for (i = 0; i < CLIENTS; i++) wss_client_free(clients[i]);
    wss_server_free(server);
    /* Every close was waited for above; no callback of interest runs after this. */
    pthread_mutex_lock(&st.w.mu);
    CHECK(st.server_opens == CLIENTS);
    CHECK(st.client_opens == CLIENTS);
    CHECK(st.hellos == CLIENTS);
    for (i = 0; i < CLIENTS; i++) {
        uint16_t want = expected_code(i);
        if (!CHECK(st.server[i].closes == 1 && st.server[i].code == want))
            fprintf(stderr, "  server side of client %d closed %d times, code %u (want %u)\n", i,
                    st.server[i].closes, (unsigned)st.server[i].code, (unsigned)want);
        if (!CHECK(slots[i].opens == 1 && slots[i].closes == 1 && slots[i].code == want))
            fprintf(stderr, "  client %d opened %d, closed %d times, code %u (want %u)\n", i,
                    slots[i].opens, slots[i].closes, (unsigned)slots[i].code, (unsigned)want);
        /* Never more arrives than was sent, and no echo without its original. */
        CHECK(st.at_server[i].count <= st.sent_ok_from_client[i]);
        CHECK(st.echoes[i].count <= st.at_server[i].count);
        CHECK(st.direct[i].count <= st.sent_ok_from_server[i]);
        if (i >= 2) {
            /* Open until the final close: nothing lost in either direction. */
            if (!CHECK(st.at_server[i].count == st.sent_ok_from_client[i] &&
                       st.echoes[i].count == st.sent_ok_from_client[i] &&
                       st.direct[i].count == st.sent_ok_from_server[i]))
                fprintf(stderr,
                        "  client %d: sent %ld, server got %ld, echoed back %ld; server sent "
                        "%ld, client got %ld\n",
                        i, st.sent_ok_from_client[i], st.at_server[i].count,
                        st.echoes[i].count, st.sent_ok_from_server[i], st.direct[i].count);
            CHECK(st.sent_ok_from_client[i] > 0 && st.sent_ok_from_server[i] > 0);
        }
    }
    CHECK(st.bad_payloads == 0);
    CHECK(st.unknown_closes == 0);
    CHECK(st.bad_send_results == 0);
    CHECK(st.bad_echo_results == 0);
    CHECK(st.errors == 0);
    CHECK(st.ok_sends > 0);
    CHECK(st.sends_done == st.sends_total);
    printf("calls: %ld ok, %ld not connected, %ld backpressure; messages checked: %ld at the "
           "server, %ld echoed, %ld sent by the server\n",
           st.ok_sends, st.not_connected, st.backpressure,
           st.at_server[0].count + st.at_server[1].count + st.at_server[2].count +
               st.at_server[3].count,
           st.echoes[0].count + st.echoes[1].count + st.echoes[2].count + st.echoes[3].count,
           st.direct[0].count + st.direct[1].count + st.direct[2].count + st.direct[3].count);
    pthread_mutex_unlock(&st.w.mu);
    wss_tls_config_free(ctls);
    wss_tls_config_free(stls);
    wss_options_free(opts);
    waiter_destroy(&st.w);
    return check_summary();
}
