// Helpers shared by the end-to-end scripts (protocol.mjs, chat.mjs): bounded waits,
// assertions with readable messages, event recording. Every wait here has a timeout,
// so a script fails with a reason instead of hanging.

import { isDeepStrictEqual, inspect } from 'node:util';

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
