// The client side of the crash test (tests/reliability.rs): durable sends
// with acks from several official clients into several rooms while the Rust test
// SIGKILLs the server at a random moment and restarts it on the same data dir/port.
//
// Usage: node tests/js/crash.mjs http://127.0.0.1:PORT <mode> JOURNAL ROUND
//   load   verify what the journal says was acknowledged before the last crash, retry
//          every unacknowledged message with its client_id, then send until the server
//          disappears; prints `loading` when the load starts
//   final  verify, retry, verify again: nothing acknowledged missing or doubled
// The journal (JSON) survives between runs: `acked` (client_id → the acked message),
// `pending` (client_id → the fields sent, never acknowledged), `rounds` (figures).
// Exit 0 printing `ok <mode> …` plus a `figures …` line, or 1 with the reason.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { io } from 'socket.io-client';
import { check, connected, describeError, fail, parseBaseUrl, show, within } from './lib.mjs';

const USAGE = 'node crash.mjs http://127.0.0.1:PORT load|final JOURNAL ROUND';
const SOCKETS = 4;
const ROOMS = ['crash-a', 'crash-b', 'crash:c.1'];
const WINDOW = 4; // sends in flight per socket: concurrent writers share flushes
const LOAD_MAX_MS = 15000; // the Rust side kills the server long before this
const RUN_MS = 40000; // the whole script
const ACK_MS = 10000;
// Socket transports: WebSocket only, polling only, and the default polling→upgrade.
const TRANSPORTS = [['websocket'], ['polling'], undefined, ['websocket']];

let baseUrl;
const sockets = [];

// The text a client_id is sent with: a stored message with another text is corrupt.
const textFor = (clientId) => `crash ✓ ${clientId} ${'·'.repeat(clientId.length % 7)} end`;

function loadJournal(file) {
  if (!existsSync(file)) return { acked: {}, pending: {}, rounds: [] };
  const journal = JSON.parse(readFileSync(file, 'utf8'));
  check(journal && typeof journal.acked === 'object' && typeof journal.pending === 'object', `bad journal ${file}`);
  return journal;
}

async function connect(index) {
  const transports = TRANSPORTS[index % TRANSPORTS.length];
  const socket = io(baseUrl, {
    forceNew: true,
    reconnection: false, // the server dies on purpose; a new run reconnects
    timeout: 5000,
    ...(transports ? { transports } : {}),
  });
  sockets.push(socket);
  await connected(socket, baseUrl);
  for (const room of ROOMS) {
    const [reply] = await emit(socket, 'join', { room });
    check(reply?.ok === true, `join ${room}: ${show(reply)}`);
  }
  return socket;
}

// Emits with an ack; resolves with the ack's arguments, or never if the server dies.
function emit(socket, event, payload) {
  return new Promise((resolve) => socket.emit(event, payload, (...reply) => resolve(reply)));
}

// Every message of a room, oldest first, paged over HTTP with `after`.
async function roomHistory(room) {
  const all = [];
  let after = 0;
  for (let page = 0; page < 10000; page++) {
    const url = `${baseUrl}/api/rooms/${encodeURIComponent(room)}/messages?after=${after}&limit=200`;
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    check(response.status === 200, `GET ${url}: ${response.status}`);
    const { messages } = await response.json();
    check(Array.isArray(messages), `GET ${url}: no messages array`);
    if (messages.length === 0) return all;
    all.push(...messages);
    after = messages[messages.length - 1].id;
  }
  fail(`history of ${room} did not end`);
}

// Checks every stored message of every room against the journal. Returns figures.
async function verify(journal) {
  let stored = 0;
  let duplicated = 0;
  const seen = new Map(); // client_id → stored message
  for (const room of ROOMS) {
    const messages = await roomHistory(room);
    stored += messages.length;
    const inRoom = new Set();
    let lastId = 0;
    for (const m of messages) {
      // Nothing half-written: every field present, typed and equal to what was sent.
      check(Number.isSafeInteger(m.id) && m.id > lastId, `${room}: ids not strictly increasing at ${show(m)} (previous ${lastId})`);
      lastId = m.id;
      check(m.room === room, `${room}: message of another room ${show(m)}`);
      check(typeof m.ts === 'number' && m.ts > 1.5e12, `${room}: bad ts ${show(m)}`);
      check(typeof m.client_id === 'string' && /^c\d+-\d+-\d+$/.test(m.client_id), `${room}: bad client_id ${show(m)}`);
      check(typeof m.sender === 'string' && /^crash-s\d+$/.test(m.sender), `${room}: bad sender ${show(m)}`);
      check(m.text === textFor(m.client_id), `${room}: text damaged: ${show(m)}`);
      const sent = journal.acked[m.client_id] ?? journal.pending[m.client_id];
      check(sent, `${room}: a message nobody sent: ${show(m)}`);
      check(sent.room === room && sent.sender === m.sender, `${room}: stored ${show(m)} but sent ${show(sent)}`);
      if (inRoom.has(m.client_id)) {
        duplicated++;
        continue;
      }
      inRoom.add(m.client_id);
      seen.set(m.client_id, m);
    }
  }
  let found = 0;
  let missing = 0;
  for (const [clientId, want] of Object.entries(journal.acked)) {
    const got = seen.get(clientId);
    if (!got) {
      missing++;
      console.error(`MISSING acknowledged message ${show(want)}`);
      continue;
    }
    for (const key of ['id', 'room', 'sender', 'text', 'ts', 'client_id']) {
      check(got[key] === want[key], `acknowledged message ${clientId} changed ${key}: stored ${show(got[key])}, acked ${show(want[key])}`);
    }
    found++;
  }
  const storedUnacked = Object.keys(journal.pending).filter((id) => seen.has(id));
  return { acked: Object.keys(journal.acked).length, found, missing, duplicated, stored, storedUnacked, seen };
}

