/*
 * The header's version macros match the library at run time (built by tests/exports.rs against
 * the shared library and against the static one).
 */
#include "check.h"

int main(void) {
    char expected[64];
    uint32_t n = wss_version_number();
    CHECK(n == WSS_VERSION_NUMBER);
    CHECK(n >> 16 == WSS_VERSION_MAJOR);
    CHECK(((n >> 8) & 0xff) == WSS_VERSION_MINOR);
    CHECK((n & 0xff) == WSS_VERSION_PATCH);
    snprintf(expected, sizeof expected, "%d.%d.%d", WSS_VERSION_MAJOR, WSS_VERSION_MINOR,
             WSS_VERSION_PATCH);
    CHECK(strncmp(wss_version(), expected, strlen(expected)) == 0);
    CHECK(strcmp(wss_result_str(WSS_ERR_INVALID_STATE), "invalid state") == 0);
    CHECK(WSS_CLOSE_UNSUPPORTED_DATA == 1003);
    printf("wss %s (0x%06x)\n", wss_version(), (unsigned)n);
    return check_summary();
}
