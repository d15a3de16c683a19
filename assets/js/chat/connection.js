/*
 * chat/connection.js: staying connected to the room, and the indicator that says how.
 * The socket (parley-io.js) is the normal way: on every connect the page joins the room
 * on screen and catches up every room it has loaded from the last change it applied
 * (history.js), so messages, edits, reactions and deletions made meanwhile all arrive.
 * While the socket is down, the room on screen is caught up over HTTP every 3 s (and the
 * other loaded rooms in turn, one per round); sends go over HTTP too (sending.js), so an
 * outage costs speed, not messages. When the socket returns, polling stops and the
 * catch-up fills whatever happened in between.
 *
 * The room is the one on screen (state.view): a page that switches rooms joins each as it
 * is opened. Signed in, the socket hears the messages of all the user's rooms and the
 * changes to them (`message_updated`, `message_deleted`); each goes to its room's view if
 * the page has loaded one, and every part that counts or lists rooms hears about new
 * messages too (the `message` announcement).
 */

import { goToSignIn, isUnauthorized } from '../account.js';
import { showStatus } from '../page.js';
import { rememberRoom } from '../prefs.js';
import { getHistory, getMessages } from './api.js';
import { catchUp, noteLiveRev } from './history.js';
import { ERROR_TEXT, describeError, notice } from './notices.js';
import { renderInitial, renderLive } from './render.js';
import { PAGE, REQUEST_TIMEOUT_MS, announce, els, socketUp, state } from './state.js';
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

let pollTurn = 0;   // which of the other loaded rooms the next HTTP round catches up

/** A loaded view other than the one on screen, a different one each round. */
function nextOtherView() {
  const others = Array.from(state.views.values()).filter((v) => v !== state.view && v.initialLoaded && !v.refused);
  if (!others.length) return null;
  pollTurn = (pollTurn + 1) % others.length;
  return others[pollTurn];
}

/** Catches view `v` up over HTTP, for as long as the page polls. */
function pollView(v) {
  return catchUp(v, (params) => getHistory(v.room, params), () => state.httpPolling);
}

async function httpPoll() {
  if (!state.httpPolling || state.httpPollBusy) return;
  state.httpPollBusy = true;
  // The room on screen; a room the server refused is not asked again.
  const v = state.view;
  try {
    if (v.refused) {
      // Nothing to fetch until another room is opened.
    } else if (!v.initialLoaded) {
      const msgs = await getMessages(v.room, { before: MAX_ID, limit: PAGE });
      if (state.httpPolling) renderInitial(v, msgs);
    } else {
      // Everything that changed after what the view has: nothing missed after an outage.
      await pollView(v);
    }
    const other = nextOtherView();
    // A room left or taken away since it was opened refuses: not a sign of an outage.
    if (other && state.httpPolling) await pollView(other).catch(() => {});
    if (state.httpPolling && !socketUp()) setStatus('offline');
  } catch (err) {
    if (state.httpPolling && !socketUp()) setStatus('reconnecting');
  } finally {
    state.httpPollBusy = false;
    if (state.httpPolling) state.httpTimer = setTimeout(httpPoll, HTTP_POLL_MS);
  }
}

// ---------- socket ----------

// Refusals that no retry changes: the room is not the user's to open.
const REFUSED = new Set(['forbidden', 'not_found']);

/**
 * Joins view `v`'s room (the one on screen) and catches it up from the last change it
 * applied. Does nothing while the socket is down: the next 'connect' joins.
 */
