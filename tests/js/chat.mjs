// End-to-end chat scenarios (README "Socket.IO events" and "HTTP API") driven by
// the official `socket.io-client` against a running `parley` server.
//
// Usage: node tests/js/chat.mjs http://127.0.0.1:PORT <scenario> [args...]
//   exchange | validation | idempotent | http | typing | history
//   send-acked COUNT ROOM FILE   send COUNT messages, write the acked ones to FILE (JSON)
//   verify-history ROOM FILE     assert every message of FILE is in ROOM's history once, in order
// PARLEY_TEST_TRANSPORT=websocket|polling restricts the client to one transport
// (default: polling then upgrade). Exit 0 printing `ok <scenario>`, or 1 with the reason.

import { readFileSync, writeFileSync } from 'node:fs';
import { io } from 'socket.io-client';
import {
  QUIET_MS, WAIT_MS, check, connected, emitWithAck, fail, nextEvent,
  randomName, record, show, sleep, waitUntil,
  runScenarioFromArgv,
} from './lib.mjs';

const USAGE = 'node chat.mjs http://127.0.0.1:PORT <scenario> [args...]';
const DEFAULT_LIMIT = 50; // join and history return this many by default (README)
const MAX_TEXT = 4000; // the default --max-text-chars (README "Running it")

let baseUrl;
const openSockets = [];

// ---------------------------------------------------------------- clients

// Connects a new, independent client (its own Engine.IO connection).
async function client() {
  const only = process.env.PARLEY_TEST_TRANSPORT;
  const socket = io(baseUrl, {
    forceNew: true,
    autoConnect: false,
    reconnection: false, // a drop is a failure here, not something to paper over
    timeout: WAIT_MS,
    ...(only ? { transports: [only] } : {}),
  });
  openSockets.push(socket);
  socket.connect();
  await connected(socket, baseUrl);
  return socket;
}

// Sends a chat event with an ack and returns the single ack payload.
async function request(socket, event, payload) {
  const reply = await emitWithAck(socket, event, payload);
  check(reply.length === 1, `'${event}' ack should carry one argument, got ${show(reply)}`);
  return reply[0];
}

async function expectOk(socket, event, payload) {
  const reply = await request(socket, event, payload);
  check(reply?.ok === true, `'${event}' ${show(payload)} should succeed, got ${show(reply)}`);
  return reply;
}

async function join(socket, room) {
  const reply = await expectOk(socket, 'join', { room });
  check(reply.room === room, `join ack room: ${show(reply.room)}`);
  check(Array.isArray(reply.messages), `join ack messages should be an array: ${show(reply)}`);
  return reply;
}

async function send(socket, fields) {
  const reply = await expectOk(socket, 'send_message', fields);
  checkMessage(reply.message, fields);
  return reply.message;
}

async function history(socket, query) {
  const reply = await expectOk(socket, 'history', query);
  check(Array.isArray(reply.messages), `history messages should be an array: ${show(reply)}`);
  return reply.messages;
}

// A stored message as the contract describes it, matching what was sent.
function checkMessage(message, sent) {
  check(message && typeof message === 'object', `message should be an object: ${show(message)}`);
  check(Number.isSafeInteger(message.id) && message.id > 0, `message.id should be a positive integer: ${show(message)}`);
  check(typeof message.ts === 'number' && message.ts > 0, `message.ts should be a positive number: ${show(message)}`);
  for (const key of ['room', 'sender', 'client_id']) {
    if (sent[key] !== undefined) {
      check(message[key] === sent[key], `message.${key}: expected ${show(sent[key])}, got ${show(message[key])}`);
    }
  }
  // The contract limits text "after trimming"; storing it trimmed or as sent are both fine.
  if (sent.text !== undefined) {
    check([sent.text, sent.text.trim()].includes(message.text), `message.text: expected ${show(sent.text)}, got ${show(message.text)}`);
  }
}

const ids = (messages) => messages.map((m) => m.id);

