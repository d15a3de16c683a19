/*
 * chat/state.js: what every part of the chat page shares: its elements, the limits they
 * agree on, the one `state` object that holds what the page knows right now, and the
 * little event bus the parts announce changes on.
 *
 * The page shows one room at a time, but signed in it switches between rooms without
 * reloading, so everything that belongs to one room (its messages on screen, its unsent
 * echoes, its cursors) lives in a "view" (newView). Each view keeps its own <ol> of
 * messages, so that a send still in flight in a room the reader has left confirms or
 * fails in that room, and coming back shows the room as it was, caught up from where it
 * stopped. In open mode there is only ever the one view of the address's room.
 */

import { $ } from '../page.js';

export const PAGE = 50;                 // history page size (the server's join also returns 50)
export const REQUEST_TIMEOUT_MS = 10000;

export const els = {
  roomName: $('room-name'),
  roomIcon: $('room-icon'),
  roomMeta: $('room-meta'),
  roomDetails: $('room-details'),
  status: $('connection-status'),
  userChip: $('user-chip'),
  notices: $('notices'),
  scroller: $('scroller'),
  list: $('messages'),          // the current view's list; swapped when the room changes
  loadOlder: $('load-older'),
  historyStart: $('history-start'),
  emptyState: $('empty-state'),
  emptyTitle: $('empty-state-title'),
  emptyText: $('empty-state-text'),
  roomError: $('room-error-panel'),
  forbidden: $('room-forbidden-panel'),
  jump: $('jump-latest'),
  typing: $('typing-indicator'),
  nameForm: $('name-form'),
  nameInput: $('name-input'),
  nameError: $('name-form-error'),
  form: $('chat-form'),
  input: $('message-input'),
};

/** The room named by an address path (/chat/{room}), unchecked; null for any other path. */
export function roomFromPath(pathname) {
  const m = pathname.match(/^\/chat\/([^/]+)\/?$/);
  if (!m) return null;
  try { return decodeURIComponent(m[1]); } catch (err) { return null; }
}

/** What the page holds for one room. `list` is the <ol> its messages are shown in. */
export function newView(room, list) {
  return {
    room,
    list,
    byId: new Map(),       // render.js: message id → <li>, the single source of "already shown"
    messages: new Map(),   // render.js: message id → the message as last heard (quotes, notifications)
    deleted: new Set(),    // render.js: ids known deleted; a deletion is final, nothing brings them back
    rev: 0,                // history.js: every change of the room up to this rev is applied (catch-up's `since`)
    caughtUp: false,       // history.js: caught up since the last connect, so live events move `rev`
    detached: false,       // jump.js: shows messages around an older one, not the newest (no live additions)
    loadingNewer: false,   // jump.js
    epoch: 0,              // jump.js: counts the times the view was emptied, so late answers are dropped
    replyTo: null,         // reply.js: the id of the message the composer answers, in this room
    pending: new Map(),    // sending.js: client_id → { el, payload } for echoes not yet confirmed
    oldestId: null,        // render.js: the cursor for "load earlier messages"
    newestId: null,        // render.js: the cursor for catch-up and HTTP polling
    initialLoaded: false,  // render.js: the first page of history is on screen
    hasMore: false,        // render.js: the server has older messages than the oldest shown
    hasNewer: false,       // jump.js: detached, and the server has newer messages than the newest shown
    loadingOlder: false,   // history.js
    joined: false,         // connection.js: the server acknowledged our join since the last connect
    refused: false,        // connection.js: the server said this room is not ours to open
    readMarker: 0,         // unread.js: my read marker in this room, as last heard
    seen: 0,               // unread.js: the newest id the reader has seen at the bottom of the room
    readSent: 0,           // unread.js: the highest id this page sent as `read`
    scrollTop: null,       // switch.js: where the reader was when they left the room
    atBottom: true,        // switch.js: whether they were at the bottom then
    entering: false,       // switch.js: opened, and its join not acknowledged yet (unread.js scrolls)
  };
}

export const state = {
  me: null,              // chat.js: the signed-in user ({username, name, role}); null in open mode
  team: false,           // chat.js: signed in, the page is the team chat (sidebar, switching)
  name: null,            // name.js (chat.js when signed in): the sender name of our messages
  socket: null,          // connection.js: the Socket.IO client, once loaded
  view: null,            // switch.js: the view of the room on screen
  views: new Map(),      // switch.js: room id → view, for every room opened since the page loaded
  rooms: new Map(),      // rooms.js: room id → RoomInfo of my rooms (the server's `rooms`)
  people: new Map(),     // presence.js: username → {username, name, role, online}
  httpPolling: false,    // connection.js: the socket is down and HTTP polls instead
  httpTimer: null,
  httpPollBusy: false,
  typers: new Map(),     // typing.js: sender → expiry timer
  typingSentAt: 0,
  typingIdleTimer: null,
};

state.view = newView(roomFromPath(window.location.pathname), els.list);
state.views.set(state.view.room, state.view);

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

// ---------- events between the parts ----------

const bus = new EventTarget();

/**
 * Announces `name` to whoever listens (on): the parts that show rooms, people and counts
 * learn about a change without the part that made it knowing them.
 *   socket        {socket}       the Socket.IO client was created (to add handlers)
 *   connected     {}             the socket (re)connected
 *   joined        {view, res}    a join was acknowledged
 *   refused       {view, error}  a join was refused (forbidden, not_found)
 *   rendered      {view}         new messages appeared at the bottom of a view
 *   changed       {view, id}     a message shown in a view was edited, reacted to or deleted
 *   switched      {view}         another room is on screen
 *   rooms         {}             the room records or their counts changed
 *   people        {}             who exists or who is online changed
 */
export function announce(name, detail = {}) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

export function on(name, listener) {
  bus.addEventListener(name, (event) => listener(event.detail));
}
