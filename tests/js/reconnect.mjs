// Reconnection and back-pressure scenarios (README "Tests"), driven by
// tests/reliability.rs and tests/malformed_input.rs.
//
// Usage: node tests/js/reconnect.mjs http://127.0.0.1:PORT <scenario> [args...]
//   catch-up                       a client cut off while 50 messages are sent catches up
//                                  from its last id: everything once, in order
//   slow-consumer PID              a raw WebSocket that stops reading while the room is
//                                  flooded is disconnected, not skipped; RSS of PID printed
//   chatter ROOM                   well-behaved official clients chat in ROOM every 50 ms,
//                                  print `ready` after the first message, and stop when a
//                                  line or the end arrives on stdin; nothing lost, doubled
//                                  or foreign
// Exit 0 printing `ok <scenario>` (and `figures …` lines), or 1 with the reason.

import { readFileSync } from 'node:fs';
import WebSocket from 'ws'; // engine.io-client's own dependency
import { io } from 'socket.io-client';
import {
  QUIET_MS, WAIT_MS, check, connected, emitWithAck, fail, nextEvent,
  randomName, show, sleep, waitUntil, within,
  runScenarioFromArgv,
} from './lib.mjs';

const USAGE = 'node reconnect.mjs http://127.0.0.1:PORT <scenario> [args...]';
let baseUrl;
const openSockets = [];

function client(options = {}) {
  const socket = io(baseUrl, { forceNew: true, reconnection: false, timeout: WAIT_MS, ...options });
  openSockets.push(socket);
  return socket;
}

async function connectedClient(options) {
  const socket = client(options);
  await connected(socket, baseUrl);
  return socket;
}

async function ok(socket, event, payload) {
  const [reply] = await emitWithAck(socket, event, payload);
  check(reply?.ok === true, `'${event}' ${show(payload)}: ${show(reply)}`);
  return reply;
}