function checkIds(actual, expected, what) {
  const a = ids(actual);
  check(
    a.length === expected.length && a.every((id, i) => id === expected[i]),
    `${what}: expected ids ${show(expected)}, got ${show(a)}`,
  );
}

// ---------------------------------------------------------------- HTTP

async function http(method, path, body, { raw = false } = {}) {
  const init = { method, headers: {}, signal: AbortSignal.timeout(WAIT_MS) };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = raw ? body : JSON.stringify(body);
  }
  const response = await fetch(baseUrl + path, init);
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    fail(`${method} ${path}: body is not JSON (status ${response.status}): ${show(text)}`);
  }
  return { status: response.status, json };
}

const messagesPath = (room, query = '') => `/api/rooms/${encodeURIComponent(room)}/messages${query}`;

async function httpHistory(room, query = '') {
  const { status, json } = await http('GET', messagesPath(room, query));
  check(status === 200 && Array.isArray(json?.messages), `GET ${messagesPath(room, query)}: ${status} ${show(json)}`);
  return json.messages;
}

function checkHttpError(response, statuses, code, what) {
  check(
    statuses.includes(response.status) && response.json?.error?.code === code && typeof response.json.error.message === 'string',
    `${what}: expected ${statuses.join('/')} with error.code '${code}', got ${response.status} ${show(response.json)}`,
  );
}

// ---------------------------------------------------------------- scenarios

// Two clients in a room each see both messages exactly once; a third elsewhere sees none.
async function exchange() {
  const room = randomName('r');
  const [alice, bob, carol] = [await client(), await client(), await client()];
  const joined = await join(alice, room);
  check(joined.messages.length === 0, `a new room should have no messages: ${show(joined.messages)}`);
  await join(bob, room);
  await join(carol, randomName('r-other'));
  const inbox = { alice: record(alice, 'message'), bob: record(bob, 'message'), carol: record(carol, 'message') };

  const fromAlice = await send(alice, { room, sender: 'alice', text: 'hello from alice' });
  const fromBob = await send(bob, { room, sender: 'bob', text: 'hello from bob' });
  check(fromBob.id > fromAlice.id, `ids should increase: ${fromAlice.id} then ${fromBob.id}`);

  for (const name of ['alice', 'bob']) {
    await waitUntil(() => inbox[name].length >= 2, `2 messages at ${name}`);
  }
  await sleep(QUIET_MS); // let any duplicate arrive before counting
  for (const name of ['alice', 'bob']) {
    const got = inbox[name].map((args) => args[0]);
    check(got.length === 2, `${name} should receive 2 messages, got ${show(got)}`);
    checkMessage(got.find((m) => m.id === fromAlice.id) ?? fail(`${name} missed alice's message`), fromAlice);
    checkMessage(got.find((m) => m.id === fromBob.id) ?? fail(`${name} missed bob's message`), fromBob);
  }
  check(inbox.carol.length === 0, `carol (another room) received ${show(inbox.carol)}`);
}

// Each bad send_message: [what, payload or NO_PAYLOAD, expected code].
const NO_PAYLOAD = Symbol('no payload');

