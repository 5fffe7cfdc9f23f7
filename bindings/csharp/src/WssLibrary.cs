using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Wss.Tests")]

namespace Wss
{
    /// <summary>Facts about the loaded native library.</summary>
    public static class WssLibrary
    {
        /// <summary>The ABI major version this wrapper was written against (include/wss.h 1.0
        /// rules; the header's WSS_VERSION_MAJOR while the crate is 0.x).</summary>
        public const int ExpectedMajor = 0;

        /// <summary>The native library's version, e.g. "0.1.0".</summary>
        public static string Version
        {
            get { return Utf8.FromNative(NativeMethods.wss_version()); }
        }

        /// <summary><c>major &lt;&lt; 16 | minor &lt;&lt; 8 | patch</c> of the native library.</summary>
        public static uint VersionNumber
        {
            get { return NativeMethods.wss_version_number(); }
        }

        /// <summary>The OpenSSL version the native library uses.</summary>
        public static string OpenSslVersion
        {
            get { return Utf8.FromNative(NativeMethods.wss_openssl_version()); }
        }

        /// <summary>A human-readable name for a result code.</summary>
        public static string Describe(WssResult code)
        {
            return Utf8.FromNative(NativeMethods.wss_result_str((int)code));
        }
    }
}
