/*
 * chat/unread.js: what is new, and what I have read. The server counts, per room, the
 * messages by others after my read marker (`unread`) and those of them that mention me
 * (`mentions`); `rooms` brings the counts, and between two refreshes this page keeps them
 * up to date from the messages it hears, so badges appear at once.
 *
 * My marker moves when I have seen the newest message of a room: the room is on screen,
 * the tab is visible, and the conversation is scrolled to the bottom. Then the page sends
 * `read` {room, id} (debounced, so scrolling through a burst is one request; after the
 * next connect if the socket is down) and clears the badge; the server tells my other
 * tabs with a `read` event, which clears theirs.
 * A "New messages" line sits in a room's conversation at my marker as it was when I came
 * in, so I see where I left off; the tab's title starts with the total, "(3) …".
 */

import { element } from '../page.js';
import { ask } from './connection.js';
import { mentionsMe } from './message.js';
import { nearBottom, scrollToBottom } from './render.js';
import { scheduleRefresh, touchRoom } from './rooms.js';
import { announce, els, socketUp, state } from './state.js';

const READ_DELAY_MS = 400;  // reading through a burst of messages is one `read`
const MAX_COUNT = 999;      // the server's cap

let readTimer = null;
let baseTitle = document.title;

/** Whether the reader sees the newest message of view `v` right now. */
function seeingNewest(v) {
  return v === state.view && v.initialLoaded && !v.refused && document.visibilityState === 'visible' &&
    nearBottom() && !document.body.classList.contains('drawer-open');
}

/**
 * The reader may just have seen the newest message of the room on screen (it arrived,
 * they scrolled down, the tab came back): that is noted at once, and the server is told
 * soon after, for every room with something seen and not yet told. Seen while the socket
 * is down (messages over HTTP), it is told after the next connect.
 */
export function considerRead() {
  const v = state.view;
  if (v.newestId !== null && seeingNewest(v)) v.seen = Math.max(v.seen, v.newestId);
  clearTimeout(readTimer);
  readTimer = setTimeout(sendReads, READ_DELAY_MS);
}

function sendReads() {
  if (!socketUp()) return;
  for (const v of state.views.values()) {
    const info = state.rooms.get(v.room);
    const marker = Math.max(v.readMarker, info ? info.read_marker : 0);
    const counted = info && (info.unread > 0 || info.mentions > 0);
    const id = v.seen;
    if (id <= v.readSent || (id <= marker && !counted)) continue;
    const before = v.readSent;
    v.readSent = id;
    markRead(v.room, id);
    ask('read', { room: v.room, id }).then(
      (res) => { if (typeof res.id === 'number') markRead(v.room, res.id); },
      () => {
        // Told again at the next chance; the counts come from the server meanwhile.
        if (v.readSent === id) v.readSent = before;
        scheduleRefresh();
      },
    );
  }
}

/**
 * My marker in `room` is at least `id` (sent by this page, or a `read` from another of
 * my tabs): the badge goes when that covers the room's newest message, and otherwise
 * the server recounts.
 */
function markRead(room, id) {
  const v = state.views.get(room);
  if (v) {
    v.readMarker = Math.max(v.readMarker, id);
    v.readSent = Math.max(v.readSent, id);
  }
  const info = state.rooms.get(room);
  if (!info) return;
  info.read_marker = Math.max(info.read_marker, id);
  if (!info.last_message || id >= info.last_message.id) {
    info.unread = 0;
    info.mentions = 0;
  } else {
    scheduleRefresh();
  }
  announce('rooms');
}

/** A `read` event: my marker moved in another tab or on another device. */
export function onReadEvent(d) {
  if (d && typeof d.room === 'string' && typeof d.id === 'number') markRead(d.room, d.id);
}

/**
 * A message broadcast to one of my rooms (`shown`: it went into a view). Someone else's
 * message I cannot see now counts as unread; one I can see moves my marker instead.
 */
export function noteMessage({ message: m, shown }) {
  if (typeof m.id !== 'number' || typeof m.room !== 'string') return;
  const info = state.rooms.get(m.room);
  if (!info) {
    // A room I have just become a member of: its record comes with the next `rooms`.
    scheduleRefresh();
    return;
  }
  if (!info.last_message || m.id > info.last_message.id) info.last_message = m;
  touchRoom(m.room);
  const mine = state.me && m.user === state.me.username;
  const v = state.views.get(m.room);
  if (!mine && m.id > info.read_marker) {
    if (v && shown && seeingNewest(v)) {
      considerRead();
    } else {
      info.unread = Math.min(MAX_COUNT, info.unread + 1);
      if (mentionsMe(m)) info.mentions = Math.min(MAX_COUNT, info.mentions + 1);
      if (v === state.view && shown && !dividerOf(v)) placeDivider(v);
    }
  }
  announce('rooms');
}

// ---------- the "New messages" line ----------

function dividerOf(v) {
  return v.list.querySelector(':scope > .unread-divider');
}

/**
 * Puts the line before the first message by someone else after my marker in view `v`
 * (or takes it away when there is none). It sorts between two message ids (render.js),
 * so messages arriving later go below it.
 */
function placeDivider(v) {
  const old = dividerOf(v);
  if (old) old.remove();
  let first = null;
  for (const li of v.list.children) {
    if (li.dataset.id && Number(li.dataset.id) > v.readMarker && !li.classList.contains('msg--own')) { first = li; break; }
  }
  if (!first) return null;
  const line = element('li', 'unread-divider');
  line.dataset.after = String(Number(first.dataset.id) - 1);
  line.setAttribute('role', 'separator');
  line.append(element('span', 'unread-divider__label', 'New messages'));
  v.list.insertBefore(line, first);
  // The message after the line starts a new group: it shows its author again.
  first.classList.remove('msg--cont');
  return line;
}

/**
 * A room was just opened and its join acknowledged: the line goes to my marker, and the
 * conversation opens there when the new messages do not all fit below it. A room the
 * reader left scrolled up in history stays where they were.
 */
export function enteredRoom(v) {
  const line = placeDivider(v);
  if (v.atBottom) scrollToBottom();
  if (v.atBottom && line && line.offsetTop < els.scroller.scrollTop) {
    els.scroller.scrollTop = Math.max(0, line.offsetTop - 16);
    els.jump.hidden = false;
  }
  considerRead();
}

// ---------- totals ----------

/** Unread messages in all my rooms. */
export function totalUnread() {
  let n = 0;
  for (const info of state.rooms.values()) n += info.unread;
  return n;
}

/** The tab title without the count (the room's); the count is put in front of it. */
export function setBaseTitle(title) {
  baseTitle = title;
  showTitle();
}

export function showTitle() {
  const n = totalUnread();
  document.title = (n > 0 ? '(' + n + ') ' : '') + baseTitle;
}
