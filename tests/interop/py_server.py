#!/usr/bin/env python3
"""Interop echo server for tests/interop.rs, built on the Python `websockets` package (>= 12).

Serves ws:// (without --cert) or wss:// (with --cert/--key; --ca + --require-client-cert for
mutual TLS) on 127.0.0.1:--port (0 = any free port) and prints, one line each, flushed:
  PORT <n>                            once listening
  OPEN <path> <client CN or ->        when a WebSocket opens
  EXT <Sec-WebSocket-Extensions or ->  after OPEN, only with --deflate SPEC (deflate_opts.py)
  CLOSE <code> <reason>               when it closes (code "none" when no close frame came)
then exits 0 after the first WebSocket connection ends (connections that fail the TLS or HTTP
handshake do not count). Every message is echoed with its type.
"""

import argparse
import inspect
import os
import ssl
import sys
import threading

import deflate_opts
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import serve

TIMEOUT = 60.0


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def client_cn(ws):
    sock = getattr(ws, "socket", None)
    if not isinstance(sock, ssl.SSLSocket):
        return "-"
    cert = sock.getpeercert() or {}
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return "-"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--require-client-cert", action="store_true")
    p.add_argument("--deflate", help="accept permessage-deflate with SPEC (deflate_opts.py)")
    args = p.parse_args()

    kw = {"max_size": None, "open_timeout": TIMEOUT, "close_timeout": TIMEOUT}
    if args.deflate:
        kw.update(deflate_opts.server_kwargs(args.deflate))
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        if args.require_client_cert:
            ctx.load_verify_locations(cafile=args.ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        # `ssl_context` was renamed `ssl` in websockets 14.
        kw["ssl" if "ssl" in inspect.signature(serve).parameters else "ssl_context"] = ctx

    done = threading.Event()

    def handler(ws):
        path = ws.request.path if ws.request is not None else "?"
        emit(f"OPEN {path} {client_cn(ws)}")
        if args.deflate:
            emit(f"EXT {ws.response.headers.get('Sec-WebSocket-Extensions', '-')}")
        try:
            while True:
                ws.send(ws.recv())
        except ConnectionClosed as e:
            if e.rcvd is None:
                emit("CLOSE none")
            else:
                emit(f"CLOSE {e.rcvd.code} {e.rcvd.reason}")
        finally:
            done.set()

    server = serve(handler, "127.0.0.1", args.port, **kw)
    emit(f"PORT {server.socket.getsockname()[1]}")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if not done.wait(TIMEOUT):
        emit("TIMEOUT no WebSocket connection finished")
        os._exit(2)
    # The close handshake is complete (recv raised ConnectionClosed): exit without waiting.
    os._exit(0)


if __name__ == "__main__":
    main()
