/*
 * chat/presence.js: the people of the team and who of them is online. The list comes
 * from GET /api/users when the page starts and again after every reconnect (presence
 * changes while the socket was down were not heard); in between, `presence` events
 * {username, online} keep it current. The server waits 10 s before calling someone
 * offline, so a reload does not make their dot flicker.
 */

import { getUsers } from './api.js';
import { announce, socketUp, state } from './state.js';

function isUser(u) {
  return u && typeof u.username === 'string' && typeof u.name === 'string';
}

/** Asks the server who exists and who is online; keeps what it knew if that fails. */
export async function loadPeople() {
  let users;
  try { users = await getUsers(); } catch (err) { return; }
  state.people = new Map(users.filter(isUser).map((u) => [u.username, {
    username: u.username, name: u.name, role: u.role, online: u.online === true,
  }]));
  announce('people');
}

/** A `presence` event. Someone the page has not heard of yet makes it ask for the list. */
export function onPresence(d) {
  if (!d || typeof d.username !== 'string') return;
  const person = state.people.get(d.username);
  if (!person) { loadPeople(); return; }
  person.online = d.online === true;
  announce('people');
}

/** A username's display name, or the username itself for someone unknown. */
export function personName(username) {
  const person = state.people.get(username);
  return person ? person.name : username;
}

/** Whether `username` is online. The user of this page is, exactly while its socket is. */
export function isOnline(username) {
  if (state.me && username === state.me.username) return socketUp();
  const person = state.people.get(username);
  return Boolean(person && person.online);
}

/** Everyone but me: online people first, then by name. */
export function otherPeople() {
  const me = state.me && state.me.username;
  return Array.from(state.people.values())
    .filter((p) => p.username !== me)
    .sort((a, b) => (Number(b.online) - Number(a.online)) || a.name.localeCompare(b.name));
}
