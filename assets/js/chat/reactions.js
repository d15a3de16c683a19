/*
 * chat/reactions.js: reacting to messages. The smiley of a message (in its actions, or
 * at the end of its reactions) opens a small picker of common emoji; picking one adds my
 * reaction, or takes it back when I had already given that one. Clicking a reaction
 * under a message does the same for it: mine when it is not highlighted, withdrawn when
 * it is. Each is one `react` {room, id, emoji, on}; the answer carries the message with
 * its reactions, applied like any change (render.js), and the room hears
 * `message_updated`. There is one picker, moved next to the button that opened it.
 */

import { element } from '../page.js';
import { ask } from './connection.js';
import { describeError, notice } from './notices.js';
import { renderLive } from './render.js';
import { els, on, state } from './state.js';

export const EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '😢', '👀', '🙏'];
const ROOM_ABOVE_PX = 64;   // an opener closer than this to the top opens the picker below it

const picker = element('div', 'reaction-picker');
picker.setAttribute('role', 'group');
picker.setAttribute('aria-label', 'Choose a reaction');
picker.hidden = true;
for (const emoji of EMOJI) {
  const b = element('button', 'reaction-picker__emoji', emoji);
  b.type = 'button';
  b.dataset.action = 'pick-reaction';
  b.dataset.emoji = emoji;
  b.setAttribute('aria-label', 'React with ' + emoji);
  picker.append(b);
}

let target = null;   // {v, id, opener} while the picker is open

/** Whether I reacted to message `id` of view `v` with `emoji`. */
function reacted(v, id, emoji) {
  const m = v.messages.get(id);
  const r = m && Array.isArray(m.reactions) ? m.reactions.find((x) => x && x.emoji === emoji) : null;
  return Boolean(r && state.me && Array.isArray(r.users) && r.users.includes(state.me.username));
}

/** Adds (`on`) or withdraws my `emoji` on message `id` of view `v`. */
export async function react(v, id, emoji, on) {
  try {
    const res = await ask('react', { room: v.room, id, emoji, on });
    if (res.message) renderLive(v, [res.message]);
  } catch (err) {
    notice('Could not react: ' + describeError(err), err && err.code);
  }
}

export function closePicker(focusOpener) {
  if (!target) return;
  const { opener } = target;
  target = null;
  picker.hidden = true;
  opener.setAttribute('aria-expanded', 'false');
  const li = opener.closest('.msg');
  if (li) li.classList.remove('msg--picking');
  picker.remove();
  if (focusOpener && opener.isConnected) opener.focus();
}

/** Opens the picker at `opener` (a smiley of row `li`), or closes it when it is open there. */
export function togglePicker(opener, li) {
  if (target && target.opener === opener) { closePicker(true); return; }
  closePicker(false);
  target = { v: state.view, id: Number(li.dataset.id), opener };
  opener.parentElement.append(picker);
  const top = opener.getBoundingClientRect().top - els.scroller.getBoundingClientRect().top;
  picker.classList.toggle('reaction-picker--below', top < ROOM_ABOVE_PX);
  for (const b of picker.children) b.setAttribute('aria-pressed', String(reacted(target.v, target.id, b.dataset.emoji)));
  picker.hidden = false;
  opener.setAttribute('aria-expanded', 'true');
  li.classList.add('msg--picking');
  picker.firstElementChild.focus();
}

/** An emoji of the picker was chosen. */
export function pick(emoji) {
  if (!target) return;
  const { v, id } = target;
  closePicker(true);
  react(v, id, emoji, !reacted(v, id, emoji));
}

function onPickerKey(e) {
  const buttons = Array.from(picker.children);
  const at = buttons.indexOf(document.activeElement);
  if (e.key === 'Escape') {
    e.preventDefault();
    e.stopPropagation();
    closePicker(true);
  } else if ((e.key === 'ArrowRight' || e.key === 'ArrowLeft') && at >= 0) {
    e.preventDefault();
    const step = e.key === 'ArrowRight' ? 1 : buttons.length - 1;
    buttons[(at + step) % buttons.length].focus();
  }
}

export function setUpReactions() {
  picker.addEventListener('keydown', onPickerKey);
  // A click anywhere else puts the picker away.
  document.addEventListener('pointerdown', (e) => {
    if (target && !picker.contains(e.target) && e.target !== target.opener && !target.opener.contains(e.target)) closePicker(false);
  });
  on('switched', () => closePicker(false));
  on('changed', ({ view, id, deleted }) => { if (deleted && target && target.v === view && target.id === id) closePicker(false); });
}
