/*
 * chat/name.js: who the user is on this page when the server runs without accounts (open
 * mode). The name remembered from the lobby is used when the server would accept it;
 * otherwise, and when the user clicks their name, the name form asks for one, checked by
 * the server's own rules (rules.js) before it is used. Signed in, the name is the
 * account's and none of this is used (chat.js).
 */

import { fillUserChip } from '../account.js';
import { showFieldError } from '../page.js';
import { storeName } from '../prefs.js';
import { checkName } from '../rules.js';
import { markOwn } from './render.js';
import { els, state } from './state.js';
import { stopTyping } from './typing.js';

/** Uses `name`, which checkName() has accepted. */
export function applyName(name) {
  state.name = name;
  fillUserChip(els.userChip, name);
  els.nameForm.hidden = true;
  els.form.hidden = false;
}

export function showNameForm() {
  els.nameForm.hidden = false;
  els.form.hidden = true;
  els.nameInput.value = state.name || '';
  showFieldError(els.nameInput, els.nameError, null);
  els.nameInput.focus();
}

function submitName(event) {
  event.preventDefault();
  const { name, problem } = checkName(els.nameInput.value);
  showFieldError(els.nameInput, els.nameError, problem);
  if (problem) {
    els.nameInput.focus();
    return;
  }
  stopTyping();
  storeName(name);
  applyName(name);
  markOwn();
  els.input.focus();
}

/** Wires the name form and the user chip that opens it. */
export function setUpNameForm() {
  els.nameForm.addEventListener('submit', submitName);
  els.userChip.addEventListener('click', showNameForm);
  // Escape leaves the name form when a name already exists.
  els.nameForm.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.name) { els.nameForm.hidden = true; els.form.hidden = false; els.input.focus(); }
  });
}
