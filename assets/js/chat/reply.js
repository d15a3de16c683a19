/*
 * chat/reply.js: answering one message. "Reply" on a message shows it above the message
 * box (who wrote it and what), with a button (or Escape) that cancels; the next message
 * sent carries `reply_to`, and every reply shows a quote of what it answers (message.js).
 * A reply belongs to its room: switching rooms keeps it for when the reader comes back,
 * and it goes away if the message it answers is deleted.
 */

import { $ } from '../page.js';
import { nearBottom, scrollToBottom } from './render.js';
import { els, on, state } from './state.js';

const bar = $('reply-bar');
const who = $('reply-who');
const text = $('reply-text');

/** Shows the message the composer answers in the room on screen, or nothing. */
function showReply() {
  const v = state.view;
  const original = v.replyTo === null ? null : v.messages.get(v.replyTo);
  // The bar takes height from the conversation: a reader at the bottom stays there.
  const follow = nearBottom();
  if (original) {
    who.textContent = original.sender;
    text.textContent = String(original.text);
  } else {
    v.replyTo = null;
  }
  bar.hidden = !original;
  if (follow) scrollToBottom();
}

/** The composer answers message `id` of view `v` (the room on screen). */
export function startReply(v, id) {
  if (!v.messages.has(id)) return;
  v.replyTo = id;
  showReply();
  els.input.focus();
}

export function cancelReply() {
  state.view.replyTo = null;
  showReply();
  els.input.focus();
}

/** The id the message being sent in view `v` answers, or null; the composer lets go of it. */
export function takeReply(v) {
  const id = v.replyTo;
  v.replyTo = null;
  if (v === state.view) showReply();
  return id;
}

export function setUpReplies() {
  $('reply-cancel').addEventListener('click', cancelReply);
  els.input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !e.defaultPrevented && state.view.replyTo !== null) {
      e.preventDefault();
      cancelReply();
    }
  });
  on('switched', showReply);
  // Edited: the bar shows the new text; deleted: there is nothing left to answer.
  on('changed', ({ view, id }) => { if (view === state.view && id === view.replyTo) showReply(); });
}
