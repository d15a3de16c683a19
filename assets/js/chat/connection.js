/*
 * chat/connection.js: staying connected to the room, and the indicator that says how.
 * The socket (parley-io.js) is the normal way: on every connect the page joins the room
 * and catches up from the newest message it has. While the socket is down, new messages
 * are polled over HTTP every 3 s from that same newest id (sends go over HTTP too, see
 * sending.js), so an outage costs speed, not messages. When the socket returns, polling
 * stops and the join's catch-up fills whatever happened in between.
 */

import { goToSignIn, isUnauthorized } from '../account.js';
import { showStatus } from '../page.js';
import { rememberRoom } from '../prefs.js';
import { getMessages } from './api.js';
import { catchUp } from './history.js';
import { ERROR_TEXT, describeError, notice } from './notices.js';
import { renderInitial, renderLive } from './render.js';
import { PAGE, REQUEST_TIMEOUT_MS, els, room, socketUp, state } from './state.js';
import { clearTypers, onTyping } from './typing.js';

const HTTP_POLL_MS = 3000;       // polling interval while the socket is down
const SOCKET_GRACE_MS = 4000;    // first load: how long to wait for the socket before HTTP
const JOIN_RETRY_MS = 2000;
const MAX_ID = 9007199254740991; // "before" cursor meaning "the newest messages"

const STATUS_TEXT = {
  offline: 'offline — sending over HTTP',
  reconnecting: 'reconnecting…',
  connecting: 'connecting…',
  'not connected': 'not connected',
};

/**
 * The connection indicator: 'connected' (with its transport), 'offline' (HTTP only),
 * 'connecting', 'reconnecting' or 'not connected'; all but the first two look like
 * "reconnecting" to styles and tests (data-state).
 */
export function setStatus(kind, transport) {
  if (kind === 'connected') {
    showStatus(els.status, kind, 'connected · ' + (transport || 'polling'), transport);
  } else {
    showStatus(els.status, kind === 'offline' ? kind : 'reconnecting', STATUS_TEXT[kind]);
  }
}

// ---------- HTTP fallback (socket down) ----------

export function startHttpPolling() {
  if (state.httpPolling) return;
  state.httpPolling = true;
  httpPoll();
}

function stopHttpPolling() {
  state.httpPolling = false;
  clearTimeout(state.httpTimer);
  state.httpTimer = null;
}

async function httpPoll() {
  if (!state.httpPolling || state.httpPollBusy) return;
  state.httpPollBusy = true;
  try {
    if (!state.initialLoaded) {
      const msgs = await getMessages({ before: MAX_ID, limit: PAGE });
      if (state.httpPolling) renderInitial(msgs);
    } else {
      // Page forward from our newest id: nothing missed after an outage.
      await catchUp(state.newestId === null ? 0 : state.newestId, getMessages, () => state.httpPolling);
    }
    if (state.httpPolling && !socketUp()) setStatus('offline');
  } catch (err) {
    if (state.httpPolling && !socketUp()) setStatus('reconnecting');
  } finally {
    state.httpPollBusy = false;
    if (state.httpPolling) state.httpTimer = setTimeout(httpPoll, HTTP_POLL_MS);
  }
}

// ---------- socket ----------

function joinRoom() {
  const socket = state.socket;
  const since = state.initialLoaded ? state.newestId : null;
  socket.timeout(REQUEST_TIMEOUT_MS).emit('join', { room }, (err, res) => {
    if (err) {
      // Lost with the connection: the next 'connect' joins again. Otherwise say so.
      if (socket.connected) notice('Joining the chat timed out. Retrying…', 'timeout');
      if (socket.connected) setTimeout(() => socket.connected && !state.joined && joinRoom(), JOIN_RETRY_MS);
      return;
    }
    if (!res || !res.ok) {
      notice('Could not join the chat: ' + describeError(res && res.error), res && res.error && res.error.code);
      return;
    }
    state.joined = true;
    rememberRoom(room);
    const msgs = Array.isArray(res.messages) ? res.messages : [];
    if (!state.initialLoaded) renderInitial(msgs);
    else renderLive(msgs);
    // Anything between what we had and the server's "last N": fetch it, page by page.
    if (since !== null) {
      catchUp(since).catch((e) => notice('Could not catch up: ' + describeError(e), e && e.code));
    }
  });
}

/** Connects with `io` (parley-io.js) and keeps the page joined for as long as it is open. */
export function startSocket(io) {
  const socket = io({
    path: '/socket.io/',
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
    randomizationFactor: 0.5,
  });
  state.socket = socket;

  socket.on('connect', () => {
    stopHttpPolling();
    setStatus('connected', socket.transportName);
    joinRoom();
  });
  socket.on('transport', (name) => { if (socket.connected) setStatus('connected', name); });
  socket.on('disconnect', (reason) => {
    state.joined = false;
    clearTypers();
    setStatus('reconnecting');
    startHttpPolling();
    // A server-side disconnect is not retried by the client library; a chat should be.
    if (reason === 'io server disconnect') setTimeout(() => socket.connect(), 1000);
  });
  socket.on('connect_error', (err) => {
    // Signed out (here, in another tab, or by an admin): no retry can help.
    if (isUnauthorized(err)) { socket.disconnect(); goToSignIn(); return; }
    if (els.status.dataset.state !== 'offline') setStatus('reconnecting');
    startHttpPolling();
  });
  socket.on('error', (e) => {
    const code = e && e.code;
    notice((e && e.message) || ERROR_TEXT[code] || 'The server reported an error.', code);
  });
  socket.on('message', (m) => renderLive([m]));
  socket.on('typing', onTyping);

  // If the socket neither connects nor fails quickly (a proxy holding the request),
  // show history over HTTP instead of an empty page.
  setTimeout(() => { if (!socket.connected) startHttpPolling(); }, SOCKET_GRACE_MS);
}
