// What the browser scenarios of a team in accounts mode (browser_rooms.mjs,
// browser_edits.mjs, browser_search.mjs) share on top of pages.mjs: the people the Rust
// test made with `parley user add` (tests/support/team.rs, PEOPLE), each signed in with
// POST /api/session in their own browser context, the chat page opened on a room, a
// message posted over HTTP, and a switch that cuts the page's connection.

import { check } from './lib.mjs';
import { DESKTOP, STEP_MS, baseUrl, newUser, waitInPage, waitStatus } from './pages.mjs';

const PASSWORD = 'correct horse battery';
const NAMES = { alice: 'Alice Martin', bob: 'Bob Lee', carol: 'Carol Diaz' };
// Signing in hashes a password (argon2, slow on purpose, slower in a debug build).
const SIGN_IN_MS = 20000;

export const PHONE = { viewport: { width: 390, height: 844 }, context: { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } };

/** `username` in their own browser context (newUser's `options`), signed in. */
export async function person(browser, username, options = { viewport: DESKTOP }) {
  const user = await newUser(browser, null, options);
  Object.assign(user, { username, name: NAMES[username], label: username });
  const res = await user.context.request.post(`${baseUrl}/api/session`, {
    data: { username, password: PASSWORD }, headers: { Origin: baseUrl }, timeout: SIGN_IN_MS,
  });
  check(res.status() === 200, `${username} cannot sign in: HTTP ${res.status()} ${await res.text()}`);
  return user;
}

/** Opens /chat/{room} and waits until the room is joined and listed in the sidebar. */
export async function openChat(user, room) {
  await user.page.goto(`${baseUrl}/chat/${room}`, { timeout: STEP_MS });
  await waitStatus(user, 'connected');
  await waitInPage(user, `#${room} open and listed as current`, (r) => {
    const a = document.querySelector(`#sidebar a[data-room="${CSS.escape(r)}"]`);
    return !document.getElementById('sidebar').hidden && a && a.getAttribute('aria-current') === 'page';
  }, room);
}

/** `user` posts `text` to `room` over HTTP (as another client would), with `extra` fields; resolves to the message. */
export async function post(user, room, text, extra = {}) {
  const res = await user.context.request.post(`${baseUrl}/api/rooms/${room}/messages`, {
    data: { text, ...extra }, headers: { Origin: baseUrl },
  });
  check(res.ok(), `POST to ${room}: HTTP ${res.status()} ${await res.text()}`);
  return (await res.json()).message;
}

/**
 * A switch for one context's Socket.IO traffic: cut() closes its WebSockets and refuses
 * new connections (HTTP polling and upgrades), restore() lets them through again. The
 * rest of the site (the pages, the API) stays reachable, as behind a proxy that drops
 * long-lived connections.
 */
export async function socketSwitch(context) {
  const gate = { blocked: false, open: [] };
  const isSocketIo = (url) => url.pathname.startsWith('/socket.io/');
  await context.route(isSocketIo, (route) => (gate.blocked ? route.abort('connectionrefused') : route.continue()));
  await context.routeWebSocket(isSocketIo, (ws) => {
    if (gate.blocked) { ws.close({ code: 1011, reason: 'cut by the test' }); return; }
    const server = ws.connectToServer();
    gate.open.push([ws, server]);
  });
  return {
    cut() {
      gate.blocked = true;
      for (const [ws, server] of gate.open.splice(0)) {
        ws.close({ code: 1011, reason: 'cut by the test' }).catch(() => {});
        server.close().catch(() => {});
      }
    },
    restore() { gate.blocked = false; },
  };
}
