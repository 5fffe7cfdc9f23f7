#!/usr/bin/env python3
"""Side-by-side wss (WebSocket over TLS) benchmark driver. Python 3.11, std lib only.

Normally started through scripts/bench.sh, which installs the apt packages and
builds the load generator first. Run `python3 benches/run.py --help` for options.

For every repetition, every scenario and every server (interleaved: rep 1 /
scenario 1 / server A, server B, ...; rep 1 / scenario 2 / ...), a fresh server
process is started, the load generator (benches/loadgen) drives it over
wss://127.0.0.1, and the server's own CPU time (user+system: the kernel's
process CPU clock, i.e. utime+stime of /proc/PID/stat at ns resolution) and
RSS (VmRSS from /proc/PID/status) are sampled around the measured phase.
A plain-TCP echo server (`tcp`, driven with `loadgen --raw`) gives the
transport floor and `loadgen hsfloor` OpenSSL's in-memory handshake cost.
Medians over repetitions, ratios between servers and against the floors are
written to bench-results/results.json and bench-results/results.md, with a
bar chart of every lower-is-better figure relative to ours in
bench-results/results.svg.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent          # repo root
BENCHES = ROOT / "benches"
BUILD = BENCHES / ".build"                             # peer binaries + copy of ours
LOADGEN = BENCHES / "loadgen" / "target" / "release" / "loadgen"

# ----------------------------------------------------------------------------
# Servers under test. The first *available* entry is the reference ("ours")
# that ratios are computed against. Each entry:
#   name:     label
#   build:    shell command run in the repo root (None = nothing to build);
#             a failing build skips the server with a message
#   artifact: optional path (relative to the repo root) of the built binary;
#             it is copied to benches/.build/<name> so that a concurrent
#             rebuild cannot swap the binary in the middle of a run
#   cmd:      argv; {cert} {key} {build} {root} are substituted. The server
#             must print `PORT <n>` as its first stdout line once listening.
#             If cmd starts a wrapper (e.g. `cargo run`), the measured PID is
#             the wrapper's single deepest descendant.
#   kind:     "websocket" (default) or "transport floor": a floor is not a
#             competitor (no column in the main table, no ratios); its figures
#             go to the floors section. A floor entry also has
#   raw:      True = drive it with `loadgen --raw` (plain TCP, no TLS/WS)
#   scenarios: the scenario ids it runs (default: all but the `ours_only` ones, which only
#             our rows run unless they list their own)
#   loadgen:  extra loadgen options for its echo and idle runs (e.g. {"deflate": "takeover"})
# ----------------------------------------------------------------------------
# Our library, copied next to the servers. The copy is renamed into place: a server of another
# run of this harness that has the previous copy mapped keeps it (copying over it in place
# crashed such servers).
WSS_LIB_BUILD = ("cargo build --release --lib && cp target/release/libwss.so {build}/libwss.so.new && "
                 "mv -f {build}/libwss.so.new {build}/libwss.so && ln -sf libwss.so {build}/libwss.so.1")
# The C echo example (examples/c/echo_server.c) linked against that copy: the `wss*` rows.
WSS_C_ECHO_BUILD = (WSS_LIB_BUILD + " && gcc -O2 -Wall -Wextra -Iinclude -o {build}/wss_echo.new "
                    "examples/c/echo_server.c -L{build} -lwss -Wl,-rpath,{build} && "
                    "mv -f {build}/wss_echo.new {build}/wss_echo")

SERVERS = [
    {
        "name": "wss",
        # Ours through the C ABI, as a C host uses it: examples/c/echo_server.c linked against
        # a copy of the release libwss.so (so a concurrent cargo build cannot swap it mid-run).
        "build": WSS_C_ECHO_BUILD,
        # One I/O thread, like the two peers' single event loop (the library's default is one
        # per core); `env` execs, so the measured PID is the server itself.
        "cmd": ["env", "WSS_IO_THREADS=1", "{build}/wss_echo", "{cert}", "{key}"],
    },
    {
        "name": "websocketpp",
        "build": "g++ -O2 -std=c++17 -o {build}/websocketpp_echo benches/peers/websocketpp_echo.cpp "
                 "-lssl -lcrypto -lpthread",
        "src": "benches/peers/websocketpp_echo.cpp",
        "bin": "websocketpp_echo",
        "cmd": ["{build}/websocketpp_echo", "{cert}", "{key}"],
    },
    {
        "name": "libwebsockets",
        "build": "gcc -O2 -Wall -o {build}/lws_echo benches/peers/lws_echo.c "
                 "$(pkg-config --cflags --libs libwebsockets)",
        "src": "benches/peers/lws_echo.c",
        "bin": "lws_echo",
        "cmd": ["{build}/lws_echo", "{cert}", "{key}"],
    },
    {
        # Ours again, echoing from a host thread in pull mode (wss_server_next_event, then
        # wss_send from outside the library's threads), as a .NET or queue-driven C++ host
        # would: the cost of handing each message across threads and back. Same binary as `wss`.
        "name": "wss-pull",
        "build": WSS_C_ECHO_BUILD,
        "cmd": ["env", "WSS_IO_THREADS=1", "WSS_PULL=1", "{build}/wss_echo", "{cert}", "{key}"],
        "scenarios": ["echo_64B", "echo_16KiB", "echo_1MiB", "latency_5k"],
    },
    {
        # Ours through the C++ wrapper (bindings/cpp, header-only): the same echo as `wss`, so
        # the ratio to `wss` is what the wrapper costs (issue 18: at most 1.02x).
        "name": "wss-cpp",
        "build": WSS_LIB_BUILD + " && g++ -O2 -std=c++17 -Wall -Wextra -Iinclude -Ibindings/cpp/include "
                 "-o {build}/wss_cpp_echo benches/peers/wss_cpp_echo.cpp -L{build} -lwss -Wl,-rpath,{build}",
        "cmd": ["env", "WSS_IO_THREADS=1", "{build}/wss_cpp_echo", "{cert}", "{key}"],
        "scenarios": ["echo_64B", "echo_16KiB", "echo_1MiB", "latency_5k"],
    },
    {
        # Ours with permessage-deflate (context takeover, 15-bit windows: the RFC's and browsers'
        # default), through the C ABI (WSS_DEFLATE=1). The load generator's clients are then
        # wss::Client offering compression (tungstenite cannot), and the payload is compressible
        # JSON-like text. Same binary as `wss`.
        "name": "wss-deflate",
        "build": WSS_C_ECHO_BUILD,
        "cmd": ["env", "WSS_IO_THREADS=1", "WSS_DEFLATE=1", "{build}/wss_echo", "{cert}", "{key}"],
        "loadgen": {"deflate": "takeover"},
        "scenarios": ["echo_64B", "echo_16KiB", "echo_1MiB", "idle", "idle_msg"],
    },
    {
        # The same without context takeover in either direction (WSS_DEFLATE=nct): every message
        # compressed on its own, no zlib state kept between messages.
        "name": "wss-deflate-nct",
        "build": WSS_C_ECHO_BUILD,
        "cmd": ["env", "WSS_IO_THREADS=1", "WSS_DEFLATE=nct", "{build}/wss_echo", "{cert}", "{key}"],
        "loadgen": {"deflate": "nct"},
        "scenarios": ["echo_64B", "echo_16KiB", "echo_1MiB", "idle", "idle_msg"],
    },
    {
        # Transport floor: plain TCP echo with the same process model (one epoll thread),
        # measured like the servers above; what kernel TCP over loopback costs by itself.
        "name": "tcp",
        "kind": "transport floor",
        "build": "gcc -O2 -Wall -Wextra -o {build}/tcp_echo benches/peers/tcp_echo.c",
        "src": "benches/peers/tcp_echo.c",
        "bin": "tcp_echo",
        "cmd": ["{build}/tcp_echo", "{cert}", "{key}"],
        "raw": True,
        "scenarios": ["echo_64B", "echo_16KiB", "echo_1MiB", "connect_full"],
    },
]

# In-memory OpenSSL handshake floor (`loadgen hsfloor`): handshakes per run (full, --quick).
HSFLOOR_COUNT = {"full": 2_000, "quick": 200}

MIB = 1024 * 1024

# kind, loadgen parameters (full run, --quick run)
SCENARIOS = [
    {"id": "echo_64B", "desc": "64 B echo, 50 conns", "kind": "echo",
     "full": {"conns": 50, "size": 64, "messages": 200_000},
     "quick": {"conns": 50, "size": 64, "messages": 5_000}},
    {"id": "echo_16KiB", "desc": "16 KiB echo, 50 conns", "kind": "echo",
     "full": {"conns": 50, "size": 16 * 1024, "messages": 50_000},
     "quick": {"conns": 50, "size": 16 * 1024, "messages": 1_000}},
    {"id": "echo_1MiB", "desc": "1 MiB echo, 4 conns", "kind": "echo",
     "full": {"conns": 4, "size": MIB, "messages": 1_000},
     "quick": {"conns": 4, "size": MIB, "messages": 40}},
    {"id": "connect_full", "desc": "new connections, full TLS handshake", "kind": "connect",
     "full": {"count": 2_000, "concurrency": 2},
     "quick": {"count": 100, "concurrency": 2}},
    {"id": "connect_resume", "desc": "new connections, TLS session resumption", "kind": "connect",
     "full": {"count": 2_000, "concurrency": 2, "resume": True},
     "quick": {"count": 100, "concurrency": 2, "resume": True}},
    {"id": "idle", "desc": "idle connections held open", "kind": "idle",
     "full": {"count": 10_000, "threads": 4},
     "quick": {"count": 200, "threads": 4}},
    {"id": "latency_5k", "desc": "64 B, 50 conns, fixed 5,000 msg/s", "kind": "echo",
     "full": {"conns": 50, "size": 64, "messages": 25_000, "rate": 5000},
     "quick": {"conns": 50, "size": 64, "messages": 5_000, "rate": 5000}},
    # Idle after use: with compression and context takeover a connection keeps its zlib state
    # from its first compressed message on (a connection that never sent holds none: the state
    # is allocated lazily), so this is the figure that matters for compression. Ours only.
    {"id": "idle_msg", "desc": "idle connections held open after each echoed one 1 KiB JSON message",
     "kind": "idle", "ours_only": True,
     "full": {"count": 10_000, "threads": 4, "exchange": 1024},
     "quick": {"count": 200, "threads": 4, "exchange": 1024}},
]

# metric key -> (label, unit, lower_is_better, scenario ids it applies to)
METRICS = [
    ("cpu_us_per_msg", "server CPU per message", "µs", True, ["echo_64B", "echo_16KiB", "latency_5k"]),
    ("cpu_ms_per_mib", "server CPU per MiB echoed", "ms", True, ["echo_16KiB", "echo_1MiB"]),
    ("cpu_us_per_handshake", "server CPU per connection (TLS+WS upgrade+close)", "µs", True,
     ["connect_full", "connect_resume"]),
    ("resumed_frac", "handshakes actually resumed", "", False, ["connect_resume"]),
    ("rss_kib_per_conn", "server RSS per idle connection", "KiB", True, ["idle", "idle_msg"]),
    ("wire_ratio", "bytes on the wire ÷ payload (TCP, both ways)", "", True,
     ["echo_64B", "echo_16KiB", "echo_1MiB"]),
    ("p50_us", "round-trip latency p50", "µs", True, ["latency_5k"]),
    ("p99_us", "round-trip latency p99", "µs", True, ["latency_5k"]),
    ("msgs_per_s", "throughput (info; client shares the 2 cores)", "msg/s", False,
     ["echo_64B", "echo_16KiB"]),
    ("mib_per_s", "throughput (info)", "MiB/s", False, ["echo_1MiB"]),
    ("handshakes_per_s", "handshake rate (info)", "/s", False, ["connect_full", "connect_resume"]),
    ("server_cpu_util", "server CPU utilisation (info; cores)", "", False,
     ["echo_64B", "echo_16KiB", "echo_1MiB"]),
]

CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- /proc helpers

def proc_cpu_s_stat(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime = field 14, stime = field 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def process_cpu_clock(pid: int) -> int:
    """Linux clock id of another process's CPU-time clock (what glibc's clock_getcpuclockid(pid)
    returns: CPUCLOCK_SCHED of the whole thread group)."""
    return ((~pid) << 3) | 2


CPU_SOURCE = "clock_gettime(process CPU clock of the server PID), ns resolution"


def proc_cpu_s(pid: int) -> float:
    """Server process CPU time (user + system, all threads) in seconds.

    The kernel's per-process CPU clock is the same sum that /proc/PID/stat reports as utime+stime
    (the kernel splits that sum into the two fields), but without /proc's truncation to clock ticks
    (10 ms), which would round the transport floor and the --quick figures to zero. Falls back to
    /proc/PID/stat where the clock is unavailable."""
    global CPU_SOURCE
    if CPU_SOURCE.startswith("clock_gettime"):
        try:
            return time.clock_gettime(process_cpu_clock(pid))
        except OSError:
            v = proc_cpu_s_stat(pid)  # raises too if the process is gone
            CPU_SOURCE = "/proc/PID/stat utime+stime (10 ms ticks)"
            log(f"warning: no process CPU clock for pid {pid}; falling back to {CPU_SOURCE}")
            return v
    return proc_cpu_s_stat(pid)


def proc_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


SS_BYTES = re.compile(r"bytes_acked:(\d+).*?bytes_received:(\d+)")


def tcp_bytes(port: int) -> int | None:
    """TCP payload bytes sent (acked) + received so far over the established sockets of the
    server listening on `port` (`ss -ti`, kernel counters: TLS records with their WebSocket frames
    inside), or None where `ss` is unavailable."""
    try:
        out = subprocess.run(["ss", "-tinH", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return sum(int(a) + int(b) for a, b in SS_BYTES.findall(out))


def children_of(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                data = f.read()
            ppid = int(data[data.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(d))
    return out


def measured_pid(pid: int) -> int:
    """Follow single-child chains (cargo run, sh -c, env ...) to the server."""
    for _ in range(5):
        kids = children_of(pid)
        if len(kids) != 1:
            break
        pid = kids[0]
    return pid


def readline_timeout(stream, timeout: float) -> str | None:
    """Read one line from a pipe with a timeout (None on timeout/EOF)."""
    deadline = time.monotonic() + timeout
    buf = b""
    fd = stream.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return None
        ch = os.read(fd, 1)
        if not ch:
            return buf.decode(errors="replace") if buf else None
        if ch == b"\n":
            return buf.decode(errors="replace")
        buf += ch


# ---------------------------------------------------------------- build

def run_shell(cmd: str, cwd: Path, timeout: int = 1800) -> tuple[bool, str]:
    try:
        p = subprocess.run(["bash", "-c", cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "timeout"
    return p.returncode == 0, (p.stdout + p.stderr)[-3000:]


def build_servers(names: list[str] | None) -> list[dict]:
    BUILD.mkdir(parents=True, exist_ok=True)
    avail = []
    for s in SERVERS:
        if names and s["name"] not in names:
            continue
        subst = {"build": str(BUILD), "root": str(ROOT)}
        cmd = s.get("build")
        if cmd:
            out_bin = BUILD / s["bin"] if s.get("bin") else None
            src = ROOT / s["src"] if s.get("src") else None
            if out_bin and src and out_bin.exists() and out_bin.stat().st_mtime > src.stat().st_mtime:
                log(f"[build] {s['name']}: up to date")
            else:
                log(f"[build] {s['name']}: {cmd.format(**subst)}")
                ok, out = run_shell(cmd.format(**subst), ROOT)
                if not ok:
                    log(f"[build] SKIPPING {s['name']}: build failed:\n{out.strip()[-1500:]}\n")
                    continue
        if s.get("artifact"):
            art = ROOT / s["artifact"]
            if not art.exists():
                log(f"[build] SKIPPING {s['name']}: {art} not found")
                continue
            shutil.copy2(art, BUILD / s["name"])
        avail.append(s)
    return avail


# ---------------------------------------------------------------- server

class Server:
    def __init__(self, spec: dict, cert: str, key: str, logdir: Path):
        self.spec = spec
        argv = [a.format(cert=cert, key=key, build=str(BUILD), root=str(ROOT)) for a in spec["cmd"]]
        self.errlog = open(logdir / f"{spec['name']}.stderr.log", "ab")
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.errlog)
        line = readline_timeout(self.proc.stdout, 120)
        if not line or not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"{spec['name']}: no `PORT <n>` line (got {line!r}); see {self.errlog.name}")
        self.port = int(line.split()[1])
        self.pid = measured_pid(self.proc.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            # terminate the measured process too, in case cmd was a wrapper
            for pid in {self.pid, self.proc.pid} if hasattr(self, "pid") else {self.proc.pid}:
                try:
                    os.kill(pid, 15)
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.errlog.close()


# ---------------------------------------------------------------- scenarios

def loadgen_args(kind: str, port: int, p: dict) -> list[str]:
    a = [str(LOADGEN), kind, "--port", str(port)]
    for k, v in p.items():
        if v is True:
            a.append(f"--{k}")
        else:
            a += [f"--{k}", str(v)]
    return a


def is_floor(spec: dict) -> bool:
    return spec.get("kind", "websocket") != "websocket"


def runs_scenario(spec: dict, sc: dict) -> bool:
    if "scenarios" in spec:
        return sc["id"] in spec["scenarios"]
    return not sc.get("ours_only") or is_ours(spec)


def scenario_params(spec: dict, sc: dict, mode: str) -> dict:
    """loadgen options of `sc` for `spec`: the scenario's, `raw` for a transport floor, the
    server's own `loadgen` options for echo and idle runs."""
    p = dict(sc[mode])
    if spec.get("raw"):
        p["raw"] = True
    if sc["kind"] in ("echo", "idle"):
        p.update(spec.get("loadgen", {}))
    return p