async function post(room, body) {
  const response = await fetch(`${baseUrl}/api/rooms/${encodeURIComponent(room)}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(WAIT_MS * 2),
  });
  const json = await response.json();
  check(response.status === 201, `POST: ${response.status} ${show(json)}`);
  return json.message;
}

async function httpAll(room) {
  const all = [];
  let after = 0;
  for (let page = 0; page < 1000; page++) {
    const url = `${baseUrl}/api/rooms/${encodeURIComponent(room)}/messages?after=${after}&limit=200`;
    const response = await fetch(url, { signal: AbortSignal.timeout(WAIT_MS) });
    check(response.status === 200, `GET ${url}: ${response.status}`);
    const { messages } = await response.json();
    if (messages.length === 0) return all;
    all.push(...messages);
    after = messages[messages.length - 1].id;
  }
  fail(`history of ${room} did not end`);
}

const ids = (messages) => messages.map((m) => m.id);
const byId = (a, b) => a.id - b.id;

function checkSameIds(actual, expected, what) {
  const [a, e] = [ids(actual), ids(expected)];
  const firstDiff = a.findIndex((id, i) => id !== e[i]);
  check(
    a.length === e.length && firstDiff === -1,
    `${what}: expected ${e.length} ids, got ${a.length}; first difference at ${firstDiff}: ${show(a.slice(Math.max(0, firstDiff - 2), firstDiff + 3))} vs ${show(e.slice(Math.max(0, firstDiff - 2), firstDiff + 3))}`,
  );
}

// ---------------------------------------------------------------- catch-up

// The view a chat page keeps: messages in id order, each once. Live messages that
// arrive while it is catching up are held back and merged after the history pages.
class RoomView {
  constructor(room) {
    this.room = room;
    this.messages = [];
    this.lastId = 0;
    this.liveCount = new Map(); // id → times delivered live
    this.held = null; // live messages received during a catch-up
  }

  onLive(m) {
    check(m.room === this.room, `message of another room: ${show(m)}`);
    this.liveCount.set(m.id, (this.liveCount.get(m.id) ?? 0) + 1);
    if (this.held) this.held.push(m);
    else this.append(m);
  }

  append(m) {
    if (m.id <= this.lastId) return false; // already shown
    this.messages.push(m);
    this.lastId = m.id;
    return true;
  }

  // Rejoins and pages `history` after the last id; returns {pages, fromHistory}.
  async catchUp(socket) {
    this.held = [];
    await ok(socket, 'join', { room: this.room });
    let pages = 0;
    let fromHistory = 0;
    for (;;) {
      const { messages } = await ok(socket, 'history', { room: this.room, after: this.lastId, limit: 20 });
      check(messages.every((m, i) => i === 0 || m.id > messages[i - 1].id), `history page out of order: ${show(ids(messages))}`);
      if (messages.length === 0) break;
      pages++;
      for (const m of messages) if (this.append(m)) fromHistory++;
      check(pages < 100, 'history did not end');
    }
    const held = this.held;
    this.held = null;
    for (const m of held.sort(byId)) this.append(m);
    return { pages, fromHistory, heldLive: held.length };
  }

  duplicatesDelivered() {
    return [...this.liveCount.values()].filter((n) => n > 1).length;
  }
}

async function catchUpOnce(name, transports, cut) {
  const room = randomName('away');
  const sender = await connectedClient({ transports: ['websocket'] });
  await ok(sender, 'join', { room });
  const auto = cut === 'destroy';
  const reader = client({
    ...(transports ? { transports } : {}),
    // The destroyed-TCP variant reconnects by itself, as a page does after a
    // network drop; the other is reconnected by hand once the 50 are sent.
    ...(auto ? { reconnection: true, reconnectionDelay: 700, reconnectionDelayMax: 700, randomizationFactor: 0 } : {}),
  });
  const view = new RoomView(room);
  reader.on('message', (m) => view.onLive(m));
  await connected(reader, baseUrl);
  await view.catchUp(reader);
  if (!transports) await waitUntil(() => reader.io.engine?.transport?.name === 'websocket', 'the upgrade to websocket');

  const sent = [];
  for (let i = 0; i < 5; i++) sent.push((await ok(sender, 'send_message', { room, sender: 'tx', text: `before ${i}` })).message);
  await waitUntil(() => view.messages.length === 5, 'the first 5 messages live');

  const down = nextEvent(reader, 'disconnect');
  if (cut === 'close') reader.io.engine.close();
  else reader.io.engine.transport.ws._socket.destroy(); // the network drops
  const [reason] = await down;
  const back = auto ? nextEvent(reader, 'connect', WAIT_MS * 2) : null;

  // 50 while away: half over the socket, half over HTTP, concurrently.
  const away = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2
    ? post(room, { sender: 'web', text: `away ${i}` })
    : ok(sender, 'send_message', { room, sender: 'tx', text: `away ${i}` }).then((r) => r.message))));
  sent.push(...away.sort(byId));

  if (!auto) reader.connect();
  await (back ?? connected(reader, baseUrl));
  const missedAtReconnect = sent.filter((m) => m.id > view.lastId).length;
  // 10 more while it catches up: these come live, held back and merged.
  const during = Promise.all(Array.from({ length: 10 }, (_, i) => ok(sender, 'send_message', { room, sender: 'tx', text: `during ${i}` })));
  const caught = await view.catchUp(reader);
  sent.push(...(await during).map((r) => r.message).sort(byId));

  await waitUntil(() => view.lastId >= sent[sent.length - 1].id, 'the messages sent during the catch-up');
  await sleep(QUIET_MS);
  checkSameIds(view.messages, sent, `${name}: the reader's view`);
  check(view.duplicatesDelivered() === 0, `${name}: a message was delivered live twice`);
  checkSameIds(await httpAll(room), sent, `${name}: stored history`);
  for (const m of view.messages) {
    const want = sent.find((s) => s.id === m.id);
    check(m.text === want.text && m.sender === want.sender && m.ts === want.ts, `${name}: ${show(m)} differs from ${show(want)}`);
  }
  console.log(`figures catch-up ${name}: disconnect "${reason}", ${missedAtReconnect} missed while away, ` +
    `${caught.fromHistory} from history in ${caught.pages} pages, ${caught.heldLive} live during catch-up, ` +
    `${view.messages.length}/${sent.length} in the view, 0 duplicates`);
  reader.disconnect();
  sender.disconnect();
}

async function catchUp() {
  await catchUpOnce('websocket, engine closed', ['websocket'], 'close');
  await catchUpOnce('polling, engine closed', ['polling'], 'close');
  await catchUpOnce('websocket, TCP destroyed, auto-reconnect', ['websocket'], 'destroy');
  await catchUpOnce('upgraded, TCP destroyed, auto-reconnect', undefined, 'destroy');
}

// ---------------------------------------------------------------- slow consumer

function rssKb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
}

async function metric(name) {
  const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(WAIT_MS) });
  const text = await response.text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  check(line, `metric ${name} missing`);
  return Number(line.split(' ')[1]);
}

