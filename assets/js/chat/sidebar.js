/*
 * chat/sidebar.js: the team chat's left column: my rooms (by name), my direct messages
 * (most recent first) and the people of the team with their online dots. A room with
 * unread messages is bold with its count; one that mentions me shows "@" and the number
 * of mentions instead; a muted one (notifications off) is dimmed, with a crossed bell. Choosing a room opens it in place (switch.js); choosing a person
 * opens the direct message with them.
 *
 * On a phone (≤ 700 px) the column is a drawer over the conversation, opened by the
 * button in the header and closed by choosing something, the backdrop, or Escape.
 */

import { $, element } from '../page.js';
import { avatar, icon, presenceDot } from './icons.js';
import { isOnline, otherPeople } from './presence.js';
import { dmPartners, openDm, roomsInOrder, roomTitle } from './rooms.js';
import { notice, describeError } from './notices.js';
import { considerRead, totalUnread } from './unread.js';
import { state } from './state.js';

const sidebar = $('sidebar');
const roomList = $('room-list');
const dmList = $('dm-list');
const peopleList = $('people-list');
const drawerButton = $('drawer-open');
const drawerBadge = $('drawer-badge');
const backdrop = $('drawer-backdrop');
const drawerMedia = window.matchMedia('(max-width: 700px)');

let openRoom = () => {};   // switch.js's, given at setUp (it needs closeDrawer from here)

/** The badge of a room: "@N" for mentions, else the unread count; null when nothing is new. */
function badge(info) {
  if (info.mentions > 0) return element('span', 'side-badge side-badge--mention', '@' + info.mentions);
  if (info.unread > 0) return element('span', 'side-badge', String(info.unread));
  return null;
}

/** What a screen reader says for a room's link. */
function spokenCounts(info) {
  const parts = [];
  if (info.unread > 0) parts.push(info.unread + ' unread');
  if (info.mentions > 0) parts.push(info.mentions + (info.mentions === 1 ? ' mention' : ' mentions'));
  return parts.length ? ', ' + parts.join(', ') : '';
}

function roomItem(info) {
  const a = element('a', 'side-item');
  a.href = '/chat/' + info.id;
  a.dataset.room = info.id;
  a.dataset.kind = info.kind;
  a.dataset.unread = String(info.unread);
  a.dataset.mentions = String(info.mentions);
  if (info.unread > 0) a.classList.add('side-item--unread');
  if (state.view.room === info.id) a.setAttribute('aria-current', 'page');
  const title = roomTitle(info.id);
  if (info.kind === 'direct') {
    const partners = dmPartners(info);
    if (partners.length === 1) {
      a.append(presenceDot(isOnline(partners[0])));
      a.dataset.online = String(isOnline(partners[0]));
    } else {
      a.append(element('span', 'side-item__count', String(partners.length)));
    }
  } else {
    a.append(icon(info.kind === 'closed' ? 'lock' : 'hash'));
  }
  a.append(element('span', 'side-item__name', title));
  const muted = info.notify === 'none';
  if (muted) {
    a.classList.add('side-item--muted');
    const bellOff = icon('bell-off');
    bellOff.classList.add('side-item__muted');
    a.append(bellOff);
  }
  const b = badge(info);
  if (b) {
    b.setAttribute('aria-hidden', 'true');
    a.append(b);
  }
  a.setAttribute('aria-label', title + spokenCounts(info) + (muted ? ', muted' : ''));
  const li = element('li', '');
  li.append(a);
  return li;
}

function personItem(person) {
  const button = element('button', 'side-item side-item--person');
  button.type = 'button';
  button.dataset.username = person.username;
  button.dataset.online = String(person.online);
  const face = avatar(person.name, 'avatar--small');
  face.append(presenceDot(person.online));
  button.append(face, element('span', 'side-item__name', person.name));
  button.title = 'Message ' + person.name + ' (@' + person.username + ')';
  button.setAttribute('aria-label', 'Message ' + person.name + ', ' + (person.online ? 'online' : 'offline'));
  const li = element('li', '');
  li.append(button);
  return li;
}