def is_ours(spec: dict) -> bool:
    """Our own library's rows (`wss`, `wss-pull`, `wss-deflate`, ...): a run without them measured
    nothing."""
    return spec["name"] == "wss" or spec["name"].startswith("wss-")


def check_ours(wanted: list[str] | None, names: list[str], scen: list[dict], mode: str,
               med: dict, raw: dict) -> list[str]:
    """What makes a run unusable even when every server that ran was error-free: one of our
    servers was wanted but did not build (or start), one of its scenario rows has no figure, or
    `connect_resume` did not resume (each load generator thread's first handshake is full, every
    later one must resume)."""
    problems = []
    for spec in SERVERS:
        n = spec["name"]
        if not is_ours(spec) or (wanted and n not in wanted):
            continue
        if n not in names:
            problems.append(f"{n}: no row (the server did not build; see [build] above)")
            continue
        for sc in scen:
            if not runs_scenario(spec, sc):
                continue
            figures = [k for k in med.get(sc["id"], {}).get(n, {}) if k not in ("errors", "reps")]
            if not figures:
                problems.append(f"{n}: {sc['id']} has no figure")
            p = sc[mode]
            if sc["id"] == "connect_resume":
                for r in raw[sc["id"]].get(n, []):
                    if r.get("errors"):
                        continue  # counted as an error already
                    ok, resumed = r.get("ok", 0), r.get("resumed", 0)
                    if ok != p["count"] or resumed < ok - p["concurrency"]:
                        problems.append(f"{n}: connect_resume resumed {resumed} of {ok} handshakes "
                                        f"({p['count']} made, {p['concurrency']} threads: at most "
                                        f"{p['concurrency']} may be full)")
    return problems


