// Parley over HTTPS and WSS with the official `socket.io-client` (README, "HTTPS"), against
// a server started with --tls-self-signed.
//
// Usage: node tests/js/tls.mjs https://127.0.0.1:PORT <scenario> [args...]
//   insecure                 certificate checking off (rejectUnauthorized: false): clients on
//                            WebSocket, on polling and upgrading from polling exchange
//                            messages (open mode)
//   trusted CERT FINGERPRINT the generated certificate (PEM file CERT) as the only trusted CA,
//                            checking on: the server presents the certificate whose SHA-256
//                            fingerprint is FINGERPRINT, and the same exchange works
//   presented                the SHA-256 fingerprint of the certificate the server presents
//                            now (checking off), printed as the detail
//   refused ATTEMPTS         checking on with the usual CAs only: the handshake fails, and the
//                            client keeps retrying until it has failed ATTEMPTS times
//   accounts CERT TOKEN PASSWORD
//                            accounts mode, CERT trusted: `alice`'s API token connects over
//                            each transport, signing in over HTTPS gives a Secure session
//                            cookie that connects too, and a foreign Origin is still refused
// Prints `ok <scenario>[: detail]` or `FAIL <scenario>: reason`.

import { readFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { io } from 'socket.io-client';
import {
  WAIT_MS, check, connected, emitWithAck, nextEvent, randomName, runScenarioFromArgv, show, within,
} from './lib.mjs';

const USAGE = 'node tls.mjs https://127.0.0.1:PORT insecure|trusted|presented|refused|accounts [args...]';
const TRANSPORTS = [['websocket'], ['polling'], ['polling', 'websocket']];

let baseUrl;
const openSockets = [];

/** A client with these TLS options (and any others) that does not reconnect. */
function client(tlsOptions, options = {}) {
  const socket = io(baseUrl, { forceNew: true, reconnection: false, timeout: WAIT_MS, ...tlsOptions, ...options });
  openSockets.push(socket);
  return socket;
}

/** The transport a connected client ends up on, after an upgrade if it may make one. */
async function settledTransport(socket, transports) {
  const engine = socket.io.engine;
  if (transports.length > 1 && engine.transport.name !== 'websocket') {
    await within(new Promise((resolve) => engine.once('upgrade', resolve)), WAIT_MS, 'the upgrade to WebSocket');
  }
  return engine.transport.name;
}

/**
 * One client per way of connecting joins one room; each sends a message, and every client
 * receives every message once. Returns the transports they used.
 */
async function exchange(tlsOptions, extra = {}) {
  const room = randomName('tls');
  const clients = [];
  const used = [];
  for (const transports of TRANSPORTS) {
    const c = { transports, socket: client(tlsOptions, { transports, ...extra }) };
    clients.push(c);
    await connected(c.socket, `${baseUrl} over ${c.transports.join('+')}`);
    const [joined] = await emitWithAck(c.socket, 'join', { room });
    check(joined?.ok === true, `join over ${c.transports.join('+')}: ${show(joined)}`);
    c.received = [];
    c.socket.on('message', (m) => { if (m.room === room) c.received.push(m.text); });
    used.push(await settledTransport(c.socket, c.transports));
  }
  const sent = [];
  for (const [index, c] of clients.entries()) {
    const text = `over TLS #${index} ${c.transports.join('+')}`;
    const [reply] = await emitWithAck(c.socket, 'send_message', { room, text, sender: `tls-${index}` });
    check(reply?.ok === true, `send over ${c.transports.join('+')}: ${show(reply)}`);
    sent.push(text);
  }
  const everyone = () => clients.every((c) => sent.every((t) => c.received.filter((r) => r === t).length === 1));
  await within(new Promise((resolve) => {
    const poll = setInterval(() => { if (everyone()) { clearInterval(poll); resolve(); } }, 20);
  }), WAIT_MS, 'every message at every client');
  for (const c of clients) {
    check(c.received.length === sent.length, `${c.transports.join('+')} received ${show(c.received)}`);
    c.socket.disconnect();
  }
  return used;
}

/**
 * The SHA-256 fingerprint (`AB:CD:…`) of the certificate the server presents, checked
 * against `ca` (not checked without one).
 */
function presentedFingerprint(ca) {
  const { hostname, port } = new URL(baseUrl);
  const checking = ca ? { ca } : { rejectUnauthorized: false };
  return within(new Promise((resolve, reject) => {
    const socket = tls.connect({ host: hostname, port: Number(port), ...checking, ALPNProtocols: ['http/1.1'] }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      const alpn = socket.alpnProtocol;
      socket.end();
      resolve({ fingerprint, alpn });
    });
    socket.once('error', reject);
  }), WAIT_MS, 'a TLS handshake');
}

