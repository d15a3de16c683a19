// Helpers shared by the end-to-end scripts (protocol.mjs, chat.mjs, and the team
// scripts edits.mjs, rooms.mjs, search.mjs): bounded waits, assertions with readable
// messages, event recording, signed-in sockets and their acks. Every wait here has a
// timeout, so a script fails with a reason instead of hanging.

import { isDeepStrictEqual, inspect } from 'node:util';
import { io } from 'socket.io-client';

export const WAIT_MS = 5000; // upper bound for any single wait
export const QUIET_MS = 300; // how long "nothing (more) arrives" is observed

// An assertion that failed; its message is printed as the reason.
export class Failure extends Error {}

export function fail(message) {
  throw new Failure(message);
}

export function check(condition, message) {
  if (!condition) fail(message);
}

export function show(value) {
  return inspect(value, { depth: 6, breakLength: Infinity, maxStringLength: 80, maxArrayLength: 20 });
}

// Rejects with a message naming `what` when `promise` does not settle in `ms`.
export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Failure(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Resolves with the argument list of the next `event` on `emitter`.
export function nextEvent(emitter, event, ms = WAIT_MS) {
  return within(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), ms, `event '${event}'`);
}

// Resolves on `connect`; rejects with the server's reason on `connect_error`.
export function connected(socket, what) {
  const outcome = new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', (err) => reject(new Failure(`connect_error on ${what}: ${err?.message}`)));
  });
  return within(outcome, WAIT_MS, `connect to ${what}`);
}

// Emits with an ack and resolves with the ack's argument list.
export function emitWithAck(socket, event, ...args) {
  const acked = new Promise((resolve) => socket.emit(event, ...args, (...reply) => resolve(reply)));
  return within(acked, WAIT_MS, `ack of '${event}'`);
}

// Collects every `event` on `socket` so a test can later assert what did (not) arrive.
export function record(socket, event) {
  const seen = [];
  socket.on(event, (...args) => seen.push(args));
  return seen;
}

