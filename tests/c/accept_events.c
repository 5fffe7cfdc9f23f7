/*
 * Pull-mode upgrade decisions (wss_options_set_accept_events + wss_server_decide), all taken and
 * answered on this program's main thread while the clients connect asynchronously:
 *  1. accept: the WSS_EVENT_ACCEPT event's request view (id, path, query, headers, offered
 *     subprotocols); a bad decision (struct_size 0, an out-of-range index, status 200) is refused
 *     and leaves the request undecided; accepting with the second subprotocol and a response
 *     header opens the client with that subprotocol, and the open event carries the request's id;
 *     deciding again is WSS_ERR_NOT_CONNECTED;
 *  2. refuse with 403 and a reason: the client's error has http_status 403;
 *  3. no decision: refused with 503 at the handshake timeout, reported as a WSS_ERR_TIMEOUT error
 *     event; deciding afterwards is WSS_ERR_NOT_CONNECTED.
 * The clients record their events with tests/c/client_events.h; each one's release runs once.
 */
#include "check.h"
#include "client_events.h"

/* Start a client on `path` offering "chat.v1", "chat.v2". */
static wss_result start(client_state *s, uint16_t port, const char *path) {
    wss_options *o = generous_options();
    char url[128];
    wss_result rc;
    snprintf(url, sizeof url, "ws://127.0.0.1:%u%s", (unsigned)port, path);
    CHECK_OK(wss_options_add_subprotocol(o, "chat.v1"));
    CHECK_OK(wss_options_add_subprotocol(o, "chat.v2"));
    CHECK_OK(wss_options_add_header(o, "X-Test", "yes"));
    rc = client_start(s, url, NULL, o, NULL);
    wss_options_free(o);
    return rc;
}

/* The next event, which must be of `type`. */
static wss_event *take(wss_server *server, wss_event_type type) {
    wss_event *ev = NULL;
    if (!CHECK_OK(wss_server_next_event(server, WAIT_MS, &ev))) return NULL;
    if (!CHECK(ev->event_type == type)) {
        fprintf(stderr, "  got event type %d\n", (int)ev->event_type);
        wss_event_free(ev);
        return NULL;
    }
    return ev;
}

static wss_accept_decision decision_init(void) {
    wss_accept_decision d;
    memset(&d, 0, sizeof d);
    d.struct_size = (uint32_t)sizeof d;
    d.subprotocol_index = -1;
    return d;
}

static int has_header(const wss_upgrade_request *r, const char *name, const char *value) {
    size_t i;
    for (i = 0; i < r->header_count; i++)
        if (strcmp(r->headers[i].name, name) == 0 && strcmp(r->headers[i].value, value) == 0)
            return 1;
    return 0;
}

