/*
 * wss_client_connect_async: the handle comes back at once and the outcome follows as a callback
 * (or a pull event), never before the call has returned:
 *  1. success over wss:// with mutual TLS: on_open, then an echo, then a normal close;
 *  2. a refused port: on_error carries WSS_ERR_IO and the client's own connection id, no on_close;
 *  3. a server the client does not trust: on_error with WSS_ERR_CERT_VERIFY and verify code 20;
 *  4. a peer that accepts TCP but never answers the upgrade: WSS_ERR_TIMEOUT after the connect
 *     timeout;
 *  5. freeing the client while it connects: no callback, release exactly once;
 *  6. pull mode: WSS_EVENT_OPEN on success; WSS_EVENT_ERROR then WSS_ERR_CLOSED on failure.
 * Every client's release runs exactly once after its free.
 */
#include "check.h"
#include "client_events.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* Counts the echo of "hello". */
static void c_message(void *ud, uint64_t conn, void *cd, wss_message_kind kind, const uint8_t *data,
                      size_t len) {
    client_state *s = (client_state *)ud;
    (void)conn, (void)cd;
    pthread_mutex_lock(&s->w.mu);
    if (kind == WSS_MESSAGE_TEXT && len == 5 && memcmp(data, "hello", 5) == 0) s->messages++;
    waiter_signal_locked(&s->w);
    pthread_mutex_unlock(&s->w.mu);
}

/* Start a callback-mode client on `url`; the state's `client` is the out-parameter. */
static wss_result start(client_state *s, const char *url, const wss_tls_config *tls,
                        const wss_options *o) {
    return client_start(s, url, tls, o, c_message);
}

/* Server side: echo every message. */
static void s_message(void *ud, uint64_t conn, void *cd, wss_message_kind kind, const uint8_t *data,
                      size_t len) {
    (void)ud, (void)cd;
    wss_send(conn, data, len, kind);
}

static int server_errors;
static void s_error(void *ud, uint64_t conn, void *cd, const wss_error *err) {
    (void)ud, (void)conn, (void)cd, (void)err;
    pthread_mutex_lock(&check_lock);
    server_errors++;
    pthread_mutex_unlock(&check_lock);
}

static int server_error_count(void) {
    int n;
    pthread_mutex_lock(&check_lock);
    n = server_errors;
    pthread_mutex_unlock(&check_lock);
    return n;
}

/* A TCP listener on 127.0.0.1 that never accepts: connects complete in the kernel's backlog and
 * nothing is ever answered. */
static int silent_listener(uint16_t *port) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port with nothing listening: bind one, read its number, close it. */
static uint16_t closed_port(void) {
    uint16_t port = 0;
    int fd = silent_listener(&port);
    if (fd >= 0) close(fd);
    return port;
}