def run_echo(srv: Server, p: dict, timeout: float) -> dict:
    lg = subprocess.Popen(loadgen_args("echo", srv.port, p) + ["--sync"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = readline_timeout(lg.stdout, 60)
        if line != "CONNECTED":
            raise RuntimeError(f"loadgen did not connect (got {line!r})")
        wire0 = tcp_bytes(srv.port)
        rss0 = proc_rss_kib(srv.pid)
        cpu0, t0 = proc_cpu_s(srv.pid), time.monotonic()
        lg.stdin.write(b"go\n")
        lg.stdin.flush()
        line = readline_timeout(lg.stdout, timeout)
        cpu1, t1 = proc_cpu_s(srv.pid), time.monotonic()
        rss1 = proc_rss_kib(srv.pid)
        wire1 = tcp_bytes(srv.port)  # the connections stay open until loadgen reads stdin
        if not line:
            raise RuntimeError("loadgen timed out / produced no result")
        r = json.loads(line)
        lg.stdin.close()
        lg.wait(timeout=60)
    finally:
        if lg.poll() is None:
            lg.kill()
            lg.wait()
    cpu = cpu1 - cpu0
    msgs = max(r["messages"], 1)
    r.update({
        "server_cpu_s": cpu,
        "wall_s": t1 - t0,
        "server_cpu_util": cpu / max(t1 - t0, 1e-9),
        "server_rss_kib_start": rss0,
        "server_rss_kib_end": rss1,
        "cpu_us_per_msg": cpu / msgs * 1e6,
        "cpu_ms_per_mib": cpu / max(r["bytes"] / MIB, 1e-12) * 1e3,
        "p50_us": r["latency_us"]["p50"],
        "p99_us": r["latency_us"]["p99"],
    })
    if wire0 is not None and wire1 is not None and r["bytes"] and not p.get("raw"):
        r["wire_bytes"] = wire1 - wire0
        r["wire_ratio"] = (wire1 - wire0) / (2 * r["bytes"])
    if r["messages"] != r["expected"] and not r["errors"]:
        r["errors"] = 1
    return r


def run_connect(srv: Server, p: dict, timeout: float) -> dict:
    cpu0, t0 = proc_cpu_s(srv.pid), time.monotonic()
    out = subprocess.run(loadgen_args("connect", srv.port, p), capture_output=True, text=True, timeout=timeout)
    cpu1, t1 = proc_cpu_s(srv.pid), time.monotonic()
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise RuntimeError(f"loadgen connect failed: {out.stderr[-500:]}")
    r = json.loads(lines[-1])
    cpu = cpu1 - cpu0
    r.update({
        "server_cpu_s": cpu,
        "wall_s": t1 - t0,
        "cpu_us_per_handshake": cpu / max(r["ok"], 1) * 1e6,
        "resumed_frac": r["resumed"] / max(r["ok"], 1),
    })
    return r


def run_idle(srv: Server, p: dict, timeout: float, workdir: Path) -> dict:
    hold = workdir / f"hold-{srv.spec['name']}"
    hold.write_text("hold\n")
    time.sleep(0.2)
    rss0 = proc_rss_kib(srv.pid)
    cpu0 = proc_cpu_s(srv.pid)
    lg = subprocess.Popen(loadgen_args("idle", srv.port, p) + ["--hold-file", str(hold)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = readline_timeout(lg.stdout, timeout)
        if not line or not line.startswith("READY"):
            raise RuntimeError(f"idle loadgen failed (got {line!r})")
        r = json.loads(line.split(" ", 1)[1])
        time.sleep(1.0)  # let the server settle
        rss1 = proc_rss_kib(srv.pid)
        cpu1 = proc_cpu_s(srv.pid)
        alive = srv.alive()
    finally:
        hold.unlink(missing_ok=True)
        try:
            lg.stdin.close()
        except OSError:
            pass
        try:
            lg.wait(timeout=30)
        except subprocess.TimeoutExpired:
            lg.kill()
            lg.wait()
    n = max(r["open"], 1)
    r.update({
        "server_rss_kib_before": rss0,
        "server_rss_kib_open": rss1,
        "rss_kib_per_conn": (rss1 - rss0) / n,
        "server_cpu_s_opening": cpu1 - cpu0,
        "cpu_us_per_handshake_opening": (cpu1 - cpu0) / n * 1e6,
    })
    if r["open"] != r["count"] and not r["errors"]:
        r["errors"] = r["count"] - r["open"]
    if not alive:
        r["errors"] += 1
        r["first_error"] = "server died"
    return r


# ---------------------------------------------------------------- openssl floors

def openssl_floors() -> dict:
    res: dict = {"note": "physical floors from `openssl speed` on this machine, one core"}
    try:
        for alg in ("aes-128-gcm", "aes-256-gcm"):
            out = subprocess.run(["openssl", "speed", "-elapsed", "-seconds", "1", "-evp", alg],
                                 capture_output=True, text=True, timeout=120).stdout
            for line in out.splitlines():
                if line.lower().startswith(alg):
                    cols = line.split()
                    res[f"{alg.replace('-', '')}_16KiB_bytes_per_s"] = float(cols[-1].rstrip("k")) * 1000
        out = subprocess.run(["openssl", "speed", "-seconds", "1", "ecdhx25519", "ecdsap256", "rsa2048"],
                             capture_output=True, text=True, timeout=120).stdout
        m = re.search(r"rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", out)
        if m:
            res["rsa2048_sign_per_s"], res["rsa2048_verify_per_s"] = float(m[1]), float(m[2])
        m = re.search(r"256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)", out)
        if m:
            res["ecdsa_p256_sign_per_s"], res["ecdsa_p256_verify_per_s"] = float(m[1]), float(m[2])
        m = re.search(r"bits ecdh \(X25519\)\s+\S+\s+([\d.]+)", out)
        if m:
            res["x25519_ops_per_s"] = float(m[1])
    except (OSError, subprocess.TimeoutExpired, ValueError) as e:
        res["error"] = str(e)
    for bits in ("128", "256"):
        k = f"aes{bits}gcm_16KiB_bytes_per_s"
        if k in res:
            res[f"cpu_ms_per_mib_echo_floor_aes{bits}"] = 2 * MIB / res[k] * 1e3
    res["cpu_ms_per_mib_echo_floor_note"] = (
        "AES-GCM decrypt + re-encrypt of each echoed MiB: 2 x (1 MiB / encrypt speed at 16 KiB blocks); "
        "decrypt cost assumed equal to encrypt. OpenSSL's default TLS 1.3 suite order negotiates "
        "TLS_AES_256_GCM_SHA384, so the aes256 floor is the one that applies unless a server prefers AES-128.")
    if "x25519_ops_per_s" in res and "ecdsa_p256_sign_per_s" in res:
        res["cpu_us_per_full_handshake_floor"] = (1 / res["x25519_ops_per_s"] + 1 / res["ecdsa_p256_sign_per_s"]) * 1e6
        res["cpu_us_per_resumed_handshake_floor"] = 1 / res["x25519_ops_per_s"] * 1e6
        res["handshake_floor_note"] = ("full: one X25519 ECDHE + one ECDSA P-256 sign; resumed (TLS 1.3 "
                                       "psk_dhe_ke): one X25519 ECDHE")
    return res


def run_loadgen_json(argv: list[str]) -> dict:
    """Run a server-less loadgen mode (`argv[0]`) and return its JSON line, with errors folded in."""
    mode = argv[0]
    try:
        out = subprocess.run([str(LOADGEN), *argv], capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return {"errors": 1, "first_error": f"{mode} timed out"}
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if not lines:
        return {"errors": 1, "first_error": f"{mode} failed (exit {out.returncode}): {out.stderr[-500:]}"}
    r = json.loads(lines[-1])
    if out.returncode != 0 and not r.get("errors"):
        r["errors"] = 1
        r["first_error"] = f"{mode} exit status {out.returncode}"
    return r


def run_hsfloor(cert: str, key: str, count: int, resume: bool) -> dict:
    """OpenSSL's own server-side handshake cost: `loadgen hsfloor` (in memory, no sockets)."""
    argv = ["hsfloor", "--cert", cert, "--key", key, "--count", str(count)]
    if resume:
        argv.append("--resume")
    r = run_loadgen_json(argv)
    if resume and not r.get("errors") and r.get("resumed") != r.get("count"):
        r["errors"] = 1
        r["first_error"] = f"only {r.get('resumed')} of {r.get('count')} in-memory handshakes resumed"
    return r


def run_kexfloor(key: str, count: int) -> dict:
    """The public-key work of a server handshake through OpenSSL's EVP calls: `loadgen kexfloor`."""
    return run_loadgen_json(["kexfloor", "--key", key, "--count", str(count)])


PLOT_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]


def plot_svg(rows: list, names: list[str], ref: str) -> str:
    """A bar chart (SVG, no dependencies) of every lower-is-better figure, each server's value
    divided by the reference server's: the reference is 1.0, bars past 4x are cut and labelled."""
    esc = lambda t: t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    groups = [(sc["id"], label, unit, vals) for sc, _k, label, unit, lower, vals in rows
              if lower and vals.get(ref)]
    label_w, bar_w, bar_h, gap, top, cap = 330, 460, 13, 12, 58, 4.0
    height = top + sum(len(names) * bar_h + gap for _ in groups) + 30
    width = label_w + bar_w + 150
    x1 = label_w + bar_w / cap  # where 1.0 sits
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="18" font-size="14">Server cost relative to {esc(ref)} '
           f'(1.0 = {esc(ref)}; lower is better)</text>']
    for i, n in enumerate(names):
        x = 10 + i * 150
        out.append(f'<rect x="{x}" y="30" width="10" height="10" fill="{PLOT_COLORS[i % len(PLOT_COLORS)]}"/>'
                   f'<text x="{x + 14}" y="39">{esc(n)}</text>')
    y = top
    for sid, label, unit, vals in groups:
        gh = len(names) * bar_h
        out.append(f'<text x="{label_w - 8}" y="{y + gh / 2 + 4}" text-anchor="end">'
                   f'{esc(sid)}: {esc(label)} ({esc(unit)})</text>')
        for i, n in enumerate(names):
            v = vals.get(n)
            if v is None:
                continue
            r = v / vals[ref]
            w = bar_w * min(r, cap) / cap
            out.append(f'<rect x="{label_w}" y="{y + i * bar_h}" width="{w:.1f}" height="{bar_h - 2}" '
                       f'fill="{PLOT_COLORS[i % len(PLOT_COLORS)]}"/>')
            out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + i * bar_h + bar_h - 3}">'
                       f'{r:.2f}{"+" if r > cap else ""} ({fmt(v)})</text>')
        y += gh + gap
    out.append(f'<line x1="{x1:.1f}" y1="{top - 6}" x2="{x1:.1f}" y2="{y}" stroke="black" '
               f'stroke-dasharray="3,3"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def aes_floor_for(floors: dict, tls: list[str]) -> tuple[str | None, float | None]:
    """The AES-GCM echo floor matching the suite a server negotiated (None for ChaCha/unknown)."""
    for t in tls:
        for bits in ("128", "256"):
            if f"AES_{bits}_GCM" in t and f"cpu_ms_per_mib_echo_floor_aes{bits}" in floors:
                return f"AES-{bits}-GCM", floors[f"cpu_ms_per_mib_echo_floor_aes{bits}"]
    return None, None


def floor_ratios(names: list[str], med: dict, floors: dict, tls_by_server: dict) -> dict:
    """Each WebSocket server's figures divided by the floors (crypto, transport, OpenSSL)."""
    tr = floors.get("transport", {})
    hs = floors.get("openssl_inmem", {})
    out: dict = {}

    def get(sid: str, n: str, k: str):
        return med.get(sid, {}).get(n, {}).get(k)

    def div(a, b):
        return a / b if a is not None and b else None

    def add(a, b):
        return a + b if a is not None and b is not None else None

    for n in names:
        aes_name, aes = aes_floor_for(floors, tls_by_server.get(n, []))
        mib_1m = get("echo_1MiB", n, "cpu_ms_per_mib")
        mib_16k = get("echo_16KiB", n, "cpu_ms_per_mib")
        full = get("connect_full", n, "cpu_us_per_handshake")
        res = get("connect_resume", n, "cpu_us_per_handshake")
        r = {
            "aes_floor_used": aes_name,
            "cpu_per_mib_1MiB_over_aes": div(mib_1m, aes),
            "cpu_per_mib_1MiB_over_aes_plus_transport": div(mib_1m, add(aes, tr.get("cpu_ms_per_mib_1MiB"))),
            "cpu_per_mib_16KiB_over_aes_plus_transport": div(mib_16k, add(aes, tr.get("cpu_ms_per_mib_16KiB"))),
            "cpu_per_64B_echo_over_transport": div(get("echo_64B", n, "cpu_us_per_msg"), tr.get("cpu_us_per_msg_64B")),
            "full_conn_over_crypto": div(full, floors.get("cpu_us_per_full_handshake_floor")),
            "full_conn_over_openssl_plus_transport": div(
                full, add(hs.get("cpu_us_per_full_handshake"), tr.get("cpu_us_per_conn"))),
            "resumed_conn_over_crypto": div(res, floors.get("cpu_us_per_resumed_handshake_floor")),
            "resumed_conn_over_openssl_plus_transport": div(
                res, add(hs.get("cpu_us_per_resumed_handshake"), tr.get("cpu_us_per_conn"))),
            "resumed_over_full": div(res, full),
        }
        out[n] = {k: v for k, v in r.items() if v is not None}
    return out


# rows of the floor-ratio table: key, label
FLOOR_RATIO_ROWS = [
    ("cpu_per_mib_1MiB_over_aes", "CPU per MiB (1 MiB msgs) ÷ AES-GCM floor"),
    ("cpu_per_mib_1MiB_over_aes_plus_transport", "CPU per MiB (1 MiB msgs) ÷ (AES-GCM + transport per MiB)"),
    ("cpu_per_mib_16KiB_over_aes_plus_transport", "CPU per MiB (16 KiB msgs) ÷ (AES-GCM + transport per MiB)"),
    ("cpu_per_64B_echo_over_transport", "CPU per 64 B echo ÷ transport per 64 B echo"),
    ("full_conn_over_crypto", "CPU per full connection ÷ key exchange + signature (X25519 key share + derive + ECDSA sign)"),
    ("full_conn_over_openssl_plus_transport",
     "CPU per full connection ÷ (OpenSSL in-memory full handshake + transport per connection)"),
    ("resumed_conn_over_crypto", "CPU per resumed connection ÷ key exchange (X25519 key share + derive)"),
    ("resumed_conn_over_openssl_plus_transport",
     "CPU per resumed connection ÷ (OpenSSL in-memory resumed handshake + transport per connection)"),
    ("resumed_over_full", "CPU per resumed ÷ per full connection"),
]


# ---------------------------------------------------------------- main

def make_cert(d: Path) -> tuple[str, str]:
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
                    "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return str(cert), str(key)


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def env_info() -> dict:
    def sh(c: str) -> str:
        try:
            return subprocess.run(["bash", "-c", c], capture_output=True, text=True, timeout=20).stdout.strip()
        except Exception:  # noqa: BLE001
            return ""
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "openssl": sh("openssl version"),
        "libwebsockets": sh("dpkg-query -W -f='${Version}' libwebsockets-dev"),
        "websocketpp": sh("dpkg-query -W -f='${Version}' libwebsocketpp-dev"),
        "boost": sh("dpkg-query -W -f='${Version}' libboost-dev"),
        "rustc": sh("rustc --version"),
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "loadavg_1_5_15": os.getloadavg(),
    }


def fmt(v, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        if unit == "" and v <= 1.0:
            return f"{v:.2f}"
        a = abs(v)
        s = f"{v:,.0f}" if a >= 100 else f"{v:.1f}" if a >= 10 else f"{v:.2f}" if a >= 1 else f"{v:.3f}"
        return s
    return str(v)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 repetition, tiny counts (CI smoke)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 3; 1 with --quick)")
    ap.add_argument("--servers", default="",
                    help="comma-separated subset of server names: " + ", ".join(
                        s["name"] + (f" ({s['kind']})" if is_floor(s) else "") for s in SERVERS))
    ap.add_argument("--scenarios", default="", help="comma-separated subset of scenario ids")
    ap.add_argument("--out", default=str(ROOT / "bench-results"), help="output directory")
    ap.add_argument("--no-speed", action="store_true", help="skip `openssl speed` floors")
    ap.add_argument("--no-hsfloor", action="store_true",
                    help="skip the in-memory OpenSSL handshake floor (`loadgen hsfloor`; it only runs when a "
                         "connect scenario is selected)")
    args = ap.parse_args()
    reps = args.reps or (1 if args.quick else 3)
    mode = "quick" if args.quick else "full"

    raise_nofile()
    if not LOADGEN.exists():
        log(f"loadgen not built: {LOADGEN} (run scripts/bench.sh, or cargo build --release "
            f"--manifest-path benches/loadgen/Cargo.toml)")
        return 2

    wanted = [s for s in args.servers.split(",") if s] or None
    servers = build_servers(wanted)
    if not servers:
        log("no server available")
        return 2
    if not any(is_ours(s) for s in servers) and any(is_ours(s) for s in SERVERS
                                                     if not wanted or s["name"] in wanted):
        log("FAILED: none of our servers built (see [build] above); nothing to compare against")
        return 1
    scen = [s for s in SCENARIOS if not args.scenarios or s["id"] in args.scenarios.split(",")]
    names = [s["name"] for s in servers if not is_floor(s)]        # WebSocket servers (table columns)
    floor_names = [s["name"] for s in servers if is_floor(s)]       # transport floor(s)
    log(f"servers: {', '.join(names) or '(none)'}; floors: {', '.join(floor_names) or '(none)'}; "
        f"scenarios: {', '.join(s['id'] for s in scen)}; reps: {reps}; mode: {mode}")

    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="wss-bench-"))
    cert, key = make_cert(workdir)
    logdir = outdir / "logs"
    logdir.mkdir(exist_ok=True)

    load0 = os.getloadavg()
    if load0[0] > 1.0:
        log(f"warning: load average {load0[0]:.1f} before starting: other work on the machine will skew "
            f"CPU-time figures (both through cache/frequency effects and scheduling)")
    t_start = time.monotonic()
    floors = {} if args.no_speed else openssl_floors()
    hs_raw: dict = {"full": [], "resumed": [], "kex": []}
    run_hs = not args.no_hsfloor and any(sc["kind"] == "connect" for sc in scen)
    raw: dict = {s["id"]: {spec["name"]: [] for spec in servers if runs_scenario(spec, s)} for s in scen}
    for rep in range(reps):
        hs_done = False
        for sc in scen:
            if run_hs and not hs_done and sc["kind"] == "connect":
                # In-memory OpenSSL floor, once per repetition right before the first connect
                # scenario, so that it sees the same machine conditions as the servers' handshakes.
                hs_done = True
                for kind in ("full", "resumed"):
                    r = run_hsfloor(cert, key, HSFLOOR_COUNT[mode], kind == "resumed")
                    hs_raw[kind].append(r)
                    err = f"  ERRORS=1 ({r.get('first_error')})" if r.get("errors") else ""
                    log(f"[rep {rep + 1}/{reps}] hsfloor {kind:<17} server_cpu_us_per_handshake="
                        f"{fmt(r.get('server_cpu_us_per_handshake'))}  "
                        f"resumed={r.get('resumed')}/{r.get('count')}{err}")
                r = run_kexfloor(key, HSFLOOR_COUNT[mode])
                hs_raw["kex"].append(r)
                err = f"  ERRORS=1 ({r.get('first_error')})" if r.get("errors") else ""
                log(f"[rep {rep + 1}/{reps}] kexfloor                  x25519_keygen_us="
                    f"{fmt(r.get('x25519_keygen_us'))}  x25519_derive_us={fmt(r.get('x25519_derive_us'))}  "
                    f"ecdsa_sign_us={fmt(r.get('ecdsa_sign_us'))}{err}")
            for spec in servers:
                if not runs_scenario(spec, sc):
                    continue
                name = spec["name"]
                p = scenario_params(spec, sc, mode)
                tag = f"[rep {rep + 1}/{reps}] {sc['id']:<15} {name:<14}"
                try:
                    srv = Server(spec, cert, key, logdir)
                except Exception as e:  # noqa: BLE001
                    log(f"{tag} server failed to start: {e}")
                    raw[sc["id"]][name].append({"errors": 1, "first_error": str(e)})
                    continue
                try:
                    timeout = 600
                    if sc["kind"] == "echo":
                        r = run_echo(srv, p, timeout)
                    elif sc["kind"] == "connect":
                        r = run_connect(srv, p, timeout)
                    else:
                        r = run_idle(srv, p, timeout, workdir)
                    if not srv.alive():
                        r["errors"] = r.get("errors", 0) + 1
                        r["first_error"] = r.get("first_error") or "server exited during the run"
                except Exception as e:  # noqa: BLE001
                    r = {"errors": 1, "first_error": f"{type(e).__name__}: {e}"}
                finally:
                    srv.stop()
                raw[sc["id"]][name].append(r)
                keys = [m[0] for m in METRICS if sc["id"] in m[4]]
                summary = "  ".join(f"{k}={fmt(r.get(k))}" for k in keys if k in r)
                err = f"  ERRORS={r.get('errors')} ({r.get('first_error')})" if r.get("errors") else ""
                log(f"{tag} {summary}{err}")

    # medians + ratios
    med: dict = {}
    total_errors = 0
    for sc in scen:
        med[sc["id"]] = {}
        for n in raw[sc["id"]]:
            runs = raw[sc["id"]][n]
            errs = sum(int(r.get("errors") or 0) for r in runs)
            total_errors += errs
            m = {"errors": errs, "reps": len(runs)}
            for key_, *_ in METRICS:
                vals = [r[key_] for r in runs if key_ in r and not r.get("errors")]
                if vals:
                    m[key_] = statistics.median(vals)
            med[sc["id"]][n] = m

    rows = []  # (scenario, metric key, label, unit, lower_better, {server: value})
    for sc in scen:
        for key_, label, unit, lower, ids in METRICS:
            if sc["id"] in ids:
                vals = {n: med[sc["id"]].get(n, {}).get(key_) for n in names}
                rows.append((sc, key_, label, unit, lower, vals))

    ratios = {}
    for sc, key_, label, unit, lower, vals in rows:
        for a in names:
            for b in names:
                if a != b and vals.get(a) and vals.get(b):
                    ratios.setdefault(f"{sc['id']}.{key_}", {})[f"{a}/{b}"] = vals[a] / vals[b]

    # floors measured here: transport (the `tcp` server) and OpenSSL in memory (hsfloor)
    for fn in floor_names:
        def fmed(sid: str, k: str):
            return med.get(sid, {}).get(fn, {}).get(k)
        tr = {
            "server": fn,
            "cpu_us_per_msg_64B": fmed("echo_64B", "cpu_us_per_msg"),
            "cpu_ms_per_mib_16KiB": fmed("echo_16KiB", "cpu_ms_per_mib"),
            "cpu_ms_per_mib_1MiB": fmed("echo_1MiB", "cpu_ms_per_mib"),
            "cpu_us_per_conn": fmed("connect_full", "cpu_us_per_handshake"),
            "note": "plain-TCP echo server (benches/peers/tcp_echo.c, one epoll thread, TCP_NODELAY) driven by "
                    "`loadgen --raw`, server CPU measured like the WebSocket servers': kernel TCP over loopback plus "
                    "one recv + one send per wake-up; per connection = accept, 1 byte each way, close",
        }
        floors["transport"] = {k: v for k, v in tr.items() if v is not None}
        break  # one transport floor
    if run_hs:
        hs: dict = {"note": "OpenSSL's own server-side CPU per handshake, server and client in one process over "
                            "in-memory pipes (no sockets); server context configured like wss's; includes "
                            "SSL_new, the handshake, one 1-byte record each way, SSL_shutdown and SSL_free",
                    "count": HSFLOOR_COUNT[mode], "raw": hs_raw}
        kex_ok = [r for r in hs_raw["kex"] if not r.get("errors")]
        total_errors += len(hs_raw["kex"]) - len(kex_ok)
        if kex_ok:
            kex = {k: statistics.median(r[k] for r in kex_ok)
                   for k in ("x25519_keygen_us", "x25519_derive_us", "ecdsa_sign_us", "full_us", "resumed_us")}
            kex["note"] = ("`loadgen kexfloor`: X25519 key share generated + shared secret derived + ECDSA "
                           "P-256/SHA-256 signature, each through OpenSSL's EVP calls as a TLS 1.3 server "
                           "makes them (resumed: the first two); replaces the `openssl speed` estimate, "
                           "which times only the derive")
            floors["kex"] = kex
            if "cpu_us_per_full_handshake_floor" in floors:
                floors["speed_cpu_us_per_full_handshake_floor"] = floors["cpu_us_per_full_handshake_floor"]
                floors["speed_cpu_us_per_resumed_handshake_floor"] = floors["cpu_us_per_resumed_handshake_floor"]
            floors["cpu_us_per_full_handshake_floor"] = kex["full_us"]
            floors["cpu_us_per_resumed_handshake_floor"] = kex["resumed_us"]
            floors["handshake_floor_note"] = kex["note"]
        for kind, key_ in (("full", "cpu_us_per_full_handshake"), ("resumed", "cpu_us_per_resumed_handshake")):
            ok = [r for r in hs_raw[kind] if not r.get("errors")]
            total_errors += len(hs_raw[kind]) - len(ok)
            if ok:
                hs[key_] = statistics.median(r["server_cpu_us_per_handshake"] for r in ok)
                hs["tls"] = ok[0].get("tls")
            if kind == "resumed" and ok:
                hs["resumed_frac"] = sum(r["resumed"] for r in ok) / max(sum(r["count"] for r in ok), 1)
        if "cpu_us_per_full_handshake" in hs and "cpu_us_per_resumed_handshake" in hs:
            hs["resumed_over_full"] = hs["cpu_us_per_resumed_handshake"] / hs["cpu_us_per_full_handshake"]
        floors["openssl_inmem"] = hs
    tls_by_server = {}
    for n in names + floor_names:
        seen = sorted({r.get("tls") for sid in raw for r in raw[sid].get(n, []) if r.get("tls")})
        tls_by_server[n] = seen
    fratios = floor_ratios(names, med, floors, tls_by_server)
    problems = check_ours(wanted, names, scen, mode, med, raw)

    result = {
        "mode": mode,
        "reps": reps,
        "env": env_info(),
        "servers": [{"name": s["name"], "kind": s.get("kind", "websocket"), "cmd": s["cmd"],
                     "build": s.get("build"), "raw": bool(s.get("raw")),
                     "scenarios": s.get("scenarios", [sc["id"] for sc in SCENARIOS])} for s in servers],
        "skipped_servers": [s["name"] for s in SERVERS
                            if (not wanted or s["name"] in wanted) and s["name"] not in names + floor_names],
        "scenarios": {sc["id"]: {"desc": sc["desc"], "kind": sc["kind"], "params": sc[mode]} for sc in scen},
        "floors": floors,
        "floor_ratios": fratios,
        "tls_negotiated": tls_by_server,
        "median": med,
        "ratios": ratios,
        "raw": raw,
        "total_errors": total_errors,
        "problems": problems,
        "cpu_source": CPU_SOURCE,
        "loadavg_start": load0,
        "loadavg_end": os.getloadavg(),
        "duration_s": time.monotonic() - t_start,
    }
    (outdir / "results.json").write_text(json.dumps(result, indent=2) + "\n")

    ref, others = (names[0], names[1:]) if names else (None, [])
    md = []
    e = result["env"]
    md.append(f"# wss benchmark ({mode}, {reps} rep{'s' if reps > 1 else ''}, medians)\n")
    md.append(f"Machine: {e['cpus']} cores ({e['cpu_model']}), kernel {e['kernel']}, {e['openssl']}; "
              f"libwebsockets {e['libwebsockets']}, websocketpp {e['websocketpp']}. "
              f"Server and load generator share the machine; all traffic is wss over 127.0.0.1.\n")
    if load0[0] > 1.0:
        md.append(f"**Warning**: 1-min load average was {load0[0]:.1f} when the run started (other work on "
                  f"the machine); treat the figures with care.\n")
    if result["skipped_servers"]:
        md.append(f"Skipped (build/artifact missing): {', '.join(result['skipped_servers'])}.\n")
    if names:
        hdr = "| scenario | figure | " + " | ".join(names + [f"{ref}/{o}" for o in others]) + " |"
        md.append(hdr)
        md.append("|" + "---|" * (2 + len(names) + len(others)))
        for sc, key_, label, unit, lower, vals in rows:
            cells = [fmt(vals[n], unit) for n in names]
            rts = []
            for o in others:
                r = ratios.get(f"{sc['id']}.{key_}", {}).get(f"{ref}/{o}")
                rts.append(f"{r:.2f}" if r is not None else "–")
            u = f" ({unit})" if unit else ""
            better = " ↓" if lower else ""
            md.append(f"| {sc['id']} | {label}{u}{better} | " + " | ".join(cells + rts) + " |")
        md.append("")
        md.append("↓ = lower is better. Ratios are the reference server (first column) divided by the other; "
                  "for ↓ figures < 1 means the reference is cheaper. CPU figures are the server process's own "
                  "user+system time (process CPU clock = utime+stime of /proc/PID/stat at ns resolution) over "
                  "the measured phase only.\n")
        md.append("Scenarios: " + "; ".join(f"`{sc['id']}`: {sc['desc']}" for sc in scen) + ".\n")
        lg_rows = [s for s in servers if s.get("loadgen") and s["name"] in names]
        if lg_rows:
            md.append("Load generator options per row (echo and idle): " + "; ".join(
                f"`{s['name']}`: " + " ".join(f"--{k} {v}" for k, v in s["loadgen"].items()) for s in lg_rows)
                + ". `--deflate` rows are driven by wss::Client (our library; tungstenite cannot negotiate "
                  "permessage-deflate) and send compressible JSON-like text instead of random bytes; "
                  "\"bytes on the wire\" is the TCP payload both ways (TLS records, WebSocket frames) over "
                  "the echoed payload both ways, from the server sockets' kernel counters (`ss -ti`).\n")
    errs = {f"{sid}/{n}": med[sid][n]["errors"] for sid in med for n in med[sid] if med[sid][n]["errors"]}
    for kind, runs in hs_raw.items():
        if any(r.get("errors") for r in runs):
            errs[f"hsfloor/{kind}"] = next(r.get("first_error") for r in runs if r.get("errors"))
    md.append(f"Payload/connection errors: {errs if errs else 'none'}.\n")
    if problems:
        md.append("**Run not usable**: " + "; ".join(problems) + ".\n")
    if names:
        md.append("Negotiated (as seen by the load generator): " +
                  "; ".join(f"{n}: {', '.join(tls_by_server[n]) or '?'}" for n in names) + ".\n")

    tr = floors.get("transport", {})
    hs = floors.get("openssl_inmem", {})
    if floors:
        md.append("Physical floors (one core):\n")
    for bits in ("256", "128"):
        k = f"aes{bits}gcm_16KiB_bytes_per_s"
        if k in floors:
            md.append(f"- AES-{bits}-GCM at 16 KiB blocks (`openssl speed`): {floors[k] / MIB:,.0f} MiB/s → "
                      f"**{floors[f'cpu_ms_per_mib_echo_floor_aes{bits}']:.3f} ms CPU per MiB echoed** "
                      f"(decrypt + re-encrypt; decrypt ≈ encrypt cost assumed)")
    if "kex" in floors:
        k = floors["kex"]
        md.append(f"- Key exchange + signature through OpenSSL's EVP calls (`loadgen kexfloor`): X25519 key "
                  f"share {k['x25519_keygen_us']:.1f} µs, X25519 derive {k['x25519_derive_us']:.1f} µs, "
                  f"ECDSA P-256 sign {k['ecdsa_sign_us']:.1f} µs → **{k['full_us']:.1f} µs per full "
                  f"handshake**, {k['resumed_us']:.1f} µs per resumed one (no signature)")
    if "x25519_ops_per_s" in floors and "ecdsa_p256_sign_per_s" in floors:
        sp_full = floors.get("speed_cpu_us_per_full_handshake_floor", floors.get("cpu_us_per_full_handshake_floor"))
        sp_res = floors.get("speed_cpu_us_per_resumed_handshake_floor",
                            floors.get("cpu_us_per_resumed_handshake_floor"))
        md.append(f"- X25519 {floors['x25519_ops_per_s']:,.0f} op/s, ECDSA P-256 sign "
                  f"{floors['ecdsa_p256_sign_per_s']:,.0f}/s (`openssl speed`, derive only) → "
                  f"{sp_full:.1f} µs per full handshake (one ECDHE + one ECDSA sign), "
                  f"{sp_res:.1f} µs per resumed one (one ECDHE)"
                  + (" (info; the `kexfloor` figure above is the one used)" if "kex" in floors else ""))
        if "rsa2048_sign_per_s" in floors:
            md.append(f"- (info) RSA-2048 sign {floors['rsa2048_sign_per_s']:,.0f}/s")
    if tr:
        parts = []
        if "cpu_us_per_msg_64B" in tr:
            parts.append(f"**{fmt(tr['cpu_us_per_msg_64B'])} µs per 64 B echo**")
        if "cpu_ms_per_mib_16KiB" in tr:
            parts.append(f"**{tr['cpu_ms_per_mib_16KiB']:.3f} ms per MiB echoed** in 16 KiB messages")
        if "cpu_ms_per_mib_1MiB" in tr:
            parts.append(f"**{tr['cpu_ms_per_mib_1MiB']:.3f} ms per MiB** in 1 MiB messages")
        if "cpu_us_per_conn" in tr:
            parts.append(f"**{fmt(tr['cpu_us_per_conn'])} µs per connection** (accept, 1 byte each way, close)")
        md.append(f"- Transport (kernel TCP over loopback; `{tr['server']}`: plain-TCP echo server, one epoll "
                  f"thread, no TLS/WebSocket, measured like the servers): " + ", ".join(parts))
    if "cpu_us_per_full_handshake" in hs or "cpu_us_per_resumed_handshake" in hs:
        parts = []
        if "cpu_us_per_full_handshake" in hs:
            parts.append(f"**{fmt(hs['cpu_us_per_full_handshake'])} µs per full handshake**")
        if "cpu_us_per_resumed_handshake" in hs:
            parts.append(f"**{fmt(hs['cpu_us_per_resumed_handshake'])} µs per resumed one** "
                         f"({hs.get('resumed_frac', 0) * 100:.0f} % resumed)")
        md.append(f"- OpenSSL's own server-side handshake cost in memory (no sockets; `loadgen hsfloor`, "
                  f"{hs['count']:,} handshakes, server configured like wss, {hs.get('tls', '?')}): "
                  + ", ".join(parts) + " (SSL_new + handshake + one small record each way + shutdown + free)")

    shown = [(k, label) for k, label in FLOOR_RATIO_ROWS if any(k in fratios.get(n, {}) for n in names)]
    if shown:
        md.append("")
        md.append("Against the floors (server CPU ÷ floor; the reference server first):\n")
        md.append("| figure | " + " | ".join(names) + " |")
        md.append("|" + "---|" * (1 + len(names)))
        md.append("| AES-GCM floor used (negotiated suite) | " +
                  " | ".join(fratios.get(n, {}).get("aes_floor_used") or "–" for n in names) + " |")
        for k, label in shown:
            md.append(f"| {label} | " + " | ".join(
                f"{fratios[n][k]:.2f}" if k in fratios.get(n, {}) else "–" for n in names) + " |")
        if "resumed_over_full" in hs:
            md.append(f"\n(OpenSSL in memory: resumed ÷ full handshake = {hs['resumed_over_full']:.2f}.) "
                      "Connection figures include the WebSocket upgrade and close, which no floor covers; "
                      "the transport floor per connection has one round trip, a TLS + WebSocket connection "
                      "several.")
    md.append("")
    (outdir / "results.md").write_text("\n".join(md) + "\n")
    if ref:
        svg = plot_svg(rows, names, ref)
        ET.fromstring(svg)  # well-formed, or the run fails here rather than in a viewer
        (outdir / "results.svg").write_text(svg)
    print("\n".join(md))
    log(f"wrote {outdir / 'results.json'}, {outdir / 'results.md'} and {outdir / 'results.svg'} "
        f"({result['duration_s']:.0f} s, total errors: {total_errors})")
    for p in problems:
        log(f"FAILED: {p}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 1 if total_errors or problems else 0


if __name__ == "__main__":
    sys.exit(main())