// The server side of a TCP connection in /proc/net/tcp: state (hex) and send queue.
function tcpEntry(serverPort, clientPort) {
  const hex = (port) => port.toString(16).toUpperCase().padStart(4, '0');
  const rows = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1);
  for (const row of rows) {
    const f = row.trim().split(/\s+/);
    if (f.length < 5) continue;
    if (f[1].endsWith(`:${hex(serverPort)}`) && f[2].endsWith(`:${hex(clientPort)}`)) {
      return { state: f[3], txQueue: parseInt(f[4].split(':')[0], 16) };
    }
  }
  return null;
}

// A raw Engine.IO/Socket.IO client over `ws`, to control reading exactly.
async function rawJoin(room) {
  const url = `${baseUrl.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`;
  const ws = new WebSocket(url);
  const inbox = [];
  let waiter = null;
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const text = data.toString();
    if (text === '2') ws.send('3');
    inbox.push(text);
    waiter?.();
  });
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('error', () => {});
  const next = async (predicate, what) => {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const index = inbox.findIndex(predicate);
      if (index >= 0) return inbox.splice(index, 1)[0];
      check(Date.now() < deadline, `raw client: timed out waiting for ${what}`);
      await within(new Promise((resolve) => { waiter = resolve; }), WAIT_MS, what).catch(() => {});
    }
  };
  await next((t) => t.startsWith('0{'), 'the open packet');
  ws.send('40');
  await next((t) => t.startsWith('40{'), 'the namespace connect');
  ws.send(`420["join",${JSON.stringify({ room })}]`);
  const ack = await next((t) => t.startsWith('430'), 'the join ack');
  check(JSON.parse(ack.slice(3))[0]?.ok === true, `raw join: ${ack}`);
  return { ws, inbox, closed };
}

async function slowConsumer(pidArg) {
  const pid = Number(pidArg);
  check(Number.isInteger(pid) && pid > 0, 'usage: slow-consumer PID');
  const serverPort = Number(new URL(baseUrl).port);
  const room = randomName('flood');
  const rss = { before: rssKb(pid), during: 0, after: 0 };
  const { ws, inbox, closed } = await rawJoin(room);
  const socketsBefore = await metric('parley_sockets');
  const clientPort = ws._socket.localPort;
  ws._socket.pause(); // stop reading: the kernel buffers fill, then the server's queue
  const pausedAt = Date.now();

  // Flood: 8 HTTP posters of the longest texts (the durable stream checked below),
  // and `typing` relayed from another raw client, which fills the queue faster than
  // durable writes can (every frame counts against the 8192 bound). Until the server
  // drops the consumer (seen in the metrics), then half a second more.
  const flooder = await rawJoin(room);
  const text = 'x'.repeat(3990);
  let posted = 0;
  let typed = 0;
  let droppedAt = 0;
  let stop = false;
  const poster = async (lane) => {
    while (!stop) {
      await post(room, { sender: `flood${lane}`, text: `${posted++} ${text}` });
    }
  };
  const typist = async () => {
    const frame = `42["typing",${JSON.stringify({ room, sender: 'f'.repeat(64), typing: true })}]`;
    while (!stop) {
      if (flooder.ws.bufferedAmount < 1 << 20) {
        for (let i = 0; i < 200; i++) flooder.ws.send(frame);
        typed += 200;
      }
      await sleep(2);
    }
  };
  const watcher = (async () => {
    const deadline = Date.now() + 55000;
    while (!stop) {
      rss.during = Math.max(rss.during, rssKb(pid));
      if (!droppedAt && (await metric('parley_sockets')) < socketsBefore + 1) droppedAt = Date.now();
      if (droppedAt && Date.now() - droppedAt > 500) stop = true;
      if (Date.now() > deadline) stop = true;
      await sleep(50);
    }
  })();
  await Promise.all([...Array.from({ length: 8 }, (_, i) => poster(i)), typist(), watcher]);
  check(droppedAt, `the paused consumer was never disconnected (${posted} messages posted in 60 s)`);
  const dropMs = droppedAt - pausedAt;
  check(dropMs < 55000, `the consumer was dropped after ${dropMs} ms: that is the heartbeat, not the queue bound`);

  // Does the server still hold the TCP connection of the consumer it dropped?
  await sleep(3000);
  const held = tcpEntry(serverPort, clientPort);
  const serverHeldTcp = held !== null && held.state === '01';

  // Reading again: the consumer gets a gap-free prefix of the flood, then the close.
  ws._socket.resume();
  const closeCode = await within(closed, 15000, 'the server to close the slow consumer');
  const received = inbox
    .filter((t) => t.startsWith('42["message"'))
    .map((t) => JSON.parse(t.slice(2))[1]);
  const engineClose = inbox.includes('1');
  const stored = await httpAll(room);
  check(stored.length === posted, `stored ${stored.length} of ${posted} acknowledged posts`);
  checkSameIds(received, stored.slice(0, received.length), 'the slow consumer received a prefix of the flood');
  check(received.length < stored.length, 'the slow consumer received everything: it was not slow');

  // A fresh client catches up from the last id the slow one saw.
  const fresh = await connectedClient({ transports: ['websocket'] });
  const view = new RoomView(room);
  view.lastId = received.length ? received[received.length - 1].id : 0;
  view.messages = [...received];
  fresh.on('message', (m) => view.onLive(m));
  const caught = await view.catchUp(fresh);
  checkSameIds(view.messages, stored, 'slow consumer + catch-up');
  fresh.disconnect();
  flooder.ws.close();

  await sleep(1500);
  rss.after = rssKb(pid);
  const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;
  console.log(`figures slow consumer: ${posted} messages of ~4 KB posted and ${typed} typing events relayed; dropped ${dropMs} ms after it stopped reading; ` +
    `it had received ${received.length} (a gap-free prefix), engine close packet ${engineClose ? 'seen' : 'not seen'}, ws close ${closeCode}; ` +
    `server still held its TCP connection 3 s after dropping it: ${serverHeldTcp}${held ? ` (send queue ${held.txQueue} B)` : ''}; ` +
    `catch-up ${caught.fromHistory} from history in ${caught.pages} pages; ` +
    `RSS before ${mb(rss.before)}, during ${mb(rss.during)}, after ${mb(rss.after)}`);
  check(rss.during - rss.before < 400 * 1024, `RSS grew by ${mb(rss.during - rss.before)} during the flood`);
  check(!serverHeldTcp, `the server dropped the slow consumer's session but kept its TCP connection open (send queue ${held?.txQueue} B): its writer task is stuck`);
}

