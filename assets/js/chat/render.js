/*
 * chat/render.js: the conversation on screen. Every message, whichever way it came (join
 * ack, broadcast, send ack, history page, HTTP poll), goes through renderMessage(), which
 * shows each message id exactly once in its room's view and turns our own "sending" echo
 * into the server's copy in place. Messages stay in id order with unconfirmed echoes at
 * the end; runs from one sender are grouped; the room on screen follows new messages only
 * when the reader is at the bottom. A view that is not on screen is kept up to date the
 * same way, just without scrolling. Text is only ever set with textContent: messages are
 * data, never HTML.
 */

import { clockTime, element } from '../page.js';
import { PAGE, announce, els, isOwn, state } from './state.js';
import { dropTyper } from './typing.js';

const NEAR_BOTTOM_PX = 120;
const GROUP_WINDOW_MS = 5 * 60 * 1000;

export function nearBottom() {
  const s = els.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
}

export function scrollToBottom() {
  els.scroller.scrollTop = els.scroller.scrollHeight;
  els.jump.hidden = true;
}

function fullDate(d) {
  try { return d.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'medium' }); } catch (err) { return d.toString(); }
}

/**
 * A message row without an id or state yet: sender, time slot, bubble, status line.
 * `user` is the author's username when the server knows it (signed-in mode).
 */
export function buildMessage(sender, text, user) {
  const li = element('li', 'msg');
  li.dataset.sender = sender;
  if (typeof user === 'string') li.dataset.user = user;
  const meta = element('div', 'msg__meta');
  meta.append(element('span', 'msg__sender', sender), element('time', 'msg__time'));
  const status = element('div', 'msg__status');
  status.hidden = true;
  li.append(meta, element('div', 'msg__bubble', text), status);
  if (isOwn(sender, user)) li.classList.add('msg--own');
  return li;
}

export function setTime(li, ts) {
  const d = new Date(ts);
  const t = li.querySelector('.msg__time');
  if (isNaN(d.getTime())) return;
  t.textContent = clockTime(d);
  t.dateTime = d.toISOString();
  t.title = fullDate(d);
  li.dataset.ts = String(ts);
}

/**
 * Shows a message's fate: "sending", "sent" (no status line) or "failed" with `reason`,
 * plus a Retry button calling `onRetry` when there is one.
 */
export function setMsgState(li, msgState, reason, onRetry) {
  li.dataset.state = msgState;
  const status = li.querySelector('.msg__status');
  status.replaceChildren();
  if (msgState === 'sent') { status.hidden = true; return; }
  status.hidden = false;
  status.append(element('span', '', msgState === 'sending' ? 'Sending…' : 'Not sent · ' + reason));
  if (msgState === 'failed' && onRetry) {
    const retry = element('button', 'btn btn--small msg__retry', 'Retry');
    retry.type = 'button';
    retry.setAttribute('aria-label', 'Retry sending this message');
    retry.addEventListener('click', onRetry);
    status.append(retry);
  }
}

/**
 * Where a row sorts: a message by its id, the "new messages" divider (unread.js) just
 * after the message its marker names, an unconfirmed echo after everything.
 */
function orderOf(node) {
  if (node.dataset.id) return Number(node.dataset.id);
  if (node.dataset.after) return Number(node.dataset.after) + 0.5;
  return Infinity;
}

/** Rows are kept in order (orderOf): unconfirmed echoes always stay at the end. */
function insertSorted(list, li, id) {
  let node = list.lastElementChild;
  while (node && orderOf(node) > id) node = node.previousElementSibling;
  list.insertBefore(li, node ? node.nextElementSibling : list.firstElementChild);
}

/** Group runs from one author (within 5 minutes) so names are not repeated. */
export function regroup(li) {
  for (const el of [li, li && li.nextElementSibling]) {
    if (!el || !el.classList.contains('msg')) continue;
    const prev = el.previousElementSibling;
    const same = prev && prev.dataset.sender === el.dataset.sender && prev.dataset.user === el.dataset.user &&
      Math.abs(Number(el.dataset.ts || Date.now()) - Number(prev.dataset.ts || Date.now())) < GROUP_WINDOW_MS;
    el.classList.toggle('msg--cont', Boolean(same));
  }
}

