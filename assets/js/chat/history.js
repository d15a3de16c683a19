/*
 * chat/history.js: the messages before and after what is on screen. Earlier pages load
 * when the reader scrolls to the top; after an outage, everything since the newest
 * message shown is fetched page by page, so nothing is missed however long it lasted.
 * Over the socket when it is up, else over HTTP. Each works on one room's view.
 */

import { getMessages } from './api.js';
import { describeError, notice } from './notices.js';
import { renderLive, renderOlder, setHasMore } from './render.js';
import { PAGE, REQUEST_TIMEOUT_MS, els, socketUp, state } from './state.js';

const MAX_CATCHUP_PAGES = 100;   // bound on catch-up loops (5000 messages)

/** `room`'s history over the socket when it is up, else over HTTP. Resolves to messages. */
function fetchHistory(room, params) {
  if (!socketUp()) return getMessages(room, params);
  return new Promise((resolve, reject) => {
    state.socket.timeout(REQUEST_TIMEOUT_MS).emit('history', Object.assign({ room }, params), (err, res) => {
      if (err) reject({ code: 'timeout', message: err.message });
      else if (!res || !res.ok) reject((res && res.error) || { code: 'internal' });
      else resolve(Array.isArray(res.messages) ? res.messages : []);
    });
  });
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
 * Everything of view `v` after `afterId`, page by page, until a short page says we are
 * current. `fetchPage` is how (fetchHistory, or plain HTTP while polling); `keepGoing`
 * may end the loop early, when whoever asked no longer needs it.
 */
export async function catchUp(v, afterId, fetchPage = (params) => fetchHistory(v.room, params), keepGoing = () => true) {
  let cursor = afterId;
  for (let i = 0; i < MAX_CATCHUP_PAGES && keepGoing(); i += 1) {
    const msgs = await fetchPage({ after: cursor, limit: PAGE });
    renderLive(v, msgs);
    if (msgs.length < PAGE) return;
    cursor = msgs.reduce((max, m) => (m.id > max ? m.id : max), cursor);
  }
}
