/*
 * Mutual-TLS echo in callback mode: server identity from a PFX, trust from a hashed CA folder,
 * client certificates required; the server echoes from inside on_message with wss_send. The
 * client sends text and binary messages of 0, 125, 126, 65536 and 1 MiB bytes and checks each
 * echo, checks wss_conn_info_get on both sides, then closes with 4000 "bye".
 */
#include "check.h"

#define MAX_MSG (1024u * 1024u)

/* State shared by the callbacks (on I/O threads) and main; guarded by w.mu. */
typedef struct {
    waiter w;
    /* server side */
    uint64_t server_conn;
    int server_opens;
    int server_closes;
    uint16_t server_close_code;
    char server_close_reason[128];
    int server_errors;
    int echo_failures;
    /* client side */
    int client_opens;
    int client_msgs;
    wss_message_kind last_kind;
    unsigned char *last_data;
    size_t last_len;
    int client_closes;
    uint16_t client_close_code;
    int client_errors;
} state;

static state st;

static void srv_open(void *ud, uint64_t conn) {
    state *s = (state *)ud;
    pthread_mutex_lock(&s->w.mu);
    s->server_conn = conn;
    s->server_opens++;
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static void srv_message(void *ud, uint64_t conn, void *conn_ud, wss_message_kind kind,
                        const uint8_t *data, size_t len) {
    state *s = (state *)ud;
    wss_result rc = wss_send(conn, data, len, kind);
    (void)conn_ud;
    if (rc != WSS_OK) {
        pthread_mutex_lock(&s->w.mu);
        s->echo_failures++;
        pthread_mutex_unlock(&s->w.mu);
        fprintf(stderr, "echo failed: %s\n", wss_result_str(rc));
    }
}

static void srv_close(void *ud, uint64_t conn, void *conn_ud, uint16_t code,
                      const char *reason) {
    state *s = (state *)ud;
    (void)conn;
    (void)conn_ud;
    pthread_mutex_lock(&s->w.mu);
    s->server_closes++;
    s->server_close_code = code;
    snprintf(s->server_close_reason, sizeof s->server_close_reason, "%s",
             reason ? reason : "(null)");
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static void srv_error(void *ud, uint64_t conn, void *conn_ud, const wss_error *e) {
    state *s = (state *)ud;
    (void)conn_ud;
    fprintf(stderr, "server on_error (conn %llu): %s\n", (unsigned long long)conn,
            wss_error_message(e));
    pthread_mutex_lock(&s->w.mu);
    s->server_errors++;
    pthread_mutex_unlock(&s->w.mu);
}

static void cli_open(void *ud, uint64_t conn) {
    state *s = (state *)ud;
    (void)conn;
    pthread_mutex_lock(&s->w.mu);
    s->client_opens++;
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static void cli_message(void *ud, uint64_t conn, void *conn_ud, wss_message_kind kind,
                        const uint8_t *data, size_t len) {
    state *s = (state *)ud;
    (void)conn;
    (void)conn_ud;
    pthread_mutex_lock(&s->w.mu);
    free(s->last_data);
    s->last_data = (unsigned char *)malloc(len ? len : 1);
    if (s->last_data && len) memcpy(s->last_data, data, len);
    s->last_len = len;
    s->last_kind = kind;
    s->client_msgs++;
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static void cli_close(void *ud, uint64_t conn, void *conn_ud, uint16_t code,
                      const char *reason) {
    state *s = (state *)ud;
    (void)conn;
    (void)conn_ud;
    (void)reason;
    pthread_mutex_lock(&s->w.mu);
    s->client_closes++;
    s->client_close_code = code;
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static void cli_error(void *ud, uint64_t conn, void *conn_ud, const wss_error *e) {
    state *s = (state *)ud;
    (void)conn_ud;
    fprintf(stderr, "client on_error (conn %llu): %s\n", (unsigned long long)conn,
            wss_error_message(e));
    pthread_mutex_lock(&s->w.mu);
    s->client_errors++;
    pthread_mutex_unlock(&s->w.mu);
}

static int want_msgs;
static int got_msgs(void *arg) { return ((state *)arg)->client_msgs >= want_msgs; }
static int server_opened(void *arg) { return ((state *)arg)->server_opens > 0; }
static int client_opened(void *arg) { return ((state *)arg)->client_opens > 0; }
static int server_closed(void *arg) { return ((state *)arg)->server_closes > 0; }
static int client_closed(void *arg) { return ((state *)arg)->client_closes > 0; }

static int has_san(const wss_peer_cert *c, const char *san) {
    size_t i;
    for (i = 0; i < c->san_count; i++)
        if (c->sans[i] && strcmp(c->sans[i], san) == 0) return 1;
    return 0;
}

/* Send one message from the client and check the echo. */
static void echo_once(uint64_t conn, wss_message_kind kind, const unsigned char *buf, size_t len) {
    int ok;
    char what[96];
    pthread_mutex_lock(&st.w.mu);
    want_msgs = st.client_msgs + 1;
    pthread_mutex_unlock(&st.w.mu);
    snprintf(what, sizeof what, "send %s of %lu bytes",
             kind == WSS_MESSAGE_TEXT ? "text" : "binary", (unsigned long)len);
    if (!CHECK_OK(wss_send(conn, len ? buf : NULL, len, kind))) return;
    pthread_mutex_lock(&st.w.mu);
    ok = waiter_wait_locked(&st.w, got_msgs, &st, WAIT_MS);
    if (!CHECK(ok)) {
        fprintf(stderr, "  no echo for %s\n", what);
    } else {
        int same = st.last_kind == kind && st.last_len == len &&
                   (len == 0 || memcmp(st.last_data, buf, len) == 0);
        if (!CHECK(same)) fprintf(stderr, "  wrong echo for %s (got %lu bytes)\n", what,
                                  (unsigned long)st.last_len);
    }
    pthread_mutex_unlock(&st.w.mu);
}

static void check_client_info(uint64_t conn) {
    wss_conn_info *info = NULL;
    const wss_peer_cert *pc;
    if (!CHECK_OK(wss_conn_info_get(conn, &info)) || !CHECK(info != NULL)) return;
    CHECK(info->id == conn);
    CHECK(info->is_client);
    CHECK(contains(info->path, "/echo"));
    CHECK(nonempty(info->remote_address));
    CHECK(info->tls_version && strcmp(info->tls_version, "TLSv1.3") == 0);
    CHECK(nonempty(info->cipher));
    CHECK(info->subprotocol == NULL);
    pc = info->peer_certificate;
    if (CHECK(pc != NULL)) {
        CHECK(pc->verified);
        CHECK(contains(pc->subject, "localhost"));
        CHECK(contains(pc->issuer, "wss test root CA"));
        CHECK(nonempty(pc->serial));
        CHECK(nonempty(pc->not_before));
        CHECK(nonempty(pc->not_after));
        CHECK(pc->sha256_fingerprint && strlen(pc->sha256_fingerprint) == 32 * 3 - 1);
        CHECK(pc->san_count > 0 && pc->sans != NULL);
        CHECK(has_san(pc, "IP:127.0.0.1") || has_san(pc, "DNS:localhost"));
    }
    wss_conn_info_free(info);
}

static void check_server_info(uint64_t conn) {
    wss_conn_info *info = NULL;
    const wss_peer_cert *pc;
    if (!CHECK_OK(wss_conn_info_get(conn, &info)) || !CHECK(info != NULL)) return;
    CHECK(info->id == conn);
    CHECK(!info->is_client);
    CHECK(info->path && strcmp(info->path, "/echo") == 0);
    CHECK(contains(info->remote_address, "127.0.0.1:"));
    CHECK(info->tls_version && strcmp(info->tls_version, "TLSv1.3") == 0);
    CHECK(nonempty(info->cipher));
    CHECK(info->server_name && strcmp(info->server_name, "localhost") == 0); /* SNI */
    CHECK(info->alpn == NULL);
    CHECK(!info->resumed);
    pc = info->peer_certificate;
    if (CHECK(pc != NULL)) {
        CHECK(pc->verified);
        CHECK(contains(pc->subject, "wss test client"));
        CHECK(contains(pc->issuer, "wss test root CA"));
    }
    wss_conn_info_free(info);
}

int main(void) {
    const char *ca_dir = need_env("WSS_CA_DIR");
    const char *server_p12 = need_env("WSS_SERVER_P12");
    const char *client_p12 = need_env("WSS_CLIENT_P12");
    const char *pass = need_env("WSS_PFX_PASSWORD");
    wss_tls_config *stls = NULL, *ctls = NULL;
    wss_server *server = NULL;
    wss_client *client = NULL;
    wss_options *opts = generous_options();
    wss_callbacks scb, ccb;
    uint16_t port = 0;
    uint64_t cconn = 0, sconn = 0;
    char url[64];
    unsigned char *buf;
    static const size_t sizes[] = {0, 125, 126, 65536, MAX_MSG};
    size_t i;
    int ok;

    memset(&st, 0, sizeof st);
    waiter_init(&st.w);
    buf = (unsigned char *)malloc(MAX_MSG);
    if (!buf) return 2;
    CHECK(opts != NULL);

    /* Server: PFX identity, hashed CA folder, client certificates required. */
    CHECK_OK(wss_tls_config_new(&stls));
    CHECK_OK(wss_tls_config_load_pfx_file(stls, server_p12, pass));
    CHECK_OK(wss_tls_config_load_ca_dir(stls, ca_dir));
    CHECK_OK(wss_tls_config_set_verify_mode(stls, WSS_VERIFY_REQUIRED));
    memset(&scb, 0, sizeof scb);
    scb.struct_size = (uint32_t)sizeof scb;
    scb.on_open = srv_open;
    scb.on_message = srv_message;
    scb.on_close = srv_close;
    scb.on_error = srv_error;
    if (!CHECK_OK(wss_server_new("127.0.0.1:0", stls, opts, &scb, &st, NULL, &server))) goto out;
    /* The server copied the configuration: it may go now. */
    wss_tls_config_free(stls);
    stls = NULL;
    CHECK_OK(wss_server_port(server, &port));
    CHECK(port != 0);

    /* Client: PFX identity (client.p12), hashed CA folder; host name verified against the SANs. */
    CHECK_OK(wss_tls_config_new(&ctls));
    CHECK_OK(wss_tls_config_load_pfx_file(ctls, client_p12, pass));
    CHECK_OK(wss_tls_config_load_ca_dir(ctls, ca_dir));
    memset(&ccb, 0, sizeof ccb);
    ccb.struct_size = (uint32_t)sizeof ccb;
    ccb.on_open = cli_open;
    ccb.on_message = cli_message;
    ccb.on_close = cli_close;
    ccb.on_error = cli_error;
    snprintf(url, sizeof url, "wss://localhost:%u/echo", (unsigned)port);
    if (!CHECK_OK(wss_client_connect(url, ctls, opts, &ccb, &st, NULL, &client))) goto out;
    wss_tls_config_free(ctls);
    ctls = NULL;
    CHECK_OK(wss_client_conn_id(client, &cconn));
    CHECK(cconn != 0);
    /* wss_client_connect blocks until the connection is open, so its id must work at once. */
    {
        wss_conn_info *early = NULL;
        CHECK_OK(wss_conn_info_get(cconn, &early));
        wss_conn_info_free(early);
    }
    ok = waiter_wait(&st.w, client_opened, &st, WAIT_MS);
    CHECK(ok);

    ok = waiter_wait(&st.w, server_opened, &st, WAIT_MS);
    CHECK(ok);
    pthread_mutex_lock(&st.w.mu);
    sconn = st.server_conn;
    pthread_mutex_unlock(&st.w.mu);
    CHECK(sconn != 0 && sconn != cconn);

    check_client_info(cconn);
    if (sconn) check_server_info(sconn);

    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        fill_pattern(buf, sizes[i], (unsigned)i);
        echo_once(cconn, WSS_MESSAGE_TEXT, buf, sizes[i]);
        fill_pattern(buf, sizes[i], (unsigned)i + 3u);
        if (sizes[i] > 0) buf[sizes[i] - 1] = 0xff; /* binary: not UTF-8 */
        echo_once(cconn, WSS_MESSAGE_BINARY, buf, sizes[i]);
    }
    pthread_mutex_lock(&st.w.mu);
    want_msgs = st.client_msgs + 1;
    pthread_mutex_unlock(&st.w.mu);
    CHECK_OK(wss_send_text(cconn, "plain C string"));
    pthread_mutex_lock(&st.w.mu);
    ok = waiter_wait_locked(&st.w, got_msgs, &st, WAIT_MS);
    if (CHECK(ok)) {
        CHECK(st.last_kind == WSS_MESSAGE_TEXT);
        CHECK(st.last_len == 14 && memcmp(st.last_data, "plain C string", 14) == 0);
    }
    pthread_mutex_unlock(&st.w.mu);

    /* Close 4000 "bye": the server's on_close sees it; the client's close completes. */
    CHECK_OK(wss_client_close(client, 4000, "bye", WAIT_MS));
    ok = waiter_wait(&st.w, server_closed, &st, WAIT_MS);
    CHECK(ok);
    ok = waiter_wait(&st.w, client_closed, &st, WAIT_MS);
    CHECK(ok);
    pthread_mutex_lock(&st.w.mu);
    CHECK(st.server_closes == 1);
    CHECK(st.server_close_code == 4000);
    CHECK(strcmp(st.server_close_reason, "bye") == 0);
    CHECK(st.client_closes == 1);
    CHECK(st.client_close_code == 4000);
    CHECK(st.echo_failures == 0);
    CHECK(st.server_errors == 0);
    CHECK(st.client_errors == 0);
    CHECK(st.server_opens == 1);
    CHECK(st.client_opens == 1);
    pthread_mutex_unlock(&st.w.mu);
    /* Both ids are stale now. */
    CHECK_ERR(wss_send_text(cconn, "late"), WSS_ERR_NOT_CONNECTED);
    CHECK_ERR(wss_send_text(sconn, "late"), WSS_ERR_NOT_CONNECTED);

    CHECK_OK(wss_server_close(server, WAIT_MS));

out:
    wss_client_free(client);
    wss_server_free(server);
    wss_tls_config_free(ctls);
    wss_tls_config_free(stls);
    wss_options_free(opts);
    free(st.last_data);
    free(buf);
    waiter_destroy(&st.w);
    return check_summary();
}
