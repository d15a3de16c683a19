/*
 * chat/roomhead.js: the top of the open room, signed in: its kind (# open, a lock for
 * closed, a presence dot for a direct message), its name, and who is in it with their
 * online dots; also what follows from the room on screen: the tab's title, the message
 * box's placeholder, the empty state's words, and the panel that says a room is not
 * mine to open.
 */

import { element } from '../page.js';
import { icon, presenceDot } from './icons.js';
import { isOnline, personName } from './presence.js';
import { dmPartners, roomKind, roomTitle } from './rooms.js';
import { setBaseTitle } from './unread.js';
import { els, state } from './state.js';

const MEMBERS_SHOWN = 6;   // more than this and the header says "+N more"

const EMPTY_TEXT = {
  open: 'Say hello. Everyone on the team can find and join this room.',
  closed: 'Only the members listed above can read what is written here.',
  direct: 'This conversation is only between the people in it.',
};

/** The members as names with online dots (at most MEMBERS_SHOWN, then "+N more"). */
function memberList(usernames) {
  const ul = element('ul', 'room-members');
  ul.setAttribute('aria-label', 'Members');
  const sorted = usernames.slice().sort((a, b) => personName(a).localeCompare(personName(b)));
  for (const username of sorted.slice(0, MEMBERS_SHOWN)) {
    const li = element('li', 'room-member');
    li.dataset.username = username;
    li.dataset.online = String(isOnline(username));
    li.append(presenceDot(isOnline(username)), element('span', 'room-member__name', personName(username)));
    li.title = personName(username) + ' (@' + username + ') · ' + (isOnline(username) ? 'online' : 'offline');
    ul.append(li);
  }
  if (sorted.length > MEMBERS_SHOWN) ul.append(element('li', 'room-member room-member--more', '+' + (sorted.length - MEMBERS_SHOWN) + ' more'));
  return ul;
}

/** Shows the room on screen in the header and everything that names it. */
export function showRoomHead() {
  const v = state.view;
  const id = v.room;
  const info = state.rooms.get(id);
  const kind = roomKind(id);
  const title = roomTitle(id);

  els.roomName.textContent = title;
  const partners = info && kind === 'direct' ? dmPartners(info) : [];
  if (kind === 'direct' && partners.length === 1) {
    els.roomIcon.replaceChildren(presenceDot(isOnline(partners[0])));
  } else {
    // A room I was refused is closed or private, whatever its id looks like.
    els.roomIcon.replaceChildren(icon(kind === 'open' && !v.refused ? 'hash' : 'lock'));
  }
  els.roomIcon.dataset.kind = kind;

  const meta = [];
  if (kind === 'open') meta.push(element('span', 'room-title__kind', 'Open room'));
  if (kind === 'closed') meta.push(element('span', 'room-title__kind', 'Closed · ' + (info ? info.members.length : 0) + ' members'));
  if (kind === 'direct' && partners.length === 1) {
    meta.push(element('span', 'room-title__kind', 'Direct message · ' + (isOnline(partners[0]) ? 'online' : 'offline')));
  } else if (kind === 'direct') {
    meta.push(element('span', 'room-title__kind', 'Group conversation · ' + (info ? info.members.length : 0) + ' people'));
  }
  if (info && kind !== 'open' && !(kind === 'direct' && partners.length === 1)) meta.push(memberList(info.members));
  els.roomMeta.replaceChildren(...meta);
  els.roomMeta.hidden = v.refused;
  els.roomMeta.dataset.kind = kind;

  const shownName = kind === 'direct' ? title : '#' + title;
  els.input.placeholder = 'Message ' + shownName;
  setBaseTitle(v.refused ? 'No access · Parley' : shownName + ' · Parley');
  els.emptyTitle.textContent = kind === 'direct' ? 'This is the start of your conversation' : 'No messages yet';
  els.emptyText.textContent = EMPTY_TEXT[kind];

  els.roomDetails.hidden = v.refused;
  els.roomDetails.title = kind === 'open' ? 'Leave this room' : 'Members of ' + (kind === 'direct' ? 'this conversation' : shownName);
  els.forbidden.hidden = !v.refused;
  document.body.classList.toggle('room-refused', v.refused);
  if (v.refused) {
    els.roomName.textContent = id;
    els.loadOlder.hidden = true;
    els.emptyState.hidden = true;
    els.historyStart.hidden = true;
  }
}
