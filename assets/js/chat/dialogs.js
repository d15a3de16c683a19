/*
 * chat/dialogs.js: the dialogs of the sidebar. "New room" asks for a name, the address
 * (made from the name until it is edited), open or closed, and the first members;
 * "Browse open rooms" lists the open rooms I am not in (GET /api/rooms?all=1), any of
 * which I may join; "Message someone" picks one person (a direct message) or up to seven
 * (a group). All are <dialog>s: the browser keeps the focus inside and Escape closes them.
 */

import { $, element, showFieldError } from '../page.js';
import { checkName, roomProblem, trimmed } from '../rules.js';
import { getRooms } from './api.js';
import { avatar, icon, presenceDot } from './icons.js';
import { describeError } from './notices.js';
import { otherPeople } from './presence.js';
import { createRoom, openDm } from './rooms.js';
import { formStatus, whileBusy } from '../forms.js';

const MAX_DM_OTHERS = 7;     // a DM is 2–8 people, me included
const MAX_SLUG_CHARS = 64;

let openRoom = () => {};

/**
 * Fills the picker `list` with everyone but me, as checkboxes named `name`; `filter`
 * hides those whose name or username does not contain what it holds.
 */
function fillPicker(list, name) {
  list.replaceChildren(...otherPeople().map((p) => {
    const label = element('label', 'pick');
    const box = element('input');
    box.type = 'checkbox';
    box.name = name;
    box.value = p.username;
    const face = avatar(p.name, 'avatar--small');
    face.append(presenceDot(p.online));
    const text = element('span', 'pick__text');
    text.append(element('span', 'pick__name', p.name), element('span', 'pick__user', '@' + p.username));
    label.append(box, face, text);
    const li = element('li', 'picker__item');
    li.dataset.search = (p.name + ' ' + p.username).toLowerCase();
    li.append(label);
    return li;
  }));
  if (!list.children.length) list.append(element('li', 'picker__empty', 'Nobody else has an account yet.'));
}

function filterPicker(list, query) {
  const q = trimmed(query).toLowerCase();
  for (const li of list.children) if (li.dataset.search !== undefined) li.hidden = q !== '' && !li.dataset.search.includes(q);
}

function picked(list) {
  return Array.from(list.querySelectorAll('input[type=checkbox]:checked'), (box) => box.value);
}

// ---------- New room ----------

const room = {
  dialog: $('new-room-dialog'),
  form: $('new-room-form'),
  name: $('new-room-name'),
  nameError: $('new-room-name-error'),
  id: $('new-room-id'),
  idError: $('new-room-id-error'),
  path: $('new-room-path'),
  members: $('new-room-members'),
  filter: $('new-room-filter'),
  count: $('new-room-count'),
  status: $('new-room-status'),
  submit: $('new-room-submit'),
  idEdited: false,
};

/** An address made from a name: "Design Team!" → "design-team". */
function slug(name) {
  return name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, MAX_SLUG_CHARS);
}

function showPath() {
  room.path.textContent = '/chat/' + (trimmed(room.id.value) || '…');
}

function showCount() {
  const n = picked(room.members).length;
  room.count.textContent = n ? '· ' + n + ' picked, and you' : '· just you so far';
}

function openNewRoom() {
  room.form.reset();
  room.idEdited = false;
  showFieldError(room.name, room.nameError, null);
  showFieldError(room.id, room.idError, null);
  formStatus(room.status, 'error', null);
  fillPicker(room.members, 'member');
  showPath();
  showCount();
  room.dialog.showModal();
  room.name.focus();
}

function idProblem(id) {
  if (id.startsWith('dm:')) return 'Addresses starting with dm: are for direct messages.';
  const problem = roomProblem(id);
  return problem && problem.replace(/Chat keys/g, 'Addresses').replace(/chat key/g, 'an address');
}

async function submitNewRoom(event) {
  event.preventDefault();
  const { name, problem: nameProblem } = checkName(room.name.value);
  const id = trimmed(room.id.value);
  const problem = idProblem(id);
  showFieldError(room.name, room.nameError, nameProblem && nameProblem.replace('your name', 'a name for the room'));
  showFieldError(room.id, room.idError, problem);
  if (nameProblem) { room.name.focus(); return; }
  if (problem) { room.id.focus(); return; }
  formStatus(room.status, 'error', null);
  const kind = room.form.elements.kind.value === 'closed' ? 'closed' : 'open';
  try {
    const created = await whileBusy(room.submit, () => createRoom({ room: id, name, kind, members: picked(room.members) }));
    room.dialog.close();
    openRoom(created.id);
  } catch (err) {
    if (err && err.code === 'conflict') {
      showFieldError(room.id, room.idError, 'There is already a room at this address.');
      room.id.focus();
    } else if (err && err.code === 'not_found') {
      formStatus(room.status, 'error', 'Someone you picked no longer has an account.');
      fillPicker(room.members, 'member');
    } else {
      formStatus(room.status, 'error', 'Could not create the room: ' + describeError(err));
    }
  }
}