// ---------------------------------------------------------------- chatter

// Well-behaved clients (WebSocket, polling, polling→upgrade) take turns sending a
// message every 50 ms and check each arrives once at every one of them, while another
// process attacks the server. Stdin tells it to stop; its end does too, so a chatter
// whose test process died stops instead of chatting on.
async function chatter(room) {
  check(room, 'usage: chatter ROOM');
  let stopped = false;
  const stop = () => { stopped = true; };
  process.stdin.on('data', stop);
  process.stdin.on('end', stop);
  const options = [{ transports: ['websocket'] }, { transports: ['polling'] }, {}];
  const clients = [];
  const problems = [];
  for (const [i, o] of options.entries()) {
    const socket = await connectedClient(o);
    const inbox = [];
    socket.on('message', (m) => inbox.push(m));
    socket.on('disconnect', (reason) => problems.push(`client ${i} disconnected: ${reason}`));
    socket.on('error', (e) => problems.push(`client ${i} got an error event: ${show(e)}`));
    await ok(socket, 'join', { room });
    clients.push({ socket, inbox });
  }
  const acked = [];
  const latencies = [];
  const deadline = Date.now() + 150000;
  for (let n = 0; !stopped; n++) {
    check(Date.now() < deadline, 'chatter: never told to stop');
    check(problems.length === 0, problems.join('; '));
    const { socket } = clients[n % clients.length];
    const started = Date.now();
    const { message } = await ok(socket, 'send_message', { room, sender: `chatter${n % clients.length}`, text: `tick ${n}`, client_id: `tick-${n}` });
    latencies.push(Date.now() - started);
    acked.push(message);
    if (n === 0) console.log('ready');
    await sleep(50);
  }
  await waitUntil(() => clients.every((c) => c.inbox.length >= acked.length), 'every tick at every chatter');
  await sleep(QUIET_MS);
  check(problems.length === 0, problems.join('; '));
  for (const [i, c] of clients.entries()) checkSameIds(c.inbox, acked, `chatter ${i} received`);
  checkSameIds(await httpAll(room), acked, 'the chat room history');
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
  console.log(`figures chatter: ${acked.length} messages, each received once by all ${clients.length} clients; ` +
    `ack latency p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${latencies[latencies.length - 1]} ms`);
}

// ---------------------------------------------------------------- runner

const SCENARIOS = { 'catch-up': catchUp, 'slow-consumer': slowConsumer, chatter };

runScenarioFromArgv({
  usage: USAGE,
  scenarios: SCENARIOS,
  limitMs: 170000,
  openSockets,
  setBaseUrl: (url) => { baseUrl = url; },
});