export function joinView(v) {
  const socket = state.socket;
  if (!socket || !socket.connected || !v.room) return;
  socket.timeout(REQUEST_TIMEOUT_MS).emit('join', { room: v.room }, (err, res) => {
    if (err) {
      // Lost with the connection: the next 'connect' joins again. Otherwise say so, and
      // try again while the room is still the one on screen.
      if (socket.connected && v === state.view) notice('Joining the chat timed out. Retrying…', 'timeout');
      if (socket.connected) setTimeout(() => socket.connected && !v.joined && v === state.view && joinView(v), JOIN_RETRY_MS);
      return;
    }
    const error = res && !res.ok ? (res.error || { code: 'internal' }) : null;
    if (!res || error) {
      if (error && REFUSED.has(error.code)) {
        v.refused = true;
        announce('refused', { view: v, error });
      } else {
        notice('Could not join the chat: ' + describeError(error), error && error.code);
      }
      return;
    }
    v.joined = true;
    v.refused = false;
    rememberRoom(v.room);
    if (typeof res.read_marker === 'number') v.readMarker = Math.max(v.readMarker, res.read_marker);
    const msgs = Array.isArray(res.messages) ? res.messages : [];
    if (!v.initialLoaded) renderInitial(v, msgs);
    else renderLive(v, msgs);
    announce('joined', { view: v, res });
    // Anything that changed after what the view had (before the server's "last N", or
    // while the join was on its way): fetch it, page by page.
    catchUp(v).catch((e) => { if (socket.connected) notice('Could not catch up: ' + describeError(e), e && e.code); });
  });
}

/**
 * After a reconnect, the loaded rooms that are not on screen catch up too, one after
 * another, so that coming back to one shows it as it is (and its changes apply live).
 */
async function catchUpOthers() {
  const socket = state.socket;
  for (const v of Array.from(state.views.values())) {
    if (!socket.connected) return;
    if (v === state.view || !v.initialLoaded || v.refused) continue;
    try {
      await catchUp(v);
    } catch (err) {
      // The room may be gone for us (removed, left); its join says so when it is opened.
    }
  }
}

/**
 * Asks the server `event` with `payload` over the socket; resolves to the ack when it
 * says ok, else rejects with its error ({code, message}), also when the socket is down.
 */
export function ask(event, payload) {
  return new Promise((resolve, reject) => {
    if (!socketUp()) { reject({ code: 'unavailable', message: 'Not connected to the server.' }); return; }
    state.socket.timeout(REQUEST_TIMEOUT_MS).emit(event, payload, (err, res) => {
      if (err) reject({ code: 'timeout', message: 'No answer from the server.' });
      else if (!res || !res.ok) reject((res && res.error) || { code: 'internal' });
      else resolve(res);
    });
  });
}

/** The view a broadcast about `room` goes to, if the page has one for it. */
function viewOf(room) {
  return room === undefined ? state.view : state.views.get(room);
}

/** A message broadcast to one of our rooms: into its view if the page has loaded it, then announced. */
function onMessage(m) {
  if (!m || typeof m !== 'object') return;
  const v = viewOf(m.room);
  // The room on screen takes every message, even one that beats the join's ack; another
  // view once it has its first page. A catch-up goes by rev, not by the newest id shown,
  // so a message shown early never hides a gap from it.
  const shown = Boolean(v && (v === state.view || v.initialLoaded));
  if (shown) {
    renderLive(v, [m]);
    noteLiveRev(v, m);
  }
  announce('message', { message: m, shown });
}

/** `message_updated` {message}: an edit or a reaction, applied if its view has it. */
function onUpdated(d) {
  const m = d && d.message;
  if (!m || typeof m.id !== 'number') return;
  const v = viewOf(m.room);
  if (!v || !v.initialLoaded) return;
  renderLive(v, [m]);
  noteLiveRev(v, m);
}

/** `message_deleted` {room, id}: the message goes from its view. */
function onDeleted(d) {
  if (!d || typeof d.id !== 'number') return;
  const v = viewOf(d.room);
  if (v) renderLive(v, [{ id: d.id, room: v.room, deleted: true }]);
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
    joinView(state.view);
    catchUpOthers();
    announce('connected');
  });
  socket.on('transport', (name) => { if (socket.connected) setStatus('connected', name); });
  socket.on('disconnect', (reason) => {
    for (const v of state.views.values()) {
      v.joined = false;
      v.caughtUp = false;
    }
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
  socket.on('message', onMessage);
  socket.on('message_updated', onUpdated);
  socket.on('message_deleted', onDeleted);
  socket.on('typing', onTyping);
  announce('socket', { socket });

  // If the socket neither connects nor fails quickly (a proxy holding the request),
  // show history over HTTP instead of an empty page.
  setTimeout(() => { if (!socket.connected) startHttpPolling(); }, SOCKET_GRACE_MS);
}
