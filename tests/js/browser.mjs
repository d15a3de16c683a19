// Parley's pages in a real browser (README, "The pages"): Debian Chromium driven by playwright-core.
// Every check is about what a person would see in the DOM: messages, their sender and
// state, the connection indicator, the typing line, the debug page's event log.
//
// Usage: node tests/js/browser.mjs <scenario> http://127.0.0.1:PORT [artifacts-dir]
//   two-users | websocket-blocked | http-fallback | server-restart | typing | xss | debug-page
//   official-clients (also runs tests/py/chat.py with $PARLEY_PYTHON)
// Exit 0 printing `ok <scenario>`, or 1 with the reason. Screenshots go to artifacts-dir
// when one is given.
//
// `server-restart` needs the server stopped and started again mid-conversation, which
// only the process that owns the server can do (tests/browser.rs). The two talk over
// this script's stdin/stdout, one line each:
//   script → READY_FOR_RESTART   acknowledged messages are on screen: stop the server
//   test   → STOPPED             the server is gone
//   script → READY_FOR_START     both pages noticed the outage
//   test   → STARTED <url>       the server is back, same address and data directory

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import { Failure, check, connected, fail, randomName, sleep, within } from './lib.mjs';
import {
  DESKTOP, STEP_MS, baseUrl, newUser, notes, runScenarios, say, screenshot, send, waitInPage, waitMessage, waitStatus,
} from './pages.mjs';

const USAGE = 'node browser.mjs <scenario> http://127.0.0.1:PORT [artifacts-dir]';
const PHONE = { width: 375, height: 740 };

// Upper bounds for waits beyond pages.mjs's STEP_MS. The page's own timings (chat.js) set
// the floors: HTTP polling every 3 s while the socket is down, reconnect backoff capped
// at 5 s (+50 % jitter), "stopped typing" after 3 s idle and remote typers forgotten
// after 5 s.
const DELIVERY_MS = 4500;    // the README's "every 3 s" of HTTP polling, plus slack
const RECONNECT_MS = 15000;  // a reconnect after an outage, through the backoff
const TYPING_GONE_MS = 8000; // idle timeout + expiry, plus slack
const SCENARIO_MS = 50000;   // the whole scenario: a hang becomes a failure, not a stuck test

// ---------------------------------------------------------------- pages

async function openChat(user, room) {
  await user.page.goto(`${baseUrl}/chat/${room}`, { timeout: STEP_MS });
}

/** The way a new user arrives: the lobby form, which also remembers the name. */
async function openChatFromLobby(user, name, room) {
  const { page } = user;
  await page.goto(`${baseUrl}/`, { timeout: STEP_MS });
  await page.fill('#name', name);
  await page.fill('#room', room);
  await page.click('#open-chat');
  await page.waitForURL(`${baseUrl}/chat/${room}`, { timeout: STEP_MS });
  user.name = name;
  user.label = name;
}

async function statusOf(user) {
  return user.page.evaluate(() => {
    const el = document.getElementById('connection-status');
    return { state: el.dataset.state, transport: el.dataset.transport || null };
  });
}

/** What a page shows, in order: id (null for an unconfirmed echo), sender, text. */
async function shownMessages(user) {
  return user.page.evaluate(() => Array.from(document.querySelectorAll('#messages li.msg'), (li) => ({
    id: li.dataset.id ? Number(li.dataset.id) : null,
    sender: li.dataset.sender,
    text: li.querySelector('.msg__bubble')?.textContent,
  })));
}

async function serverMessages(room) {
  const res = await fetch(`${baseUrl}/api/rooms/${room}/messages?limit=200`);
  check(res.ok, `GET messages of ${room}: HTTP ${res.status}`);
  const body = await res.json();
  check(Array.isArray(body.messages), `GET messages of ${room}: no messages array`);
  return body.messages;
}

/**
 * Every page shows exactly the room's stored history: same ids in the same order, each
 * once, no echo left unconfirmed. The last messages may still be on their way (HTTP
 * polling), so the comparison is retried for a while before it fails.
 */
