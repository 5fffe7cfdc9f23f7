using System;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Wss
{
    /// <summary>Per-message send flags (<see cref="WssConnection.Send(byte[], SendFlags)"/>).</summary>
    [Flags]
    public enum SendFlags : uint
    {
        /// <summary>As <see cref="WssConnection.Send(byte[])"/>.</summary>
        None = 0,
        /// <summary>Uncompressed even where permessage-deflate was negotiated.</summary>
        NoCompress = 1,
    }

    /// <summary>
    /// One WebSocket connection, named by the library's 64-bit id (unique for the process
    /// lifetime). Every method may be called from any thread, including inside event handlers;
    /// on a connection that has ended they throw <see cref="WssException"/> with
    /// <see cref="WssResult.NotConnected"/>, never crash. An endpoint hands the same object to
    /// every event of a connection, so <see cref="UserState"/> is a place for the host's data.
    /// </summary>
    public sealed class WssConnection : IEquatable<WssConnection>
    {
        private static readonly byte[] Empty = new byte[0];

        internal WssConnection(ulong id)
        {
            Id = id;
        }

        /// <summary>The connection id.</summary>
        public ulong Id { get; }

        /// <summary>Anything the host wants to keep with this connection.</summary>
        public object UserState { get; set; }

        /// <summary>Bytes queued for sending and not yet handed to the socket.</summary>
        public long BufferedAmount
        {
            get
            {
                UIntPtr n;
                WssException.Check(NativeMethods.wss_conn_buffered_amount(Id, out n));
                return (long)n.ToUInt64();
            }
        }

        /// <summary>Stop reading this connection's input until <see cref="ResumeReading"/> (TCP
        /// backpressure on the peer); keepalive does not count a paused connection's silence.</summary>
        public void PauseReading() { WssException.Check(NativeMethods.wss_conn_pause_reading(Id)); }

        /// <summary>Read again after <see cref="PauseReading"/>.</summary>
        public void ResumeReading() { WssException.Check(NativeMethods.wss_conn_resume_reading(Id)); }

        /// <summary>
        /// Queue a binary message (copied) and return. Throws <see cref="WssException"/> with
        /// <see cref="WssResult.Backpressure"/> when the connection's send queue is full
        /// (<see cref="WssOptions.SetSendQueueLimit"/>): retry once it drains, or use
        /// <see cref="SendAsync(byte[], CancellationToken)"/>, which waits for room.
        /// </summary>
        public void Send(byte[] data)
        {
            if (data == null) throw new ArgumentNullException("data");
            WssException.Check(SendRaw(data, 2));
        }

        /// <summary>
        /// Queue a binary message with <paramref name="flags"/>: <see cref="SendFlags.NoCompress"/>
        /// sends it as it is even where permessage-deflate was negotiated (data already
        /// compressed, or secrets next to attacker-chosen text).
        /// </summary>
        public void Send(byte[] data, SendFlags flags)
        {
            if (data == null) throw new ArgumentNullException("data");
            WssException.Check(NativeMethods.wss_send_ex(Id, data, (UIntPtr)data.Length, 2, (uint)flags));
        }

        /// <summary>Queue a text message with <paramref name="flags"/>; see <see cref="Send(byte[], SendFlags)"/>.</summary>
        public void Send(string text, SendFlags flags)
        {
            if (text == null) throw new ArgumentNullException("text");
            byte[] data = Encoding.UTF8.GetBytes(text);
            WssException.Check(NativeMethods.wss_send_ex(Id, data, (UIntPtr)data.Length, 1, (uint)flags));
        }

        /// <summary>Queue a text message (UTF-8); see <see cref="Send(byte[])"/> for backpressure.</summary>
        public void Send(string text)
        {
            if (text == null) throw new ArgumentNullException("text");
            WssException.Check(SendRaw(Encoding.UTF8.GetBytes(text), 1));
        }

        /// <summary>
        /// Queue a binary message; the task completes when it is queued (not when the peer has it).
        /// While the send queue is full it waits (polling with a backoff of up to 50 ms) until
        /// there is room or <paramref name="cancel"/> fires. A cancelled task
        /// (<see cref="OperationCanceledException"/>) never queued the message, and nothing sends
        /// it later; other failures fault the task with <see cref="WssException"/>.
        /// </summary>
        public Task SendAsync(byte[] data, CancellationToken cancel = default(CancellationToken))
        {
            if (data == null) throw new ArgumentNullException("data");
            return SendQueued(data, 2, cancel);
        }

        /// <summary>Queue a text message; see <see cref="SendAsync(byte[], CancellationToken)"/>.</summary>
        public Task SendAsync(string text, CancellationToken cancel = default(CancellationToken))
        {
            if (text == null) throw new ArgumentNullException("text");
            return SendQueued(Encoding.UTF8.GetBytes(text), 1, cancel);
        }

        /// <summary>Queue a ping (payload at most 125 bytes); the answer raises PongReceived.</summary>
        public void Ping(byte[] payload = null)
        {
            payload = payload ?? Empty;
            WssException.Check(NativeMethods.wss_ping(Id, payload, (UIntPtr)payload.Length));
        }

        /// <summary>Start closing after the queued messages (code 1000, 1001-1003, 1007-1011 or
        /// 3000-4999; reason at most 123 UTF-8 bytes). The Closed event follows.</summary>
        public void Close(int code = 1000, string reason = null)
        {
            if (code < 0 || code > ushort.MaxValue) throw new ArgumentOutOfRangeException("code");
            WssException.Check(NativeMethods.wss_close_conn(Id, (ushort)code, Utf8.ToNative(reason)));
        }

        /// <summary>TLS version, cipher, peer certificate, addresses and path of the open connection.</summary>
        public ConnectionInfo GetInfo()
        {
            IntPtr p;
            WssException.Check(NativeMethods.wss_conn_info_get(Id, out p));
            try
            {
                return new ConnectionInfo(NativeStruct.Read<WssConnInfo>(p));
            }
            finally
            {
                NativeMethods.wss_conn_info_free(p);
            }
        }

        /// <summary>Same connection id.</summary>
        public bool Equals(WssConnection other)
        {
            return other != null && other.Id == Id;
        }

        /// <summary>Same connection id.</summary>
        public override bool Equals(object obj)
        {
            return Equals(obj as WssConnection);
        }

        /// <summary>Hash of the id.</summary>
        public override int GetHashCode()
        {
            return Id.GetHashCode();
        }

        /// <summary>"connection {id}".</summary>
        public override string ToString()
        {
            return "connection " + Id;
        }

        private int SendRaw(byte[] data, int kind)
        {
            return NativeMethods.wss_send(Id, data, (UIntPtr)data.Length, kind);
        }

        private async Task SendQueued(byte[] data, int kind, CancellationToken cancel)
        {
            int delay = 1;
            while (true)
            {
                cancel.ThrowIfCancellationRequested();
                int rc = SendRaw(data, kind);
                if (rc != (int)WssResult.Backpressure)
                {
                    WssException.Check(rc);
                    return;
                }
                await Task.Delay(delay, cancel).ConfigureAwait(false);
                delay = Math.Min(delay * 2, 50);
            }
        }
    }
}
