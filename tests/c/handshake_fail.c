/*
 * Failures with the full OpenSSL detail, on both sides:
 *  - a server requiring client certificates rejects an expired one: its on_error gets conn 0 with
 *    verify_code 10 (X509_V_ERR_CERT_HAS_EXPIRED) at depth 0, the subject, the OpenSSL queue,
 *    the peer address and a hint; the client's wss_client_connect fails and wss_last_error has
 *    the TLS alert ("certificate expired") in its OpenSSL entries;
 *  - a client trusting only the rogue CA rejects the good server (WSS_ERR_CERT_VERIFY): 20
 *    (unable to get local issuer) at depth 0 when the server sends only its leaf, 19
 *    (self-signed certificate in chain) at depth 1 when it sends leaf + root as server.p12 does;
 *  - a wrong PFX password and a key that does not match the certificate fail at load time with
 *    WSS_ERR_CONFIG, OpenSSL entries and a hint.
 */
#include "check.h"

#define MAX_ERRORS 16

/* A copy of what on_error saw (its pointers are valid only during the callback). */
typedef struct {
    uint64_t conn;
    wss_result code;
    int32_t verify_code;
    int32_t verify_depth;
    char verify_subject[256];
    int has_verify_text;
    size_t openssl_count;
    int openssl_strings_ok;
    int has_peer_address;
    char peer_address[64];
    int has_hint;
    char message[512];
} seen_error;

typedef struct {
    waiter w;
    seen_error errors[MAX_ERRORS];
    int error_count;
    int opens;
} state;

static state st;