function badSends(room) {
  const ok = { room, sender: 'val', text: 'fine' };
  return [
    ['room empty', { ...ok, room: '' }, 'invalid'],
    ['room with a space', { ...ok, room: 'bad room' }, 'invalid'],
    ['room with a slash', { ...ok, room: 'bad/room' }, 'invalid'],
    ['room of 129 chars', { ...ok, room: 'r'.repeat(129) }, 'invalid'],
    ['sender empty', { ...ok, sender: '' }, 'invalid'],
    ['sender of 65 chars', { ...ok, sender: 's'.repeat(65) }, 'invalid'],
    ['sender with a control char', { ...ok, sender: 'bad\u0001name' }, 'invalid'],
    ['sender with a newline', { ...ok, sender: 'bad\nname' }, 'invalid'],
    ['text empty', { ...ok, text: '' }, 'invalid'],
    ['text whitespace only', { ...ok, text: ' \t\n  ' }, 'invalid'],
    ['text of 4001 chars', { ...ok, text: 't'.repeat(MAX_TEXT + 1) }, 'too_large'],
    ['payload a string', 'just text', 'invalid'],
    ['payload a number', 42, 'invalid'],
    ['payload an array', [room, 'val', 'fine'], 'invalid'],
    ['payload null', null, 'invalid'],
    ['no payload', NO_PAYLOAD, 'invalid'],
    ['room missing', { sender: 'val', text: 'fine' }, 'invalid'],
    ['sender missing', { room, text: 'fine' }, 'invalid'],
    ['text missing', { room, sender: 'val' }, 'invalid'],
    ['room a number', { ...ok, room: 5 }, 'invalid'],
    ['sender an object', { ...ok, sender: { name: 'x' } }, 'invalid'],
    ['text a number', { ...ok, text: 123 }, 'invalid'],
    ['text an array', { ...ok, text: ['a'] }, 'invalid'],
  ];
}

async function expectRejected(socket, event, payload, code, what) {
  const args = payload === NO_PAYLOAD ? [] : [payload];
  const reply = await emitWithAck(socket, event, ...args);
  const r = reply[0];
  check(
    reply.length === 1 && r?.ok === false && r.error?.code === code && typeof r.error.message === 'string' && r.error.message,
    `${event} (${what}): expected {ok:false, error:{code:'${code}', message}}, got ${show(reply)}`,
  );
}

// Every validation rule rejects with the right code; nothing is stored or broadcast
// and the socket stays usable.
async function validation() {
  const room = randomName('r');
  const [sender, watcher] = [await client(), await client()];
  await join(sender, room);
  await join(watcher, room);
  await send(sender, { room, sender: 'val', text: 'the one good message' });
  const before = await history(sender, { room });
  await sleep(QUIET_MS);
  const broadcasts = record(watcher, 'message');

  for (const [what, payload, code] of badSends(room)) {
    await expectRejected(sender, 'send_message', payload, code, what);
  }
  await expectRejected(sender, 'join', { room: 'bad room' }, 'invalid', 'join with a bad room');
  await expectRejected(sender, 'join', 'not an object', 'invalid', 'join with a string');
  await expectRejected(sender, 'history', { room: 'bad room' }, 'invalid', 'history with a bad room');
  await expectRejected(sender, 'history', [room], 'invalid', 'history with an array');

  // Without an ack the failure comes back as an `error` event to the sender alone.
  const errorEvent = nextEvent(sender, 'error');
  const watcherErrors = record(watcher, 'error');
  sender.emit('send_message', { room, sender: 'val', text: '   ' });
  const [err] = await errorEvent;
  check(
    err?.code === 'invalid' && err.event === 'send_message' && typeof err.message === 'string',
    `error event: expected {code:'invalid', message, event:'send_message'}, got ${show(err)}`,
  );

  // Boundary values are accepted (in a room of exactly 128 chars).
  const longRoom = `b-${'x'.repeat(126)}`;
  await join(sender, longRoom);
  await send(sender, { room: longRoom, sender: 's'.repeat(64), text: `  ${'t'.repeat(MAX_TEXT)}  ` });

  await sleep(QUIET_MS);
  check(broadcasts.length === 0, `watcher received broadcasts for rejected sends: ${show(broadcasts)}`);
  check(watcherErrors.length === 0, `watcher received the sender's error: ${show(watcherErrors)}`);
  checkIds(await history(sender, { room }), ids(before), 'history after rejected sends');
  check(sender.connected, 'sender was disconnected by bad input');
}

