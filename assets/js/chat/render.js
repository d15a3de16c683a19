/*
 * chat/render.js: the conversation on screen. Every message, whichever way it came (join
 * ack, broadcast, send ack, history page, catch-up, HTTP poll), goes through
 * renderMessage(), which shows each message id exactly once in its room's view and turns
 * our own "sending" echo into the server's copy in place. The same function applies
 * changes: a message already shown is redrawn when the copy that arrives is newer (a
 * higher `rev`: edited, reacted to), and a tombstone ({id, deleted: true}) takes the row
 * away for good. A deleted message disappears, as it does in Campfire and Slack; a reply
 * to it says "Original message deleted". Applying by rev is what makes a catch-up that
 * overlaps live events harmless: whatever arrives twice changes nothing the second time.
 *
 * Messages stay in id order with unconfirmed echoes at the end; runs from one sender are
 * grouped; the room on screen follows new messages only when the reader is at the bottom.
 * A view shows one unbroken stretch of its room (from its oldest to its newest message),
 * so a message from a live source is added only inside that stretch or after it (never
 * before the oldest while older pages remain: those come with "load earlier"), and a
 * view showing an older stretch (jump.js, `detached`) takes nothing after its newest.
 * A view that is not on screen is kept up to date the same way, just without scrolling.
 * Text is only ever set with textContent: messages are data, never HTML.
 */

import { clockTime, element } from '../page.js';
import { drawMessage, refreshQuotes, revOf } from './message.js';
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
 * A message row without an id or state yet: sender, time slot, the line with the bubble
 * (where message.js adds the "edited" mark and the actions), status line. `user` is the
 * author's username when the server knows it (signed-in mode).
 */