async function assertInSync(viewers, room, ms = DELIVERY_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const stored = await serverMessages(room);
    const want = stored.map((m) => m.id);
    const mismatches = [];
    for (const user of viewers) {
      const shown = await shownMessages(user);
      const ids = shown.map((m) => m.id);
      if (JSON.stringify(ids) === JSON.stringify(want)) continue;
      const seen = new Set();
      const dupes = ids.filter((id) => id !== null && (seen.has(id) || !seen.add(id)));
      mismatches.push(`${user.label} shows ${ids.length} messages, the server has ${want.length}: ` +
        `missing ${JSON.stringify(want.filter((id) => !ids.includes(id)))}, ` +
        `duplicated ${JSON.stringify(dupes)}, unconfirmed ${ids.filter((id) => id === null).length}, ` +
        `unknown ${JSON.stringify(ids.filter((id) => id !== null && !want.includes(id)))}`);
    }
    if (mismatches.length === 0) return stored;
    if (Date.now() > deadline) fail(`pages disagree with the stored history:\n  ${mismatches.join('\n  ')}`);
    await sleep(200);
  }
}

/**
 * Puts `/socket.io/` behind a switch for one context: while `gate.polling` is set its
 * HTTP requests are aborted, while `gate.websocket` is set its WebSocket upgrades are
 * refused. page.route alone does not see WebSocket handshakes, hence routeWebSocket; a
 * refused WebSocket is opened by Playwright and closed at once, so the page only ever
 * sees a dead socket. The counters prove the page really tried and was stopped.
 */
async function gateSocketIo(context, gate) {
  gate.requestsBlocked = 0;
  gate.websocketBlocked = 0;
  const isSocketIo = (url) => url.pathname.startsWith('/socket.io/');
  await context.route(isSocketIo, (route) => {
    const websocketUpgrade = new URL(route.request().url()).searchParams.get('transport') === 'websocket';
    if (gate.polling || (gate.websocket && websocketUpgrade)) {
      gate.requestsBlocked += 1;
      return route.abort('connectionrefused');
    }
    return route.continue();
  });
  await context.routeWebSocket(isSocketIo, (ws) => {
    if (gate.websocket) {
      gate.websocketBlocked += 1;
      return ws.close({ code: 1011, reason: 'blocked by the test' });
    }
    ws.connectToServer();
  });
}

/** The server's gauge of open Engine.IO sessions on `transport`. */
async function openSessions(transport) {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const m = text.match(new RegExp(`^parley_connections\\{transport="${transport}"\\} (\\d+)`, 'm'));
  check(m, `/metrics has no parley_connections for ${transport}`);
  return Number(m[1]);
}

// ---------------------------------------------------------------- scenarios

async function chatPair(browser, aliceOptions = {}, bobOptions = {}) {
  const alice = await newUser(browser, 'Alice', aliceOptions);
  const bob = await newUser(browser, 'Bob', bobOptions);
  return { alice, bob };
}

async function twoUsers(browser) {
  const room = randomName('two-users');
  // Alice comes through the lobby like a first-time user; Bob has his name remembered.
  const alice = await newUser(browser, null);
  await openChatFromLobby(alice, 'Alice', room);
  const bob = await newUser(browser, 'Bob');
  await openChat(bob, room);
  await Promise.all([waitStatus(alice, 'connected'), waitStatus(bob, 'connected')]);

  await say(alice, 'Hi Bob! Did the release notes reach you this time?', [bob]);
  await say(bob, 'Loud and clear, Alice. Every message, exactly once.', [alice]);
  await say(alice, 'Great. I am merging the fix for the lost messages, then we can close the ticket and ' +
    'tell the support team that chat works again, even behind the office proxy.', [bob]);
  await say(bob, 'Ship it!', [alice]);
  const stored = await assertInSync([alice, bob], room);
  check(stored.length === 4, `expected 4 stored messages, found ${stored.length}`);

  await alice.page.locator('#message-input').focus();
  await screenshot(alice, 'chat.png');
  await alice.page.setViewportSize(PHONE);
  await sleep(200); // let the layout settle after the resize
  await screenshot(alice, 'chat-mobile.png');

  await namesCountCharacters(browser);
}

/** In the page: the name error with this id (lobby or chat name form) says "too long". */
const refusedAsTooLong = (id) => {
  const error = document.getElementById(id);
  return Boolean(error) && !error.hidden && /at most 64 characters/.test(error.textContent);
};

