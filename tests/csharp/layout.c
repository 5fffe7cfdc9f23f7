/* Prints the size of every struct the C# wrapper mirrors and the offset and size of each member, one
 * "struct member offset size" / "struct sizeof size" line each; LayoutTests.cs compares them with
 * Marshal.SizeOf / Marshal.OffsetOf (the C# fields carry the C member names). */
#include <stddef.h>
#include <stdio.h>
#include "wss.h"

#define S(t) printf(#t " sizeof %zu\n", sizeof(t))
#define M(t, m) printf(#t " " #m " %zu %zu\n", offsetof(t, m), sizeof(((t *)0)->m))

int main(void) {
    S(wss_openssl_error);
    M(wss_openssl_error, code); M(wss_openssl_error, library); M(wss_openssl_error, reason);
    M(wss_openssl_error, function); M(wss_openssl_error, data);

    S(wss_error_info);
    M(wss_error_info, struct_size); M(wss_error_info, code); M(wss_error_info, kind);
    M(wss_error_info, message); M(wss_error_info, hint); M(wss_error_info, openssl_errors);
    M(wss_error_info, openssl_error_count); M(wss_error_info, verify_code);
    M(wss_error_info, verify_depth); M(wss_error_info, verify_text);
    M(wss_error_info, verify_subject); M(wss_error_info, peer_address);
    M(wss_error_info, os_errno); M(wss_error_info, http_status);

    S(wss_peer_cert);
    M(wss_peer_cert, struct_size); M(wss_peer_cert, verified); M(wss_peer_cert, subject);
    M(wss_peer_cert, issuer); M(wss_peer_cert, serial); M(wss_peer_cert, not_before);
    M(wss_peer_cert, not_after); M(wss_peer_cert, sha256_fingerprint); M(wss_peer_cert, sans);
    M(wss_peer_cert, san_count);

    S(wss_conn_info);
    M(wss_conn_info, struct_size); M(wss_conn_info, is_client); M(wss_conn_info, resumed);
    M(wss_conn_info, id); M(wss_conn_info, remote_address); M(wss_conn_info, path);
    M(wss_conn_info, subprotocol); M(wss_conn_info, tls_version); M(wss_conn_info, cipher);
    M(wss_conn_info, alpn); M(wss_conn_info, server_name); M(wss_conn_info, peer_certificate);
    M(wss_conn_info, extensions); M(wss_conn_info, response_headers);
    M(wss_conn_info, response_header_count);

    S(wss_header);
    M(wss_header, name); M(wss_header, value);

    S(wss_upgrade_request);
    M(wss_upgrade_request, struct_size); M(wss_upgrade_request, is_tls);
    M(wss_upgrade_request, id); M(wss_upgrade_request, path); M(wss_upgrade_request, query);
    M(wss_upgrade_request, remote_address); M(wss_upgrade_request, headers);
    M(wss_upgrade_request, header_count); M(wss_upgrade_request, subprotocols);
    M(wss_upgrade_request, subprotocol_count); M(wss_upgrade_request, peer_certificate);

    S(wss_accept_decision);
    M(wss_accept_decision, struct_size); M(wss_accept_decision, status);
    M(wss_accept_decision, subprotocol_index); M(wss_accept_decision, reason);
    M(wss_accept_decision, headers); M(wss_accept_decision, header_count);

    S(wss_callbacks);
    M(wss_callbacks, struct_size); M(wss_callbacks, on_accept); M(wss_callbacks, on_open);
    M(wss_callbacks, on_message); M(wss_callbacks, on_pong); M(wss_callbacks, on_close);
    M(wss_callbacks, on_error);

    S(wss_event);
    M(wss_event, struct_size); M(wss_event, event_type); M(wss_event, conn);
    M(wss_event, conn_user_data); M(wss_event, kind); M(wss_event, close_code);
    M(wss_event, data); M(wss_event, len); M(wss_event, reason); M(wss_event, error);
    M(wss_event, request);
    return 0;
}
