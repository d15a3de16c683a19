// End-to-end protocol scenarios driven by the official `socket.io-client` (v4).
//
// Target: the `protocol_conformance` example (`cargo run --release --example
// protocol_conformance -- --port P`; README "Protocol conformance"), which
// echoes `auth`, `message` → `message-back`, acks `message-with-ack`, asks the
// client for acks (`request-server-ack`), manages rooms (`join-room`, `to-room`) and
// disconnects on `disconnect-me`.
//
// Usage: node tests/js/protocol.mjs http://127.0.0.1:PORT
// Every scenario runs once per transport configuration (default = polling then upgrade,
// websocket only, polling only), printing `passed [CONFIG] NAME` when it passes. Exit 0
// with `ok N scenarios`, or exit 1 naming the scenario that failed and why.

import { io } from 'socket.io-client';
import {
  QUIET_MS, WAIT_MS, assertSame, check, connected, describeError, emitWithAck, fail, nextEvent,
  parseBaseUrl, randomName, record, show, sleep, waitUntil, within,
} from './lib.mjs';

const SCENARIO_MS = 20000; // upper bound for a whole scenario

// ---------------------------------------------------------------- connections

const CONFIGS = [
  { name: 'default', options: {}, expectUpgrade: true },
  { name: 'websocket', options: { transports: ['websocket'] }, expectUpgrade: false },
  { name: 'polling', options: { transports: ['polling'] }, expectUpgrade: false },
];

// One scenario's sockets: every socket opened through it is closed at the end, even
// when the scenario fails, so a failure never leaves the process hanging.
class Session {
  constructor(baseUrl, config) {
    this.baseUrl = baseUrl;
    this.config = config;
    this.sockets = [];
  }

  // Opens a socket on `nsp` and resolves once it is connected, the server's `auth`
  // echo has arrived and (for the default config) the upgrade to WebSocket is done.
  async connect(nsp = '/', { auth = { token: 'abc' }, waitUpgrade = true, extra = {} } = {}) {
    const socket = this.open(nsp, { auth, ...extra });
    // Listen before connecting: the server emits `auth` right after the CONNECT reply.
    const authEcho = nextEvent(socket, 'auth');
    socket.connect();
    await connected(socket, nsp);
    const [echoed] = await authEcho;
    assertSame(echoed, auth, `auth echo on ${nsp}`);
    if (waitUpgrade) await this.settleTransport(socket);
    return socket;
  }

  open(nsp, options) {
    const socket = io(this.baseUrl + nsp, {
      // A separate Manager (and so a separate Engine.IO connection) per socket, so
      // "three clients" are really three clients.
      forceNew: true,
      autoConnect: false,
      reconnectionDelay: 100,
      reconnectionDelayMax: 500,
      timeout: WAIT_MS,
      ...this.config.options,
      ...options,
    });
    this.sockets.push(socket);
    return socket;
  }

  // Default config: wait for the polling→websocket upgrade and assert it happened.
  // Other configs: assert the transport never changed.
  async settleTransport(socket) {
    const engine = socket.io.engine;
    if (this.config.expectUpgrade) {
      if (engine.transport.name !== 'websocket') await nextEvent(engine, 'upgrade');
      if (engine.transport.name !== 'websocket') fail(`upgrade event fired but transport is ${engine.transport.name}`);
    } else {
      const wanted = this.config.options.transports[0];
      if (engine.transport.name !== wanted) fail(`transport is ${engine.transport.name}, expected ${wanted}`);
    }
  }

  close() {
    for (const socket of this.sockets) socket.disconnect();
  }
}

// ---------------------------------------------------------------- scenarios

async function echoes(socket, args, what) {
  const back = nextEvent(socket, 'message-back');
  socket.emit('message', ...args);
  assertSame(await back, args, what);
}

