/*
 * chat/history.js: the messages before and after what is on screen. Earlier pages load
 * when the reader scrolls to the top; after an outage, everything since the newest
 * message shown is fetched page by page, so nothing is missed however long it lasted.
 * Over the socket when it is up, else over HTTP.
 */

import { getMessages } from './api.js';
import { describeError, notice } from './notices.js';
import { renderLive, renderOlder, setHasMore } from './render.js';
import { PAGE, REQUEST_TIMEOUT_MS, els, room, socketUp, state } from './state.js';

const MAX_CATCHUP_PAGES = 100;   // bound on catch-up loops (5000 messages)

/** history over the socket when it is up, else over HTTP. Resolves to messages. */
function fetchHistory(params) {
  if (!socketUp()) return getMessages(params);
  return new Promise((resolve, reject) => {
    state.socket.timeout(REQUEST_TIMEOUT_MS).emit('history', Object.assign({ room }, params), (err, res) => {
      if (err) reject({ code: 'timeout', message: err.message });
      else if (!res || !res.ok) reject((res && res.error) || { code: 'internal' });
      else resolve(Array.isArray(res.messages) ? res.messages : []);
    });
  });
}

export async function loadOlder() {
  if (state.loadingOlder || !state.hasMore || state.oldestId === null) return;
  state.loadingOlder = true;
  els.loadOlder.disabled = true;
  try {
    const msgs = await fetchHistory({ before: state.oldestId, limit: PAGE });
    renderOlder(msgs);
    setHasMore(msgs.length >= PAGE);
  } catch (err) {
    notice('Could not load earlier messages: ' + describeError(err), err && err.code);
  } finally {
    state.loadingOlder = false;
    els.loadOlder.disabled = false;
  }
}

/**
 * Everything after `afterId`, page by page, until a short page says we are current.
 * `fetchPage` is how (fetchHistory, or plain HTTP while polling); `keepGoing` may end the
 * loop early, when whoever asked no longer needs it.
 */
export async function catchUp(afterId, fetchPage = fetchHistory, keepGoing = () => true) {
  let cursor = afterId;
  for (let i = 0; i < MAX_CATCHUP_PAGES && keepGoing(); i += 1) {
    const msgs = await fetchPage({ after: cursor, limit: PAGE });
    renderLive(msgs);
    if (msgs.length < PAGE) return;
    cursor = msgs.reduce((max, m) => (m.id > max ? m.id : max), cursor);
  }
}
