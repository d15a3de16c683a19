/*
 * chat/api.js: the room's HTTP API (/api/rooms/{room}/messages), which carries history and
 * sends whenever the socket cannot: while it connects, while it is down, or when the
 * client library did not load at all.
 */

import { REQUEST_TIMEOUT_MS, room } from './state.js';

// Room characters are all legal in a URL path, so the validated room goes in as-is:
// the server never has to percent-decode it.
const apiBase = '/api/rooms/' + room + '/messages';

/** fetch() with a timeout and JSON on both sides; throws {code, message} on failure. */
async function api(method, path, body) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
      cache: 'no-store',
      credentials: 'same-origin',
      signal: ctrl.signal,
    });
  } catch (err) {
    throw { code: ctrl.signal.aborted ? 'timeout' : 'network', message: 'Could not reach the server.' };
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try { data = await res.json(); } catch (err) { data = null; }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw { code: e.code || (res.status === 413 ? 'too_large' : res.status === 429 ? 'rate_limited' : 'internal'), message: e.message || 'HTTP ' + res.status };
  }
  return data || {};
}

/** A page of the room's history; `params` are the query (before/after, limit). */
export async function getMessages(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  const d = await api('GET', apiBase + '?' + q);
  return Array.isArray(d.messages) ? d.messages : [];
}

/** Posts one message; resolves to the server's copy of it (or undefined if it sent none). */
export async function createMessage(payload) {
  const d = await api('POST', apiBase, payload);
  return d.message;
}
