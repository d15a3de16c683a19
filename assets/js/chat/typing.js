/*
 * chat/typing.js: "Alice is typing…" in both directions. Our own typing is announced at
 * most every 2 s while keys are pressed and withdrawn after 3 s without one (or when the
 * message is sent); other people's is shown until they withdraw it, send, or go quiet for
 * 5 s, so a lost "stopped typing" never leaves a ghost on the line.
 */

import { isBlankText } from '../rules.js';
import { els, isOwn, socketUp, state } from './state.js';

const TYPING_THROTTLE_MS = 2000; // resend "typing: true" at most this often
const TYPING_IDLE_MS = 3000;     // no keystroke for this long → "typing: false"
const TYPING_EXPIRE_MS = 5000;   // forget a remote typer not refreshed for this long

function emitTyping(typing) {
  const v = state.view;
  if (!socketUp() || !v.joined || !state.name) return;
  // volatile: a stale "typing" is worse than none, so never queue it for later.
  state.socket.volatile.emit('typing', { room: v.room, sender: state.name, typing });
}

/** The message box changed: announce typing, or withdraw it when the box is empty. */
export function onInputTyping() {
  if (isBlankText(els.input.value)) { stopTyping(); return; }
  const now = Date.now();
  if (now - state.typingSentAt >= TYPING_THROTTLE_MS) {
    state.typingSentAt = now;
    emitTyping(true);
  }
  clearTimeout(state.typingIdleTimer);
  state.typingIdleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

export function stopTyping() {
  clearTimeout(state.typingIdleTimer);
  if (state.typingSentAt) {
    state.typingSentAt = 0;
    emitTyping(false);
  }
}

function renderTyping() {
  const names = Array.from(state.typers.keys());
  let text = '';
  if (names.length === 1) text = names[0] + ' is typing…';
  else if (names.length === 2) text = names[0] + ' and ' + names[1] + ' are typing…';
  else if (names.length > 2) text = names.length + ' people are typing…';
  els.typing.textContent = text;
}

export function dropTyper(sender) {
  clearTimeout(state.typers.get(sender));
  state.typers.delete(sender);
  renderTyping();
}

/** A 'typing' event: shown only for the room on screen. */
export function onTyping(d) {
  if (!d || d.room !== state.view.room || typeof d.sender !== 'string' || isOwn(d.sender, d.user)) return;
  if (d.typing) {
    clearTimeout(state.typers.get(d.sender));
    state.typers.set(d.sender, setTimeout(() => dropTyper(d.sender), TYPING_EXPIRE_MS));
    renderTyping();
  } else {
    dropTyper(d.sender);
  }
}

/** The connection is gone, or another room is on screen: nobody's typing is known any more. */
export function clearTypers() {
  for (const t of state.typers.values()) clearTimeout(t);
  state.typers.clear();
  renderTyping();
}