/** An HTTPS request with the certificate `ca` trusted; resolves with status, headers, body. */
function request(method, path, { ca, body, headers = {} }) {
  return within(new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(`${baseUrl}${path}`, {
      method,
      ca,
      headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.once('error', reject);
    req.end(payload);
  }), WAIT_MS, `${method} ${path}`);
}

async function scenarioInsecure() {
  const used = await exchange({ rejectUnauthorized: false });
  check(JSON.stringify(used) === JSON.stringify(['websocket', 'polling', 'websocket']), `transports used: ${show(used)}`);
  return `messages exchanged over ${used.join(', ')} with certificate checking off`;
}

async function scenarioTrusted(certFile, fingerprint) {
  const ca = readFileSync(certFile);
  const presented = await presentedFingerprint(ca);
  check(presented.fingerprint === fingerprint, `the server presented ${presented.fingerprint}, parley tls fingerprint says ${fingerprint}`);
  check(presented.alpn === 'http/1.1', `ALPN chose ${show(presented.alpn)}`);
  const used = await exchange({ ca });
  check(JSON.stringify(used) === JSON.stringify(['websocket', 'polling', 'websocket']), `transports used: ${show(used)}`);
  return `certificate ${fingerprint.slice(0, 11)}… verified; messages exchanged over ${used.join(', ')}`;
}

async function scenarioPresented() {
  return (await presentedFingerprint(null)).fingerprint;
}

async function scenarioRefused(attempts) {
  const wanted = Number(attempts);
  const socket = client({}, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200, randomizationFactor: 0 });
  const errors = [];
  await within(new Promise((resolve) => {
    socket.on('connect', () => resolve());
    socket.on('connect_error', (err) => {
      errors.push(String(err?.description?.message || err?.description || err?.message));
      if (errors.length >= wanted) resolve();
    });
  }), WAIT_MS * 3, `${wanted} failed attempts`);
  check(!socket.connected, 'connected although the certificate is trusted by nobody');
  socket.disconnect();
  return `${errors.length} attempts failed (${errors[0]})`;
}

async function scenarioAccounts(certFile, token, password) {
  const ca = readFileSync(certFile);
  const room = randomName('tls-acct');
  for (const transports of TRANSPORTS) {
    const socket = client({ ca }, { transports, auth: { token } });
    await connected(socket, `a token over ${transports.join('+')}`);
    const [joined] = await emitWithAck(socket, 'join', { room });
    check(joined?.ok === true, `join: ${show(joined)}`);
    const delivered = nextEvent(socket, 'message');
    const [reply] = await emitWithAck(socket, 'send_message', { room, text: `token ${transports.join('+')}` });
    check(reply?.ok === true && reply.message?.user === 'alice', `send: ${show(reply)}`);
    const [message] = await delivered;
    check(message.id === reply.message.id, `delivered ${show(message)}`);
    socket.disconnect();
  }

  const signIn = (origin) => request('POST', '/api/session', {
    ca, body: { username: 'alice', password }, headers: { origin },
  });
  const signedIn = await signIn(baseUrl);
  check(signedIn.status === 200, `sign-in answered ${signedIn.status}: ${signedIn.text}`);
  const setCookie = [].concat(signedIn.headers['set-cookie'] || []).join('\n');
  const flags = setCookie.split(';').map((part) => part.trim());
  for (const flag of ['HttpOnly', 'SameSite=Lax', 'Path=/', 'Secure']) {
    check(flags.includes(flag), `the session cookie lacks ${flag}: ${show(setCookie)}`);
  }
  const cookie = flags[0];
  for (const transports of TRANSPORTS) {
    const socket = client({ ca }, { transports, extraHeaders: { cookie } });
    await connected(socket, `the session cookie over ${transports.join('+')}`);
    const [joined] = await emitWithAck(socket, 'join', { room });
    check(joined?.ok === true, `join with the cookie: ${show(joined)}`);
    socket.disconnect();
  }
  const me = await request('GET', '/api/me', { ca, headers: { cookie } });
  check(me.status === 200 && JSON.parse(me.text).user?.username === 'alice', `GET /api/me: ${me.status} ${me.text}`);
  // The cross-origin rules are the same under TLS: another site may not sign in.
  const foreign = await signIn('https://elsewhere.example');
  check(foreign.status === 403, `a foreign Origin got ${foreign.status}: ${foreign.text}`);
  return 'token and Secure session cookie connect over WSS and HTTPS polling; a foreign Origin is refused';
}

runScenarioFromArgv({
  usage: USAGE,
  scenarios: { insecure: scenarioInsecure, trusted: scenarioTrusted, presented: scenarioPresented, refused: scenarioRefused, accounts: scenarioAccounts },
  limitMs: 60000,
  openSockets,
  setBaseUrl: (url) => { baseUrl = url; },
});
