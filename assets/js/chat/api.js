/*
 * chat/api.js: the HTTP API of a room (/api/rooms/{room}/messages), which carries history
 * and sends whenever the socket cannot: while it connects, while it is down, or when the
 * client library did not load at all. Signed in, also the lists the sidebar starts from
 * (/api/rooms, /api/users), asked before the socket is up, and search while it is down.
 * A 401 means the session ended (signed out in another tab, or deactivated): the page
 * goes to the sign-in page, which brings it back.
 */

import { requestSignedIn as call } from '../account.js';

// Room characters are all legal in a URL path, so a validated room goes in as-is:
// the server never has to percent-decode it.
const messagesPath = (room) => '/api/rooms/' + room + '/messages';

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  return q.toString();
}

/**
 * `room`'s history as the server answers it: {messages, rev}. `params` are the query:
 * before/after and limit for a page, or since (a rev) for what changed after it, when
 * the answer also carries `rev`, the room's latest.
 */
export async function getHistory(room, params) {
  const d = await call('GET', messagesPath(room) + '?' + query(params));
  return { messages: Array.isArray(d.messages) ? d.messages : [], rev: typeof d.rev === 'number' ? d.rev : null };
}

/** A page of `room`'s history (getHistory's messages). */
export async function getMessages(room, params) {
  return (await getHistory(room, params)).messages;
}

/** Messages matching `params` ({q, room?, limit?, before?}) in rooms I can read: [{message, highlights}]. */
export async function getSearch(params) {
  const d = await call('GET', '/api/search?' + query(params));
  return Array.isArray(d.results) ? d.results : [];
}

/** Posts one message to `room`; resolves to the server's copy (or undefined if it sent none). */
export async function createMessage(room, payload) {
  const d = await call('POST', messagesPath(room), payload);
  return d.message;
}

/** My rooms, DMs included (RoomInfo objects); with `all`, also the open rooms I am not in. */
export async function getRooms(all) {
  const d = await call('GET', all ? '/api/rooms?all=1' : '/api/rooms');
  return Array.isArray(d.rooms) ? d.rooms : [];
}

/** Everyone active on the server: {username, name, role, online}. */
export async function getUsers() {
  const d = await call('GET', '/api/users');
  return Array.isArray(d.users) ? d.users : [];
}
