/*
 * chat/jump.js: showing one message in its room with the history around it, for a search
 * result, a reply's quote or a notification. A message the view already shows is
 * scrolled to and flashed. An older one is shown in a stretch of its own: the view is
 * emptied and filled with the messages just before and after it (`history` with before
 * and after), the view is "detached" from the newest messages, and it fills towards them
 * as the reader scrolls down (after), or goes straight back with "Jump to recent
 * messages" or by sending a message. A detached view takes no live additions (render.js
 * keeps it to its stretch) and its catch-up cursor stays where the stretch was read, so
 * once it reaches the newest messages one catch-up brings everything it skipped.
 */

import { joinView } from './connection.js';
import { askHistory, catchUp, fetchHistory } from './history.js';
import { describeError, notice } from './notices.js';
import { clearView, nearBottom, renderIsland, setHasMore, updateEmpty } from './render.js';
import { PAGE, announce, els, on, state } from './state.js';
import { openRoom } from './switch.js';

const AROUND = 25;                 // messages loaded on each side of the one jumped to
const FLASH_MS = 2400;
const LOAD_WAIT_MS = 8000;         // how long a room just opened may take to show its first page
const LOAD_POLL_MS = 50;
const MAX_REV = 9007199254740991;  // `since` beyond every rev: the answer is just the room's rev

/** Resolves once view `v` has its first page (or after LOAD_WAIT_MS). */
async function loaded(v) {
  for (let waited = 0; !v.initialLoaded && waited < LOAD_WAIT_MS; waited += LOAD_POLL_MS) {
    await new Promise((resolve) => setTimeout(resolve, LOAD_POLL_MS));
  }
}

/** Scrolls row `id` of the room on screen into the middle and makes it flash. */
function reveal(v, id) {
  const li = v.byId.get(id);
  if (!li || v !== state.view) return;
  li.scrollIntoView({ block: 'center' });
  li.classList.remove('msg--flash');
  // Restarting the animation needs a style flush between taking the class off and on.
  void li.offsetWidth;
  li.classList.add('msg--flash');
  setTimeout(() => li.classList.remove('msg--flash'), FLASH_MS);
}

/** The "jump" button says how to get back to the newest messages while the view is detached. */
function showJumpButton() {
  const v = state.view;
  if (v.detached) {
    els.jump.textContent = 'Jump to recent messages ↓';
    els.jump.dataset.mode = 'recent';
    els.jump.hidden = false;
  } else if (els.jump.dataset.mode === 'recent') {
    els.jump.textContent = 'New messages ↓';
    delete els.jump.dataset.mode;
    els.jump.hidden = true;
  }
}

/** View `v` reaches the newest messages again: whatever it skipped comes with one catch-up. */
function reattach(v) {
  v.detached = false;
  v.hasNewer = false;
  showJumpButton();
  catchUp(v).catch(() => { /* the next connect or poll catches up */ });
}

/**
 * Shows in view `v` the stretch `before` (up to and including the message) and `after`
 * it, read after the room's rev was `rev`: changes after that come with catch-ups.
 */
function showStretch(v, before, after, rev) {
  clearView(v);
  v.epoch += 1;
  v.detached = true;
  v.initialLoaded = true;
  v.entering = false;
  if (typeof rev === 'number') v.rev = rev;
  renderIsland(v, before.concat(after));
  setHasMore(v, before.length >= AROUND);
  v.hasNewer = after.length >= AROUND;
  if (!v.hasNewer) reattach(v);
  updateEmpty();
  showJumpButton();
}

/**
 * Opens `room` and shows message `id` in it, with the history around it loaded, and
 * flashes it. Says so when the message is gone.
 */
export async function jumpTo(room, id) {
  if (room !== state.view.room) openRoom(room);
  const v = state.views.get(room);
  if (!v || v !== state.view) return;
  await loaded(v);
  if (v !== state.view) return;
  if (v.byId.has(id)) { reveal(v, id); return; }
  // Inside the stretch on screen and not shown: it was deleted.
  const inside = v.oldestId !== null && id > v.oldestId && id < v.newestId;
  if (v.deleted.has(id) || inside) { notice('That message was deleted.'); return; }
  const epoch = v.epoch;
  try {
    // The room's rev first: the stretch read after it shows every change up to it.
    const { rev } = await askHistory(room, { since: MAX_REV, limit: 1 });
    const [before, after] = await Promise.all([
      fetchHistory(room, { before: id + 1, limit: AROUND }),
      fetchHistory(room, { after: id, limit: AROUND }),
    ]);
    if (v !== state.view || v.epoch !== epoch) return;
    showStretch(v, before, after, rev);
    if (v.byId.has(id)) reveal(v, id);
    else notice('That message was deleted.');
  } catch (err) {
    notice('Could not show that message: ' + describeError(err), err && err.code);
  }
}

/** The page after the newest message of a detached view on screen (the reader scrolled down). */
async function loadNewer() {
  const v = state.view;
  if (!v.detached || v.loadingNewer || v.newestId === null) return;
  v.loadingNewer = true;
  const epoch = v.epoch;
  try {
    const msgs = await fetchHistory(v.room, { after: v.newestId, limit: PAGE });
    if (v.epoch !== epoch || !v.detached) return;
    renderIsland(v, msgs);
    announce('rendered', { view: v });
    if (msgs.length < PAGE) reattach(v);
  } catch (err) {
    notice('Could not load newer messages: ' + describeError(err), err && err.code);
  } finally {
    v.loadingNewer = false;
  }
}

/** A detached view `v` shows the newest messages again, as when the room is opened. */
export function backToLive(v) {
  if (!v.detached) return;
  clearView(v);
  v.epoch += 1;
  v.detached = false;
  v.initialLoaded = false;
  v.entering = false;
  if (v === state.view) {
    setHasMore(v, false);
    showJumpButton();
  }
  // Over the socket the join brings the newest page; while it is down, the HTTP poll does.
  joinView(v);
}

export function setUpJumps() {
  els.scroller.addEventListener('scroll', () => {
    if (!state.view.detached) return;
    els.jump.hidden = false;
    if (nearBottom()) loadNewer();
  }, { passive: true });
  on('switched', showJumpButton);
}