/** The empty state and "beginning of the chat" line, for the view on screen. */
export function updateEmpty() {
  const v = state.view;
  const none = v.list.querySelector('.msg') === null;
  els.emptyState.hidden = !v.initialLoaded || !none || v.refused;
  els.historyStart.hidden = !v.initialLoaded || v.hasMore || none;
}

/** Own/other styling follows a change of name, also for messages already on screen. */
export function markOwn() {
  for (const li of state.view.list.children) if (li.dataset.id) li.classList.toggle('msg--own', isOwn(li.dataset.sender, li.dataset.user));
}

/**
 * Show one server message in view `v`, exactly once. Returns true if something new
 * appeared. An echo with our client_id, from us, is turned into this message in place.
 */
function renderMessage(v, msg) {
  if (!msg || typeof msg.id !== 'number' || typeof msg.sender !== 'string') return false;
  if (msg.room && msg.room !== v.room) return false;
  const echo = msg.client_id ? v.pending.get(msg.client_id) : null;
  // Signed in, the server writes the sender's current display name, which may differ
  // from the one the echo was shown with; the author is what identifies it.
  const isOurEcho = echo && (state.me && typeof msg.user === 'string'
    ? msg.user === state.me.username
    : echo.payload.sender === msg.sender);
  if (v.byId.has(msg.id)) {
    // Already shown (e.g. broadcast beat the ack): just drop a leftover echo.
    if (isOurEcho) { echo.el.remove(); v.pending.delete(msg.client_id); }
    return false;
  }
  let li;
  if (isOurEcho) {
    li = echo.el;
    v.pending.delete(msg.client_id);
    li.remove();
    li.querySelector('.msg__bubble').textContent = String(msg.text);
    // The row becomes the server's copy, author included.
    li.querySelector('.msg__sender').textContent = msg.sender;
    li.dataset.sender = msg.sender;
    if (typeof msg.user === 'string') li.dataset.user = msg.user;
    else delete li.dataset.user;
  } else {
    li = buildMessage(msg.sender, String(msg.text), msg.user);
  }
  li.dataset.id = String(msg.id);
  if (msg.client_id) li.dataset.clientId = msg.client_id;
  setTime(li, msg.ts);
  setMsgState(li, 'sent');
  insertSorted(v.list, li, msg.id);
  regroup(li);
  v.byId.set(msg.id, li);
  if (v.oldestId === null || msg.id < v.oldestId) v.oldestId = msg.id;
  if (v.newestId === null || msg.id > v.newestId) v.newestId = msg.id;
  if (v === state.view) updateEmpty();
  return true;
}

/**
 * New messages at the bottom of view `v`. On screen, the view follows them only if the
 * reader is already there (or `forceScroll`, for our own message).
 */
export function renderLive(v, messages, forceScroll) {
  const onScreen = v === state.view;
  const follow = onScreen && (forceScroll || nearBottom());
  let added = 0;
  for (const m of messages) {
    if (renderMessage(v, m)) {
      added += 1;
      // Whoever just sent a message has stopped typing it.
      if (onScreen && state.typers.has(m.sender)) dropTyper(m.sender);
    }
  }
  if (!added) return;
  if (onScreen) {
    if (follow) scrollToBottom();
    else els.jump.hidden = false;
  }
  announce('rendered', { view: v });
}

/** Older messages at the top of the view on screen: keep what the reader is looking at still. */
export function renderOlder(v, messages) {
  const s = els.scroller;
  const fromBottom = s.scrollHeight - s.scrollTop;
  v.list.setAttribute('aria-busy', 'true'); // don't announce a page of history
  for (const m of messages) renderMessage(v, m);
  if (v === state.view) s.scrollTop = s.scrollHeight - fromBottom;
  setTimeout(() => v.list.removeAttribute('aria-busy'), 0);
}

export function setHasMore(v, more) {
  v.hasMore = more;
  if (v !== state.view) return;
  els.loadOlder.hidden = !more;
  updateEmpty();
}

/** First batch of a view's history, whichever way it came (join ack or HTTP). */
export function renderInitial(v, messages) {
  v.list.setAttribute('aria-busy', 'true');
  for (const m of messages) renderMessage(v, m);
  setTimeout(() => v.list.removeAttribute('aria-busy'), 0);
  if (!v.initialLoaded) {
    v.initialLoaded = true;
    setHasMore(v, messages.length >= PAGE);
    if (v === state.view) {
      updateEmpty();
      scrollToBottom();
    }
  }
  announce('rendered', { view: v });
}
