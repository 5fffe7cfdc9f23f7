using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Wss
{
    /// <summary>Which TLS versions a configuration accepts.</summary>
    public enum TlsVersion
    {
        /// <summary>No bound (only valid as a maximum).</summary>
        Any = 0,
        /// <summary>TLS 1.2.</summary>
        Tls12 = 12,
        /// <summary>TLS 1.3.</summary>
        Tls13 = 13,
    }

    /// <summary>How the peer's certificate is requested and checked.</summary>
    public enum VerifyMode
    {
        /// <summary>Role default: clients verify the server; servers ask for no client certificate.</summary>
        Default = 0,
        /// <summary>Servers: do not ask for a client certificate.</summary>
        None = 1,
        /// <summary>Servers: ask for a client certificate; one that is presented must verify.</summary>
        Optional = 2,
        /// <summary>Mutual TLS: the peer must present a certificate that verifies.</summary>
        Required = 3,
    }

    /// <summary>
    /// A TLS configuration (<c>wss_tls_config</c>) with secure defaults: TLS 1.2+, forward-secret
    /// AEAD ciphers, peer and host name verification for clients. TLS runs inside the native
    /// library (OpenSSL), not in the .NET runtime, so Mono and Unity get the same behaviour and
    /// the same error detail as every other host. Servers and clients copy the configuration
    /// when created: dispose it or change it afterwards freely. Loaders throw
    /// <see cref="WssException"/> (code <see cref="WssResult.Config"/> for unreadable files,
    /// bad formats and wrong passwords) and return this for chaining.
    /// </summary>
    public sealed class TlsConfig : IDisposable
    {
        internal readonly Handle handle;

        /// <summary>A configuration with the secure defaults.</summary>
        public TlsConfig()
        {
            WssException.Check(NativeMethods.wss_tls_config_new(out handle));
        }

        /// <summary>Load our certificate (or chain, leaf first) and key from PEM files.</summary>
        public TlsConfig LoadPem(string certPath, string keyPath, string keyPassword = null)
        {
            return Call(NativeMethods.wss_tls_config_load_pem_chain(handle, Path(certPath), Path(keyPath), Utf8.ToNative(keyPassword)));
        }

        /// <summary>Load our certificate chain and key from PEM bytes.</summary>
        public TlsConfig LoadPem(byte[] certPem, byte[] keyPem, string keyPassword = null)
        {
            if (certPem == null) throw new ArgumentNullException("certPem");
            if (keyPem == null) throw new ArgumentNullException("keyPem");
            return Call(NativeMethods.wss_tls_config_load_pem_chain_mem(handle, certPem, (UIntPtr)certPem.Length, keyPem, (UIntPtr)keyPem.Length, Utf8.ToNative(keyPassword)));
        }

        /// <summary>Load our certificate, key and chain from a PKCS#12 (.pfx/.p12) file.</summary>
        public TlsConfig LoadPfx(string path, string password)
        {
            return Call(NativeMethods.wss_tls_config_load_pfx_file(handle, Path(path), Utf8.ToNative(password)));
        }

        /// <summary>Load our certificate, key and chain from PKCS#12 bytes.</summary>
        public TlsConfig LoadPfx(byte[] pfx, string password)
        {
            if (pfx == null) throw new ArgumentNullException("pfx");
            return Call(NativeMethods.wss_tls_config_load_pfx_mem(handle, pfx, (UIntPtr)pfx.Length, Utf8.ToNative(password)));
        }

        /// <summary>Trust the CA certificates in a PEM file.</summary>
        public TlsConfig LoadCaFile(string path)
        {
            return Call(NativeMethods.wss_tls_config_load_ca_file(handle, Path(path)));
        }

        /// <summary>Trust every CA in a folder: OpenSSL hashed names (<c>1a2b3c4d.0</c>) and plain .pem/.crt/.cer files.</summary>
        public TlsConfig LoadCaDirectory(string path)
        {
            return Call(NativeMethods.wss_tls_config_load_ca_dir(handle, Path(path)));
        }

        /// <summary>Load a CRL (PEM or DER): a peer whose certificate it lists is rejected.</summary>
        public TlsConfig LoadCrl(string path)
        {
            return Call(NativeMethods.wss_tls_config_load_crl_file(handle, Path(path)));
        }

        /// <summary>Load DH parameters (PEM) for the DHE cipher suites.</summary>
        public TlsConfig LoadDhParams(string path)
        {
            return Call(NativeMethods.wss_tls_config_load_dhparam_file(handle, Path(path)));
        }

        /// <summary>Set how the peer's certificate is requested and checked.</summary>
        public TlsConfig SetVerifyMode(VerifyMode mode)
        {
            return Call(NativeMethods.wss_tls_config_set_verify_mode(handle, (int)mode));
        }

        /// <summary>Servers: mutual TLS; a client without a verifying certificate is refused.</summary>
        public TlsConfig RequireClientCertificate()
        {
            return SetVerifyMode(VerifyMode.Required);
        }

        /// <summary>Clients: accept any server certificate. INSECURE: tests and diagnostics only.</summary>
        public TlsConfig InsecureSkipPeerVerification(bool skip = true)
        {
            return Call(NativeMethods.wss_tls_config_set_insecure_skip_peer_verification(handle, (byte)(skip ? 1 : 0)));
        }

        /// <summary>Clients: do not check the server certificate's host name / IP. INSECURE.</summary>
        public TlsConfig InsecureSkipHostnameVerification(bool skip = true)
        {
            return Call(NativeMethods.wss_tls_config_set_insecure_skip_hostname_verification(handle, (byte)(skip ? 1 : 0)));
        }

        /// <summary>Clients: name to send as SNI and verify instead of the URL host (null = URL host).</summary>
        public TlsConfig SetServerName(string name)
        {
            return Call(NativeMethods.wss_tls_config_set_server_name(handle, Utf8.ToNative(name)));
        }

        /// <summary>TLS 1.2 cipher list in OpenSSL syntax (validated now).</summary>
        public TlsConfig SetCiphers(string list)
        {
            return Call(NativeMethods.wss_tls_config_set_ciphers(handle, Arg(list, "list")));
        }

        /// <summary>TLS 1.3 cipher suites in OpenSSL syntax (validated now).</summary>
        public TlsConfig SetCipherSuites(string list)
        {
            return Call(NativeMethods.wss_tls_config_set_ciphersuites(handle, Arg(list, "list")));
        }

        /// <summary>Key-exchange groups, e.g. "X25519:P-256" (validated now).</summary>
        public TlsConfig SetGroups(string list)
        {
            return Call(NativeMethods.wss_tls_config_set_groups(handle, Arg(list, "list")));
        }

        /// <summary>Lowest TLS version accepted (TLS 1.2 by default).</summary>
        public TlsConfig SetMinVersion(TlsVersion version)
        {
            return Call(NativeMethods.wss_tls_config_set_min_version(handle, (int)version));
        }

        /// <summary>Highest TLS version accepted (<see cref="TlsVersion.Any"/> = newest available).</summary>
        public TlsConfig SetMaxVersion(TlsVersion version)
        {
            return Call(NativeMethods.wss_tls_config_set_max_version(handle, (int)version));
        }

        /// <summary>ALPN protocols in preference order (none clears).</summary>
        public TlsConfig SetAlpn(params string[] protocols)
        {
            protocols = protocols ?? new string[0];
            var ptrs = new IntPtr[protocols.Length];
            try
            {
                for (int i = 0; i < protocols.Length; i++)
                {
                    if (protocols[i] == null) throw new ArgumentNullException("protocols");
                    ptrs[i] = Utf8.Alloc(protocols[i]);
                }
                return Call(NativeMethods.wss_tls_config_set_alpn(handle, ptrs, (UIntPtr)ptrs.Length));
            }
            finally
            {
                foreach (var p in ptrs)
                {
                    if (p != IntPtr.Zero) Marshal.FreeHGlobal(p);
                }
            }
        }

        /// <summary>Free the native configuration (endpoints made from it keep their copy).</summary>
        public void Dispose()
        {
            handle.Dispose();
        }

        /// <summary>The handle to pass for an optional configuration (NULL when none).</summary>
        internal static Handle Of(TlsConfig tls)
        {
            return tls != null ? tls.handle : new Handle();
        }

        private TlsConfig Call(int rc)
        {
            WssException.Check(rc);
            return this;
        }

        private static byte[] Path(string path)
        {
            return Arg(path, "path");
        }

        private static byte[] Arg(string s, string name)
        {
            if (s == null) throw new ArgumentNullException(name);
            return Utf8.ToNative(s);
        }

        /// <summary>Owns a <c>wss_tls_config*</c>; <c>ReleaseHandle</c> calls <c>wss_tls_config_free</c>.</summary>
        internal sealed class Handle : SafeHandleZeroOrMinusOneIsInvalid
        {
            /// <summary>Used by the marshaller, and as NULL for "no configuration".</summary>
            public Handle() : base(true)
            {
            }

            /// <inheritdoc/>
            protected override bool ReleaseHandle()
            {
                NativeMethods.wss_tls_config_free(handle);
                return true;
            }
        }
    }
}
