/*
 * chat/edit.js: changing and taking back my messages. "Edit" puts an editor in place of
 * the message's bubble: Enter saves (`edit_message`), Shift+Enter starts a new line,
 * Escape or Cancel leaves it as it was; saving an emptied message offers to delete it.
 * ArrowUp in an empty message box edits my last message, as in Slack. "Delete" asks
 * first, in a dialog that shows what goes (`delete_message`); admins may delete anyone's
 * message. The answers carry the message as it now is, applied like any change
 * (render.js), and everyone else in the room sees it through `message_updated` and
 * `message_deleted`.
 */

import { $, element } from '../page.js';
import { isBlankText } from '../rules.js';
import { whileBusy } from '../forms.js';
import { ask } from './connection.js';
import { describeError, notice } from './notices.js';
import { renderLive } from './render.js';
import { els, on, state } from './state.js';

const MAX_ROWS = 8;   // the editor grows to this many lines, then scrolls

const dialog = $('delete-dialog');
const preview = $('delete-preview');
const confirmButton = $('delete-confirm');
let deleting = null;   // {v, id} while the dialog asks

// ---------- editing ----------

/** The editor open in view `v`'s list, if any. */
function openEditor(v) {
  return v.list.querySelector('.msg__editor');
}

/** Closes the editor of row `li`, showing the message again. */
function closeEditor(li, focusComposer = true) {
  const form = li.querySelector('.msg__editor');
  if (!form) return;
  form.remove();
  li.classList.remove('msg--editing');
  li.querySelector('.msg__bubble').hidden = false;
  if (focusComposer) els.input.focus();
}

/** Opens the editor on my message `li` of the room on screen. */
export function startEdit(li) {
  const v = state.view;
  const id = Number(li.dataset.id);
  const m = v.messages.get(id);
  if (!m || !state.me || m.user !== state.me.username) return;
  const already = li.querySelector('.msg__editor textarea');
  if (already) { already.focus(); return; }
  const other = openEditor(v);
  if (other) closeEditor(other.closest('.msg'), false);

  const form = element('form', 'msg__editor');
  form.noValidate = true;
  const area = element('textarea', 'input msg__editor-input');
  area.value = String(m.text);
  area.setAttribute('aria-label', 'Edit your message');
  const foot = element('div', 'msg__editor-foot');
  const hint = element('span', 'msg__editor-hint', 'Enter to save · Esc to cancel');
  const error = element('span', 'msg__editor-error');
  error.setAttribute('role', 'alert');
  error.hidden = true;
  const cancel = element('button', 'btn btn--small', 'Cancel');
  cancel.type = 'button';
  const save = element('button', 'btn btn--small btn--primary', 'Save');
  save.type = 'submit';
  foot.append(hint, error, cancel, save);
  form.append(area, foot);

  const bubble = li.querySelector('.msg__bubble');
  bubble.hidden = true;
  bubble.after(form);
  li.classList.add('msg--editing');
  area.focus();
  area.setSelectionRange(area.value.length, area.value.length);
  li.scrollIntoView({ block: 'nearest' });

  // The editor grows with its text by CSS (field-sizing); where a browser lacks that,
  // its rows follow the text's lines.
  const fitRows = () => { area.rows = Math.min(MAX_ROWS, area.value.split('\n').length); };
  fitRows();
  area.addEventListener('input', () => { fitRows(); error.hidden = true; hint.hidden = false; });
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      closeEditor(li);
    } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  cancel.addEventListener('click', () => closeEditor(li));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = area.value;
    if (isBlankText(text)) { confirmDelete(li); return; }
    const now = v.messages.get(id);
    if (now && text === String(now.text)) { closeEditor(li); return; }
    try {
      const res = await whileBusy(save, () => ask('edit_message', { room: v.room, id, text }));
      closeEditor(li);
      if (res.message) renderLive(v, [res.message]);
    } catch (err) {
      error.textContent = 'Not saved: ' + describeError(err);
      error.hidden = false;
      hint.hidden = true;
      area.focus();
    }
  });
}

/** ArrowUp in an empty message box: edit my newest message in the room on screen. */
function editLast(event) {
  if (event.key !== 'ArrowUp' || event.defaultPrevented || els.input.value !== '' || !state.me) return;
  const mine = state.view.list.querySelectorAll('.msg--own[data-id]');
  const last = mine[mine.length - 1];
  if (!last) return;
  event.preventDefault();
  startEdit(last);
}

// ---------- deleting ----------

/** Asks whether to delete message `li` of the room on screen, showing it. */
export function confirmDelete(li) {
  const v = state.view;
  const id = Number(li.dataset.id);
  const m = v.messages.get(id);
  if (!m) return;
  deleting = { v, id };
  const own = state.me && m.user === state.me.username;
  $('delete-text').textContent = own
    ? 'It disappears for everyone in the room. This cannot be undone.'
    : 'You are deleting ' + m.sender + '’s message as an admin. It disappears for everyone in the room.';
  const who = element('span', 'delete-preview__who', m.sender);
  const what = element('span', 'delete-preview__text', String(m.text));
  preview.replaceChildren(who, what);
  dialog.showModal();
  confirmButton.focus();
}

async function onConfirmDelete(event) {
  event.preventDefault();
  if (!deleting) return;
  const { v, id } = deleting;
  try {
    await whileBusy(confirmButton, () => ask('delete_message', { room: v.room, id }));
  } catch (err) {
    dialog.close();
    notice('Could not delete the message: ' + describeError(err), err && err.code);
    return;
  }
  dialog.close();
  renderLive(v, [{ id, room: v.room, deleted: true }]);
  els.input.focus();
}

export function setUpEditing() {
  els.input.addEventListener('keydown', editLast);
  $('delete-form').addEventListener('submit', onConfirmDelete);
  $('delete-cancel').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => { deleting = null; });
  // The message about to be deleted went already (its author or an admin elsewhere).
  on('changed', ({ view, id, deleted }) => {
    if (deleted && deleting && deleting.v === view && deleting.id === id && dialog.open) dialog.close();
  });
}
