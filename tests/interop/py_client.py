#!/usr/bin/env python3
"""Interop client for tests/interop.rs, built on the Python `websockets` package (>= 12).

Modes:
  echo               (default) connect with websockets.sync.client, send text and binary
                     messages of every size in SIZES, check each echo byte for byte, close with
                     1000 "py done". --deflate SPEC offers permessage-deflate
                     (deflate_opts.py; the summary's "extensions" is the server's answer),
                     --big adds a 16 MiB message, --fragments N sends each in N fragments.
  invalid-utf8       raw socket (+ TLS): one masked text frame holding invalid UTF-8.
  invalid-utf8-split raw: a text message whose UTF-8 is cut and corrupted across two fragments.
  oversize-frame     raw: one binary frame of --size bytes.
  oversize-message   raw: a binary message of --size bytes in 512-byte fragments.

  handshake          raw: TLS + upgrade by hand, then close 1000 (TLS errors reach the summary
                     unwrapped, which websockets does not guarantee).

The raw modes then read frames until the server's close frame, answer it and report its code.
Prints exactly one JSON line (the summary) on stdout; exits 0 when the mode's exchange completed,
1 on any failure (the JSON then holds "error").
"""

import argparse
import base64
import inspect
import json
import os
import socket
import ssl
import struct
import sys
import time
import urllib.parse

import deflate_opts
import websockets
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

SIZES = [0, 125, 126, 65535, 65536, 1 << 20]
TIMEOUT = 30.0


def binary_payload(n, seed):
    return bytes(((i * 31) + seed) & 0xFF for i in range(n))


def text_payload(n):
    """Text of exactly n UTF-8 bytes with 1-, 2- and 3-byte characters."""
    pattern = ["a", "\u00e9", "\u20ac", "z"]
    out, size, i = [], 0, 0
    while size < n:
        c = pattern[i % 4]
        w = len(c.encode("utf-8"))
        if size + w > n:
            c, w = "x", 1
        out.append(c)
        size += w
        i += 1
    return "".join(out)


def ssl_context(args):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.ca)
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    return ctx


def connect_kwargs(args, secure):
    """Keyword arguments for websockets.sync.client.connect across versions 12..current."""
    params = inspect.signature(connect).parameters
    kw = {"open_timeout": TIMEOUT, "close_timeout": TIMEOUT, "max_size": None}
    if "proxy" in params:  # websockets >= 15 honours proxy environment variables by default
        kw["proxy"] = None
    if secure:
        # `ssl_context` was renamed `ssl` in websockets 14.
        kw["ssl" if "ssl" in params else "ssl_context"] = ssl_context(args)
    if args.deflate:
        kw.update(deflate_opts.client_kwargs(args.deflate))
    return kw