/** The key of the sidebar element that has the focus, to give it back after a redraw. */
function focusedKey() {
  const el = document.activeElement;
  if (!el || !sidebar.contains(el)) return null;
  if (el.dataset.room) return '[data-room="' + CSS.escape(el.dataset.room) + '"]';
  if (el.dataset.username) return '[data-username="' + CSS.escape(el.dataset.username) + '"]';
  return null;
}

/** Draws the lists again from state.rooms and state.people. */
export function showSidebar() {
  const focus = focusedKey();
  const rooms = roomsInOrder();
  const named = rooms.filter((r) => r.kind !== 'direct')
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  const direct = rooms.filter((r) => r.kind === 'direct');
  roomList.replaceChildren(...named.map(roomItem));
  dmList.replaceChildren(...direct.map(roomItem));
  $('room-list-empty').hidden = named.length > 0;
  $('dm-list-empty').hidden = direct.length > 0;
  const people = otherPeople();
  peopleList.replaceChildren(...people.map(personItem));
  const online = people.filter((p) => p.online).length;
  $('people-online').textContent = online ? online + ' online' : '';
  if (focus) {
    const again = sidebar.querySelector(focus);
    if (again) again.focus();
  }
  // On a phone the drawer's button says whether anything is waiting in another room.
  const elsewhere = totalUnread() - ((state.rooms.get(state.view.room) || { unread: 0 }).unread);
  drawerBadge.hidden = elsewhere <= 0;
  drawerBadge.textContent = elsewhere > 0 ? String(elsewhere) : '';
  drawerButton.setAttribute('aria-label', 'Rooms and people' + (elsewhere > 0 ? ', ' + elsewhere + ' unread' : ''));
}

// ---------- the drawer (phones) ----------

function drawerIsOpen() {
  return document.body.classList.contains('drawer-open');
}

function openDrawer() {
  document.body.classList.add('drawer-open');
  backdrop.hidden = false;
  drawerButton.setAttribute('aria-expanded', 'true');
  const current = sidebar.querySelector('[aria-current="page"]') || sidebar.querySelector('.side-item, .icon-btn');
  if (current) current.focus();
}

export function closeDrawer() {
  if (!drawerIsOpen()) return;
  document.body.classList.remove('drawer-open');
  backdrop.hidden = true;
  drawerButton.setAttribute('aria-expanded', 'false');
  if (drawerMedia.matches) drawerButton.focus();
  // The conversation is uncovered: what it shows now counts as read.
  considerRead();
}

/** A plain click (no key held for a new tab) on a room's link opens it in place. */
function onRoomClick(event) {
  const a = event.target.closest('a[data-room]');
  if (!a || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  openRoom(a.dataset.room);
}

async function onPersonClick(event) {
  const button = event.target.closest('button[data-username]');
  if (!button) return;
  button.disabled = true;
  try {
    const room = await openDm([button.dataset.username]);
    openRoom(room.id);
  } catch (err) {
    notice('Could not open the conversation: ' + describeError(err), err && err.code);
  } finally {
    button.disabled = false;
  }
}

/** Shows the sidebar and wires it; `open` opens a room in place (switch.js). */
export function setUpSidebar(open) {
  openRoom = open;
  sidebar.hidden = false;
  drawerButton.hidden = false;
  roomList.addEventListener('click', onRoomClick);
  dmList.addEventListener('click', onRoomClick);
  peopleList.addEventListener('click', onPersonClick);
  drawerButton.addEventListener('click', () => (drawerIsOpen() ? closeDrawer() : openDrawer()));
  $('drawer-close').addEventListener('click', closeDrawer);
  backdrop.addEventListener('click', closeDrawer);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && drawerIsOpen() && !document.querySelector('dialog[open]')) closeDrawer();
  });
  // Grown past a phone's width, the column is simply there: no drawer left open.
  drawerMedia.addEventListener('change', () => { if (!drawerMedia.matches) closeDrawer(); });
}
