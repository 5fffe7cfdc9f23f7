#!/usr/bin/env node
// Interop echo server for tests/interop.rs, built on Node `ws` (8.x) over the http/https module.
//
//   node node_server.js --port 0 [--cert C --key K [--ca CA --require-client-cert]]
//
// Serves ws:// (no --cert) or wss:// on 127.0.0.1 and prints, one line each:
//   PORT <n>                       once listening
//   OPEN <path> <client CN or ->   when a WebSocket opens
//   EXT <extensions or ->          after OPEN, only with --deflate SPEC (deflate_opts.js)
//   CLOSE <code> <reason>          when it closes
// then exits 0 after the first WebSocket connection ends. Every message is echoed with its type.
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocketServer } = require('ws');
const { perMessageDeflate } = require('./deflate_opts');

const TIMEOUT_MS = 60000;

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    if (!argv[i].startsWith('--')) throw new Error(`unexpected argument ${argv[i]}`);
    const name = argv[i].slice(2);
    if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) args[name] = argv[++i];
    else args[name] = true; // a flag
  }
  return args;
}

function emit(line) {
  process.stdout.write(line + '\n');
}

const args = parseArgs(process.argv.slice(2));
let server;
if (args.cert) {
  const opts = { cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) };
  if (args['require-client-cert']) {
    opts.ca = fs.readFileSync(args.ca);
    opts.requestCert = true;
    opts.rejectUnauthorized = true;
  }
  server = https.createServer(opts);
} else {
  server = http.createServer();
}
server.on('request', (_req, res) => {
  res.writeHead(426);
  res.end('WebSocket only\n');
});

const wss = new WebSocketServer({
  server,
  maxPayload: 64 << 20,
  perMessageDeflate: args.deflate ? perMessageDeflate(args.deflate) : false,
});
// The Sec-WebSocket-Extensions answer sent to each request (ws exposes only the names later).
const answered = new WeakMap();
wss.on('headers', (headers, req) => {
  const ext = headers.find((h) => /^sec-websocket-extensions:/i.test(h));
  if (ext) answered.set(req, ext.slice(ext.indexOf(':') + 1).trim());
});
wss.on('connection', (ws, req) => {
  let cn = '-';
  if (typeof req.socket.getPeerCertificate === 'function') {
    const cert = req.socket.getPeerCertificate();
    if (cert && cert.subject && cert.subject.CN) cn = cert.subject.CN;
  }
  emit(`OPEN ${req.url} ${cn}`);
  if (args.deflate) emit(`EXT ${answered.get(req) || '-'}`);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', (err) => emit(`ERROR ${err.message}`));
  ws.on('close', (code, reason) => {
    process.stdout.write(`CLOSE ${code} ${reason.toString()}\n`, () => process.exit(0));
  });
});

setTimeout(() => {
  process.stdout.write('TIMEOUT no WebSocket connection finished\n', () => process.exit(2));
}, TIMEOUT_MS).unref();

server.listen(Number(args.port || 0), '127.0.0.1', () => emit(`PORT ${server.address().port}`));
