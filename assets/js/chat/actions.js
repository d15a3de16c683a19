/*
 * chat/actions.js: what the buttons on and around messages do, for every row of every
 * room through one listener on the conversation: react (reactions.js), reply (reply.js),
 * edit and delete (edit.js), a reaction to toggle, a quote to follow to its original
 * (jump.js). On a touch screen, where nothing hovers, tapping a message shows its
 * actions; tapping another moves them there.
 */

import { confirmDelete, setUpEditing, startEdit } from './edit.js';
import { jumpTo } from './jump.js';
import { pick, react, setUpReactions, togglePicker } from './reactions.js';
import { setUpReplies, startReply } from './reply.js';
import { els, state } from './state.js';

const touch = window.matchMedia('(hover: none)');

/** On a touch screen, tapping a message (not one of its buttons) shows its actions. */
function showActionsOf(li) {
  for (const other of state.view.list.querySelectorAll('.msg--active')) if (other !== li) other.classList.remove('msg--active');
  if (li) li.classList.toggle('msg--active');
}

function onClick(event) {
  const li = event.target.closest('li.msg');
  const button = event.target.closest('[data-action]');
  if (!li || !li.dataset.id || !state.view.list.contains(li)) return;
  if (!button || !li.contains(button)) {
    if (touch.matches && !event.target.closest('.msg__editor')) showActionsOf(li);
    return;
  }
  const v = state.view;
  const id = Number(li.dataset.id);
  switch (button.dataset.action) {
    case 'react': togglePicker(button, li); break;
    case 'pick-reaction': pick(button.dataset.emoji); break;
    case 'toggle-reaction': react(v, id, button.dataset.emoji, button.getAttribute('aria-pressed') !== 'true'); break;
    case 'reply': startReply(v, id); break;
    case 'edit': startEdit(li); break;
    case 'delete': confirmDelete(li); break;
    case 'show-original': jumpTo(v.room, Number(button.dataset.replyTo)); break;
    default: return;
  }
  li.classList.remove('msg--active');
}

/** Signed in: the messages get their actions. */
export function setUpActions() {
  els.scroller.addEventListener('click', onClick);
  setUpReactions();
  setUpReplies();
  setUpEditing();
}
