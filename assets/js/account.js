/*
 * account.js: who is using the page. A server runs in one of two modes (README,
 * "Accounts"): `open`, where anyone types a name, and `accounts`, where everyone signs
 * in and the server knows who sent what. GET /api/me says which, and for whom; every page
 * asks it before it shows anything that depends on it.
 *
 * It also owns the round trip through the sign-in page: a page that finds itself signed
 * out sends the person to /signin?next=<where they were>, and the sign-in page sends
 * them back, but only to a path of this site (see safeNext).
 */

import { $ } from './page.js';
import { requestJson } from './http.js';

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 5000;

/** Sends the browser to the sign-in page, which will bring it back here. */
export function goToSignIn() {
  const here = window.location.pathname + window.location.search;
  window.location.assign('/signin?next=' + encodeURIComponent(here));
}

/**
 * requestJson (http.js) for a signed-in page: a 401 means the session is over (signed
 * out in another tab, or deactivated by an admin), so the page goes to the sign-in page,
 * which brings it back here. The error is still thrown for the caller to stop on.
 */
export async function requestSignedIn(method, path, body) {
  try {
    return await requestJson(method, path, body);
  } catch (err) {
    if (err.status === 401) goToSignIn();
    throw err;
  }
}

/**
 * The mode and the signed-in user: `{ auth: 'open', user: null }` or
 * `{ auth: 'accounts', user: { username, name, role } }`. Signed out, it goes to the
 * sign-in page and never resolves. A server that cannot be reached (a restart between
 * loading the page and this call) is asked again, more slowly each time, as the socket
 * reconnects; `onRetry` hears about each failed attempt.
 */
export async function whoAmI(onRetry) {
  let wait = RETRY_FIRST_MS;
  for (;;) {
    let me = null;
    try {
      me = await requestJson('GET', '/api/me');
    } catch (err) {
      if (err.status === 401) break;
      if (onRetry) onRetry(err);
    }
    if (me && me.auth === 'open') return { auth: 'open', user: null };
    if (me && me.user && typeof me.user.username === 'string') return { auth: 'accounts', user: me.user };
    if (me) break;
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(wait * 2, RETRY_MAX_MS);
  }
  goToSignIn();
  return new Promise(() => {});
}

/**
 * Where to go after signing in: `next` when it is a path of this site, else "/". Only
 * a path is taken, never an address: "//evil.example" and "/\evil.example" are
 * addresses of another site to a browser, and a sign-in page that forwards to one
 * hands the freshly signed-in user to whoever wrote the link.
 */
export function safeNext(next) {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) {
    return '/';
  }
  let url;
  try { url = new URL(next, window.location.origin); } catch (err) { return '/'; }
  if (url.origin !== window.location.origin) return '/';
  // Back to the sign-in page would only ask again.
  if (url.pathname === '/signin') return '/';
  return url.pathname + url.search + url.hash;
}

/** True for the Socket.IO refusal a signed-out (or deactivated) socket gets. */
export function isUnauthorized(connectError) {
  return Boolean(connectError) && connectError.message === 'unauthorized';
}

/**
 * Shows `name` in a user chip (`.user-chip` holding `.avatar` and `.user-chip__name`):
 * the first character in the avatar, the whole name beside it.
 */
export function fillUserChip(chip, name) {
  chip.querySelector('.user-chip__name').textContent = name;
  chip.querySelector('.avatar').textContent = Array.from(name)[0] || '?';
  chip.hidden = false;
}

/** The user chip with id `id`, linking to the settings, showing the signed-in user. */
export function showAccountChip(id, user) {
  const chip = $(id);
  fillUserChip(chip, user.name);
  chip.title = 'Signed in as ' + user.name + ' (@' + user.username + '): settings';
}