static void srv_error(void *ud, uint64_t conn, void *conn_ud, const wss_error *err) {
    state *s = (state *)ud;
    wss_error_info info = error_info_init();
    const wss_error_info *e = &info;
    seen_error *r;
    size_t i;
    (void)conn_ud;
    if (wss_error_get_info(err, &info) != WSS_OK) {
        CHECK(!"wss_error_get_info failed in on_error");
        return;
    }
    pthread_mutex_lock(&s->w.mu);
    if (s->error_count < MAX_ERRORS) {
        r = &s->errors[s->error_count++];
        memset(r, 0, sizeof *r);
        r->conn = conn;
        r->code = e->code;
        r->verify_code = e->verify_code;
        r->verify_depth = e->verify_depth;
        snprintf(r->verify_subject, sizeof r->verify_subject, "%s",
                 e->verify_subject ? e->verify_subject : "");
        r->has_verify_text = nonempty(e->verify_text);
        r->openssl_count = e->openssl_error_count;
        r->openssl_strings_ok = e->openssl_error_count == 0 || e->openssl_errors != NULL;
        for (i = 0; i < e->openssl_error_count && e->openssl_errors; i++) {
            const wss_openssl_error *o = &e->openssl_errors[i];
            if (o->library == NULL || o->reason == NULL || o->function == NULL || o->data == NULL)
                r->openssl_strings_ok = 0;
        }
        r->has_peer_address = e->peer_address != NULL;
        snprintf(r->peer_address, sizeof r->peer_address, "%s",
                 e->peer_address ? e->peer_address : "");
        r->has_hint = nonempty(e->hint);
        snprintf(r->message, sizeof r->message, "%s", e->message ? e->message : "");
    }
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

static void srv_open(void *ud, uint64_t conn) {
    state *s = (state *)ud;
    (void)conn;
    pthread_mutex_lock(&s->w.mu);
    s->opens++;
    pthread_mutex_unlock(&s->w.mu);
}

static int32_t wanted_verify_code;
static int has_verify_error(void *arg) {
    state *s = (state *)arg;
    int i;
    for (i = 0; i < s->error_count; i++)
        if (s->errors[i].verify_code == wanted_verify_code) return 1;
    return 0;
}

/* Whether the thread's last error has an OpenSSL entry whose reason contains `needle`. */
static int last_error_reason_contains(const char *needle) {
    wss_error_info e;
    size_t i;
    if (last_error(&e) != WSS_OK || e.openssl_errors == NULL) return 0;
    for (i = 0; i < e.openssl_error_count; i++)
        if (contains(e.openssl_errors[i].reason, needle)) return 1;
    return 0;
}

static int last_error_openssl_ok(void) {
    wss_error_info e;
    size_t i;
    if (last_error(&e) != WSS_OK || e.openssl_error_count == 0 || e.openssl_errors == NULL)
        return 0;
    for (i = 0; i < e.openssl_error_count; i++) {
        if (e.openssl_errors[i].library == NULL || e.openssl_errors[i].reason == NULL) return 0;
        if (e.openssl_errors[i].code == 0) return 0;
    }
    return 1;
}

static void expired_client(uint16_t port) {
    const char *ca_dir = need_env("WSS_CA_DIR");
    wss_tls_config *tls = NULL;
    wss_client *client = NULL;
    wss_error_info e;
    wss_result rc;
    char url[64];
    int i, ok;

    CHECK_OK(wss_tls_config_new(&tls));
    CHECK_OK(wss_tls_config_load_pem_chain(tls, need_env("WSS_EXPIRED_CLIENT_CERT"),
                                           need_env("WSS_EXPIRED_CLIENT_KEY"), NULL));
    CHECK_OK(wss_tls_config_load_ca_dir(tls, ca_dir));
    snprintf(url, sizeof url, "wss://localhost:%u/", (unsigned)port);
    rc = wss_client_connect(url, tls, NULL, NULL, NULL, NULL, &client);
    CHECK(rc != WSS_OK);
    CHECK(client == NULL);
    CHECK_OK(last_error(&e));
    CHECK(e.code == rc);
    CHECK(nonempty(e.message));
    CHECK(e.openssl_error_count > 0);
    CHECK(last_error_openssl_ok());
    /* The server's TLS alert reached the client: it can tell why it was refused. */
    if (!CHECK(last_error_reason_contains("certificate expired"))) dump_last_error("expired");
    wss_tls_config_free(tls);
    wss_client_free(client);

    /* The server reports the verify failure with the full detail. */
    wanted_verify_code = 10;
    ok = waiter_wait(&st.w, has_verify_error, &st, WAIT_MS);
    CHECK(ok);
    pthread_mutex_lock(&st.w.mu);
    for (i = 0; i < st.error_count; i++) {
        seen_error *r = &st.errors[i];
        if (r->verify_code != 10) continue;
        CHECK(r->conn == 0);
        CHECK(r->code == WSS_ERR_CERT_VERIFY);
        CHECK(r->verify_depth == 0);
        CHECK(contains(r->verify_subject, "wss test client"));
        CHECK(r->has_verify_text);
        CHECK(r->openssl_count > 0);
        CHECK(r->openssl_strings_ok);
        CHECK(r->has_peer_address);
        CHECK(contains(r->peer_address, "127.0.0.1:"));
        CHECK(r->has_hint);
        CHECK(nonempty(r->message));
        break;
    }
    pthread_mutex_unlock(&st.w.mu);
}

static void client_trusting_rogue_ca(uint16_t port, int32_t want_code, int32_t want_depth,
                                     const char *want_subject) {
    wss_tls_config *tls = NULL;
    wss_client *client = NULL;
    wss_error_info e;
    char url[64];

    CHECK_OK(wss_tls_config_new(&tls));
    CHECK_OK(wss_tls_config_load_pfx_file(tls, need_env("WSS_CLIENT_P12"),
                                          need_env("WSS_PFX_PASSWORD")));
    CHECK_OK(wss_tls_config_load_ca_file(tls, need_env("WSS_ROGUE_CA")));
    snprintf(url, sizeof url, "wss://127.0.0.1:%u/", (unsigned)port);
    CHECK_ERR(wss_client_connect(url, tls, NULL, NULL, NULL, NULL, &client), WSS_ERR_CERT_VERIFY);
    CHECK(client == NULL);
    CHECK_OK(last_error(&e));
    if (!CHECK(e.verify_code == want_code)) dump_last_error("rogue CA");
    CHECK(nonempty(e.verify_text));
    CHECK(e.verify_depth == want_depth);
    CHECK(contains(e.verify_subject, want_subject));
    CHECK(nonempty(e.hint));
    CHECK(e.openssl_error_count > 0);
    CHECK(last_error_openssl_ok());
    CHECK(contains(e.peer_address, "127.0.0.1:"));
    wss_tls_config_free(tls);
    wss_client_free(client);
}

static void load_failures(void) {
    wss_tls_config *tls = NULL;
    wss_error_info e;

    CHECK_OK(wss_tls_config_new(&tls));
    /* Wrong PFX password: refused at load, not at the first handshake. */
    CHECK_ERR(wss_tls_config_load_pfx_file(tls, need_env("WSS_CLIENT_P12"), "not-the-password"),
              WSS_ERR_CONFIG);
    CHECK_OK(last_error(&e));
    CHECK(e.openssl_error_count > 0);
    CHECK(last_error_openssl_ok());
    CHECK(nonempty(e.hint));
    /* NULL password = empty password: also wrong. */
    CHECK_ERR(wss_tls_config_load_pfx_file(tls, need_env("WSS_CLIENT_P12"), NULL),
              WSS_ERR_CONFIG);

    /* Certificate and a key that does not belong to it. */
    CHECK_ERR(wss_tls_config_load_pem_chain(tls, need_env("WSS_SERVER_CERT"),
                                            need_env("WSS_MISMATCHED_KEY"), NULL),
              WSS_ERR_CONFIG);
    CHECK(last_error_openssl_ok());
    if (!CHECK(last_error_reason_contains("key values mismatch"))) dump_last_error("mismatch");

    /* Not PEM at all. */
    CHECK_ERR(wss_tls_config_load_pem_chain(tls, need_env("WSS_GARBAGE_FILE"),
                                            need_env("WSS_SERVER_KEY"), NULL),
              WSS_ERR_CONFIG);
    /* Missing file: WSS_ERR_CONFIG with the OS error. */
    CHECK_ERR(wss_tls_config_load_ca_file(tls, "/nonexistent/wss/ca.pem"), WSS_ERR_CONFIG);
    CHECK_OK(last_error(&e));
    CHECK(e.os_errno == ENOENT);

    /* The failures left the configuration usable. */
    CHECK_OK(wss_tls_config_load_pem_chain(tls, need_env("WSS_SERVER_CERT"),
                                           need_env("WSS_SERVER_KEY"), NULL));
    wss_tls_config_free(tls);
}

int main(void) {
    wss_tls_config *tls = NULL;
    wss_server *server = NULL;
    wss_callbacks cb;
    uint16_t port = 0;

    memset(&st, 0, sizeof st);
    waiter_init(&st.w);

    load_failures();

    CHECK_OK(wss_tls_config_new(&tls));
    CHECK_OK(wss_tls_config_load_pfx_file(tls, need_env("WSS_SERVER_P12"),
                                          need_env("WSS_PFX_PASSWORD")));
    CHECK_OK(wss_tls_config_load_ca_dir(tls, need_env("WSS_CA_DIR")));
    CHECK_OK(wss_tls_config_set_verify_mode(tls, WSS_VERIFY_REQUIRED));
    memset(&cb, 0, sizeof cb);
    cb.struct_size = (uint32_t)sizeof cb;
    cb.on_error = srv_error;
    cb.on_open = srv_open;
    if (CHECK_OK(wss_server_new("127.0.0.1:0", tls, NULL, &cb, &st, NULL, &server))) {
        CHECK_OK(wss_server_port(server, &port));
        expired_client(port);
        /* server.p12 holds leaf + root, and the server sends both. */
        client_trusting_rogue_ca(port, 19, 1, "wss test root CA");
        CHECK_OK(wss_server_close(server, WAIT_MS));
        pthread_mutex_lock(&st.w.mu);
        CHECK(st.opens == 0);
        pthread_mutex_unlock(&st.w.mu);
    }
    wss_server_free(server);
    wss_tls_config_free(tls);
    server = NULL;
    tls = NULL;

    /* A server sending only its leaf: the client cannot find the leaf's issuer (20, depth 0). */
    CHECK_OK(wss_tls_config_new(&tls));
    CHECK_OK(wss_tls_config_load_pem_chain(tls, need_env("WSS_SERVER_LEAF_CERT"),
                                           need_env("WSS_SERVER_KEY"), NULL));
    if (CHECK_OK(wss_server_new("127.0.0.1:0", tls, NULL, &cb, &st, NULL, &server))) {
        CHECK_OK(wss_server_port(server, &port));
        client_trusting_rogue_ca(port, 20, 0, "localhost");
        CHECK_OK(wss_server_close(server, WAIT_MS));
    }
    wss_server_free(server);
    wss_tls_config_free(tls);
    waiter_destroy(&st.w);
    return check_summary();
}
