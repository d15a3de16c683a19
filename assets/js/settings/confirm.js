/*
 * settings/confirm.js: "are you sure?" for what cannot be undone (revoking a token,
 * resetting the join link, deactivating someone), in the page's own <dialog> rather than
 * window.confirm, which a phone shows as a bare system box and some browsers suppress.
 */

import { $ } from '../page.js';
import { failureText, formStatus, whileBusy } from '../forms.js';

const dialog = $('confirm-dialog');

/** Asks `question`; resolves to true only when the person presses `yesLabel`. */
function confirmAction(question, yesLabel) {
  $('confirm-text').textContent = question;
  $('confirm-yes').textContent = yesLabel;
  dialog.returnValue = '';
  dialog.showModal();
  // The safe answer is the one a stray Enter gives.
  $('confirm-cancel').focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
  });
}

/**
 * Asks `question`; once confirmed, runs `run` with `button` busy and says in `status`
 * how it went: `done`, or `failed` and the reason. Resolves to whether it ran.
 */
export async function afterConfirming(question, yesLabel, { button, status, run, done, failed }) {
  if (!(await confirmAction(question, yesLabel))) return false;
  try {
    await whileBusy(button, run);
    formStatus(status, 'ok', done);
  } catch (err) {
    formStatus(status, 'error', failureText(err, failed));
  }
  return true;
}
