using System;
using System.Text;

namespace Wss
{
    /// <summary>Type of a pulled event.</summary>
    public enum WssEventType
    {
        /// <summary>A connection opened.</summary>
        Open = 1,
        /// <summary>A message arrived.</summary>
        Message = 2,
        /// <summary>A connection closed.</summary>
        Close = 3,
        /// <summary>Something failed.</summary>
        Error = 4,
        /// <summary>A pong arrived.</summary>
        Pong = 5,
        /// <summary>An upgrade request waits for <see cref="WssServer.AcceptRequest"/> or
        /// <see cref="WssServer.RefuseRequest"/> (pull-mode servers with
        /// <see cref="WssOptions.SetAcceptEvents"/>).</summary>
        Accept = 6,
    }

    /// <summary>An event taken in pull mode (<c>ReceiveAsync</c>); a managed copy.</summary>
    public sealed class WssEvent
    {
        private string text;

        private WssEvent()
        {
        }

        /// <summary>What happened.</summary>
        public WssEventType Type { get; private set; }
        /// <summary>The connection, or null for errors before one opened.</summary>
        public WssConnection Connection { get; private set; }
        /// <summary>Message: true for text, false for binary.</summary>
        public bool IsText { get; private set; }
        /// <summary>Message or pong payload (empty otherwise).</summary>
        public byte[] Data { get; private set; }
        /// <summary>Message payload decoded as UTF-8.</summary>
        public string Text
        {
            get { return text ?? (text = Encoding.UTF8.GetString(Data)); }
        }
        /// <summary>Close: the close code.</summary>
        public int CloseCode { get; private set; }
        /// <summary>Close: the reason ("" if none).</summary>
        public string CloseReason { get; private set; }
        /// <summary>Error: the failure with its detail.</summary>
        public WssException Error { get; private set; }
        /// <summary>Accept: the upgrade request to decide on.</summary>
        public UpgradeRequest Request { get; private set; }

        internal static WssEvent FromNative(EventSink sink, IntPtr p)
        {
            var e = NativeStruct.Read<WssEventNative>(p);
            var ev = new WssEvent
            {
                Type = (WssEventType)e.event_type,
                IsText = e.kind == 1,
                Data = e.data == IntPtr.Zero ? new byte[0] : Utf8.Copy(e.data, e.len),
                CloseCode = e.close_code,
                CloseReason = Utf8.FromNative(e.reason) ?? "",
                Error = e.error == IntPtr.Zero ? null : WssException.FromNative(e.error),
            };
            if (ev.Type == WssEventType.Accept)
            {
                ev.Request = e.request == IntPtr.Zero ? null : new UpgradeRequest(NativeStruct.Read<WssUpgradeRequest>(e.request));
                return ev;
            }
            ev.Connection = ev.Type == WssEventType.Open ? sink.Attach(e.conn) : sink.Connection(e.conn, e.conn_user_data);
            return ev;
        }
    }
}
