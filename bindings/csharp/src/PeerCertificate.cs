using System;
using System.Collections.Generic;

namespace Wss
{
    /// <summary>The peer's certificate as the native library saw it (a managed copy).</summary>
    public sealed class PeerCertificate
    {
        internal PeerCertificate(WssPeerCert c)
        {
            Verified = c.verified != 0;
            Subject = Utf8.FromNative(c.subject);
            Issuer = Utf8.FromNative(c.issuer);
            SerialNumber = Utf8.FromNative(c.serial);
            NotBefore = Utf8.FromNative(c.not_before);
            NotAfter = Utf8.FromNative(c.not_after);
            Sha256Fingerprint = Utf8.FromNative(c.sha256_fingerprint);
            SubjectAlternativeNames = c.sans == IntPtr.Zero ? new string[0] : Utf8.Strings(c.sans, c.san_count);
        }

        /// <summary>True if the certificate was verified against the configured trust.</summary>
        public bool Verified { get; }
        /// <summary>Subject, e.g. "CN=client, O=Example".</summary>
        public string Subject { get; }
        /// <summary>Issuer, same form.</summary>
        public string Issuer { get; }
        /// <summary>Serial number, upper-case hex.</summary>
        public string SerialNumber { get; }
        /// <summary>Start of validity as OpenSSL prints it.</summary>
        public string NotBefore { get; }
        /// <summary>End of validity as OpenSSL prints it.</summary>
        public string NotAfter { get; }
        /// <summary>SHA-256 fingerprint of the DER certificate, "AB:CD:...".</summary>
        public string Sha256Fingerprint { get; }
        /// <summary>Subject alternative names, each "DNS:name" or "IP:address".</summary>
        public IReadOnlyList<string> SubjectAlternativeNames { get; }

        internal static PeerCertificate Read(IntPtr p)
        {
            return p == IntPtr.Zero ? null : new PeerCertificate(NativeStruct.Read<WssPeerCert>(p));
        }
    }
}