// ---------- Browse open rooms ----------

const browse = {
  dialog: $('browse-dialog'),
  list: $('browse-list'),
  status: $('browse-status'),
};

function browseItem(r) {
  const button = element('button', 'pick browse-item');
  button.type = 'button';
  button.dataset.room = r.id;
  const text = element('span', 'pick__text');
  text.append(element('span', 'pick__name', typeof r.name === 'string' && r.name ? r.name : r.id),
    element('span', 'pick__user', '/chat/' + r.id));
  const mark = element('span', 'choice__icon');
  mark.append(icon('hash'));
  button.append(mark, text, element('span', 'browse-item__join', 'Join'));
  const li = element('li', 'picker__item');
  li.append(button);
  return li;
}

async function openBrowse() {
  browse.list.replaceChildren(element('li', 'picker__empty', 'Looking for rooms…'));
  formStatus(browse.status, 'error', null);
  browse.dialog.showModal();
  let rooms;
  try {
    rooms = (await getRooms(true)).filter((r) => r && r.member === false && r.kind === 'open' && typeof r.id === 'string');
  } catch (err) {
    browse.list.replaceChildren();
    formStatus(browse.status, 'error', 'Could not list the rooms: ' + describeError(err));
    return;
  }
  rooms.sort((a, b) => String(a.name || a.id).localeCompare(String(b.name || b.id)));
  browse.list.replaceChildren(...rooms.map(browseItem));
  if (!rooms.length) browse.list.append(element('li', 'picker__empty', 'You are in every open room already.'));
}

function onBrowseClick(event) {
  const button = event.target.closest('button[data-room]');
  if (!button) return;
  browse.dialog.close();
  openRoom(button.dataset.room);
}

// ---------- Message someone ----------

const dm = {
  dialog: $('dm-dialog'),
  form: $('dm-form'),
  people: $('dm-people'),
  filter: $('dm-filter'),
  status: $('dm-status'),
  submit: $('dm-submit'),
};

function showDmChoice() {
  const n = picked(dm.people).length;
  dm.submit.disabled = n === 0 || n > MAX_DM_OTHERS;
  formStatus(dm.status, 'error', n > MAX_DM_OTHERS ? 'A conversation can have at most eight people, you included.' : null);
}

function openMessageSomeone() {
  dm.form.reset();
  fillPicker(dm.people, 'person');
  showDmChoice();
  dm.dialog.showModal();
  dm.filter.focus();
}

async function submitDm(event) {
  event.preventDefault();
  const users = picked(dm.people);
  if (users.length === 0 || users.length > MAX_DM_OTHERS) return;
  try {
    const opened = await whileBusy(dm.submit, () => openDm(users));
    dm.dialog.close();
    openRoom(opened.id);
  } catch (err) {
    formStatus(dm.status, 'error', 'Could not open the conversation: ' + describeError(err));
  }
}

/** Wires both dialogs and the sidebar buttons that open them; `open` opens a room in place. */
export function setUpDialogs(open) {
  openRoom = open;
  $('new-room').addEventListener('click', openNewRoom);
  room.form.addEventListener('submit', submitNewRoom);
  $('new-room-cancel').addEventListener('click', () => room.dialog.close());
  room.name.addEventListener('input', () => {
    showFieldError(room.name, room.nameError, null);
    if (!room.idEdited) {
      room.id.value = slug(room.name.value);
      showFieldError(room.id, room.idError, null);
      showPath();
    }
  });
  room.id.addEventListener('input', () => {
    room.idEdited = room.id.value !== '';
    showFieldError(room.id, room.idError, null);
    showPath();
  });
  room.members.addEventListener('change', showCount);
  room.filter.addEventListener('input', () => filterPicker(room.members, room.filter.value));
  // Enter in the search box filters; it must not create the room.
  room.filter.addEventListener('keydown', (e) => { if (e.key === 'Enter') e.preventDefault(); });

  $('browse-rooms').addEventListener('click', openBrowse);
  browse.list.addEventListener('click', onBrowseClick);

  $('message-someone').addEventListener('click', openMessageSomeone);
  dm.form.addEventListener('submit', submitDm);
  $('dm-cancel').addEventListener('click', () => dm.dialog.close());
  dm.people.addEventListener('change', showDmChoice);
  dm.filter.addEventListener('input', () => filterPicker(dm.people, dm.filter.value));
  dm.filter.addEventListener('keydown', (e) => {
    // Enter picks the only person left by the filter, or opens what is picked.
    if (e.key !== 'Enter') return;
    e.preventDefault();
    const shown = Array.from(dm.people.querySelectorAll('.picker__item:not([hidden]) input'));
    if (shown.length === 1 && !shown[0].checked) { shown[0].checked = true; showDmChoice(); }
    else if (!dm.submit.disabled) dm.form.requestSubmit();
  });
}