const SCENARIOS = {
  // CONNECT with an auth payload on the main namespace; the server echoes it.
  'connect-auth': async (s) => {
    await s.connect('/', { auth: { token: 'abc' } });
  },

  // Same on a second namespace, with a richer auth object.
  'connect-auth-custom-namespace': async (s) => {
    await s.connect('/custom', { auth: { token: 'abc', user: { id: 7, tags: ['x', 'y'] } } });
  },

  // Plain EVENT round trips: strings, numbers, nested objects, several args, unicode,
  // and one big payload that exercises framing.
  'message-echo': async (s) => {
    const socket = await s.connect();
    await echoes(socket, ['hello'], 'single string');
    await echoes(socket, [1, 2.5, -3, 0], 'numbers');
    await echoes(socket, [{ a: 1, b: { c: [1, 'two', null, true] } }], 'nested object');
    await echoes(socket, ['mixed', 42, { k: 'v' }, [1, [2, [3]]], false, null], 'several args');
    await echoes(socket, ['héllo wörld — 你好 🎉', 'a\u001eb'], 'unicode and record separator');
    await echoes(socket, ['x'.repeat(200_000)], '200 kB string');
  },

  // BINARY_EVENT: binary top level, inside objects and arrays, several attachments.
  'message-binary': async (s) => {
    const socket = await s.connect();
    const bytes = Buffer.from([0, 1, 2, 3, 254, 255]);
    await echoes(socket, [bytes], 'top-level binary');
    await echoes(socket, [{ data: bytes, name: 'file' }], 'binary inside object');
    await echoes(socket, ['text', { nested: { list: [Buffer.from('ab'), 5] } }, Buffer.alloc(0)], 'several attachments');
    await echoes(socket, [Buffer.alloc(100_000, 7)], '100 kB binary');
  },

  // Works on /custom too (namespace prefix in every packet type).
  'message-echo-custom-namespace': async (s) => {
    const socket = await s.connect('/custom');
    await echoes(socket, ['on custom', { n: 1 }], 'custom namespace echo');
    await echoes(socket, [{ blob: Buffer.from('xyz') }], 'custom namespace binary');
  },

  // Client → server acks (ACK and BINARY_ACK).
  'ack-from-server': async (s) => {
    const socket = await s.connect();
    assertSame(await emitWithAck(socket, 'message-with-ack', 'a', 1, { b: [2] }), ['a', 1, { b: [2] }], 'ack args');
    const bytes = Buffer.from([9, 8, 7]);
    assertSame(await emitWithAck(socket, 'message-with-ack', bytes, { bin: bytes }), [bytes, { bin: bytes }], 'binary ack');
    // Several acks in flight at once must each get their own answer.
    const replies = await Promise.all([1, 2, 3, 4, 5].map((n) => emitWithAck(socket, 'message-with-ack', n)));
    assertSame(replies, [[1], [2], [3], [4], [5]], 'concurrent acks');
  },

  // Server → client acks: the server asks, we answer, it reports what it got.
  'ack-to-server': async (s) => {
    const socket = await s.connect();
    for (const [x, y] of [['question', { answer: 42 }], [Buffer.from('ask'), Buffer.from([1, 2, 3])]]) {
      const request = nextEvent(socket, 'server-ack-request');
      const result = nextEvent(socket, 'server-ack-result');
      socket.emit('request-server-ack', x);
      const args = await request;
      assertSame(args[0], x, 'server-ack-request payload');
      const ack = args[args.length - 1];
      if (typeof ack !== 'function') fail('server-ack-request carried no ack callback');
      ack(y);
      assertSame((await result)[0], y, 'server-ack-result');
    }
  },

  // Rooms: a message to room a reaches the other member of a only.
  rooms: async (s) => {
    const roomA = randomName('a');
    const roomB = randomName('b');
    const [sender, peer, outsider] = await Promise.all([s.connect(), s.connect(), s.connect()]);
    for (const [socket, room] of [[sender, roomA], [peer, roomA], [outsider, roomB]]) {
      assertSame(await emitWithAck(socket, 'join-room', room), [true], `join-room ${room}`);
    }
    const seenBySender = record(sender, 'room-message');
    const seenByOutsider = record(outsider, 'room-message');
    const delivered = nextEvent(peer, 'room-message');
    const data = { text: 'to a', bin: Buffer.from([1, 2]) };
    assertSame(await emitWithAck(sender, 'to-room', { room: roomA, data }), [true], 'to-room ack');
    assertSame((await delivered)[0], data, 'room-message at peer');
    await sleep(QUIET_MS);
    if (seenBySender.length) fail(`sender received its own room-message: ${show(seenBySender)}`);
    if (seenByOutsider.length) fail(`socket in another room received: ${show(seenByOutsider)}`);
  },

  // Unknown namespace → CONNECT_ERROR "Invalid namespace".
  'invalid-namespace': async (s) => {
    const socket = s.open('/random', { reconnection: false });
    const error = nextEvent(socket, 'connect_error');
    socket.connect();
    const [err] = await error;
    check(err?.message === 'Invalid namespace', `connect_error message: ${show(err?.message)}`);
    check(!socket.connected, 'socket reports connected to /random');
  },

  // Ordering across the upgrade: a burst sent right after connect (still on polling in
  // the default config) comes back complete and in order.
  'ordering-across-upgrade': async (s) => {
    const socket = await s.connect('/', { waitUpgrade: false });
    const count = 100;
    const seen = record(socket, 'message-back');
    for (let i = 0; i < count; i++) socket.emit('message', i);
    await waitUntil(() => seen.length >= count, `${count} message-back events`);
    assertSame(seen.map((args) => args[0]), [...Array(count).keys()], 'order of echoes');
    await s.settleTransport(socket);
  },

  // Reconnect: kill the transport under the client; it must come back by itself,
  // re-authenticate and work again.
  reconnect: async (s) => {
    const socket = await s.connect();
    await echoes(socket, ['before'], 'echo before reconnect');
    const disconnected = nextEvent(socket, 'disconnect');
    const reconnected = nextEvent(socket, 'connect');
    const authAgain = nextEvent(socket, 'auth');
    socket.io.engine.close();
    const [reason] = await disconnected;
    if (reason === 'io server disconnect' || reason === 'io client disconnect') fail(`unexpected disconnect reason ${reason}`);
    await reconnected;
    assertSame((await authAgain)[0], { token: 'abc' }, 'auth echo after reconnect');
    await s.settleTransport(socket);
    await echoes(socket, ['after', Buffer.from('ok')], 'echo after reconnect');
  },

  // The server ends the socket: reason 'io server disconnect', and no auto-reconnect.
  'server-disconnect': async (s) => {
    const socket = await s.connect();
    const disconnected = nextEvent(socket, 'disconnect');
    const reconnects = record(socket, 'connect');
    socket.emit('disconnect-me');
    const [reason] = await disconnected;
    if (reason !== 'io server disconnect') fail(`disconnect reason: ${show(reason)}`);
    await sleep(QUIET_MS);
    if (reconnects.length) fail('client reconnected after a server-side disconnect');
  },
};

// ---------------------------------------------------------------- runner

async function runOne(baseUrl, config, name, scenario) {
  const session = new Session(baseUrl, config);
  try {
    await within(scenario(session), SCENARIO_MS, 'the whole scenario');
  } finally {
    session.close();
  }
}

async function main() {
  const baseUrl = parseBaseUrl(process.argv[2], 'node protocol.mjs http://127.0.0.1:PORT');
  let passed = 0;
  for (const config of CONFIGS) {
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      try {
        await runOne(baseUrl, config, name, scenario);
        passed++;
        console.log(`passed [${config.name}] ${name}`);
      } catch (err) {
        console.error(`FAIL [${config.name}] ${name}: ${describeError(err)}`);
        console.error(`(${passed} scenarios passed before this one)`);
        process.exit(1);
      }
    }
  }
  console.log(`ok ${passed} scenarios`);
  // Sockets are closed, but a stray timer must not keep the process alive.
  process.exit(0);
}

main();
