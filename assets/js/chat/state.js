/*
 * chat/state.js: what every part of the chat page shares: its elements, the room it is
 * for (from the address), the limits they agree on, and the one `state` object that holds
 * what the page knows right now. The parts share it rather than pass it around; each field
 * says which part keeps it up to date.
 */

import { $ } from '../page.js';

export const PAGE = 50;                 // history page size (the server's join also returns 50)
export const REQUEST_TIMEOUT_MS = 10000;

export const els = {
  roomName: $('room-name'),
  status: $('connection-status'),
  userChip: $('user-chip'),
  notices: $('notices'),
  scroller: $('scroller'),
  list: $('messages'),
  loadOlder: $('load-older'),
  historyStart: $('history-start'),
  emptyState: $('empty-state'),
  roomError: $('room-error-panel'),
  jump: $('jump-latest'),
  typing: $('typing-indicator'),
  nameForm: $('name-form'),
  nameInput: $('name-input'),
  nameError: $('name-form-error'),
  form: $('chat-form'),
  input: $('message-input'),
};

function roomFromPath() {
  const m = window.location.pathname.match(/^\/chat\/([^/]+)\/?$/);
  if (!m) return null;
  try { return decodeURIComponent(m[1]); } catch (err) { return null; }
}

/** The room of this page, unchecked: chat.js refuses to start when it is not valid. */
export const room = roomFromPath();

export const state = {
  me: null,              // chat.js: the signed-in user ({username, name, role}); null in open mode
  name: null,            // name.js (chat.js when signed in): the sender name of our messages
  socket: null,          // connection.js: the Socket.IO client, once loaded
  joined: false,         // connection.js: the server has acknowledged our join
  byId: new Map(),       // render.js: message id → <li>, the single source of "already shown"
  pending: new Map(),    // sending.js: client_id → { el, payload } for echoes not yet confirmed
  oldestId: null,        // render.js: the cursor for "load earlier messages"
  newestId: null,        // render.js: the cursor for catch-up and HTTP polling
  initialLoaded: false,  // render.js: the first page of history is on screen
  hasMore: false,        // render.js: the server has older messages than the oldest shown
  loadingOlder: false,   // history.js
  httpPolling: false,    // connection.js: the socket is down and HTTP polls instead
  httpTimer: null,
  httpPollBusy: false,
  typers: new Map(),     // typing.js: sender → expiry timer
  typingSentAt: 0,
  typingIdleTimer: null,
};

/**
 * Whether a message (or a typing line) from `sender` is ours. Signed in, the server says
 * who wrote it (`user`), which is exact even when two people share a display name; in
 * open mode the name is all there is.
 */
export function isOwn(sender, user) {
  if (state.me && typeof user === 'string') return user === state.me.username;
  return sender === state.name;
}

/** True while the socket can carry requests. */
export function socketUp() {
  return Boolean(state.socket && state.socket.connected);
}
