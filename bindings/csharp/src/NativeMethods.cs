// P/Invoke declarations for include/wss.h (ABI 1.0). Only fixed-width types cross: flags are
// byte 0/1 (never bool), enums are int, size_t is UIntPtr, strings go in as NUL-terminated
// UTF-8 byte arrays (Utf8.ToNative) and come back as IntPtr read by Utf8.FromNative.
using System;
using System.Runtime.InteropServices;

namespace Wss
{
    /// <summary>The native library's entry points, one group per handle type (see wss.h).</summary>
    internal static class NativeMethods
    {
        /// <summary>Name the runtime resolves to libwss.so / wss.dll / libwss.dylib.</summary>
        internal const string Lib = "wss";

        // ---- release callback and callbacks (delegate types for the function pointers) ----

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void ReleaseFn(IntPtr userData);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void OnAcceptFn(IntPtr userData, IntPtr request, IntPtr decision);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void OnOpenFn(IntPtr userData, ulong conn);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void OnMessageFn(IntPtr userData, ulong conn, IntPtr connUserData, int kind, IntPtr data, UIntPtr len);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void OnPongFn(IntPtr userData, ulong conn, IntPtr connUserData, IntPtr data, UIntPtr len);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void OnCloseFn(IntPtr userData, ulong conn, IntPtr connUserData, ushort code, IntPtr reason);

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void OnErrorFn(IntPtr userData, ulong conn, IntPtr connUserData, IntPtr error);

        // ---- library, results and errors ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr wss_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern uint wss_version_number();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr wss_openssl_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern IntPtr wss_result_str(int code);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_error_last(out ErrorHandle err);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void wss_error_free(IntPtr err);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_error_get_info(IntPtr err, ref WssErrorInfo info);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_error_get_info(ErrorHandle err, ref WssErrorInfo info);

        // ---- TLS configuration ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_new(out TlsConfig.Handle cfg);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void wss_tls_config_free(IntPtr cfg);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_load_pem_chain(TlsConfig.Handle cfg, byte[] certPath, byte[] keyPath, byte[] keyPassword);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_load_pem_chain_mem(TlsConfig.Handle cfg, byte[] cert, UIntPtr certLen, byte[] key, UIntPtr keyLen, byte[] keyPassword);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_load_pfx_file(TlsConfig.Handle cfg, byte[] path, byte[] password);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_load_pfx_mem(TlsConfig.Handle cfg, byte[] data, UIntPtr len, byte[] password);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_load_ca_file(TlsConfig.Handle cfg, byte[] path);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_load_ca_dir(TlsConfig.Handle cfg, byte[] path);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_load_crl_file(TlsConfig.Handle cfg, byte[] path);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_load_dhparam_file(TlsConfig.Handle cfg, byte[] path);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_set_verify_mode(TlsConfig.Handle cfg, int mode);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_set_insecure_skip_peer_verification(TlsConfig.Handle cfg, byte skip);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_set_insecure_skip_hostname_verification(TlsConfig.Handle cfg, byte skip);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_set_server_name(TlsConfig.Handle cfg, byte[] name);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_set_ciphers(TlsConfig.Handle cfg, byte[] list);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_set_ciphersuites(TlsConfig.Handle cfg, byte[] list);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_set_groups(TlsConfig.Handle cfg, byte[] list);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_set_min_version(TlsConfig.Handle cfg, int version);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_set_max_version(TlsConfig.Handle cfg, int version);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_tls_config_set_alpn(TlsConfig.Handle cfg, IntPtr[] protocols, UIntPtr count);

