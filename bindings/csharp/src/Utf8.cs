using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Wss
{
    /// <summary>
    /// UTF-8 marshalling by hand: the framework's string marshalling is ANSI on Windows, so every
    /// string crosses as a NUL-terminated UTF-8 byte array (in) or an IntPtr read here (out).
    /// </summary>
    internal static class Utf8
    {
        private static readonly UTF8Encoding Strict = new UTF8Encoding(false, true);

        /// <summary>NUL-terminated UTF-8 bytes of <paramref name="s"/>, or null for null.</summary>
        internal static byte[] ToNative(string s)
        {
            if (s == null)
            {
                return null;
            }
            if (s.IndexOf('\0') >= 0)
            {
                throw new ArgumentException("a string passed to wss may not contain NUL characters");
            }
            int n = Strict.GetByteCount(s);
            var bytes = new byte[n + 1];
            Strict.GetBytes(s, 0, s.Length, bytes, 0);
            return bytes;
        }

        /// <summary>The string at a NUL-terminated UTF-8 pointer, or null for IntPtr.Zero.</summary>
        internal static string FromNative(IntPtr p)
        {
            if (p == IntPtr.Zero)
            {
                return null;
            }
            int len = 0;
            while (Marshal.ReadByte(p, len) != 0)
            {
                len++;
            }
            var bytes = new byte[len];
            Marshal.Copy(p, bytes, 0, len);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>Copy <paramref name="len"/> bytes at <paramref name="p"/> into a new array.</summary>
        internal static byte[] Copy(IntPtr p, UIntPtr len)
        {
            ulong n = len.ToUInt64();
            if (n > int.MaxValue)
            {
                throw new OverflowException("a message larger than 2 GiB does not fit a .NET array");
            }
            var bytes = new byte[(int)n];
            if (n > 0)
            {
                Marshal.Copy(p, bytes, 0, (int)n);
            }
            return bytes;
        }

        /// <summary>An array of <paramref name="count"/> string pointers at <paramref name="p"/>.</summary>
        internal static string[] Strings(IntPtr p, UIntPtr count)
        {
            int n = checked((int)count.ToUInt64());
            var result = new string[n];
            for (int i = 0; i < n; i++)
            {
                result[i] = FromNative(Marshal.ReadIntPtr(p, i * IntPtr.Size));
            }
            return result;
        }

        /// <summary>Unmanaged copy of a string (free with Marshal.FreeHGlobal).</summary>
        internal static IntPtr Alloc(string s)
        {
            byte[] bytes = ToNative(s);
            IntPtr p = Marshal.AllocHGlobal(bytes.Length);
            Marshal.Copy(bytes, 0, p, bytes.Length);
            return p;
        }
    }
}