/**
 * The pages count a name as the server does: Unicode characters after trimming, at most
 * 64. An emoji is one character to the server but two UTF-16 units to `.length`, so a
 * page counting `.length` refused names of 33–64 emoji that the server accepts. Here a
 * name of 40 emoji (between spaces, which do not count) passes the lobby and the server
 * stores messages under it; 65 characters, emoji or letters, are refused with the reason.
 */
async function namesCountCharacters(browser) {
  const room = randomName('names');
  const emoji = '🙂'.repeat(40);
  const user = await newUser(browser, null);
  user.label = '40-emoji user';
  const { page } = user;
  await page.goto(`${baseUrl}/`, { timeout: STEP_MS });
  for (const [what, tooLong] of [['emoji', '🙂'.repeat(65)], ['letters', 'n'.repeat(65)]]) {
    await page.fill('#name', tooLong);
    await page.fill('#room', room);
    await page.click('#open-chat');
    await waitInPage(user, `the lobby to refuse a name of 65 ${what}`, refusedAsTooLong, 'name-error');
    check(page.url() === `${baseUrl}/`, `the lobby opened ${page.url()} with a 65-character name`);
  }
  await openChatFromLobby(user, ` ${emoji} `, room);
  user.name = emoji;
  user.label = '40-emoji user';
  check(await page.textContent('#user-name') === emoji, `the chat shows the name as ${await page.textContent('#user-name')}`);
  await waitStatus(user, 'connected');
  await say(user, 'Forty faces, one name', []);

  // The chat's own name form follows the same rule: a remembered 65-emoji name is not
  // used, the form asks again and takes 64 emoji.
  const other = await newUser(browser, '🙃'.repeat(65));
  other.label = '64-emoji user';
  await openChat(other, room);
  await waitInPage(other, 'the name form instead of a 65-emoji name', () => !document.getElementById('name-form').hidden);
  await other.page.fill('#name-input', '🙃'.repeat(65));
  await other.page.press('#name-input', 'Enter');
  await waitInPage(other, 'the name form to refuse 65 emoji', refusedAsTooLong, 'name-form-error');
  other.name = '🙃'.repeat(64);
  await other.page.fill('#name-input', other.name);
  await other.page.press('#name-input', 'Enter');
  await waitInPage(other, 'the name form to take 64 emoji', () => document.getElementById('name-form').hidden);
  await waitStatus(other, 'connected');
  await say(other, 'Sixty-four of them', [user]);

  const senders = (await assertInSync([user, other], room)).map((m) => m.sender);
  check(JSON.stringify(senders) === JSON.stringify([emoji, other.name]), `the server stored the senders ${JSON.stringify(senders)}`);
}

async function websocketBlocked(browser) {
  const room = randomName('ws-blocked');
  const { alice, bob } = await chatPair(browser, { networkErrors: true });
  const gate = { polling: false, websocket: true };
  await gateSocketIo(alice.context, gate);
  await openChat(alice, room);
  await waitStatus(alice, 'connected', 'polling');
  // The upgrade probe starts right after the handshake; wait until it was refused, then
  // make sure it did not succeed behind our back: Alice alone is connected so far.
  const deadline = Date.now() + STEP_MS;
  while (gate.websocketBlocked === 0 && Date.now() < deadline) await sleep(50);
  check(gate.websocketBlocked >= 1, 'the page never tried a WebSocket, so blocking it proved nothing');
  await sleep(500); // time for the page to give up on the probe, or to wrongly use it
  check(await openSessions('websocket') === 0, 'the server has a WebSocket session although WebSockets are blocked');
  check(await openSessions('polling') >= 1, 'the server has no polling session for Alice');
  await waitStatus(alice, 'connected', 'polling');

  await openChat(bob, room);
  await waitStatus(bob, 'connected');
  await say(alice, 'Hello over long-polling', [bob]);
  await say(bob, 'Got it, and here is my answer', [alice]);
  await say(alice, 'Works without WebSockets', [bob]);
  await assertInSync([alice, bob], room);
  const final = await statusOf(alice);
  check(final.state === 'connected' && final.transport === 'polling', `Alice's indicator ended as ${JSON.stringify(final)}`);
  notes.push(`WebSocket attempts refused: ${gate.websocketBlocked}`);
}