// Retries every unacknowledged message with its client_id. One that was stored before
// the crash must come back as that same message, not a second copy.
async function retryPending(journal, socket, seen) {
  let recovered = 0;
  const entries = Object.entries(journal.pending);
  await Promise.all(entries.map(async ([clientId, fields]) => {
    const [reply] = await within(emit(socket, 'send_message', fields), ACK_MS, `ack of retry ${clientId}`);
    check(reply?.ok === true, `retry of ${clientId}: ${show(reply)}`);
    const m = reply.message;
    check(m.client_id === clientId && m.text === fields.text && m.room === fields.room, `retry of ${clientId} answered ${show(m)}`);
    const before = seen.get(clientId);
    if (before) {
      recovered++;
      check(m.id === before.id && m.ts === before.ts, `retry of stored ${clientId} made a new message ${show(m)}, first was ${show(before)}`);
    }
    journal.acked[clientId] = m;
    delete journal.pending[clientId];
  }));
  return { retried: entries.length, recovered };
}

// Sends from every socket, WINDOW at a time, until every socket has lost the server.
async function load(journal, round, socketsReady) {
  let sent = 0;
  let acked = 0;
  let refused = 0;
  const started = Date.now();
  console.log('loading');
  await Promise.all(socketsReady.map(async (socket, s) => {
    let n = 0;
    let alive = true;
    const gone = new Promise((resolve) => socket.once('disconnect', () => {
      alive = false;
      resolve();
    }));
    const lane = async () => {
      while (alive && Date.now() - started < LOAD_MAX_MS) {
        const clientId = `c${round}-${s}-${n++}`;
        const fields = { room: ROOMS[(s + n) % ROOMS.length], sender: `crash-s${s}`, text: textFor(clientId), client_id: clientId };
        journal.pending[clientId] = fields;
        sent++;
        const reply = await Promise.race([emit(socket, 'send_message', fields), gone.then(() => null)]);
        if (reply === null) return;
        if (reply[0]?.ok !== true) {
          refused++; // e.g. rate_limited: stays pending and is retried next run
          continue;
        }
        check(reply[0].message?.client_id === clientId, `ack of ${clientId}: ${show(reply[0])}`);
        journal.acked[clientId] = reply[0].message;
        delete journal.pending[clientId];
        acked++;
      }
    };
    await Promise.all(Array.from({ length: WINDOW }, lane));
  }));
  return { sent, acked, refused, ms: Date.now() - started };
}

async function main() {
  baseUrl = parseBaseUrl(process.argv[2], USAGE);
  const [mode, file, roundArg] = process.argv.slice(3);
  const round = Number(roundArg);
  check(['load', 'final'].includes(mode) && file && Number.isInteger(round), `usage: ${USAGE}`);
  const journal = loadJournal(file);

  const before = await verify(journal);
  const ready = [];
  for (let i = 0; i < SOCKETS; i++) ready.push(await connect(i));
  const retry = await retryPending(journal, ready[0], before.seen);
  const figures = {
    round,
    acked_before_crash: before.acked,
    found: before.found,
    missing: before.missing,
    duplicated: before.duplicated,
    stored_unacked: before.storedUnacked.length,
    retried: retry.retried,
    retried_were_stored: retry.recovered,
  };
  check(retry.recovered === before.storedUnacked.length, `retries found ${retry.recovered} stored, history showed ${before.storedUnacked.length}`);
  if (mode === 'load') {
    Object.assign(figures, await load(journal, round, ready));
  } else {
    const after = await verify(journal);
    check(after.missing === 0 && after.duplicated === 0 && after.found === after.acked, `final: ${show({ ...after, seen: undefined })}`);
    check(Object.keys(journal.pending).length === 0, 'final: messages still unacknowledged after the retry');
    Object.assign(figures, { final_acked: after.acked, final_found: after.found, final_stored: after.stored, final_duplicated: after.duplicated });
  }
  journal.rounds.push(figures);
  writeFileSync(file, JSON.stringify(journal));
  console.log(`figures ${JSON.stringify(figures)}`);
  check(before.missing === 0, `${before.missing} acknowledged message(s) lost in the crash before round ${round}`);
  check(before.duplicated === 0, `${before.duplicated} message(s) stored twice`);
  return `round ${round}`;
}

const timer = setTimeout(() => {
  console.error(`FAIL: timed out after ${RUN_MS} ms`);
  process.exit(1);
}, RUN_MS);
let code = 0;
try {
  const detail = await main();
  console.log(`ok ${detail}`);
} catch (err) {
  console.error(`FAIL: ${describeError(err)}`);
  code = 1;
} finally {
  clearTimeout(timer);
  for (const socket of sockets) socket.disconnect();
}
process.exit(code);
