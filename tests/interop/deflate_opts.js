// permessage-deflate settings for the Node peers from one --deflate SPEC: "on" (ws's defaults)
// or comma-separated RFC 7692 parameter names, the window bits with "=N"
// (e.g. "server_no_context_takeover,client_max_window_bits=10"). threshold 0: every message
// is compressed, so the smallest sizes are exercised too.
'use strict';

const NAMES = {
  server_no_context_takeover: 'serverNoContextTakeover',
  client_no_context_takeover: 'clientNoContextTakeover',
  server_max_window_bits: 'serverMaxWindowBits',
  client_max_window_bits: 'clientMaxWindowBits',
};

function perMessageDeflate(spec) {
  const opts = { threshold: 0 };
  for (const item of String(spec).split(',').filter(Boolean)) {
    if (item === 'on') continue;
    const [name, value] = item.split('=');
    if (!NAMES[name]) throw new Error(`unknown deflate parameter ${name}`);
    opts[NAMES[name]] = value === undefined ? true : Number(value);
  }
  return opts;
}

module.exports = { perMessageDeflate };
