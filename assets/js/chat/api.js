/*
 * chat/api.js: the room's HTTP API (/api/rooms/{room}/messages), which carries history and
 * sends whenever the socket cannot: while it connects, while it is down, or when the
 * client library did not load at all. A 401 means the session ended (signed out in
 * another tab, or deactivated): the page goes to the sign-in page, which brings it back.
 */

import { requestSignedIn as call } from '../account.js';
import { room } from './state.js';

// Room characters are all legal in a URL path, so the validated room goes in as-is:
// the server never has to percent-decode it.
const apiBase = '/api/rooms/' + room + '/messages';

/** A page of the room's history; `params` are the query (before/after, limit). */
export async function getMessages(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  const d = await call('GET', apiBase + '?' + q);
  return Array.isArray(d.messages) ? d.messages : [];
}

/** Posts one message; resolves to the server's copy of it (or undefined if it sent none). */
export async function createMessage(payload) {
  const d = await call('POST', apiBase, payload);
  return d.message;
}