// Polls `predicate` every 10 ms for at most `ms`.
export async function waitUntil(predicate, what, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) fail(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

export function randomName(prefix) {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

// Binary can come back as Buffer, ArrayBuffer or a typed array depending on the
// transport; compare bytes, not containers.
function asBuffer(value) {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return null;
}

function normalize(value) {
  const bytes = asBuffer(value);
  if (bytes) return { $bytes: bytes.toString('hex') };
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}

// Deep equality where binary values compare by content.
export function assertSame(actual, expected, what) {
  if (!isDeepStrictEqual(normalize(actual), normalize(expected))) {
    fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

// Accepts only loopback targets: these scripts never talk to anything else.
export function parseBaseUrl(arg, usage) {
  const baseUrl = (arg || '').replace(/\/+$/, '');
  if (!/^https?:\/\/127\.0\.0\.1:\d+$/.test(baseUrl)) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  return baseUrl;
}

export function describeError(err) {
  return err instanceof Failure ? err.message : err?.stack || String(err);
}

// The command line shared by the scenario scripts: `<url> <scenario> [args...]`. Runs the
// scenario with an overall time limit, prints `ok <name>[: detail]` or `FAIL <name>:
// reason`, disconnects the sockets it opened and exits 0 or 1 (2 for a bad command line).
// `setBaseUrl` receives the parsed URL before the scenario starts.
export async function runScenarioFromArgv({ usage, scenarios, limitMs, openSockets, setBaseUrl }) {
  setBaseUrl(parseBaseUrl(process.argv[2], usage));
  const [name, ...args] = process.argv.slice(3);
  const scenario = scenarios[name];
  if (!scenario) {
    console.error(`usage: ${usage}\nscenarios: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
  const timer = setTimeout(() => {
    console.error(`FAIL ${name}: timed out after ${limitMs} ms`);
    process.exit(1);
  }, limitMs);
  let code = 0;
  try {
    const detail = await scenario(...args);
    console.log(`ok ${name}${detail ? `: ${detail}` : ''}`);
  } catch (err) {
    console.error(`FAIL ${name}: ${describeError(err)}`);
    code = 1;
  } finally {
    clearTimeout(timer);
    for (const socket of openSockets) socket.disconnect();
  }
  process.exit(code);
}

// ---------------------------------------------------------------- team scripts

// A socket named `user` on `baseUrl` (with API `token`, or none in open mode), added to
// `openSockets` for the end of the script, recording every event from the start in
// `socket.seen[event]`, so that a test can wait for one or assert that none came.
export async function recordingSocket(baseUrl, openSockets, user, token, options = {}) {
  const socket = io(baseUrl, {
    forceNew: true,
    reconnection: false,
    timeout: WAIT_MS,
    ...(token === undefined ? {} : { auth: { token } }),
    ...options,
  });
  openSockets.push(socket);
  socket.user = user;
  socket.seen = {};
  socket.onAny((event, payload) => {
    (socket.seen[event] ||= []).push(payload);
  });
  await connected(socket, user);
  return socket;
}

// A signed-in socket of `user`, whose token is in `tokens` ({username: API token}).
// PARLEY_TEST_TRANSPORT=websocket|polling restricts it to one transport (default:
// polling then upgrade).
export function signInAs(baseUrl, openSockets, tokens, user, options = {}) {
  check(tokens[user], `no token for ${user}`);
  const only = process.env.PARLEY_TEST_TRANSPORT;
  return recordingSocket(baseUrl, openSockets, user, tokens[user], {
    ...(only ? { transports: [only] } : {}),
    ...options,
  });
}

export const seen = (socket, event) => socket.seen[event] || [];

// Forgets the `event`s a socket got so far, so that an older one cannot satisfy a wait.
export function forget(socket, event) {
  socket.seen[event] = [];
}

// Sends `event` with an ack and returns the ack's single argument.
export async function call(socket, event, payload) {
  const reply = await emitWithAck(socket, event, payload);
  check(reply.length === 1, `'${event}' ack should carry one argument, got ${show(reply)}`);
  return reply[0];
}

export async function ok(socket, event, payload) {
  const reply = await call(socket, event, payload);
  check(reply?.ok === true, `${socket.user}: '${event}' ${show(payload)} should succeed, got ${show(reply)}`);
  return reply;
}

// Asserts `event` is refused with `code` and that the refusal carries nothing but the
// error: no messages, no room, none of the `secrets`.
export async function refused(socket, event, payload, code, secrets = []) {
  const reply = await call(socket, event, payload);
  const what = `${socket.user}: '${event}' ${show(payload)}`;
  check(reply?.ok === false && reply.error?.code === code, `${what} should be refused as ${code}, got ${show(reply)}`);
  assertSame(Object.keys(reply).sort(), ['error', 'ok'], `${what}: the refusal's fields`);
  const text = JSON.stringify(reply);
  for (const secret of secrets) check(!text.includes(secret), `${what}: the refusal leaks ${show(secret)}: ${text}`);
  return reply;
}

export async function send(socket, room, text) {
  return (await ok(socket, 'send_message', { room, text })).message;
}

// Sends `texts` to `room`, 32 at a time, and returns the messages in id order.
export async function sendMany(socket, room, texts) {
  const sent = [];
  for (let start = 0; start < texts.length; start += 32) {
    const batch = texts.slice(start, start + 32).map((text) => send(socket, room, text));
    sent.push(...await Promise.all(batch));
  }
  return sent.sort((a, b) => a.id - b.id);
}

export async function roomOf(socket, id) {
  return (await ok(socket, 'room', { room: id })).room;
}

// Waits for an `event` on `socket` matching `predicate` and returns its payload.
export async function waitFor(socket, event, predicate, what, ms = WAIT_MS) {
  let found;
  await waitUntil(() => {
    found = seen(socket, event).find(predicate);
    return found !== undefined;
  }, `${socket.user}: ${what}`, ms);
  return found;
}

// Asserts that, after a quiet moment, no `event` matching `predicate` reached `sockets`
// (one socket or a list).
export async function none(sockets, event, predicate, what) {
  await sleep(QUIET_MS);
  for (const socket of [sockets].flat()) {
    const found = seen(socket, event).filter(predicate);
    check(found.length === 0, `${socket.user} must not get ${what}, got ${show(found)}`);
  }
}

// A request to `baseUrl` with API `token` and a JSON `body`: the
// status, the body's text, and the body as JSON (null when it is not).
export async function apiWith(baseUrl, token, method, path, body) {
  const headers = { authorization: `Bearer ${token}`, origin: baseUrl };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* kept as text */ }
  return { status: response.status, text, json };
}

// The command line of the team scripts: `<url> <scenario> TOKENS [args...]`, TOKENS a
// JSON object {username: API token} handed to `setTokens` before the scenario starts
// (`open-mode` takes none); the rest as runScenarioFromArgv.
export function runTeamScenarioFromArgv({ scenarios, setTokens, ...rest }) {
  const withTokens = Object.fromEntries(Object.entries(scenarios).map(([name, run]) => [name, (json, ...args) => {
    if (name !== 'open-mode') setTokens(JSON.parse(json || '{}'));
    return run(...args);
  }]));
  return runScenarioFromArgv({ ...rest, scenarios: withTokens });
}
