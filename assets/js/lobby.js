/*
 * lobby.js: the start page. Pick a name and a chat key, open /chat/{key}.
 * The name and recently opened keys are remembered (prefs.js), so returning users are
 * one click away from their chats. Validation is the server's own (rules.js), so a bad
 * key is explained here instead of failing on the chat page.
 * Signed in (account.js), there is no name to pick: the account's is shown instead, and
 * links to the settings; and the list below is the user's rooms and DMs as the server
 * knows them (GET /api/rooms), with what is unread in each, instead of this browser's
 * recent keys.
 */

import { requestSignedIn, showAccountChip, whoAmI } from './account.js';
import { $, element, showFieldError } from './page.js';
import { forgetRooms, recentRooms, rememberRoom, storedName, storeName } from './prefs.js';
import { checkName, roomProblem, trimmed } from './rules.js';
import './app.js';

const form = $('lobby-form');
const nameInput = $('name');
const roomInput = $('room');
const nameError = $('name-error');
const roomError = $('room-error');
const recentList = $('recent-rooms');
const recentEmpty = $('recent-empty');
const clearRecent = $('clear-recent');

function renderRecent() {
  const rooms = recentRooms();
  recentList.replaceChildren();
  for (const room of rooms) {
    const a = element('a', 'recent__link');
    a.href = '/chat/' + room;
    const hash = element('span', 'recent__hash', '#');
    hash.setAttribute('aria-hidden', 'true');
    a.append(hash, element('span', '', room));
    const li = element('li', 'recent__item');
    li.append(a);
    recentList.append(li);
  }
  recentEmpty.hidden = rooms.length > 0;
  clearRecent.hidden = rooms.length === 0;
}

/** A key nobody will guess by accident: two words of base-36 randomness. */
function randomRoom() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  const s = Array.from(bytes, (b) => (b % 36).toString(36)).join('');
  return 'team-' + s.slice(0, 4) + '-' + s.slice(4);
}

// Asked at once; the form waits for the answer only when it is submitted.
const identity = whoAmI();

nameInput.value = storedName() || '';
const recent = recentRooms();
if (recent.length) roomInput.value = recent[0];
renderRecent();
(nameInput.value ? roomInput : nameInput).focus();

/** A DM is called by its other people's names (all of them for a DM with oneself). */
function dmTitle(members, me, names) {
  const others = members.filter((u) => u !== me);
  return (others.length ? others : members).map((u) => names.get(u) || u).join(', ');
}

/** Signed in: the user's rooms from the server, most recent activity first, with badges. */
async function renderMyRooms(user) {
  $('recent-title').textContent = 'Your rooms';
  recentEmpty.textContent = 'Rooms you join will appear here.';
  clearRecent.hidden = true;
  let rooms;
  let people;
  try {
    [rooms, people] = await Promise.all([requestSignedIn('GET', '/api/rooms'), requestSignedIn('GET', '/api/users')]);
  } catch (err) {
    return; // the recent keys stay: still one click away
  }
  const names = new Map((people.users || []).map((u) => [u.username, u.name]));
  const list = (rooms.rooms || []).filter((r) => r && typeof r.id === 'string');
  recentList.replaceChildren(...list.map((room) => {
    const a = element('a', 'recent__link');
    a.href = '/chat/' + room.id;
    a.dataset.room = room.id;
    const mark = element('span', 'recent__hash', room.kind === 'direct' ? '@' : '#');
    mark.setAttribute('aria-hidden', 'true');
    const title = room.kind === 'direct' ? dmTitle(room.members || [], user.username, names) : room.name || room.id;
    a.append(mark, element('span', 'recent__name', title));
    if (room.unread > 0) {
      a.classList.add('recent__link--unread');
      a.append(element('span', room.mentions > 0 ? 'side-badge side-badge--mention' : 'side-badge',
        room.mentions > 0 ? '@' + room.mentions : String(room.unread)));
    }
    const li = element('li', 'recent__item');
    li.append(a);
    return li;
  }));
  recentEmpty.hidden = list.length > 0;
}

identity.then(({ user }) => {
  if (!user) return;
  $('name-field').hidden = true;
  $('lobby-account').hidden = false;
  showAccountChip('account-chip', user);
  if (document.activeElement === nameInput) roomInput.focus();
  renderMyRooms(user);
});

nameInput.addEventListener('input', () => showFieldError(nameInput, nameError, null));
roomInput.addEventListener('input', () => {
  // Live feedback only for a bad character; "empty" waits for submit.
  const v = trimmed(roomInput.value);
  showFieldError(roomInput, roomError, v ? roomProblem(v) : null);
});

$('random-room').addEventListener('click', () => {
  roomInput.value = randomRoom();
  showFieldError(roomInput, roomError, null);
  roomInput.focus();
});

clearRecent.addEventListener('click', () => {
  forgetRooms();
  renderRecent();
  roomInput.focus();
});

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const { user } = await identity;
  // Signed in, the account's name is used: nothing typed to check or remember.
  const { name, problem } = user ? { name: null, problem: null } : checkName(nameInput.value);
  const room = trimmed(roomInput.value);
  const rp = roomProblem(room);
  showFieldError(nameInput, nameError, problem);
  showFieldError(roomInput, roomError, rp);
  if (problem) { nameInput.focus(); return; }
  if (rp) { roomInput.focus(); return; }
  if (name) storeName(name);
  rememberRoom(room);
  window.location.href = '/chat/' + room;
});