def send(ws, data, fragments):
    """Send one message, in `fragments` frames when more than one (websockets fragments an
    iterable)."""
    if fragments <= 1 or len(data) < fragments:
        ws.send(data)
    else:
        step = -(-len(data) // fragments)
        ws.send([data[i : i + step] for i in range(0, len(data), step)])


def run_echo(args):
    secure = args.url.startswith("wss://")
    summary = {"mode": "echo", "websockets": websockets.__version__, "echoed": 0, "bytes": 0}
    with connect(args.url, **connect_kwargs(args, secure)) as ws:
        if secure:
            summary["tls"] = ws.socket.version()
        if args.deflate:
            summary["extensions"] = ws.response.headers.get("Sec-WebSocket-Extensions")
        sizes = SIZES + [16 << 20] if args.big else SIZES
        for i, n in enumerate(sizes):
            data = binary_payload(n, i)
            send(ws, data, args.fragments)
            got = ws.recv(timeout=TIMEOUT)
            if not isinstance(got, bytes):
                raise AssertionError(f"binary echo of {n} bytes came back as text")
            if got != data:
                raise AssertionError(f"binary echo of {n} bytes differs (got {len(got)} bytes)")
            text = text_payload(n)
            send(ws, text, args.fragments)  # str slices: each fragment is whole characters
            got = ws.recv(timeout=TIMEOUT)
            if not isinstance(got, str):
                raise AssertionError(f"text echo of {n} bytes came back as binary")
            if got != text:
                raise AssertionError(f"text echo of {n} bytes differs (got {len(got)} chars)")
            summary["echoed"] += 2
            summary["bytes"] += 2 * n
        ws.close(1000, "py done")
        rcvd = ws.protocol.close_rcvd
        summary["close_code"] = rcvd.code if rcvd else None
        summary["close_reason"] = rcvd.reason if rcvd else None
    return summary


# ---- raw WebSocket over a socket, for frames the websockets API will not send ------------------


class Raw:
    def __init__(self, args):
        url = urllib.parse.urlsplit(args.url)
        secure = url.scheme == "wss"
        sock = socket.create_connection((url.hostname, url.port), timeout=TIMEOUT)
        if secure:
            sock = ssl_context(args).wrap_socket(sock, server_hostname=url.hostname)
        self.sock = sock
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        path = url.path or "/"
        request = (
            f"GET {path} HTTP/1.1\r\n"
            f"Host: {url.hostname}:{url.port}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        sock.sendall(request.encode())
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise AssertionError(f"upgrade refused: {status!r}")

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the TCP connection before its close frame")
        self.buf += chunk

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_frame(self, opcode, payload, fin=True):
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def read_frame(self):
        b0, b1 = self.take(2)
        if b1 & 0x80:
            raise AssertionError("server sent a masked frame")
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", self.take(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", self.take(8))
        return b0 & 0x80 != 0, b0 & 0x0F, self.take(n)

    def await_close(self):
        """Skip data frames until the server's close frame; answer it; return (code, reason)."""
        while True:
            _fin, opcode, payload = self.read_frame()
            if opcode == 0x8:
                break
        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
        reason = payload[2:].decode("utf-8", "replace")
        try:
            self.send_frame(0x8, payload[:2])
            # The server closes the TCP connection once the handshake completes.
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline and self.sock.recv(65536):
                pass
        except OSError:
            pass
        self.sock.close()
        return code, reason


def run_raw(args):
    raw = Raw(args)
    if args.mode == "handshake":
        raw.send_frame(0x8, struct.pack("!H", 1000))
    elif args.mode == "invalid-utf8":
        # "ok " then a lone continuation byte, an overlong encoding and a UTF-16 surrogate.
        raw.send_frame(0x1, b"ok \x80 \xc0\xaf \xed\xa0\x80")
    elif args.mode == "invalid-utf8-split":
        # "\u20ac" is E2 82 AC: send E2 82 at the end of the first fragment, then a byte that
        # cannot continue it at the start of the second.
        raw.send_frame(0x1, b"euro: \xe2\x82", fin=False)
        raw.send_frame(0x0, b"( <- not a continuation byte", fin=True)
    elif args.mode == "oversize-frame":
        raw.send_frame(0x2, binary_payload(args.size, 7))
    elif args.mode == "oversize-message":
        data = binary_payload(args.size, 9)
        chunks = [data[i : i + 512] for i in range(0, len(data), 512)]
        for i, c in enumerate(chunks):
            raw.send_frame(0x2 if i == 0 else 0x0, c, fin=i == len(chunks) - 1)
    code, reason = raw.await_close()
    return {"mode": args.mode, "close_code": code, "close_reason": reason}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--ca")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument(
        "--mode",
        default="echo",
        choices=[
            "echo",
            "handshake",
            "invalid-utf8",
            "invalid-utf8-split",
            "oversize-frame",
            "oversize-message",
        ],
    )
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--deflate", help="offer permessage-deflate with SPEC (deflate_opts.py)")
    p.add_argument("--big", action="store_true", help="echo a 16 MiB message too")
    p.add_argument("--fragments", type=int, default=1, help="frames per message")
    args = p.parse_args()
    try:
        summary = run_echo(args) if args.mode == "echo" else run_raw(args)
        code = 0
    except Exception as e:  # report every failure, with its causes, in the summary
        chain, cur = [], e
        while cur is not None and len(chain) < 5:
            chain.append(f"{type(cur).__name__}: {cur}")
            cur = cur.__cause__ or cur.__context__
        summary = {"mode": args.mode, "error": " <- ".join(chain)}
        code = 1
    print(json.dumps(summary, sort_keys=True, separators=(",", ":")), flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
