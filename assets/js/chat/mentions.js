/*
 * chat/mentions.js: `@` in the message box suggests whom to mention. Typing `@` and the
 * start of a name lists the people of the room on screen whose username or name starts
 * with it (the members of a closed room or DM; everyone on the team for an open room,
 * since anyone can read it), and `@room` for everyone in a room. ArrowUp/ArrowDown move
 * through the list, Enter or Tab puts `@username ` in the text, Escape closes it, and so
 * does a click outside. The server decides who is mentioned (message.js marks them).
 * The box is an ARIA combobox: the list is its listbox, the highlighted option its
 * active descendant.
 */

import { $, element } from '../page.js';
import { avatar } from './icons.js';
import { ROOM_MENTION } from './message.js';
import { personName } from './presence.js';
import { roomKind } from './rooms.js';
import { els, on, state } from './state.js';

const MAX_SHOWN = 6;
// An @word that ends at the caret, with what may come before an @ (src/model.rs).
const WORD_AT_CARET = /(^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]*)$/;

const list = $('mention-list');
let shown = [];       // the people in the list: {username, name, everyone?}
let active = 0;
let word = null;      // {start, end} of the @word being completed

/** Who can be mentioned in the room on screen, me left out. */
function candidates() {
  const room = state.view.room;
  const info = state.rooms.get(room);
  const kind = roomKind(room);
  const me = state.me.username;
  const usernames = kind === 'open' || !info ? Array.from(state.people.keys()) : info.members;
  const people = usernames.filter((u) => u !== me).map((u) => ({ username: u, name: personName(u) }));
  if (kind !== 'direct') people.push({ username: ROOM_MENTION, name: 'Everyone in this room', everyone: true });
  return people;
}

/** How well `p` matches `q`: 0 by username, 1 by a word of the name, -1 not at all. */
function rank(p, q) {
  if (p.username.startsWith(q)) return 0;
  if (p.name.toLowerCase().split(/\s+/).some((part) => part.startsWith(q))) return 1;
  return -1;
}

function close() {
  if (list.hidden) return;
  list.hidden = true;
  list.replaceChildren();
  shown = [];
  word = null;
  els.input.setAttribute('aria-expanded', 'false');
  els.input.removeAttribute('aria-activedescendant');
}

function highlight(i) {
  active = i;
  shown.forEach((p, at) => {
    const option = list.children[at];
    option.setAttribute('aria-selected', String(at === i));
  });
  els.input.setAttribute('aria-activedescendant', 'mention-option-' + i);
}

function option(p, i) {
  const li = element('li', 'mention-option' + (p.everyone ? ' mention-option--everyone' : ''));
  li.id = 'mention-option-' + i;
  li.setAttribute('role', 'option');
  li.dataset.username = p.username;
  li.append(avatar(p.everyone ? '@' : p.name, 'avatar--small'), element('span', 'mention-option__name', p.name),
    element('span', 'mention-option__user', '@' + p.username));
  return li;
}

/** Looks at the word before the caret and shows (or hides) the suggestions. */
function suggest() {
  const input = els.input;
  if (!state.me || input.selectionStart !== input.selectionEnd) { close(); return; }
  const caret = input.selectionStart;
  const m = input.value.slice(0, caret).match(WORD_AT_CARET);
  if (!m) { close(); return; }
  const q = m[2].toLowerCase();
  const found = candidates()
    .map((p) => ({ p, r: rank(p, q) }))
    .filter((x) => x.r >= 0)
    .sort((a, b) => (Number(Boolean(a.p.everyone)) - Number(Boolean(b.p.everyone))) || (a.r - b.r) ||
      a.p.name.localeCompare(b.p.name))
    .slice(0, MAX_SHOWN)
    .map((x) => x.p);
  if (!found.length) { close(); return; }
  word = { start: caret - m[2].length - 1, end: caret };
  shown = found;
  list.replaceChildren(...found.map(option));
  list.hidden = false;
  input.setAttribute('aria-expanded', 'true');
  highlight(0);
}

/** Puts `@username ` in place of the word being completed. */
function choose(i) {
  const p = shown[i];
  if (!p || !word) return;
  const input = els.input;
  const after = input.value.slice(word.end);
  const text = '@' + p.username + (after.startsWith(' ') ? '' : ' ');
  input.value = input.value.slice(0, word.start) + text + after;
  const caret = word.start + text.length;
  input.setSelectionRange(caret, caret);
  close();
  input.focus();
}

function onKey(e) {
  if (list.hidden) return;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    const step = e.key === 'ArrowDown' ? 1 : shown.length - 1;
    highlight((active + step) % shown.length);
  } else if ((e.key === 'Enter' || e.key === 'Tab') && !e.isComposing) {
    e.preventDefault();
    choose(active);
  } else if (e.key === 'Escape') {
    e.preventDefault();
    close();
  }
}

export function setUpMentions() {
  const input = els.input;
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', 'mention-list');
  input.setAttribute('aria-expanded', 'false');
  // Before the other keydown handlers (Enter sends, ArrowUp edits, Escape cancels a reply).
  input.addEventListener('keydown', onKey, { capture: true });
  input.addEventListener('input', suggest);
  input.addEventListener('click', suggest);
  input.addEventListener('blur', () => setTimeout(close, 0));
  // A press on an option must not take the focus from the box (that would close the list).
  list.addEventListener('mousedown', (e) => e.preventDefault());
  list.addEventListener('click', (e) => {
    const li = e.target.closest('[role="option"]');
    if (li) choose(Array.prototype.indexOf.call(list.children, li));
  });
  on('switched', close);
}