async function httpFallback(browser) {
  const room = randomName('http-fallback');
  const { alice, bob } = await chatPair(browser, { networkErrors: true });
  const gate = { polling: true, websocket: true };
  await gateSocketIo(alice.context, gate);
  const posts = [];
  alice.page.on('request', (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === `/api/rooms/${room}/messages`) posts.push(req.url());
  });

  await openChat(bob, room);
  await openChat(alice, room);
  await waitStatus(bob, 'connected');
  // chat.js waits up to 4 s for the socket before it falls back to HTTP.
  await waitStatus(alice, 'offline', null, STEP_MS + 4000);

  const timings = [];
  timings.push(await say(alice, 'Alice over HTTP 1', [bob], DELIVERY_MS));
  // Two from Bob in a row: one poll must bring both, in order, each once.
  await send(bob, 'Bob to offline Alice 1');
  timings.push(await say(bob, 'Bob to offline Alice 2', [alice], DELIVERY_MS));
  await Promise.all([alice, bob].map((u) => waitMessage(u, 'Bob to offline Alice 1', 'Bob')));
  timings.push(await say(alice, 'Alice over HTTP 2', [bob], DELIVERY_MS));
  check(posts.length === 2, `Alice's 2 messages should have gone by POST /api/rooms/…, saw ${posts.length} POSTs`);
  check((await statusOf(alice)).state === 'offline', 'Alice\'s indicator left "offline" while /socket.io/ is blocked');
  check(gate.requestsBlocked >= 1, 'no /socket.io/ request was blocked');
  await assertInSync([alice, bob], room);
  notes.push(`delivery while offline (ms): ${timings.join(', ')}`);

  // Unblock: the page must find its way back to the socket by itself.
  gate.polling = false;
  gate.websocket = false;
  const unblocked = Date.now();
  await waitStatus(alice, 'connected', null, RECONNECT_MS);
  notes.push(`reconnected ${Date.now() - unblocked} ms after unblocking`);
  await say(alice, 'Alice back on the socket', [bob]);
  await say(bob, 'Welcome back', [alice]);
  await say(alice, 'Nothing lost?', [bob]);
  const stored = await assertInSync([alice, bob], room);
  check(stored.length === 7, `expected 7 stored messages, found ${stored.length}`);
}

/** One line from the test that runs this script (see the header), with a timeout. */
function lineReader() {
  const rl = createInterface({ input: process.stdin });
  const lines = [];
  let waiting = null;
  rl.on('line', (line) => { if (waiting) { waiting(line); waiting = null; } else lines.push(line); });
  return {
    next(ms, what) {
      if (lines.length) return Promise.resolve(lines.shift());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { waiting = null; reject(new Failure(`no "${what}" on stdin within ${ms} ms`)); }, ms);
        waiting = (line) => { clearTimeout(timer); resolve(line); };
      });
    },
    close() { rl.close(); },
  };
}

async function serverRestart(browser) {
  const room = randomName('restart');
  const { alice, bob } = await chatPair(browser, { networkErrors: true }, { networkErrors: true });
  await openChat(alice, room);
  await openChat(bob, room);
  await Promise.all([waitStatus(alice, 'connected'), waitStatus(bob, 'connected')]);
  await say(alice, 'Before the restart 1', [bob]);
  await say(bob, 'Before the restart 2', [alice]);
  await say(alice, 'Before the restart 3', [bob]);
  const acknowledged = (await assertInSync([alice, bob], room)).map((m) => m.id);

  const stdin = lineReader();
  try {
    console.log('READY_FOR_RESTART');
    check((await stdin.next(20000, 'STOPPED')) === 'STOPPED', 'expected STOPPED');
    // Both pages must notice: otherwise "reconnects by itself" would prove nothing.
    const notConnected = () => document.getElementById('connection-status').dataset.state !== 'connected';
    await Promise.all([alice, bob].map((u) => waitInPage(u, 'the outage on the indicator', notConnected, null, RECONNECT_MS)));
    // A message written during the outage cannot be delivered: it must say so.
    const lost = 'Written while the server was down';
    await send(alice, lost);
    await waitInPage(alice, 'the outage message marked failed with Retry', (t) => {
      const li = Array.from(document.querySelectorAll('#messages li.msg'))
        .find((el) => el.querySelector('.msg__bubble')?.textContent === t);
      return li && li.dataset.state === 'failed' && li.querySelector('.msg__retry');
    }, lost, STEP_MS + 10000);

    console.log('READY_FOR_START');
    const started = await stdin.next(30000, 'STARTED <url>');
    check(started === `STARTED ${baseUrl}`, `expected "STARTED ${baseUrl}", got ${JSON.stringify(started)}`);
    const back = Date.now();
    await Promise.all([waitStatus(alice, 'connected', null, RECONNECT_MS), waitStatus(bob, 'connected', null, RECONNECT_MS)]);
    notes.push(`both pages reconnected ${Date.now() - back} ms after the restart`);

    // Retry resends the same client_id: delivered now, once.
    await alice.page.click('#messages li.msg[data-state="failed"] .msg__retry');
    await Promise.all([alice, bob].map((u) => waitMessage(u, lost, 'Alice')));
  } finally {
    stdin.close();
  }
  await say(bob, 'After the restart 1', [alice]);
  await say(alice, 'After the restart 2', [bob]);
  const stored = (await assertInSync([alice, bob], room)).map((m) => m.id);
  check(acknowledged.every((id) => stored.includes(id)), 'a message acknowledged before the restart is gone');
  check(stored.length === 6, `expected 6 stored messages, found ${stored.length}`);
}

