/*
 * chat/history.js: the messages before and after what is on screen. Earlier pages load
 * when the reader scrolls to the top. Catching up asks for what changed after the view's
 * cursor (`history {room, since: rev}`, or GET ?since= over HTTP): messages created,
 * edited, reacted to and deleted, in rev order, page by page until a short page says the
 * view is current, so an edit or a deletion made while the reader was away reaches them
 * as surely as a new message. render.js applies each by rev, so what a catch-up brings
 * that a live event already showed changes nothing. A view catches up after each join,
 * every loaded view after each reconnect, and the room on screen while polling over HTTP.
 *
 * The cursor (`v.rev`) moves with each page, and with live events once the view is
 * caught up since the last connect: the socket delivers a room's events in rev order,
 * so nothing below one it delivered can still be missing then.
 */

import { getHistory } from './api.js';
import { describeError, notice } from './notices.js';
import { renderLive, renderOlder, setHasMore } from './render.js';
import { PAGE, REQUEST_TIMEOUT_MS, els, socketUp, state } from './state.js';

const MAX_CATCHUP_PAGES = 100;   // bound on catch-up loops (5000 changes)

/** `room`'s history over the socket when it is up, else over HTTP: {messages, rev}. */
export function askHistory(room, params) {
  if (!socketUp()) return getHistory(room, params);
  return new Promise((resolve, reject) => {
    state.socket.timeout(REQUEST_TIMEOUT_MS).emit('history', Object.assign({ room }, params), (err, res) => {
      if (err) reject({ code: 'timeout', message: err.message });
      else if (!res || !res.ok) reject((res && res.error) || { code: 'internal' });
      else resolve({ messages: Array.isArray(res.messages) ? res.messages : [], rev: typeof res.rev === 'number' ? res.rev : null });
    });
  });
}

/** A page of `room`'s history (askHistory's messages). */
export async function fetchHistory(room, params) {
  return (await askHistory(room, params)).messages;
}

/** The page before the oldest message of the room on screen. */
export async function loadOlder() {
  const v = state.view;
  if (v.loadingOlder || !v.hasMore || v.oldestId === null) return;
  v.loadingOlder = true;
  els.loadOlder.disabled = true;
  try {
    const msgs = await fetchHistory(v.room, { before: v.oldestId, limit: PAGE });
    renderOlder(v, msgs);
    setHasMore(v, msgs.length >= PAGE);
  } catch (err) {
    notice('Could not load earlier messages: ' + describeError(err), err && err.code);
  } finally {
    v.loadingOlder = false;
    els.loadOlder.disabled = false;
  }
}

/**
 * Everything of view `v` that changed after its cursor, page by page, until a short
 * page says it is current; then the view counts as caught up (live events move its
 * cursor from there). `fetchChanges` is how (askHistory, or plain HTTP while polling);
 * `keepGoing` may end the loop early, when whoever asked no longer needs it.
 */
export async function catchUp(v, fetchChanges = (params) => askHistory(v.room, params), keepGoing = () => true) {
  for (let i = 0; i < MAX_CATCHUP_PAGES && keepGoing(); i += 1) {
    const { messages, rev } = await fetchChanges({ since: v.rev, limit: PAGE });
    renderLive(v, messages);
    // Pages come in rev order: the cursor may pass each page as soon as it is applied.
    for (const m of messages) if (m && typeof m.rev === 'number') v.rev = Math.max(v.rev, m.rev);
    if (messages.length < PAGE) {
      if (typeof rev === 'number') v.rev = Math.max(v.rev, rev);
      v.caughtUp = socketUp();
      return;
    }
  }
}

/** A live event (a broadcast message or change) moves view `v`'s cursor once it is caught up. */
export function noteLiveRev(v, m) {
  if (v.caughtUp && !v.detached && typeof m.rev === 'number') v.rev = Math.max(v.rev, m.rev);
}