        // ---- options ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_new(out WssOptions.Handle opts);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void wss_options_free(IntPtr opts);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_max_message_size(WssOptions.Handle opts, ulong bytes);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_max_frame_size(WssOptions.Handle opts, ulong bytes);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_max_header_size(WssOptions.Handle opts, ulong bytes);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_max_connections(WssOptions.Handle opts, ulong count);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_send_queue_limit(WssOptions.Handle opts, ulong bytes);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_event_queue_limit(WssOptions.Handle opts, ulong bytes);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_handshake_timeout_ms(WssOptions.Handle opts, uint ms);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_close_timeout_ms(WssOptions.Handle opts, uint ms);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_connect_timeout_ms(WssOptions.Handle opts, uint ms);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_keepalive(WssOptions.Handle opts, uint intervalMs, uint timeoutMs);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_io_threads(WssOptions.Handle opts, uint threads);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_hsts(WssOptions.Handle opts, byte on);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_listen_backlog(WssOptions.Handle opts, uint backlog);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_close_on_backpressure(WssOptions.Handle opts, byte on);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_deflate(WssOptions.Handle opts, byte on);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_deflate_threshold(WssOptions.Handle opts, ulong bytes);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_deflate_no_context_takeover(WssOptions.Handle opts, byte server, byte client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_deflate_max_window_bits(WssOptions.Handle opts, byte server, byte client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_deflate_level(WssOptions.Handle opts, byte level, byte memLevel);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_set_accept_events(WssOptions.Handle opts, byte on);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_add_header(WssOptions.Handle opts, byte[] name, byte[] value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_options_add_subprotocol(WssOptions.Handle opts, byte[] protocol);

        // ---- connections (by id) ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_send(ulong conn, byte[] data, UIntPtr len, int kind);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_send_ex(ulong conn, byte[] data, UIntPtr len, int kind, uint flags);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_close_conn(ulong conn, ushort code, byte[] reason);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_ping(ulong conn, byte[] data, UIntPtr len);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_conn_buffered_amount(ulong conn, out UIntPtr amount);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_conn_pause_reading(ulong conn);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_conn_resume_reading(ulong conn);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_conn_set_user_data(ulong conn, IntPtr data, IntPtr release);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_conn_get_user_data(ulong conn, out IntPtr data);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_conn_info_get(ulong conn, out IntPtr info);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void wss_conn_info_free(IntPtr info);

        // ---- upgrade decisions ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_accept_decision_set_reason(IntPtr decision, byte[] reason);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_accept_decision_add_header(IntPtr decision, byte[] name, byte[] value);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_server_decide(WssServer.Handle server, ulong requestId, ref WssAcceptDecision decision);

        // ---- pull mode ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_server_next_event(WssServer.Handle server, uint timeoutMs, out IntPtr evt);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_client_next_event(WssClient.Handle client, uint timeoutMs, out IntPtr evt);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void wss_event_free(IntPtr evt);

        // ---- servers ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_server_new(byte[] bindAddress, TlsConfig.Handle tls, WssOptions.Handle options, ref WssCallbacks callbacks, IntPtr userData, IntPtr release, out WssServer.Handle server);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "wss_server_new")]
        internal static extern int wss_server_new_pull(byte[] bindAddress, TlsConfig.Handle tls, WssOptions.Handle options, IntPtr callbacksNull, IntPtr userData, IntPtr release, out WssServer.Handle server);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_server_add_route(WssServer.Handle server, byte[] path, ref WssCallbacks callbacks, IntPtr userData, IntPtr release);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "wss_server_add_route")]
        internal static extern int wss_server_add_route_pull(WssServer.Handle server, byte[] path, IntPtr callbacksNull, IntPtr userData, IntPtr release);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_server_remove_route(WssServer.Handle server, byte[] path);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_server_port(WssServer.Handle server, out ushort port);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_server_active_connections(WssServer.Handle server, out ulong count);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_server_close(WssServer.Handle server, uint timeoutMs);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void wss_server_free(IntPtr server);

        // ---- clients ----

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_client_connect(byte[] url, TlsConfig.Handle tls, WssOptions.Handle options, ref WssCallbacks callbacks, IntPtr userData, IntPtr release, out WssClient.Handle client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "wss_client_connect")]
        internal static extern int wss_client_connect_pull(byte[] url, TlsConfig.Handle tls, WssOptions.Handle options, IntPtr callbacksNull, IntPtr userData, IntPtr release, out WssClient.Handle client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_client_connect_async(byte[] url, TlsConfig.Handle tls, WssOptions.Handle options, ref WssCallbacks callbacks, IntPtr userData, IntPtr release, out WssClient.Handle client);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_client_conn_id(WssClient.Handle client, out ulong conn);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int wss_client_close(WssClient.Handle client, ushort code, byte[] reason, uint timeoutMs);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        internal static extern void wss_client_free(IntPtr client);
    }
}
