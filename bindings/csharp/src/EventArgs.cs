using System;
using System.Collections.Generic;
using System.Text;

namespace Wss
{
    /// <summary>A connection opened or closed.</summary>
    public class ConnectionEventArgs : EventArgs
    {
        internal ConnectionEventArgs(WssConnection connection)
        {
            Connection = connection;
        }

        /// <summary>The connection.</summary>
        public WssConnection Connection { get; }
    }

    /// <summary>A complete message arrived.</summary>
    public sealed class MessageEventArgs : ConnectionEventArgs
    {
        private string text;

        internal MessageEventArgs(WssConnection connection, bool isText, byte[] data) : base(connection)
        {
            IsText = isText;
            Data = data;
        }

        /// <summary>True for a text message (its bytes are valid UTF-8), false for binary.</summary>
        public bool IsText { get; }

        /// <summary>The payload (a copy the handler may keep).</summary>
        public byte[] Data { get; }

        /// <summary>The payload decoded as UTF-8 (for text messages).</summary>
        public string Text
        {
            get { return text ?? (text = Encoding.UTF8.GetString(Data)); }
        }
    }

    /// <summary>A pong arrived.</summary>
    public sealed class PongEventArgs : ConnectionEventArgs
    {
        internal PongEventArgs(WssConnection connection, byte[] data) : base(connection)
        {
            Data = data;
        }

        /// <summary>The pong payload.</summary>
        public byte[] Data { get; }
    }

    /// <summary>A connection closed (its last event).</summary>
    public sealed class ClosedEventArgs : ConnectionEventArgs
    {
        internal ClosedEventArgs(WssConnection connection, int code, string reason) : base(connection)
        {
            Code = code;
            Reason = reason ?? "";
        }

        /// <summary>Close code (1006: closed without a close handshake).</summary>
        public int Code { get; }

        /// <summary>Close reason ("" if none).</summary>
        public string Reason { get; }
    }

    /// <summary>Something failed on the library's threads.</summary>
    public sealed class ErrorEventArgs : EventArgs
    {
        internal ErrorEventArgs(WssConnection connection, WssException error)
        {
            Connection = connection;
            Error = error;
        }

        /// <summary>The connection, or null for failures before one opened (TLS handshake,
        /// handshake timeout: the peer address is in <see cref="Error"/>).</summary>
        public WssConnection Connection { get; }

        /// <summary>The failure with its full detail.</summary>
        public WssException Error { get; }
    }

    /// <summary>A handler of this endpoint threw; the exception was caught and the process lives.</summary>
    public sealed class CallbackExceptionEventArgs : EventArgs
    {
        internal CallbackExceptionEventArgs(Exception exception, string eventName)
        {
            Exception = exception;
            EventName = eventName;
        }

        /// <summary>What the handler threw.</summary>
        public Exception Exception { get; }

        /// <summary>The event whose handler threw ("Opened", "MessageReceived", ...).</summary>
        public string EventName { get; }
    }

    /// <summary>
    /// An upgrade request to decide on (<see cref="WssServer.Accepting"/>). Accepted unless a
    /// handler calls <see cref="Refuse"/>; a handler that throws refuses it with 500.
    /// </summary>
    public sealed class AcceptingEventArgs : EventArgs
    {
        private readonly List<KeyValuePair<string, string>> responseHeaders = new List<KeyValuePair<string, string>>();

        internal AcceptingEventArgs(UpgradeRequest request)
        {
            Request = request;
            SubprotocolIndex = -1;
        }

        /// <summary>The request.</summary>
        public UpgradeRequest Request { get; }

        /// <summary>0 to accept, or the HTTP status (400..599) of a refusal.</summary>
        public int Status { get; private set; }

        /// <summary>The reason phrase of a refusal, or null.</summary>
        public string RefuseReason { get; private set; }

        /// <summary>Index into <see cref="UpgradeRequest.Subprotocols"/> to select, -1 for none.</summary>
        public int SubprotocolIndex { get; set; }

        internal IList<KeyValuePair<string, string>> ResponseHeaders
        {
            get { return responseHeaders; }
        }

        /// <summary>Refuse the upgrade with an HTTP status (400..599) and reason phrase.</summary>
        public void Refuse(int status, string reason = null)
        {
            if (status < 400 || status > 599) throw new ArgumentOutOfRangeException("status", "400..599");
            Status = status;
            RefuseReason = reason;
        }

        /// <summary>Add a header to the 101 response of an accepted upgrade.</summary>
        public void AddResponseHeader(string name, string value)
        {
            if (name == null) throw new ArgumentNullException("name");
            if (value == null) throw new ArgumentNullException("value");
            responseHeaders.Add(new KeyValuePair<string, string>(name, value));
        }
    }
}
