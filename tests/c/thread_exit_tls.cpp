// Defect 3 of issue 16, C++ form: a `thread_local` object whose destructor makes a failing call.
// It is constructed before the thread's first failing call, so its destructor runs after the
// library's thread-local last error was destroyed (thread_local destructors run in reverse order
// of construction). Before the fix the call panicked inside the library: std::terminate/SIGABRT.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>

#include "wss.h"

namespace {

wss_result send_rc = 1;
wss_result last_rc = 1;
wss_result last_code = 1;

struct Session {
    bool armed = false;
    ~Session() {
        if (!armed) return;
        send_rc = wss_send_text(UINT64_MAX - 1, "bye");
        wss_error_info e;
        std::memset(&e, 0, sizeof e);
        e.struct_size = sizeof e;
        last_rc = wss_last_error(&e);
        last_code = e.code;
    }
};

thread_local Session session;

}  // namespace

int main() {
    std::thread t([] {
        session.armed = true;  // constructed first
        wss_send_text(UINT64_MAX - 1, "x");  // then the library's thread-local last error
    });
    t.join();
    int failed = 0;
    failed += send_rc != WSS_ERR_NOT_CONNECTED;
    failed += last_rc != WSS_OK;
    failed += last_code != WSS_ERR_NOT_CONNECTED && last_code != WSS_ERR_INVALID_STATE;
    std::printf("send %d, last_error %d (code %d)\n", send_rc, last_rc, last_code);
    std::printf("%d passed, %d failed\n", 3 - failed, failed);
    return failed;
}
