/*
 * chat/notices.js: how the chat page tells the user that something went wrong: the
 * wording for the server's error codes, and the notices above the conversation (at most
 * three, each dismissable, the same text never twice at once).
 */

import { element } from '../page.js';
import { els } from './state.js';

export const ERROR_TEXT = {
  invalid: 'The server rejected this message.',
  too_large: 'Message is too long.',
  not_joined: 'Not in the room yet.',
  forbidden: 'You are not a member of this room.',
  not_found: 'There is no such room or person.',
  conflict: 'That already exists.',
  rate_limited: 'Sending too fast, slow down a little.',
  unavailable: 'The server is temporarily unavailable.',
  internal: 'The server hit an error.',
};

/** A sentence for an error `{code, message}` from the server, the socket or fetch. */
export function describeError(error) {
  if (!error) return 'Unknown error.';
  return error.message || ERROR_TEXT[error.code] || String(error.code || 'error');
}

export function notice(message, code) {
  // Same text twice in a row is one notice, not a stack of them.
  for (const n of els.notices.children) {
    if (n.dataset.text === message) return;
  }
  while (els.notices.children.length >= 3) els.notices.firstElementChild.remove();
  const box = element('div', 'notice');
  box.setAttribute('role', 'alert');
  box.dataset.text = message;
  if (code) box.dataset.code = code;
  box.append(element('span', 'notice__text', message));
  if (code) box.append(element('span', 'notice__code', code));
  const close = element('button', 'btn btn--ghost btn--small notice__close', 'Dismiss');
  close.type = 'button';
  close.addEventListener('click', () => { box.remove(); els.input.focus(); });
  box.append(close);
  els.notices.append(box);
}
