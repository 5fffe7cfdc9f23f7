"""permessage-deflate settings for the Python peers from one --deflate SPEC (see parse_spec)."""

from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)


def parse_spec(spec):
    """SPEC: "on" (the library's defaults) or comma-separated RFC 7692 parameter names, the
    window bits with "=N" (e.g. "server_no_context_takeover,client_max_window_bits=10")."""
    out = {}
    for item in filter(None, (spec or "").split(",")):
        if item == "on":
            continue
        name, _, value = item.partition("=")
        if name not in (
            "server_no_context_takeover",
            "client_no_context_takeover",
            "server_max_window_bits",
            "client_max_window_bits",
        ):
            raise ValueError(f"unknown deflate parameter {name!r}")
        out[name] = int(value) if value else True
    return out


def client_kwargs(spec):
    """connect() keyword arguments offering permessage-deflate with SPEC."""
    return {"compression": None, "extensions": [ClientPerMessageDeflateFactory(**parse_spec(spec))]}


def server_kwargs(spec):
    """serve() keyword arguments accepting permessage-deflate with SPEC."""
    return {"compression": None, "extensions": [ServerPerMessageDeflateFactory(**parse_spec(spec))]}
