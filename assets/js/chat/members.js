/*
 * chat/members.js: who is in the room on screen, and changing it, from the people button
 * in the header. A closed room lists its members; any of them (or an admin) may add
 * people (`add_member`) and take them out (`remove_member`). An open room has no list
 * to keep: anyone may join. Open and closed rooms can be left (`part`); a direct message
 * cannot, and its people are fixed (the server says so too). The server answers each
 * change with the room's record, and tells every affected user with a `room` event.
 */

import { $, element } from '../page.js';
import { trimmed } from '../rules.js';
import { formStatus, whileBusy } from '../forms.js';
import { ask } from './connection.js';
import { avatar, presenceDot } from './icons.js';
import { describeError } from './notices.js';
import { isOnline, otherPeople, personName } from './presence.js';
import { applyRoom, roomKind, roomsInOrder } from './rooms.js';
import { state } from './state.js';

const dialog = $('members-dialog');
const list = $('members-list');
const candidates = $('members-candidates');
const filter = $('members-filter');
const status = $('members-status');
const leave = $('leave-room');

let openRoom = () => {};

const INTRO = {
  open: 'Anyone on the team can join this room; there is no list of members to keep.',
  closed: 'Only these people can see this room and read it.',
  direct: 'The people of a direct message stay the same; start another conversation for others.',
};

function personRow(username, action) {
  const row = element('div', 'pick');
  row.dataset.username = username;
  const face = avatar(personName(username), 'avatar--small');
  face.append(presenceDot(isOnline(username)));
  const text = element('span', 'pick__text');
  const me = state.me && username === state.me.username;
  text.append(element('span', 'pick__name', personName(username) + (me ? ' (you)' : '')), element('span', 'pick__user', '@' + username));
  row.append(face, text);
  if (action) row.append(action);
  const li = element('li', 'picker__item');
  li.dataset.search = (personName(username) + ' ' + username).toLowerCase();
  li.append(row);
  return li;
}

function actionButton(label, kind, username) {
  const b = element('button', 'btn btn--small member-action', label);
  b.type = 'button';
  b.dataset.action = kind;
  b.dataset.username = username;
  b.setAttribute('aria-label', label + ' ' + personName(username));
  return b;
}

/** Draws the dialog for the room on screen from its record. */
function fill() {
  const id = state.view.room;
  const info = state.rooms.get(id);
  const kind = roomKind(id);
  $('members-text').textContent = INTRO[kind];
  const members = info ? info.members.slice().sort((a, b) => personName(a).localeCompare(personName(b))) : [];
  const closed = kind === 'closed';
  list.replaceChildren(...members.map((u) => personRow(u, closed && members.length > 1 && u !== (state.me && state.me.username)
    ? actionButton('Remove', 'remove', u) : null)));
  list.hidden = kind === 'open';
  $('members-add').hidden = !closed;
  if (closed) {
    const addable = otherPeople().filter((p) => !members.includes(p.username));
    candidates.replaceChildren(...addable.map((p) => personRow(p.username, actionButton('Add', 'add', p.username))));
    if (!addable.length) candidates.append(element('li', 'picker__empty', 'Everyone on the team is in this room.'));
    filter.hidden = !addable.length;
    filterCandidates();
  }
  leave.hidden = kind === 'direct' || !info;
}

function filterCandidates() {
  const q = trimmed(filter.value).toLowerCase();
  for (const li of candidates.children) if (li.dataset.search !== undefined) li.hidden = q !== '' && !li.dataset.search.includes(q);
}

function open() {
  filter.value = '';
  formStatus(status, 'error', null);
  fill();
  dialog.showModal();
  (filter.closest('[hidden]') ? $('members-close') : filter).focus();
}

async function onAction(event) {
  const button = event.target.closest('button[data-action]');
  if (!button) return;
  const room = state.view.room;
  const event_ = button.dataset.action === 'add' ? 'add_member' : 'remove_member';
  formStatus(status, 'error', null);
  try {
    const res = await whileBusy(button, () => ask(event_, { room, username: button.dataset.username }));
    applyRoom(res.room);
    fill();
  } catch (err) {
    formStatus(status, 'error', (event_ === 'add_member' ? 'Could not add: ' : 'Could not remove: ') + describeError(err));
  }
}

async function onLeave() {
  const room = state.view.room;
  formStatus(status, 'error', null);
  try {
    await whileBusy(leave, () => ask('part', { room }));
  } catch (err) {
    formStatus(status, 'error', 'Could not leave the room: ' + describeError(err));
    return;
  }
  dialog.close();
  const info = state.rooms.get(room);
  if (info) applyRoom(Object.assign({}, info, { member: false }));
  // Somewhere to be: the most recent of my other rooms, or the lobby when none is left.
  const next = roomsInOrder().find((r) => r.id !== room);
  if (next) openRoom(next.id);
  else window.location.assign('/');
}

/** Wires the header's people button and the dialog; `openRoomFn` opens a room in place. */
export function setUpMembers(openRoomFn) {
  openRoom = openRoomFn;
  $('room-details').hidden = false;
  $('room-details').addEventListener('click', open);
  list.addEventListener('click', onAction);
  candidates.addEventListener('click', onAction);
  filter.addEventListener('input', filterCandidates);
  filter.addEventListener('keydown', (e) => { if (e.key === 'Enter') e.preventDefault(); });
  leave.addEventListener('click', onLeave);
}

/** The room's record changed while the dialog is open (a `room` event): show it as it is now. */
export function refreshMembers() {
  if (dialog.open) fill();
}
