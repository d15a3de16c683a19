// One client floods, another chats: the flood is held back (`rate_limited`), the other
// client is never refused, its acks stay fast and its messages are all stored once.
// Driven by the official `socket.io-client` against a running `parley` server.
//
// Usage: node tests/js/flood.mjs http://127.0.0.1:PORT flood | bystander P99_LIMIT_MS
// The two run as separate processes at the same time, so that the flood's own work in
// its client cannot delay the bystander's acks. Prints `ok <scenario>: <figures>` or
// `FAIL <scenario>: reason`.

import { io } from 'socket.io-client';
import {
  WAIT_MS, check, connected, emitWithAck, randomName, show, sleep, runScenarioFromArgv,
} from './lib.mjs';

const USAGE = 'node flood.mjs http://127.0.0.1:PORT flood | bystander P99_LIMIT_MS';
const FLOOD_SENDS = 20000; // sent by one socket within half a second
const FLOOD_SPREAD_MS = 500;
// The bystander sends while the flood is served: 100 messages, one every 20 ms (its
// burst allows that), so the 99th percentile is not just the slowest one.
const CHAT_SENDS = 100;
const CHAT_GAP_MS = 20;

let baseUrl;
const openSockets = [];

async function client(transport) {
  const socket = io(baseUrl, {
    forceNew: true,
    reconnection: false,
    timeout: WAIT_MS,
    transports: [transport],
  });
  openSockets.push(socket);
  await connected(socket, baseUrl);
  return socket;
}

function percentile(sorted, fraction) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

// Sends the flood in slices spread over FLOOD_SPREAD_MS and tallies the answers.
async function flood(socket, room) {
  const tally = { ok: 0, rate_limited: 0, other: [], disconnected: null };
  socket.on('disconnect', (reason) => { tally.disconnected = reason; });
  const slices = 10;
  for (let slice = 0; slice < slices && socket.connected; slice++) {
    for (let i = 0; i < FLOOD_SENDS / slices; i++) {
      const n = slice * (FLOOD_SENDS / slices) + i;
      socket.emit('send_message', { room, sender: 'flooder', text: `flood ${n}` }, (reply) => {
        if (reply?.ok) tally.ok++;
        else if (reply?.error?.code === 'rate_limited') tally.rate_limited++;
        else tally.other.push(reply);
      });
    }
    await sleep(FLOOD_SPREAD_MS / slices);
  }
  return tally;
}

// Sends CHAT_SENDS messages one at a time, timing each ack.
async function chat(socket, room) {
  const latencies = [];
  const texts = [];
  for (let n = 0; n < CHAT_SENDS; n++) {
    const text = `chat ${n}`;
    const started = performance.now();
    const [reply] = await emitWithAck(socket, 'send_message', { room, sender: 'bystander', text, client_id: `c-${n}` });
    latencies.push(performance.now() - started);
    check(reply?.ok === true, `the bystander's message ${n} was refused: ${show(reply)}`);
    texts.push(text);
    await sleep(CHAT_GAP_MS);
  }
  return { latencies, texts };
}

// The flooder alone: it must be held back, never answered with anything but ok or
// rate_limited.
async function scenarioFlood() {
  const flooder = await client('websocket');
  const tally = await flood(flooder, randomName('flood'));
  // Let the last answers arrive.
  await sleep(500);
  check(tally.rate_limited > 0, `the flood was never refused: ${show(tally)}`);
  check(tally.other.length === 0, `the flood got answers other than ok or rate_limited: ${show(tally.other.slice(0, 3))}`);
  return `ok=${tally.ok} rate_limited=${tally.rate_limited} disconnected=${tally.disconnected ?? 'no'}`;
}

// The bystander, chatting in its own process while the flood runs: never refused, fast
// acks, every message stored once.
async function scenarioBystander(p99LimitArg) {
  const p99Limit = Number(p99LimitArg);
  check(p99Limit > 0, `usage: bystander P99_LIMIT_MS, got ${show(p99LimitArg)}`);
  const room = randomName('quiet');
  const bystander = await client('websocket');
  const [joined] = await emitWithAck(bystander, 'join', { room });
  check(joined?.ok === true, `join: ${show(joined)}`);
  const chatted = await chat(bystander, room);
  const sorted = [...chatted.latencies].sort((a, b) => a - b);
  const p50 = percentile(sorted, 0.5);
  const p99 = percentile(sorted, 0.99);
  check(p99 <= p99Limit, `the bystander's p99 ack took ${p99.toFixed(1)} ms (limit ${p99Limit})`);
  const [history] = await emitWithAck(bystander, 'history', { room, limit: 200 });
  check(history?.ok === true, `history: ${show(history)}`);
  const stored = history.messages.map((m) => m.text);
  check(show(stored) === show(chatted.texts), `the room holds ${show(stored)}, expected ${show(chatted.texts)}`);
  return `${CHAT_SENDS} sent, all stored once, ack p50=${p50.toFixed(1)} ms p99=${p99.toFixed(1)} ms`;
}

runScenarioFromArgv({
  usage: USAGE,
  scenarios: { flood: scenarioFlood, bystander: scenarioBystander },
  limitMs: 60000,
  openSockets,
  setBaseUrl: (url) => { baseUrl = url; },
});
