/*
 * chat/render.js: the conversation on screen. Every message, whichever way it came (join
 * ack, broadcast, send ack, history page, HTTP poll), goes through renderMessage(), which
 * shows each message id exactly once and turns our own "sending" echo into the server's
 * copy in place. Messages stay in id order with unconfirmed echoes at the end; runs from
 * one sender are grouped; the view follows new messages only when the reader is at the
 * bottom. Text is only ever set with textContent: messages are data, never HTML.
 */

import { clockTime, element } from '../page.js';
import { PAGE, els, isOwn, room, state } from './state.js';
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

/** Messages are kept in id order; unconfirmed echoes always stay at the end. */
function insertSorted(li, id) {
  let node = els.list.lastElementChild;
  while (node && (!node.dataset.id || Number(node.dataset.id) > id)) node = node.previousElementSibling;
  els.list.insertBefore(li, node ? node.nextElementSibling : els.list.firstElementChild);
}

/** Group runs from one author (within 5 minutes) so names are not repeated. */
export function regroup(li) {
  for (const el of [li, li && li.nextElementSibling]) {
    if (!el) continue;
    const prev = el.previousElementSibling;
    const same = prev && prev.dataset.sender === el.dataset.sender && prev.dataset.user === el.dataset.user &&
      Math.abs(Number(el.dataset.ts || Date.now()) - Number(prev.dataset.ts || Date.now())) < GROUP_WINDOW_MS;
    el.classList.toggle('msg--cont', Boolean(same));
  }
}

export function updateEmpty() {
  const none = els.list.childElementCount === 0;
  els.emptyState.hidden = !state.initialLoaded || !none;
  els.historyStart.hidden = !state.initialLoaded || state.hasMore || none;
}

/** Own/other styling follows a change of name, also for messages already on screen. */
export function markOwn() {
  for (const li of els.list.children) if (li.dataset.id) li.classList.toggle('msg--own', isOwn(li.dataset.sender, li.dataset.user));
}

/**
 * Show one server message, exactly once. Returns true if something new appeared.
 * An echo with our client_id, from us, is turned into this message in place.
 */
function renderMessage(msg) {
  if (!msg || typeof msg.id !== 'number' || typeof msg.sender !== 'string') return false;
  if (msg.room && msg.room !== room) return false;
  const echo = msg.client_id ? state.pending.get(msg.client_id) : null;
  // Signed in, the server writes the sender's current display name, which may differ
  // from the one the echo was shown with; the author is what identifies it.
  const isOurEcho = echo && (state.me && typeof msg.user === 'string'
    ? msg.user === state.me.username
    : echo.payload.sender === msg.sender);
  if (state.byId.has(msg.id)) {
    // Already shown (e.g. broadcast beat the ack): just drop a leftover echo.
    if (isOurEcho) { echo.el.remove(); state.pending.delete(msg.client_id); }
    return false;
  }
  let li;
  if (isOurEcho) {
    li = echo.el;
    state.pending.delete(msg.client_id);
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
  insertSorted(li, msg.id);
  regroup(li);
  state.byId.set(msg.id, li);
  if (state.oldestId === null || msg.id < state.oldestId) state.oldestId = msg.id;
  if (state.newestId === null || msg.id > state.newestId) state.newestId = msg.id;
  updateEmpty();
  return true;
}

/** New messages at the bottom: follow them only if the reader is already there. */
export function renderLive(messages, forceScroll) {
  const follow = forceScroll || nearBottom();
  let added = 0;
  for (const m of messages) {
    if (renderMessage(m)) {
      added += 1;
      // Whoever just sent a message has stopped typing it.
      if (state.typers.has(m.sender)) dropTyper(m.sender);
    }
  }
  if (!added) return;
  if (follow) scrollToBottom();
  else els.jump.hidden = false;
}

/** Older messages at the top: keep what the reader is looking at still. */
export function renderOlder(messages) {
  const s = els.scroller;
  const fromBottom = s.scrollHeight - s.scrollTop;
  els.list.setAttribute('aria-busy', 'true'); // don't announce a page of history
  for (const m of messages) renderMessage(m);
  s.scrollTop = s.scrollHeight - fromBottom;
  setTimeout(() => els.list.removeAttribute('aria-busy'), 0);
}

export function setHasMore(more) {
  state.hasMore = more;
  els.loadOlder.hidden = !more;
  updateEmpty();
}

/** First batch of history, whichever way it came (join ack or HTTP). */
export function renderInitial(messages) {
  els.list.setAttribute('aria-busy', 'true');
  for (const m of messages) renderMessage(m);
  setTimeout(() => els.list.removeAttribute('aria-busy'), 0);
  if (!state.initialLoaded) {
    state.initialLoaded = true;
    setHasMore(messages.length >= PAGE);
    updateEmpty();
    scrollToBottom();
  }
}
