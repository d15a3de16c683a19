/*
 * chat/switch.js: going from one room to another without leaving the page. The address
 * changes (history.pushState to /chat/{room}, and Back and Forward go between rooms the
 * same way), the socket stays connected, and the conversation area shows the new room's
 * view: the one kept from an earlier visit, caught up by its join, or a new one. The
 * reader's place in the room they leave is kept for when they come back.
 */

import { roomProblem } from '../rules.js';
import { joinView } from './connection.js';
import { nearBottom, scrollToBottom, updateEmpty } from './render.js';
import { closeDrawer } from './sidebar.js';
import { announce, els, newView, roomFromPath, state } from './state.js';
import { clearTypers, stopTyping } from './typing.js';

const phone = window.matchMedia('(max-width: 700px)');

/** A new, empty list for a room's messages, like the one in chat.html. */
function newList() {
  const ol = document.createElement('ol');
  ol.className = 'messages';
  ol.setAttribute('aria-label', 'Messages');
  ol.setAttribute('aria-live', 'polite');
  ol.setAttribute('aria-relevant', 'additions');
  return ol;
}

/** Puts view `v` on screen in place of the current one. */
function show(v) {
  const old = state.view;
  old.atBottom = nearBottom();
  old.scrollTop = els.scroller.scrollTop;
  old.list.removeAttribute('id');
  v.list.id = 'messages';
  old.list.replaceWith(v.list);
  els.list = v.list;
  state.view = v;
  els.loadOlder.hidden = !v.hasMore;
  els.jump.hidden = true;
  updateEmpty();
  if (v.scrollTop === null || v.atBottom) scrollToBottom();
  else els.scroller.scrollTop = v.scrollTop;
}

/**
 * Opens room `id` in place. `push` false when the address already says it (Back,
 * Forward). A view the server refused before is asked again: membership may have changed.
 */
export function openRoom(id, { push = true } = {}) {
  closeDrawer();
  if (!id || roomProblem(id) !== null || id === state.view.room) return;
  stopTyping();
  clearTypers();
  let v = state.views.get(id);
  if (!v) {
    v = newView(id, newList());
    state.views.set(id, v);
  }
  v.refused = false;
  v.entering = true;
  show(v);
  if (push) history.pushState({ room: id }, '', '/chat/' + id);
  announce('switched', { view: v });
  joinView(v);
  // On a phone the keyboard would cover the room just opened; elsewhere, type at once.
  if (!phone.matches) els.input.focus();
}

/** Back and Forward between rooms. */
export function setUpSwitching() {
  state.view.entering = true;
  history.replaceState({ room: state.view.room }, '', window.location.href);
  window.addEventListener('popstate', () => {
    const id = roomFromPath(window.location.pathname);
    if (id) openRoom(id, { push: false });
  });
}
