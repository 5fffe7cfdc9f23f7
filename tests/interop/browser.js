#!/usr/bin/env node
// Browser interop for tests/browser.rs: Debian's headless Chromium (/usr/bin/chromium, driven by
// playwright-core from ./node_modules; no browser is downloaded) opens a page (served from
// 127.0.0.1 by a tiny HTTP server here: Chromium keeps pages of other origins, data: URLs
// included, from reaching loopback addresses) whose script
// connects to our server at --url, checks that permessage-deflate was negotiated
// (WebSocket.extensions), exchanges a text message, a binary message and a 1 MiB text message
// (each echo checked), and closes with 1000 "browser done".
//
//   node browser.js --url ws://127.0.0.1:PORT/echo
//
// Prints one JSON line (the page's summary, or {"error": ...}); exits 0 on success, 1 on failure.
'use strict';

const http = require('http');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.WSS_CHROMIUM || '/usr/bin/chromium';

// Runs in the page.
async function exchange(url) {
  const summary = { echoed: 0 };
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const queue = [];
  let waiting = null;
  ws.onmessage = (e) => {
    if (waiting) { const w = waiting; waiting = null; w(e.data); } else queue.push(e.data);
  };
  const next = () => new Promise((resolve, reject) => {
    if (queue.length) return resolve(queue.shift());
    waiting = resolve;
    setTimeout(() => reject(new Error('no echo within 30 s')), 30000);
  });
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error('the WebSocket failed to open'));
  });
  summary.extensions = ws.extensions;
  const text = 'hello from the browser, \u00e9\u20ac';
  ws.send(text);
  if ((await next()) !== text) throw new Error('text echo differs');
  summary.echoed++;
  const bin = new Uint8Array(4096).map((_, i) => (i * 31) & 0xff);
  ws.send(bin);
  const got = new Uint8Array(await next());
  if (got.length !== bin.length || got.some((b, i) => b !== bin[i])) throw new Error('binary echo differs');
  summary.echoed++;
  const big = 'abcdefghijklmnop'.repeat(65536); // 1 MiB
  ws.send(big);
  if ((await next()) !== big) throw new Error('1 MiB echo differs');
  summary.echoed++;
  const closed = new Promise((resolve) => { ws.onclose = (e) => resolve(e); });
  ws.close(1000, 'browser done');
  const e = await closed;
  summary.close_code = e.code;
  summary.close_reason = e.reason;
  summary.was_clean = e.wasClean;
  return summary;
}

async function main() {
  const i = process.argv.indexOf('--url');
  if (i < 0 || !process.argv[i + 1]) throw new Error('--url is required');
  const url = process.argv[i + 1];
  const page_server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>wss browser test</title>');
  });
  await new Promise((resolve) => page_server.listen(0, '127.0.0.1', resolve));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container: Chromium's own sandbox needs user namespaces it may not have.
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${page_server.address().port}/`);
    const summary = await page.evaluate(exchange, url);
    summary.browser = browser.version();
    console.log(JSON.stringify(summary));
  } finally {
    await browser.close();
    page_server.close();
  }
}

main().catch((e) => {
  console.log(JSON.stringify({ error: String(e && e.message ? e.message : e) }));
  process.exit(1);
});