async function typing(browser) {
  const room = randomName('typing');
  const { alice, bob } = await chatPair(browser);
  await openChat(alice, room);
  await openChat(bob, room);
  await Promise.all([waitStatus(alice, 'connected'), waitStatus(bob, 'connected')]);
  const typingIs = (expected) => document.getElementById('typing-indicator').textContent === expected;
  const input = alice.page.locator('#message-input');

  // Alice types and stops without sending: Bob sees it, then sees it go away.
  await input.pressSequentially('Hello the', { delay: 60 });
  await waitInPage(bob, '"Alice is typing…"', typingIs, 'Alice is typing…');
  check(await alice.page.textContent('#typing-indicator') === '', 'Alice is told that she herself is typing');
  const stopped = Date.now();
  await waitInPage(bob, 'the typing line to clear after Alice stopped', typingIs, '', TYPING_GONE_MS);
  notes.push(`typing line cleared ${Date.now() - stopped} ms after the last keystroke`);

  // She types again and sends: the line goes away with the message, not seconds later.
  await input.pressSequentially('re, Bob', { delay: 60 });
  await waitInPage(bob, '"Alice is typing…" again', typingIs, 'Alice is typing…');
  await input.press('Enter');
  await waitMessage(bob, 'Hello there, Bob', 'Alice');
  await waitInPage(bob, 'the typing line to clear when Alice sent', typingIs, '', 1500);
}

async function xss(browser) {
  const room = randomName('xss');
  const { alice, bob } = await chatPair(browser);
  await openChat(alice, room);
  await openChat(bob, room);
  await Promise.all([waitStatus(alice, 'connected'), waitStatus(bob, 'connected')]);

  const payload = '<img src=x onerror=alert(1)>';
  await say(alice, payload, [bob]);
  // The sender's name is user input too: post one with markup in it over HTTP.
  const evilName = '<svg onload=alert(2)>';
  const res = await fetch(`${baseUrl}/api/rooms/${room}/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ text: '<b>bold?</b>', sender: evilName }),
  });
  check(res.status === 201, `POST with a markup sender: HTTP ${res.status}`);
  await Promise.all([alice, bob].map((u) => waitMessage(u, '<b>bold?</b>', evilName)));
  for (const user of [alice, bob]) {
    const found = await user.page.evaluate(() => ({
      elements: document.querySelectorAll('#messages img, #messages svg, #messages b').length,
      senders: Array.from(document.querySelectorAll('#messages .msg__sender'), (el) => el.textContent),
    }));
    check(found.elements === 0, `${user.label}: message markup became ${found.elements} element(s) in #messages`);
    check(found.senders.includes(evilName), `${user.label}: the sender name is not shown literally: ${JSON.stringify(found.senders)}`);
  }
  await sleep(300); // an onerror/onload would fire by now; the dialog handler records it
  await assertInSync([alice, bob], room);
}

