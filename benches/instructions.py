#!/usr/bin/env python3
"""Server instructions per echoed message, counted by callgrind: a deterministic figure.

CPU time on a shared 2-core machine moves by +-20 % between repetitions, too much to check a
bound such as "the C++ wrapper costs at most 1.02x the C ABI". Instruction counts do not move:
each server of benches/run.py named with --servers runs under `valgrind --tool=callgrind`, one
connection echoes LOW and then (in a fresh server) HIGH messages of each size, and the figure is
(instructions at HIGH - instructions at LOW) / (HIGH - LOW), so start-up, the TLS handshake and
shutdown cancel out. Ratios are to the first server named (by default `wss`, the C ABI).

Output: a table on stdout and bench-results/instructions.json. Usage:
    benches/instructions.py [--servers wss,wss-cpp,wss-pull] [--sizes 64,16384]
(`--servers wss,wss-deflate,wss-deflate-nct`: what compression costs; those rows echo
compressible JSON-like text from wss::Client, see benches/README.md)
                            [--low 2000 --high 6000] [--quick] [--max-ratio 1.02]
(`--quick`: 200 vs 600 messages, the test command's gate for both sizes)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (the harness: server table, builds, loadgen)

IR = re.compile(r"^(?:summary|totals):\s+(\d+)", re.M)


def instructions(spec: dict, cert: str, key: str, size: int, messages: int, work: Path) -> int:
    """Run `spec`'s server under callgrind, echo `messages` messages of `size` bytes on one
    connection, stop it with SIGTERM and return the instructions it executed (all threads)."""
    out = work / f"{spec['name']}-{size}-{messages}.callgrind"
    argv = [a.format(cert=cert, key=key, build=str(run.BUILD), root=str(run.ROOT)) for a in spec["cmd"]]
    # `env VAR=.. prog ..`: keep env first so valgrind sees the variables, then the program.
    env_part = []
    while argv and (argv[0] == "env" or "=" in argv[0]):
        env_part.append(argv.pop(0))
    cmd = env_part + ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + argv
    with open(work / f"{spec['name']}.stderr.log", "ab") as err:
        srv = subprocess.Popen(cmd, cwd=run.ROOT, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=err)
        try:
            line = run.readline_timeout(srv.stdout, 300)
            if not line or not line.startswith("PORT "):
                raise RuntimeError(f"{spec['name']}: no PORT line under valgrind (got {line!r})")
            port = int(line.split()[1])
            params = {"conns": 1, "size": size, "messages": messages, **spec.get("loadgen", {})}
            lg = subprocess.run(run.loadgen_args("echo", port, params),
                                capture_output=True, text=True, timeout=900)
            if lg.returncode != 0:
                raise RuntimeError(f"loadgen failed: {lg.stderr.strip()[-500:]}")
            res = json.loads(lg.stdout.strip().splitlines()[-1])
            if res["messages"] != messages or res["errors"]:
                raise RuntimeError(f"{spec['name']}: echoed {res['messages']}/{messages}, "
                                   f"{res['errors']} errors")
        finally:
            if srv.poll() is None:
                srv.send_signal(signal.SIGTERM)
            srv.wait(timeout=300)
    text = out.read_text(errors="replace")
    m = IR.search(text)
    if not m:
        raise RuntimeError(f"no instruction total in {out}")
    return int(m.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="wss,wss-cpp,wss-pull")
    ap.add_argument("--sizes", default="64,16384")
    ap.add_argument("--low", type=int, default=2000)
    ap.add_argument("--high", type=int, default=6000)
    ap.add_argument("--quick", action="store_true",
                    help="the test command's gate: 200 vs 600 messages (both sizes unless --sizes)")
    ap.add_argument("--out", default=str(run.ROOT / "bench-results"))
    ap.add_argument("--max-ratio", type=float, default=None,
                    help="exit 2 when a server's ratio to the first exceeds this (counts are "
                         "deterministic, so this is a bound, not a timing)")
    a = ap.parse_args()
    if a.quick:  # 64 B: the per-message cost (~10 s on 2 cores); 16 KiB: the per-byte path (~30 s)
        a.low, a.high = 200, 600
    names = [n for n in a.servers.split(",") if n]
    sizes = [int(s) for s in a.sizes.split(",") if s]
    if a.high <= a.low:
        ap.error("--high must be larger than --low")
    known = {s["name"] for s in run.SERVERS if not run.is_floor(s)}
    for n in names:
        if n not in known:
            ap.error(f"unknown server {n!r} (ours and peers: {', '.join(sorted(known))})")
    # Always built (a no-op when up to date): a stale loadgen may lack options the rows pass.
    ok, out = run.run_shell("cargo build --release --quiet --manifest-path benches/loadgen/Cargo.toml", run.ROOT)
    if not ok:
        print(out, file=sys.stderr)
        return 1
    specs = run.build_servers(names)
    if [s["name"] for s in specs] != [n for n in [s["name"] for s in run.SERVERS] if n in names]:
        print("some servers did not build (see above)", file=sys.stderr)
        return 1
    specs.sort(key=lambda s: names.index(s["name"]))
    rows = []
    with tempfile.TemporaryDirectory(prefix="wss-instr-") as tmp:
        work = Path(tmp)
        cert, key = run.make_cert(work)
        for spec in specs:
            for size in sizes:
                lo = instructions(spec, cert, key, size, a.low, work)
                hi = instructions(spec, cert, key, size, a.high, work)
                per = (hi - lo) / (a.high - a.low)
                rows.append({"server": spec["name"], "size": size, "low": a.low, "high": a.high,
                             "ir_low": lo, "ir_high": hi, "ir_per_msg": per})
                run.log(f"[instr] {spec['name']} {size} B: {per:,.0f} instructions per echo")
    ref = {r["size"]: r["ir_per_msg"] for r in rows if r["server"] == names[0]}
    for r in rows:
        r["ratio"] = r["ir_per_msg"] / ref[r["size"]] if ref.get(r["size"]) else None
    print(f"\nserver instructions per echoed message (callgrind, 1 connection, "
          f"{a.high} minus {a.low} messages); ratio to {names[0]}")
    print(f"{'server':<12}{'size':>8}{'instructions':>16}{'ratio':>9}")
    for r in rows:
        print(f"{r['server']:<12}{r['size']:>8}{r['ir_per_msg']:>16,.0f}{r['ratio']:>9.4f}")
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "instructions.json").write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    over = [r for r in rows if a.max_ratio and r["ratio"] and r["ratio"] > a.max_ratio]
    for r in over:
        print(f"{r['server']} at {r['size']} B: {r['ratio']:.4f}x {names[0]}, over {a.max_ratio}x",
              file=sys.stderr)
    return 2 if over else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
