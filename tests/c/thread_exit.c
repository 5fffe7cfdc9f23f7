/*
 * Defect 3 of issue 16: a failing call from a thread-exit path. A pthread key destructor runs
 * after the thread's Rust thread-locals (the last error) were destroyed; a failing wss_send
 * there used to panic inside the library and abort the process (SIGABRT). Now the call returns
 * its code and wss_last_error degrades to a static error.
 */
#include "check.h"

static pthread_key_t key;

/* Results of the calls made by the destructor, read by main after the join. */
static wss_result send_rc = 1, text_rc = 1, last_rc = 1, last_code = 1;
static int message_ok;

static void on_thread_exit(void *value) {
    wss_error_info e;
    (void)value;
    send_rc = wss_send(UINT64_MAX - 1, (const uint8_t *)"x", 1, WSS_MESSAGE_BINARY);
    text_rc = wss_send_text(UINT64_MAX - 1, "x");
    memset(&e, 0, sizeof e);
    e.struct_size = sizeof e;
    last_rc = wss_last_error(&e);
    last_code = e.code;
    message_ok = e.message != NULL && e.kind != NULL && strlen(e.message) > 0;
}

static void *worker(void *arg) {
    (void)arg;
    /* A failure first, so this thread's last error exists and is destroyed at exit. */
    CHECK(wss_send_text(UINT64_MAX - 1, "x") == WSS_ERR_NOT_CONNECTED);
    CHECK(pthread_setspecific(key, &key) == 0);
    return NULL;
}

int main(void) {
    pthread_t t;
    CHECK(pthread_key_create(&key, on_thread_exit) == 0);
    CHECK(pthread_create(&t, NULL, worker, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(send_rc == WSS_ERR_NOT_CONNECTED);
    CHECK(text_rc == WSS_ERR_NOT_CONNECTED);
    CHECK(last_rc == WSS_OK);
    /* Either the detail survived, or the static "thread is exiting" error. */
    CHECK(last_code == WSS_ERR_NOT_CONNECTED || last_code == WSS_ERR_INVALID_STATE);
    CHECK(message_ok);
    pthread_key_delete(key);
    return check_summary();
}
