/*
 * A real mutual-TLS handshake with identities loaded from memory
 * (wss_tls_config_load_pfx_mem): server.p12 and client.p12 are read into buffers that are
 * freed right after loading (the configuration keeps its own copy); the client verifies the
 * server against the CA, the server requires and verifies the client's certificate, a message
 * is echoed, and both ends see the other's certificate. A wrong password from memory fails at
 * load time with WSS_ERR_CONFIG.
 */
#include "check.h"

/* The whole file at `path`, in a malloc'd buffer; NULL on failure. */
static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = (unsigned char *)malloc((size_t)n);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

/* A configuration with the identity in `path` loaded from memory. */
static wss_tls_config *identity_from_memory(const char *path, const char *password) {
    wss_tls_config *cfg = NULL;
    size_t len = 0;
    unsigned char *pfx = read_file(path, &len);
    if (!CHECK(pfx != NULL) || !CHECK_OK(wss_tls_config_new(&cfg))) {
        free(pfx);
        return NULL;
    }
    CHECK_ERR(wss_tls_config_load_pfx_mem(cfg, pfx, len, "wrong password"), WSS_ERR_CONFIG);
    CHECK_OK(wss_tls_config_load_pfx_mem(cfg, pfx, len, password));
    memset(pfx, 0, len); /* the configuration must not point into our buffer */
    free(pfx);
    return cfg;
}

static void srv_message(void *ud, uint64_t conn, void *conn_ud, wss_message_kind kind,
                        const uint8_t *data, size_t len) {
    (void)ud;
    (void)conn_ud;
    wss_send(conn, data, len, kind);
}

static int server_errors;
static void srv_error(void *ud, uint64_t conn, void *conn_ud, const wss_error *e) {
    (void)ud;
    (void)conn_ud;
    fprintf(stderr, "server on_error (conn %llu): %s\n", (unsigned long long)conn,
            wss_error_message(e));
    server_errors++;
}

int main(void) {
    const char *pass = need_env("WSS_PFX_PASSWORD");
    wss_tls_config *stls = identity_from_memory(need_env("WSS_SERVER_P12"), pass);
    wss_tls_config *ctls = identity_from_memory(need_env("WSS_CLIENT_P12"), pass);
    wss_callbacks cb = callbacks_init();
    wss_options *opts = generous_options();
    wss_server *server = NULL;
    wss_client *client = NULL;
    wss_event *ev = NULL;
    wss_conn_info *info = NULL;
    uint16_t port = 0;
    uint64_t cid = 0;
    char url[64];

    if (!CHECK(stls && ctls && opts)) goto out;
    CHECK_OK(wss_tls_config_load_ca_file(stls, need_env("WSS_CA_PEM")));
    CHECK_OK(wss_tls_config_set_verify_mode(stls, WSS_VERIFY_REQUIRED));
    CHECK_OK(wss_tls_config_load_ca_file(ctls, need_env("WSS_CA_PEM")));
    cb.on_message = srv_message;
    cb.on_error = srv_error;
    if (!CHECK_OK(wss_server_new("127.0.0.1:0", stls, opts, &cb, NULL, NULL, &server))) goto out;
    CHECK_OK(wss_server_port(server, &port));
    snprintf(url, sizeof url, "wss://localhost:%u/pfx", (unsigned)port);
    if (!CHECK_OK(wss_client_connect(url, ctls, opts, NULL, NULL, NULL, &client))) goto out;
    CHECK_OK(wss_client_conn_id(client, &cid));
    if (CHECK_OK(wss_conn_info_get(cid, &info))) {
        CHECK(nonempty(info->tls_version));
        if (CHECK(info->peer_certificate != NULL)) {
            CHECK(info->peer_certificate->verified == 1);
            CHECK(contains(info->peer_certificate->subject, "localhost"));
        }
    }
    wss_conn_info_free(info);

    if (CHECK_OK(wss_client_next_event(client, WAIT_MS, &ev)))
        CHECK(ev->event_type == WSS_EVENT_OPEN);
    wss_event_free(ev);
    ev = NULL;
    CHECK_OK(wss_send_text(cid, "over a PFX from memory"));
    if (CHECK_OK(wss_client_next_event(client, WAIT_MS, &ev)) &&
        CHECK(ev->event_type == WSS_EVENT_MESSAGE))
        CHECK(ev->len == 22 && memcmp(ev->data, "over a PFX from memory", 22) == 0);
    wss_event_free(ev);
    CHECK_OK(wss_client_close(client, 1000, NULL, WAIT_MS));
    CHECK_OK(wss_server_close(server, WAIT_MS));
    CHECK(server_errors == 0);
out:
    wss_client_free(client);
    wss_server_free(server);
    wss_tls_config_free(stls);
    wss_tls_config_free(ctls);
    wss_options_free(opts);
    return check_summary();
}
