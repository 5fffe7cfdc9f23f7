#!/usr/bin/env node
// Interop client for tests/interop.rs, built on Node `ws` (8.x, installed in ./node_modules).
//
//   node node_client.js --url wss://127.0.0.1:PORT/echo [--ca CA] [--cert C --key K]
//       [--deflate SPEC (deflate_opts.js)] [--big (adds 16 MiB)] [--fragments N]
//
// Sends text and binary messages of every size in SIZES, checks each echo byte for byte and its
// type, closes with 1000 "node done" and prints one JSON line (summary, or {"error": ...});
// exits 0 on success, 1 on failure.
'use strict';

const fs = require('fs');
const WebSocket = require('ws');
const { perMessageDeflate } = require('./deflate_opts');

const SIZES = [0, 125, 126, 65535, 65536, 1 << 20];
const TIMEOUT_MS = 30000;

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument ${argv[i]}`);
    const name = argv[i].slice(2);
    if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) args[name] = argv[++i];
    else args[name] = true; // a flag
  }
  if (!args.url) throw new Error('--url is required');
  return args;
}

function binaryPayload(n, seed) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

// Text of exactly n UTF-8 bytes with 1-, 2- and 3-byte characters (as tests/echo.rs).
function textPayload(n) {
  const pattern = ['a', '\u00e9', '\u20ac', 'z'];
  let out = '';
  let size = 0;
  for (let i = 0; size < n; i++) {
    let c = pattern[i % 4];
    let w = Buffer.byteLength(c);
    if (size + w > n) {
      c = 'x';
      w = 1;
    }
    out += c;
    size += w;
  }
  return out;
}

function finish(code, summary) {
  process.stdout.write(JSON.stringify(summary) + '\n', () => process.exit(code));
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const opts = {
    maxPayload: 64 << 20,
    handshakeTimeout: TIMEOUT_MS,
    perMessageDeflate: args.deflate ? perMessageDeflate(args.deflate) : false,
  };
  if (args.ca) opts.ca = fs.readFileSync(args.ca);
  if (args.cert) opts.cert = fs.readFileSync(args.cert);
  if (args.key) opts.key = fs.readFileSync(args.key);

  const summary = { mode: 'echo', ws: require('ws/package.json').version, echoed: 0, bytes: 0 };
  const timer = setTimeout(() => fail(new Error('timed out')), 2 * TIMEOUT_MS);
  let failed = false;
  function fail(err) {
    if (failed) return;
    failed = true;
    clearTimeout(timer);
    try {
      ws.terminate();
    } catch (_) {
      /* already gone */
    }
    finish(1, { mode: 'echo', error: String((err && err.stack) || err) });
  }

  // Expected echoes in order: [isBinary, payload as Buffer].
  const plan = [];
  const sizes = args.big ? SIZES.concat([16 << 20]) : SIZES;
  const fragments = Number(args.fragments || 1);
  sizes.forEach((n, i) => {
    plan.push([true, binaryPayload(n, i)]);
    plan.push([false, textPayload(n)]);
  });
  let step = 0;

  const ws = new WebSocket(args.url, opts);
  let answer = null;
  ws.on('upgrade', (res) => {
    answer = res.headers['sec-websocket-extensions'] || null;
  });
  ws.on('error', fail);
  ws.on('open', () => {
    if (ws._socket && typeof ws._socket.getProtocol === 'function') {
      summary.tls = ws._socket.getProtocol();
    }
    if (args.deflate) summary.extensions = answer;
    sendNext();
  });
  function sendNext() {
    if (step === plan.length) {
      ws.close(1000, 'node done');
      return;
    }
    const [isBinary, data] = plan[step];
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (fragments <= 1 || bytes.length < fragments || !isBinary) {
      ws.send(data, { binary: isBinary });
      return;
    }
    // Binary in `fragments` frames (text stays whole: a cut could split a character).
    const chunk = Math.ceil(bytes.length / fragments);
    for (let at = 0; at < bytes.length; at += chunk) {
      ws.send(bytes.subarray(at, at + chunk), { binary: true, fin: at + chunk >= bytes.length });
    }
  }
  ws.on('message', (data, isBinary) => {
    if (step >= plan.length) return fail(new Error('unexpected extra message'));
    const [wantBinary, want] = plan[step];
    const n = Buffer.byteLength(want);
    if (isBinary !== wantBinary) {
      return fail(new Error(`${wantBinary ? 'binary' : 'text'} echo of ${n} bytes came back with the other type`));
    }
    if (!Buffer.from(data).equals(Buffer.isBuffer(want) ? want : Buffer.from(want))) {
      return fail(new Error(`${wantBinary ? 'binary' : 'text'} echo of ${n} bytes differs (got ${data.length} bytes)`));
    }
    summary.echoed += 1;
    summary.bytes += n;
    step += 1;
    sendNext();
  });
  ws.on('close', (code, reason) => {
    if (failed) return;
    clearTimeout(timer);
    if (step !== plan.length) return fail(new Error(`closed early with ${code} after ${step} echoes`));
    summary.close_code = code;
    summary.close_reason = reason.toString();
    finish(0, summary);
  });
}

try {
  main();
} catch (err) {
  finish(1, { mode: 'echo', error: String(err) });
}