int main(void) {
    wss_options *o = generous_options();
    wss_server *server = NULL;
    wss_event *ev;
    uint16_t port = 0;
    uint64_t request_id = 0;
    client_state s;
    static const wss_header extra[] = {{"X-Room", "42"}};

    CHECK_OK(wss_options_set_accept_events(o, 1));
    if (!CHECK_OK(wss_server_new("127.0.0.1:0", NULL, o, NULL, NULL, NULL, &server)))
        return check_summary();
    CHECK_OK(wss_server_port(server, &port));

    /* 1. Accept, after refused bad decisions. */
    if (CHECK_OK(start(&s, port, "/chat?room=42")) &&
        (ev = take(server, WSS_EVENT_ACCEPT)) != NULL) {
        const wss_upgrade_request *r = ev->request;
        wss_accept_decision d = decision_init();
        request_id = ev->conn;
        CHECK(r != NULL && r->struct_size == sizeof *r && r->id == request_id);
        CHECK(strcmp(r->path, "/chat") == 0 && r->query && strcmp(r->query, "room=42") == 0);
        CHECK(has_header(r, "X-Test", "yes"));
        CHECK(r->subprotocol_count == 2 && strcmp(r->subprotocols[0], "chat.v1") == 0 &&
              strcmp(r->subprotocols[1], "chat.v2") == 0);
        CHECK(r->is_tls == 0 && r->peer_certificate == NULL);
        wss_event_free(ev); /* the decision needs only the id */

        d.struct_size = 0;
        CHECK_ERR(wss_server_decide(server, request_id, &d), WSS_ERR_INVALID_ARGUMENT);
        d = decision_init();
        d.subprotocol_index = 2;
        CHECK_ERR(wss_server_decide(server, request_id, &d), WSS_ERR_INVALID_ARGUMENT);
        d.subprotocol_index = -1;
        d.status = 200;
        CHECK_ERR(wss_server_decide(server, request_id, &d), WSS_ERR_INVALID_ARGUMENT);

        d = decision_init();
        d.subprotocol_index = 1;
        d.headers = extra;
        d.header_count = 1;
        CHECK_OK(wss_server_decide(server, request_id, &d));
        CHECK(waiter_wait(&s.w, reached_open, &s, WAIT_MS));
        {
            uint64_t id = 0;
            wss_conn_info *info = NULL;
            CHECK_OK(wss_client_conn_id(s.client, &id));
            if (CHECK_OK(wss_conn_info_get(id, &info))) {
                CHECK(info->subprotocol && strcmp(info->subprotocol, "chat.v2") == 0);
                wss_conn_info_free(info);
            }
        }
        if ((ev = take(server, WSS_EVENT_OPEN)) != NULL) {
            CHECK(ev->conn == request_id);
            wss_event_free(ev);
        }
        CHECK_ERR(wss_server_decide(server, request_id, &d), WSS_ERR_NOT_CONNECTED);
        CHECK_OK(wss_client_close(s.client, 1000, NULL, WAIT_MS));
        if ((ev = take(server, WSS_EVENT_CLOSE)) != NULL) wss_event_free(ev);
        client_finish(&s);
    }

    /* 2. Refuse with a status and a reason. */
    if (CHECK_OK(start(&s, port, "/")) &&
        (ev = take(server, WSS_EVENT_ACCEPT)) != NULL) {
        wss_accept_decision d = decision_init();
        d.status = 403;
        d.reason = "Members Only";
        CHECK_OK(wss_server_decide(server, ev->conn, &d));
        wss_event_free(ev);
        CHECK(waiter_wait(&s.w, reached_error, &s, WAIT_MS));
        CHECK(s.http_status == 403 && s.opens == 0);
        client_finish(&s);
    }
    CHECK_OK(wss_server_close(server, WAIT_MS));
    wss_server_free(server);

    /* 3. No decision within the handshake timeout. */
    CHECK_OK(wss_options_set_handshake_timeout_ms(o, 300));
    if (CHECK_OK(wss_server_new("127.0.0.1:0", NULL, o, NULL, NULL, NULL, &server))) {
        CHECK_OK(wss_server_port(server, &port));
        if (CHECK_OK(start(&s, port, "/")) &&
            (ev = take(server, WSS_EVENT_ACCEPT)) != NULL) {
            wss_accept_decision d = decision_init();
            request_id = ev->conn;
            wss_event_free(ev);
            CHECK(waiter_wait(&s.w, reached_error, &s, WAIT_MS));
            CHECK(s.http_status == 503);
            if ((ev = take(server, WSS_EVENT_ERROR)) != NULL) {
                CHECK(wss_error_code(ev->error) == WSS_ERR_TIMEOUT);
                wss_event_free(ev);
            }
            CHECK_ERR(wss_server_decide(server, request_id, &d), WSS_ERR_NOT_CONNECTED);
            client_finish(&s);
        }
        CHECK_OK(wss_server_close(server, WAIT_MS));
        wss_server_free(server);
    }
    wss_options_free(o);
    return check_summary();
}
