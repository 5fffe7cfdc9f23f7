/*
 * Defect 6 of issue 16: after fork() the child's calls used to fail silently (wss_send returned
 * OK and sent nothing; the I/O threads did not survive the fork). Now every call but the *_free
 * functions, wss_last_error, wss_result_str and the version queries returns
 * WSS_ERR_INVALID_STATE with a message; freeing handles works.
 */
#include "check.h"

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static wss_server *server;
static uint64_t open_conn;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t opened = PTHREAD_COND_INITIALIZER;

static void on_open(void *user_data, uint64_t conn) {
    (void)user_data;
    pthread_mutex_lock(&lock);
    open_conn = conn;
    pthread_cond_broadcast(&opened);
    pthread_mutex_unlock(&lock);
}

/* The child's checks; its exit status is the number of failures (0 = all passed). */
static int child(uint64_t conn, uint16_t port, wss_client *client, wss_options *opts) {
    int failures = 0;
    wss_error_info e;
    char url[64];
    wss_client *other = NULL;
    uint16_t p = 0;
    const char *name;
#define CHILD_CHECK(cond)                                                              \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "FAIL (child) %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
            failures++;                                                                \
        }                                                                              \
    } while (0)
    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    CHILD_CHECK(wss_send_text(conn, "from the child") == WSS_ERR_INVALID_STATE);
    CHILD_CHECK(wss_last_error(&e) == WSS_OK);
    CHILD_CHECK(e.code == WSS_ERR_INVALID_STATE);
    CHILD_CHECK(e.message != NULL && strstr(e.message, "fork") != NULL);
    CHILD_CHECK(wss_server_port(server, &p) == WSS_ERR_INVALID_STATE);
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)port);
    CHILD_CHECK(wss_client_connect(url, NULL, NULL, NULL, NULL, NULL, &other) == WSS_ERR_INVALID_STATE);
    CHILD_CHECK(other == NULL);
    CHILD_CHECK(wss_options_set_io_threads(opts, 1) == WSS_ERR_INVALID_STATE);
    /* Allowed: names, versions, and freeing. */
    name = wss_result_str(WSS_ERR_INVALID_STATE);
    CHILD_CHECK(name != NULL && strcmp(name, "invalid state") == 0);
    CHILD_CHECK(wss_version_number() == WSS_VERSION_NUMBER);
    CHILD_CHECK(wss_version() != NULL);
    wss_client_free(client);
    wss_options_free(opts);
    wss_server_free(server);
    return failures;
#undef CHILD_CHECK
}

int main(void) {
    wss_callbacks cb;
    wss_options *opts = NULL;
    wss_client *client = NULL;
    uint16_t port = 0;
    uint64_t conn = 0;
    char url[64];
    pid_t pid;
    int status = -1;
    struct timespec deadline;

    memset(&cb, 0, sizeof cb);
    cb.struct_size = sizeof cb;
    cb.on_open = on_open;
    CHECK(wss_options_new(&opts) == WSS_OK);
    CHECK(wss_server_new("127.0.0.1:0", NULL, opts, &cb, NULL, NULL, &server) == WSS_OK);
    CHECK(wss_server_port(server, &port) == WSS_OK);
    snprintf(url, sizeof url, "ws://127.0.0.1:%u/", (unsigned)port);
    if (!CHECK(wss_client_connect(url, NULL, NULL, NULL, NULL, NULL, &client) == WSS_OK)) {
        dump_last_error("connect");
        return check_summary();
    }
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&lock);
    while (open_conn == 0) {
        if (pthread_cond_timedwait(&opened, &lock, &deadline) == ETIMEDOUT) break;
    }
    conn = open_conn;
    pthread_mutex_unlock(&lock);
    CHECK(conn != 0);

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) _exit(child(conn, port, client, opts));
    CHECK(pid > 0);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* The parent is unaffected. */
    CHECK(wss_send_text(conn, "from the parent") == WSS_OK);
    CHECK(wss_client_close(client, WSS_CLOSE_NORMAL, NULL, WAIT_MS) == WSS_OK);
    wss_client_free(client);
    CHECK(wss_server_close(server, WAIT_MS) == WSS_OK);
    wss_server_free(server);
    wss_options_free(opts);
    return check_summary();
}