// The same client_id twice (and once more over HTTP) is stored and broadcast once.
async function idempotent() {
  const room = randomName('r');
  const [sender, watcher] = [await client(), await client()];
  await join(sender, room);
  await join(watcher, room);
  const inbox = record(watcher, 'message');
  const fields = { room, sender: 'idem', text: 'only once', client_id: randomName('cid') };

  const first = await send(sender, fields);
  const again = await send(sender, fields);
  check(again.id === first.id && again.ts === first.ts, `retry returned another message: ${show(first)} vs ${show(again)}`);
  const { status, json } = await http('POST', messagesPath(room), { text: fields.text, sender: fields.sender, client_id: fields.client_id });
  check([200, 201].includes(status) && json?.message?.id === first.id, `HTTP retry: ${status} ${show(json)}`);

  // A different sender with the same client_id is a different message.
  const other = await send(sender, { ...fields, sender: 'idem2' });
  check(other.id !== first.id, 'same client_id from another sender was deduplicated');

  await waitUntil(() => inbox.length >= 2, '2 broadcasts at the watcher');
  await sleep(QUIET_MS);
  checkIds(inbox.map((args) => args[0]), [first.id, other.id], 'broadcasts');
  checkIds(await history(sender, { room }), [first.id, other.id], 'history');
}

// HTTP POST reaches socket clients; GET after a cursor returns exactly the newer ones.
async function httpApi() {
  const room = randomName('r');
  const socket = await client();
  await join(socket, room);
  const inbox = record(socket, 'message');

  const posted = [];
  for (let i = 0; i < 4; i++) {
    const body = { text: `via http ${i}`, sender: 'web' };
    const { status, json } = await http('POST', messagesPath(room), body);
    check(status === 201, `POST: expected 201, got ${status} ${show(json)}`);
    checkMessage(json?.message, { ...body, room });
    posted.push(json.message);
  }
  await waitUntil(() => inbox.length >= posted.length, `${posted.length} broadcasts of HTTP posts`);
  checkIds(inbox.map((args) => args[0]), ids(posted), 'socket broadcasts of HTTP posts');

  checkIds(await httpHistory(room), ids(posted), 'GET all');
  checkIds(await httpHistory(room, `?after=${posted[0].id}`), ids(posted.slice(1)), 'GET after the first');
  checkIds(await httpHistory(room, `?after=${posted[3].id}`), [], 'GET after the newest');
  checkIds(await httpHistory(room, `?before=${posted[3].id}&limit=2`), ids(posted.slice(1, 3)), 'GET before the newest, limit 2');
  const socketView = await history(socket, { room });
  checkIds(socketView, ids(posted), 'socket history of HTTP posts');

  const bad = [
    ['bad JSON', '{"text": "x", "sender":', 'invalid'],
    ['JSON array', '[1, 2]', 'invalid'],
    ['text missing', JSON.stringify({ sender: 'web' }), 'invalid'],
    ['text a number', JSON.stringify({ sender: 'web', text: 5 }), 'invalid'],
    ['empty sender', JSON.stringify({ sender: '', text: 'x' }), 'invalid'],
  ];
  for (const [what, body, code] of bad) {
    checkHttpError(await http('POST', messagesPath(room), body, { raw: true }), [400], code, `POST ${what}`);
  }
  const tooLong = await http('POST', messagesPath(room), { sender: 'web', text: 't'.repeat(MAX_TEXT + 1) });
  checkHttpError(tooLong, [400, 413], 'too_large', 'POST text of 4001 chars');
  checkHttpError(await http('POST', messagesPath('bad room'), { sender: 'web', text: 'x' }), [400], 'invalid', 'POST to a bad room');

  await sleep(QUIET_MS);
  check(inbox.length === posted.length, `rejected posts were broadcast: ${show(inbox.slice(posted.length))}`);
  checkIds(await httpHistory(room), ids(posted), 'GET after rejected posts');
}

