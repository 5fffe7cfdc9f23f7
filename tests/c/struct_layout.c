/*
 * The layout of every public struct as the C compiler sees it, one machine-readable line per
 * figure: "size <struct> <bytes>" and "offset <struct> <member> <bytes>". tests/c_abi.rs
 * compares them with std::mem::size_of / offset_of! of the Rust #[repr(C)] types in wss::ffi
 * and checks that every struct and member of include/wss.h is listed here (the C# wrapper
 * asserts the same figures for its own declarations).
 */
#include "check.h"

#include <stddef.h>

#define SIZE(T) printf("size %s %lu\n", #T, (unsigned long)sizeof(T))
#define OFF(T, m) printf("offset %s %s %lu\n", #T, #m, (unsigned long)offsetof(T, m))

int main(void) {
    SIZE(wss_header);
    OFF(wss_header, name);
    OFF(wss_header, value);

    SIZE(wss_peer_cert);
    OFF(wss_peer_cert, struct_size);
    OFF(wss_peer_cert, verified);
    OFF(wss_peer_cert, subject);
    OFF(wss_peer_cert, issuer);
    OFF(wss_peer_cert, serial);
    OFF(wss_peer_cert, not_before);
    OFF(wss_peer_cert, not_after);
    OFF(wss_peer_cert, sha256_fingerprint);
    OFF(wss_peer_cert, sans);
    OFF(wss_peer_cert, san_count);

    SIZE(wss_upgrade_request);
    OFF(wss_upgrade_request, struct_size);
    OFF(wss_upgrade_request, is_tls);
    OFF(wss_upgrade_request, id);
    OFF(wss_upgrade_request, path);
    OFF(wss_upgrade_request, query);
    OFF(wss_upgrade_request, remote_address);
    OFF(wss_upgrade_request, headers);
    OFF(wss_upgrade_request, header_count);
    OFF(wss_upgrade_request, subprotocols);
    OFF(wss_upgrade_request, subprotocol_count);
    OFF(wss_upgrade_request, peer_certificate);

    SIZE(wss_accept_decision);
    OFF(wss_accept_decision, struct_size);
    OFF(wss_accept_decision, status);
    OFF(wss_accept_decision, subprotocol_index);
    OFF(wss_accept_decision, reason);
    OFF(wss_accept_decision, headers);
    OFF(wss_accept_decision, header_count);

    SIZE(wss_callbacks);
    OFF(wss_callbacks, struct_size);
    OFF(wss_callbacks, on_accept);
    OFF(wss_callbacks, on_open);
    OFF(wss_callbacks, on_message);
    OFF(wss_callbacks, on_pong);
    OFF(wss_callbacks, on_close);
    OFF(wss_callbacks, on_error);

    SIZE(wss_event);
    OFF(wss_event, struct_size);
    OFF(wss_event, event_type);
    OFF(wss_event, conn);
    OFF(wss_event, conn_user_data);
    OFF(wss_event, kind);
    OFF(wss_event, close_code);
    OFF(wss_event, data);
    OFF(wss_event, len);
    OFF(wss_event, reason);
    OFF(wss_event, error);
    OFF(wss_event, request);

    SIZE(wss_openssl_error);
    OFF(wss_openssl_error, code);
    OFF(wss_openssl_error, library);
    OFF(wss_openssl_error, reason);
    OFF(wss_openssl_error, function);
    OFF(wss_openssl_error, data);

    SIZE(wss_error_info);
    OFF(wss_error_info, struct_size);
    OFF(wss_error_info, code);
    OFF(wss_error_info, kind);
    OFF(wss_error_info, message);
    OFF(wss_error_info, hint);
    OFF(wss_error_info, openssl_errors);
    OFF(wss_error_info, openssl_error_count);
    OFF(wss_error_info, verify_code);
    OFF(wss_error_info, verify_depth);
    OFF(wss_error_info, verify_text);
    OFF(wss_error_info, verify_subject);
    OFF(wss_error_info, peer_address);
    OFF(wss_error_info, os_errno);
    OFF(wss_error_info, http_status);

    SIZE(wss_conn_info);
    OFF(wss_conn_info, struct_size);
    OFF(wss_conn_info, is_client);
    OFF(wss_conn_info, resumed);
    OFF(wss_conn_info, id);
    OFF(wss_conn_info, remote_address);
    OFF(wss_conn_info, path);
    OFF(wss_conn_info, subprotocol);
    OFF(wss_conn_info, tls_version);
    OFF(wss_conn_info, cipher);
    OFF(wss_conn_info, alpn);
    OFF(wss_conn_info, server_name);
    OFF(wss_conn_info, peer_certificate);
    OFF(wss_conn_info, extensions);
    OFF(wss_conn_info, response_headers);
    OFF(wss_conn_info, response_header_count);

    /* Fixed-width types only: the scalar typedefs are exactly 4 bytes. */
    CHECK(sizeof(wss_result) == 4 && sizeof(wss_message_kind) == 4);
    CHECK(sizeof(wss_event_type) == 4 && sizeof(wss_verify_mode) == 4);
    CHECK(sizeof(wss_tls_version) == 4);
    return check_summary();
}