int main(void) {
    wss_tls_config *stls = NULL, *ctls = NULL, *untrusting = NULL;
    wss_options *o = generous_options();
    wss_server *server = NULL;
    wss_callbacks scb = callbacks_init();
    uint16_t port = 0, silent_port = 0;
    client_state s;
    char url[128];
    int silent;
    uint64_t id = 0;

    /* A mutual-TLS echo server. */
    CHECK_OK(wss_tls_config_new(&stls));
    CHECK_OK(wss_tls_config_load_pfx_file(stls, need_env("WSS_SERVER_P12"),
                                          need_env("WSS_PFX_PASSWORD")));
    CHECK_OK(wss_tls_config_load_ca_dir(stls, need_env("WSS_CA_DIR")));
    CHECK_OK(wss_tls_config_set_verify_mode(stls, WSS_VERIFY_REQUIRED));
    scb.on_message = s_message;
    scb.on_error = s_error;
    if (!CHECK_OK(wss_server_new("127.0.0.1:0", stls, o, &scb, NULL, NULL, &server))) {
        return check_summary();
    }
    CHECK_OK(wss_server_port(server, &port));
    CHECK_OK(wss_tls_config_new(&ctls));
    CHECK_OK(wss_tls_config_load_pfx_file(ctls, need_env("WSS_CLIENT_P12"),
                                          need_env("WSS_PFX_PASSWORD")));
    CHECK_OK(wss_tls_config_load_ca_file(ctls, need_env("WSS_CA_PEM")));

    /* 1. Success. */
    snprintf(url, sizeof url, "wss://localhost:%u/echo", (unsigned)port);
    if (CHECK_OK(start(&s, url, ctls, o))) {
        CHECK(s.client != NULL);
        CHECK_OK(wss_client_conn_id(s.client, &id));
        CHECK(waiter_wait(&s.w, reached_open, &s, WAIT_MS));
        CHECK(s.handle_set_at_event);
        CHECK_OK(wss_send_text(id, "hello"));
        CHECK(waiter_wait(&s.w, reached_message, &s, WAIT_MS));
        CHECK_OK(wss_client_close(s.client, 1000, "done", WAIT_MS));
        CHECK(waiter_wait(&s.w, reached_close, &s, WAIT_MS));
        CHECK(s.errors == 0);
        client_finish(&s);
    }
    CHECK(server_error_count() == 0);

    /* 2. A refused port: the error names the client's connection; no on_close. */
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)closed_port());
    if (CHECK_OK(start(&s, url, NULL, o))) {
        CHECK_OK(wss_client_conn_id(s.client, &id));
        CHECK(waiter_wait(&s.w, reached_error, &s, WAIT_MS));
        CHECK(s.handle_set_at_event);
        CHECK(s.error_code == WSS_ERR_IO);
        CHECK(s.error_conn == id);
        CHECK(wss_send_text(id, "x") == WSS_ERR_NOT_CONNECTED);
        client_finish(&s);
        CHECK(s.opens == 0 && s.closes == 0 && s.errors == 1);
    }

    /* 3. A server the client does not trust (its only CA is the rogue one). */
    CHECK_OK(wss_tls_config_new(&untrusting));
    CHECK_OK(wss_tls_config_load_ca_file(untrusting, need_env("WSS_ROGUE_CA")));
    snprintf(url, sizeof url, "wss://localhost:%u/", (unsigned)port);
    if (CHECK_OK(start(&s, url, untrusting, o))) {
        CHECK(waiter_wait(&s.w, reached_error, &s, WAIT_MS));
        CHECK(s.error_code == WSS_ERR_CERT_VERIFY);
        /* 19: self-signed certificate in the chain (the server PFX sends its root too). */
        CHECK(s.verify_code == 19);
        client_finish(&s);
        CHECK(s.opens == 0 && s.closes == 0);
    }

    /* 4. A peer that never answers: the connect timeout ends it. */
    silent = silent_listener(&silent_port);
    if (CHECK(silent >= 0)) {
        wss_options *quick = NULL;
        double t0 = now_ms();
        CHECK_OK(wss_options_new(&quick));
        CHECK_OK(wss_options_set_connect_timeout_ms(quick, 300));
        snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)silent_port);
        if (CHECK_OK(start(&s, url, NULL, quick))) {
            pthread_mutex_lock(&s.w.mu);
            CHECK(s.errors == 0); /* it returned before the outcome */
            pthread_mutex_unlock(&s.w.mu);
            CHECK(waiter_wait(&s.w, reached_error, &s, WAIT_MS));
            CHECK(s.error_code == WSS_ERR_TIMEOUT);
            CHECK(now_ms() - t0 >= 300.0);
            client_finish(&s);
        }

        /* 5. Freed while connecting: no callback, released once. */
        if (CHECK_OK(start(&s, url, NULL, o))) {
            client_finish(&s);
            CHECK(s.opens == 0 && s.errors == 0 && s.closes == 0);
        }
        wss_options_free(quick);
        close(silent);
    }

    /* 6. Pull mode. */
    {
        wss_client *pc = NULL;
        wss_event *ev = NULL;
        snprintf(url, sizeof url, "wss://localhost:%u/", (unsigned)port);
        if (CHECK_OK(wss_client_connect_async(url, ctls, o, NULL, NULL, NULL, &pc))) {
            if (CHECK_OK(wss_client_next_event(pc, WAIT_MS, &ev))) {
                CHECK(ev->event_type == WSS_EVENT_OPEN);
                wss_event_free(ev);
            }
            CHECK_OK(wss_client_close(pc, 1000, NULL, WAIT_MS));
            wss_client_free(pc);
        }
        snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)closed_port());
        if (CHECK_OK(wss_client_connect_async(url, NULL, o, NULL, NULL, NULL, &pc))) {
            if (CHECK_OK(wss_client_next_event(pc, WAIT_MS, &ev))) {
                CHECK(ev->event_type == WSS_EVENT_ERROR);
                CHECK(ev->error != NULL && wss_error_code(ev->error) == WSS_ERR_IO);
                wss_event_free(ev);
            }
            /* The queue ends with the failed connect: no wait for the timeout. */
            CHECK(wss_client_next_event(pc, WAIT_MS, &ev) == WSS_ERR_CLOSED);
            wss_client_free(pc);
        }
    }

    CHECK_OK(wss_server_close(server, WAIT_MS));
    wss_server_free(server);
    wss_tls_config_free(stls);
    wss_tls_config_free(ctls);
    wss_tls_config_free(untrusting);
    wss_options_free(o);
    /* Only the handshake the untrusting client aborted may be reported on the server. */
    CHECK(server_error_count() <= 1);
    return check_summary();
}