// typing goes to the others in the room, never back to the sender nor to other rooms,
// and is not stored.
async function typing() {
  const room = randomName('r');
  const [typist, peer1, peer2, outsider] = [await client(), await client(), await client(), await client()];
  for (const socket of [typist, peer1, peer2]) await join(socket, room);
  await join(outsider, randomName('r-other'));
  const seen = new Map([typist, peer1, peer2, outsider].map((s) => [s, record(s, 'typing')]));

  for (const state of [true, false]) {
    const event = { room, sender: 'typist', typing: state };
    const arrivals = [peer1, peer2].map((s) => nextEvent(s, 'typing'));
    typist.emit('typing', event);
    for (const [args] of await Promise.all(arrivals)) {
      check(args?.room === room && args.sender === 'typist' && args.typing === state, `typing relayed as ${show(args)}`);
    }
  }
  await sleep(QUIET_MS);
  check(seen.get(typist).length === 0, `the typist received its own typing: ${show(seen.get(typist))}`);
  check(seen.get(outsider).length === 0, `another room received typing: ${show(seen.get(outsider))}`);
  check(seen.get(peer1).length === 2, `peer should see 2 typing events, got ${show(seen.get(peer1))}`);
  checkIds(await history(typist, { room }), [], 'history after typing');
}

// 120 messages, then paging back with before/limit and forward with after.
async function historyPaging() {
  const room = randomName('r');
  const socket = await client();
  await join(socket, room);
  const sent = [];
  for (let i = 0; i < 120; i++) sent.push(await send(socket, { room, sender: 'pager', text: `message ${i}` }));
  const all = ids(sent);
  check(all.every((id, i) => i === 0 || id > all[i - 1]), 'acked ids are not increasing');

  const rejoin = await join(await client(), room);
  checkIds(rejoin.messages, all.slice(-DEFAULT_LIMIT), 'join returns the last 50, oldest first');
  checkIds(await history(socket, { room }), all.slice(-DEFAULT_LIMIT), 'history without cursor');
  checkIds(await history(socket, { room, limit: 7 }), all.slice(-7), 'history limit 7');
  checkIds(await history(socket, { room, limit: 1000 }), all, 'history limit above the cap');

  const back = await pageBackward(socket, room, 30);
  checkIds(back, all, 'paging back with before');
  check(back.every((m, i) => m.text === `message ${i}`), 'paged messages carry the wrong text');

  const forward = [];
  let cursor = all[0];
  for (let page = 0; page < 20; page++) {
    const messages = await history(socket, { room, after: cursor, limit: 25 });
    if (messages.length === 0) break;
    forward.push(...messages);
    cursor = messages[messages.length - 1].id;
  }
  checkIds(forward, all.slice(1), 'paging forward with after');
  checkIds(await history(socket, { room, after: all[9], before: all[15] }), all.slice(10, 15), 'after and before together');
  checkIds(await httpHistory(room, `?after=${all[99]}`), all.slice(100), 'HTTP GET after the 100th');
}

// Pages a room's whole history newest to oldest; returns it oldest first.
async function pageBackward(socket, room, limit, maxPages = 1000) {
  let page = await history(socket, { room, limit });
  const pages = [];
  for (let n = 0; page.length > 0; n++) {
    check(n < maxPages, `history of ${room} did not end within ${maxPages} pages`);
    checkOrdered(page, 'history page');
    pages.unshift(page);
    page = await history(socket, { room, before: page[0].id, limit });
  }
  return pages.flat();
}

function checkOrdered(messages, what) {
  check(messages.every((m, i) => i === 0 || m.id > messages[i - 1].id), `${what} is not oldest first: ${show(ids(messages))}`);
}

// Used around a server restart by a Rust test: send, and keep what was acknowledged.
async function sendAcked(countArg, room, file) {
  const count = Number(countArg);
  check(Number.isInteger(count) && count > 0 && count <= 100000 && room && file, 'usage: send-acked COUNT ROOM FILE');
  const socket = await client();
  await join(socket, room);
  const acked = [];
  const run = randomName('run');
  for (let i = 0; i < count; i++) {
    acked.push(await send(socket, { room, sender: 'persist', text: `${run} #${i}`, client_id: `${run}-${i}` }));
  }
  writeFileSync(file, JSON.stringify(acked, null, 1));
  return `sent ${acked.length}`;
}