async function debugPage(browser) {
  const room = randomName('debug');
  const user = await newUser(browser, null, { viewport: DESKTOP });
  user.label = 'debug page';
  const { page } = user;
  await page.goto(`${baseUrl}/test-chat-debug`, { timeout: STEP_MS });
  await page.fill('#user_id', 'Dana');
  await page.fill('#chat_key', room);

  // Each button must leave its trace in the log: [data-event=…] whose text matches.
  const logged = (event, pattern) => waitInPage(user, `a "${event}" log line matching ${pattern}`, ([e, source]) => {
    const re = new RegExp(source);
    return Array.from(document.querySelectorAll(`#event-log [data-event="${e}"]`)).some((li) => re.test(li.textContent));
  }, [event, pattern.source]);

  await page.click('#connect-btn');
  await logged('connect', /sid=\S+ transport=(polling|websocket)/);
  await page.click('#join-btn');
  await logged('join', new RegExp(room));
  // JSON key order is the server's business: look for each part separately.
  await logged('ack', new RegExp(`^(?=.*ack join)(?=.*"ok":true)(?=.*"room":"${room}")`));
  await page.click('#send-btn');
  await logged('message', /Test message from Dana/);
  await logged('ack', /^(?=.*ack send)(?=.*"ok":true)(?=.*"message":\{.*Test message from Dana)/);
  await page.click('#disconnect-btn');
  await logged('disconnect', /io client disconnect/);
  const stored = await serverMessages(room);
  check(stored.length === 1 && stored[0].sender === 'Dana', `the test message was not stored once: ${JSON.stringify(stored)}`);
  await screenshot(user, 'debug.png');
}

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = process.env.PARLEY_PYTHON || join(REPO, 'target', 'pyenv', 'bin', 'python');

/** Runs the official Python client's `page-peer` scenario; resolves with its exit code and output. */
function pythonPeer(room) {
  const child = spawn(PYTHON, [join(REPO, 'tests', 'py', 'chat.py'), baseUrl, 'page-peer', room]);
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise((resolve) => {
    child.on('error', (err) => resolve({ code: -1, output: `${output}${err.message}` }));
    child.on('close', (code) => resolve({ code, output }));
  });
  return { child, exited };
}

/**
 * A person on the page chats with the official clients: socket.io-client (npm) in
 * this process and python-socketio in a child process. Each sees the others' messages.
 */
async function officialClients(browser) {
  const room = randomName('bots');
  const alice = await newUser(browser, 'Alice');
  await openChat(alice, room);
  await waitStatus(alice, 'connected');

  const node = io(baseUrl, { forceNew: true, reconnection: false, timeout: STEP_MS });
  const python = pythonPeer(room);
  try {
    await connected(node, baseUrl);
    const joined = await node.timeout(STEP_MS).emitWithAck('join', { room });
    check(joined?.ok === true, `socket.io-client join: ${JSON.stringify(joined)}`);
    const answered = within(new Promise((resolve) => node.on('message', (m) => {
      if (m?.sender === 'Alice' && m?.text === 'hello bots') resolve(m);
    })), RECONNECT_MS, 'Alice\'s message at socket.io-client');
    const sent = await node.timeout(STEP_MS).emitWithAck('send_message', { room, sender: 'node-bot', text: 'hello from socket.io-client' });
    check(sent?.ok === true, `socket.io-client send: ${JSON.stringify(sent)}`);

    await waitMessage(alice, 'hello from socket.io-client', 'node-bot');
    // The Python client starts a fresh interpreter first: allow it the reconnect budget.
    await waitMessage(alice, 'hello from python-socketio', 'python-bot', RECONNECT_MS);
    await say(alice, 'hello bots', []);
    await answered;
    const { code, output } = await within(python.exited, RECONNECT_MS, 'the Python client to finish');
    check(code === 0, `python-socketio peer failed (exit ${code}):\n${output}`);
    await assertInSync([alice], room);
  } finally {
    node.disconnect();
    python.child.kill();
  }
}

const SCENARIOS = {
  'official-clients': officialClients,
  'two-users': twoUsers,
  'websocket-blocked': websocketBlocked,
  'http-fallback': httpFallback,
  'server-restart': serverRestart,
  typing,
  xss,
  'debug-page': debugPage,
};

runScenarios({ usage: USAGE, scenarios: SCENARIOS, limitMs: SCENARIO_MS });