export function buildMessage(sender, text, user) {
  const li = element('li', 'msg');
  li.dataset.sender = sender;
  if (typeof user === 'string') li.dataset.user = user;
  const meta = element('div', 'msg__meta');
  meta.append(element('span', 'msg__sender', sender), element('time', 'msg__time'));
  const line = element('div', 'msg__line');
  line.append(element('div', 'msg__bubble', text));
  const status = element('div', 'msg__status');
  status.hidden = true;
  li.append(meta, line, status);
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

/** The stretch of ids a view shows grows with every id the server gave it, tombstones too. */
function extendCursors(v, id) {
  if (v.oldestId === null || id < v.oldestId) v.oldestId = id;
  if (v.newestId === null || id > v.newestId) v.newestId = id;
}

/**
 * Whether a message from a live source (broadcast, ack, catch-up) belongs in view `v`:
 * not before its oldest while older pages remain, not after the newest of a view that
 * shows an older stretch.
 */
function inWindow(v, id) {
  if (v.hasMore && v.oldestId !== null && id < v.oldestId) return false;
  if (v.detached && v.newestId !== null && id > v.newestId) return false;
  return true;
}

/** Takes message `id` off view `v` for good. True if it was shown. */
function removeRow(v, id) {
  v.deleted.add(id);
  v.messages.delete(id);
  const li = v.byId.get(id);
  refreshQuotes(v, id);
  if (!li) return false;
  const next = li.nextElementSibling;
  li.remove();
  v.byId.delete(id);
  // The next row may now follow another author, or start a run of its own.
  if (next) regroup(next);
  if (v === state.view) updateEmpty();
  announce('changed', { view: v, id, deleted: true });
  return true;
}

/** Redraws a shown row when `msg` is a newer copy of it. True if it changed. */
function updateRow(v, li, msg) {
  if (revOf(msg) <= Number(li.dataset.rev || 0)) return false;
  drawMessage(v, li, msg);
  v.messages.set(msg.id, msg);
  refreshQuotes(v, msg.id);
  announce('changed', { view: v, id: msg.id, deleted: false });
  return true;
}

/**
 * Show one server message (or tombstone) in view `v`, exactly once, or apply it to the
 * row that shows it. `how` is where it comes from: 'initial' (the first page), 'older'
 * (a page before the oldest), 'island' (jump.js's stretch around a message) or 'live'
 * (everything else, checked against the view's stretch). Returns 'added', 'changed' or
 * null. An echo with our client_id, from us, is turned into this message in place.
 */
function renderMessage(v, msg, how) {
  if (!msg || typeof msg.id !== 'number') return null;
  if (msg.room && msg.room !== v.room) return null;
  const fits = how !== 'live' || inWindow(v, msg.id);
  if (msg.deleted === true) {
    if (fits) extendCursors(v, msg.id);
    return removeRow(v, msg.id) ? 'changed' : null;
  }
  if (typeof msg.sender !== 'string' || v.deleted.has(msg.id)) return null;
  const echo = msg.client_id ? v.pending.get(msg.client_id) : null;
  // Signed in, the server writes the sender's current display name, which may differ
  // from the one the echo was shown with; the author is what identifies it.
  const isOurEcho = echo && (state.me && typeof msg.user === 'string'
    ? msg.user === state.me.username
    : echo.payload.sender === msg.sender);
  const shown = v.byId.get(msg.id);
  if (shown) {
    // Already shown (e.g. broadcast beat the ack): drop a leftover echo, apply a change.
    if (isOurEcho) { echo.el.remove(); v.pending.delete(msg.client_id); }
    return updateRow(v, shown, msg) ? 'changed' : null;
  }
  if (!fits && !isOurEcho) return null;
  let li;
  if (isOurEcho) {
    li = echo.el;
    v.pending.delete(msg.client_id);
    li.remove();
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
  drawMessage(v, li, msg);
  insertSorted(v.list, li, msg.id);
  regroup(li);
  v.byId.set(msg.id, li);
  v.messages.set(msg.id, msg);
  extendCursors(v, msg.id);
  // Replies to it that are already shown can quote it now.
  refreshQuotes(v, msg.id);
  if (v === state.view) updateEmpty();
  return 'added';
}

/**
 * New messages and changes at the bottom of view `v` (a broadcast, an ack, a catch-up).
 * On screen, the view follows them only if the reader is already there (or
 * `forceScroll`, for our own message).
 */
export function renderLive(v, messages, forceScroll) {
  const onScreen = v === state.view;
  const follow = onScreen && (forceScroll || nearBottom());
  let added = 0;
  let changed = 0;
  for (const m of messages) {
    const result = renderMessage(v, m, 'live');
    if (result === 'added') {
      added += 1;
      // Whoever just sent a message has stopped typing it.
      if (onScreen && state.typers.has(m.sender)) dropTyper(m.sender);
    } else if (result === 'changed') {
      changed += 1;
    }
  }
  if (!added && !changed) return;
  if (onScreen) {
    // A reaction bar that appears at the bottom must not push the newest message out of view.
    if (follow) scrollToBottom();
    else if (added) els.jump.hidden = false;
  }
  if (added) announce('rendered', { view: v });
}

/** Older messages at the top of the view on screen: keep what the reader is looking at still. */
export function renderOlder(v, messages) {
  const s = els.scroller;
  const fromBottom = s.scrollHeight - s.scrollTop;
  v.list.setAttribute('aria-busy', 'true'); // don't announce a page of history
  for (const m of messages) renderMessage(v, m, 'older');
  if (v === state.view) s.scrollTop = s.scrollHeight - fromBottom;
  setTimeout(() => v.list.removeAttribute('aria-busy'), 0);
}

/**
 * A stretch of history around one message (jump.js), into a view emptied for it, and
 * the pages after it. Its revs do not move the catch-up cursor: read in several requests,
 * it is no snapshot of one moment (jump.js sets the cursor from before the first).
 */
export function renderIsland(v, messages) {
  v.list.setAttribute('aria-busy', 'true');
  for (const m of messages) renderMessage(v, m, 'island');
  setTimeout(() => v.list.removeAttribute('aria-busy'), 0);
}

export function setHasMore(v, more) {
  v.hasMore = more;
  if (v !== state.view) return;
  els.loadOlder.hidden = !more;
  updateEmpty();
}

/**
 * A page that shows the room as it was when it was read moves the view's catch-up
 * cursor to its highest rev: every change up to then is in it, for the messages it has.
 */
function noteRevs(v, messages) {
  for (const m of messages) if (m && typeof m.id === 'number') v.rev = Math.max(v.rev, revOf(m));
}

/** First batch of a view's history, whichever way it came (join ack or HTTP). */
export function renderInitial(v, messages) {
  v.list.setAttribute('aria-busy', 'true');
  for (const m of messages) renderMessage(v, m, 'initial');
  setTimeout(() => v.list.removeAttribute('aria-busy'), 0);
  if (!v.initialLoaded) {
    v.initialLoaded = true;
    noteRevs(v, messages);
    setHasMore(v, messages.length >= PAGE);
    if (v === state.view) {
      updateEmpty();
      scrollToBottom();
    }
  }
  announce('rendered', { view: v });
}

/**
 * Empties view `v` (its rows, what it knows of them, its stretch) for another stretch of
 * the room; unsent echoes stay at the end. jump.js uses it to show an older stretch and
 * to come back to the newest messages.
 */
export function clearView(v) {
  for (const li of Array.from(v.list.children)) if (li.dataset.id || !li.dataset.clientId) li.remove();
  v.byId.clear();
  v.messages.clear();
  v.oldestId = null;
  v.newestId = null;
  v.hasMore = false;
  v.hasNewer = false;
}