// Every acknowledged message of FILE is in the room's history exactly once, in order,
// with the same content.
async function verifyHistory(room, file) {
  check(room && file, 'usage: verify-history ROOM FILE');
  const expected = JSON.parse(readFileSync(file, 'utf8'));
  check(Array.isArray(expected), `${file} does not hold a JSON array`);
  const socket = await client();
  await join(socket, room);
  const stored = await pageBackward(socket, room, 200, expected.length / 200 + 100);
  const byId = new Map();
  for (const m of stored) byId.set(m.id, (byId.get(m.id) ?? 0) + 1);
  let last = -1;
  for (const want of expected) {
    const index = stored.findIndex((m) => m.id === want.id);
    check(index >= 0, `acknowledged message missing after restart: ${show(want)}`);
    check(byId.get(want.id) === 1, `message ${want.id} appears ${byId.get(want.id)} times`);
    check(index > last, `message ${want.id} is out of order`);
    for (const key of ['room', 'sender', 'text', 'ts', 'client_id']) {
      check(stored[index][key] === want[key], `message ${want.id} changed ${key}: ${show(stored[index][key])} vs ${show(want[key])}`);
    }
    last = index;
  }
  return `verified ${expected.length} of ${stored.length} stored`;
}

// Run against a server started with `--rate-limit 5 --rate-burst 5
// --max-rooms-per-socket 2 --max-connections 3`: each limit answers with its code and
// the socket stays usable.
async function limits() {
  const [first, second] = [await client(), await client()];
  const rooms = [randomName('a'), randomName('b'), randomName('c')];
  await join(first, rooms[0]);
  await join(first, rooms[1]);
  await expectRejected(first, 'join', { room: rooms[2] }, 'too_large', 'a third room');
  await expectRejected(first, 'send_message', { room: rooms[2], sender: 'l', text: 'x' }, 'too_large', 'sending to a third room');
  // Four requests of the burst of five are spent; one more goes, then the limit bites.
  const replies = [];
  for (let i = 0; i < 8; i++) replies.push(await request(first, 'send_message', { room: rooms[0], sender: 'l', text: `burst ${i}` }));
  const limited = replies.filter((reply) => reply.ok === false);
  check(limited.length >= 4, `expected the burst to be cut off, got ${show(replies.map((r) => r.ok))}`);
  check(limited.every((reply) => reply.error?.code === 'rate_limited'), `rate limit code: ${show(limited[0])}`);
  // Another connection has its own bucket.
  await send(second, { room: rooms[0], sender: 'm', text: 'not limited' });
  // Three connections are open (two here plus none elsewhere): one more fits, then refusal.
  await client();
  const refused = io(baseUrl, { forceNew: true, reconnection: false, timeout: WAIT_MS, transports: ['polling'] });
  openSockets.push(refused);
  const [error] = await nextEvent(refused, 'connect_error');
  check(/503|full/i.test(String(error?.message) + String(error?.description)), `expected a refusal, got ${show(error)}`);
  // The limited socket recovers once tokens refill.
  await sleep(1200);
  await send(first, { room: rooms[0], sender: 'l', text: 'after the pause' });
  // A client that ignores the refusals and floods on is disconnected by the server.
  const gone = nextEvent(second, 'disconnect');
  for (let i = 0; i < 40; i++) second.emit('send_message', { room: rooms[0], sender: 'm', text: `flood ${i}` });
  const [reason] = await gone;
  check(reason === 'io server disconnect', `a flooding client should be disconnected by the server, got ${show(reason)}`);
  return `${limited.length} of 8 rate limited, flooder disconnected`;
}

const SCENARIOS = {
  exchange,
  limits,
  validation,
  idempotent,
  http: httpApi,
  typing,
  history: historyPaging,
  'send-acked': sendAcked,
  'verify-history': verifyHistory,
};

// ---------------------------------------------------------------- runner

const SCENARIO_MS = 60000; // a whole scenario, 120 sequential sends included

runScenarioFromArgv({
  usage: USAGE,
  scenarios: SCENARIOS,
  limitMs: SCENARIO_MS,
  openSockets,
  setBaseUrl: (url) => { baseUrl = url; },
});
