/*
 * debug.js: the connection debugger at /test-chat-debug (the original app had one too).
 * It drives parley-io.js by hand and logs every event with a millisecond timestamp, so
 * a user can see exactly where a connection stops: handshake (connect / connect_error),
 * transport upgrade, room join (ack), sending (ack + the room's message broadcast).
 * Each log line carries data-event="…" and a class per kind for tests and colour.
 * Signed in (account.js), the sender is the account's name, which the log states first:
 * "who am I to the server" is the first question when a connection is refused.
 */

import { goToSignIn, isUnauthorized, showAccountChip, whoAmI } from './account.js';
import { io } from './parley-io.js';
import { $, clockTime, element, newClientId, showStatus } from './page.js';
import { recentRooms, storedName } from './prefs.js';
import { trimmed } from './rules.js';

const ACK_TIMEOUT_MS = 10000;

const userInput = $('user_id');
const roomInput = $('chat_key');
const transportEl = $('transport');
const statusEl = $('connection-status');
const log = $('event-log');
let socket = null;

const stamp = () => clockTime(new Date(), true);

function show(value) {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.message + (value.data ? ' ' + JSON.stringify(value.data) : '');
  try { return JSON.stringify(value); } catch (err) { return String(value); }
}

/** One log line: time, kind, payload. Only textContent: payloads are untrusted. */
function add(kind, label, data) {
  const empty = log.querySelector('.log__empty');
  if (empty) empty.remove();
  const li = element('li', 'log__line log--' + kind);
  li.dataset.event = kind;
  li.append(
    element('span', 'log__time', stamp()),
    element('span', 'log__kind', label || kind),
    element('span', 'log__data', show(data)),
  );
  const follow = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(li);
  // Keep the page light during long sessions.
  while (log.childElementCount > 1000) log.firstElementChild.remove();
  if (follow) log.scrollTop = log.scrollHeight;
}

function setTransport(name) {
  transportEl.textContent = name || 'none';
  transportEl.dataset.transport = name || '';
}

const setStatus = (state, text) => showStatus(statusEl, state, text);

function room() { return trimmed(roomInput.value); }
function user() { return trimmed(userInput.value); }

function requireSocket() {
  if (socket) return true;
  add('error', 'error', 'Not connected: press Connect first.');
  return false;
}

function connect() {
  if (socket && (socket.connected || socket.active)) {
    add('info', 'info', 'Already connected or connecting (' + (socket.id || 'no sid yet') + ').');
    return;
  }
  add('info', 'info', 'Connecting to ' + window.location.origin + '/socket.io/ …');
  setStatus('reconnecting', 'connecting…');
  socket = io({ path: '/socket.io/' });
  socket.on('connect', () => {
    add('connect', 'connect', 'sid=' + socket.id + ' transport=' + socket.transportName);
    setTransport(socket.transportName);
    setStatus('connected', 'connected');
  });
  socket.on('transport', (name) => {
    add('transport', 'transport', 'upgraded to ' + name);
    setTransport(name);
  });
  socket.on('disconnect', (reason) => {
    add('disconnect', 'disconnect', reason);
    setTransport(null);
    setStatus('reconnecting', reason === 'io client disconnect' ? 'not connected' : 'reconnecting…');
  });
  socket.on('connect_error', (err) => {
    add('connect_error', 'connect_error', err);
    if (isUnauthorized(err)) {
      add('info', 'info', 'The server does not know this session any more: going to the sign-in page.');
      socket.disconnect();
      goToSignIn();
      return;
    }
    setStatus('reconnecting', 'reconnecting…');
  });
  socket.on('reconnect_attempt', (n) => add('info', 'reconnect', 'attempt ' + n));
  socket.on('error', (e) => add('error', 'error', e));
  socket.on('message', (m) => add('message', 'message', m));
  socket.on('typing', (t) => add('typing', 'typing', t));
}

/**
 * Emits `event` with an ack and logs both ends: the request as `logKind` ("join →"),
 * then the answer as "ack join", or the timeout or disconnect that ended the wait.
 */
function request(event, short, logKind, payload) {
  if (!requireSocket()) return;
  add(logKind, short + ' →', payload);
  socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, res) => {
    if (err) add('error', 'ack', event + ': ' + err.message);
    else add('ack', 'ack ' + short, res);
  });
}

function join() {
  request('join', 'join', 'join', { room: room() });
}

function sendTest() {
  request('send_message', 'send', 'info', {
    room: room(),
    text: 'Test message from ' + (user() || '?') + ' at ' + stamp(),
    sender: user(),
    client_id: newClientId(),
  });
}

function disconnect() {
  if (!requireSocket()) return;
  socket.disconnect();
  socket.off();
  socket = null;
  setTransport(null);
  setStatus('reconnecting', 'not connected');
}

function clearLog() {
  log.replaceChildren(element('li', 'log__empty', 'No events yet. Press Connect to start.'));
}

$('connect-btn').addEventListener('click', connect);
$('join-btn').addEventListener('click', join);
$('send-btn').addEventListener('click', sendTest);
$('disconnect-btn').addEventListener('click', disconnect);
$('clear-log').addEventListener('click', clearLog);
$('debug-form').addEventListener('submit', (e) => { e.preventDefault(); connect(); });

// Sensible defaults: the name from the lobby, the latest room.
const name = storedName();
if (name) userInput.value = name;
const recent = recentRooms();
if (recent.length) roomInput.value = recent[0];
// ?user_id=…&chat_key=… prefill, handy for bookmarks and support links.
const q = new URLSearchParams(window.location.search);
if (q.get('user_id')) userInput.value = q.get('user_id');
if (q.get('chat_key')) roomInput.value = q.get('chat_key');
clearLog();
setTransport(null);

/** Signed in: the sender is the account's name, so the field only shows it. */
function useAccount(user) {
  showAccountChip('account-chip', user);
  userInput.value = user.name;
  userInput.readOnly = true;
  const hint = $('user_id-hint');
  hint.textContent = 'Signed in: the server uses your account’s name.';
  hint.hidden = false;
  add('identity', 'identity', 'signed in as ' + user.name + ' (@' + user.username + ', ' + user.role + ')');
}

whoAmI((err) => add('error', 'identity', 'GET /api/me: ' + err.message + ' (retrying)')).then(({ user }) => {
  if (user) useAccount(user);
});
