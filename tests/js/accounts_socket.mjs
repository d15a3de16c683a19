// Socket.IO in accounts mode, driven by the official `socket.io-client`: who may connect
// and what the server trusts (README, "Accounts").
//
// Usage: node tests/js/accounts_socket.mjs http://127.0.0.1:PORT <scenario> TOKEN PASSWORD
//   TOKEN is an API token of user `alice` (display name "Alice A."), PASSWORD her password.
//   connect     no credentials → connect_error "unauthorized"; a bad token too; a token
//               connects; a session cookie connects (over each transport)
//   identity    a payload's sender is ignored: messages carry user alice and her name
//   revoke      revoking the token a socket connected with disconnects that socket at
//               once; deactivating a user (bob, whose token is the extra argument
//               BOB_TOKEN) disconnects theirs; signing out disconnects the cookie's sockets
// Prints `ok <scenario>` or `FAIL <scenario>: reason`.

import { io } from 'socket.io-client';
import {
  WAIT_MS, check, emitWithAck, fail, nextEvent, randomName, show, within, runScenarioFromArgv,
} from './lib.mjs';

const USAGE = 'node accounts_socket.mjs http://127.0.0.1:PORT connect|identity|revoke TOKEN PASSWORD [BOB_TOKEN]';
const TRANSPORTS = [['polling', 'websocket'], ['websocket'], ['polling']];

let baseUrl;
const openSockets = [];

function socketWith(options) {
  const socket = io(baseUrl, { forceNew: true, reconnection: false, timeout: WAIT_MS, ...options });
  openSockets.push(socket);
  return socket;
}

// Resolves with 'connected' or the connect_error's message.
function outcome(socket) {
  return within(new Promise((resolve) => {
    socket.once('connect', () => resolve('connected'));
    socket.once('connect_error', (err) => resolve(`connect_error: ${err?.message}`));
  }), WAIT_MS, 'connect or connect_error');
}

async function signIn(password) {
  const response = await fetch(`${baseUrl}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: baseUrl },
    body: JSON.stringify({ username: 'alice', password }),
  });
  check(response.status === 200, `sign-in answered ${response.status}: ${await response.text()}`);
  const setCookie = response.headers.get('set-cookie') || '';
  const cookie = setCookie.split(';')[0];
  check(cookie.startsWith('parley_session='), `no session cookie in ${show(setCookie)}`);
  return cookie;
}

async function connectedSocket(options) {
  const socket = socketWith(options);
  const result = await outcome(socket);
  check(result === 'connected', `expected to connect with ${show(Object.keys(options))}, got ${result}`);
  return socket;
}

async function scenarioConnect(token, password) {
  const cookie = await signIn(password);
  for (const transports of TRANSPORTS) {
    const what = transports.join('+');
    const anonymous = socketWith({ transports });
    check(await outcome(anonymous) === 'connect_error: unauthorized', `${what}: no credentials must be refused as unauthorized`);
    const forged = socketWith({ transports, auth: { token: 'not-a-token' } });
    check(await outcome(forged) === 'connect_error: unauthorized', `${what}: a bad token must be refused`);
    const wrongCookie = socketWith({ transports, extraHeaders: { cookie: 'parley_session=forged' } });
    check(await outcome(wrongCookie) === 'connect_error: unauthorized', `${what}: a forged cookie must be refused`);
    const byToken = await connectedSocket({ transports, auth: { token } });
    const byCookie = await connectedSocket({ transports, extraHeaders: { cookie } });
    for (const socket of [byToken, byCookie]) {
      const [joined] = await emitWithAck(socket, 'join', { room: randomName('auth') });
      check(joined?.ok === true, `${what}: a signed-in socket may join: ${show(joined)}`);
      socket.disconnect();
    }
  }
}

async function scenarioIdentity(token) {
  const room = randomName('who');
  const socket = await connectedSocket({ auth: { token } });
  const watcher = await connectedSocket({ auth: { token } });
  await emitWithAck(watcher, 'join', { room });
  const delivered = nextEvent(watcher, 'message');
  const [reply] = await emitWithAck(socket, 'send_message', { room, sender: 'mallory', text: 'who am I?' });
  check(reply?.ok === true, `send: ${show(reply)}`);
  for (const message of [reply.message, (await delivered)[0]]) {
    check(message.user === 'alice', `the message must carry user alice: ${show(message)}`);
    check(message.sender === 'Alice A.', `the sender must be alice's display name, not the payload's: ${show(message)}`);
  }
  const [typed] = await emitWithAck(socket, 'typing', { room, sender: 'mallory' });
  check(typed?.ok === true, `typing: ${show(typed)}`);
}

async function api(method, path, headers) {
  const response = await fetch(`${baseUrl}${path}`, { method, headers: { origin: baseUrl, ...headers } });
  return response.status;
}

async function scenarioRevoke(_token, password, bobToken) {
  // A token of its own, so that revoking it leaves the others working.
  const cookie = await signIn(password);
  const created = await fetch(`${baseUrl}/api/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: baseUrl, cookie },
    body: JSON.stringify({ name: randomName('bot') }),
  });
  check(created.status === 201, `token create answered ${created.status}`);
  const { token, name } = await created.json();
  const bot = await connectedSocket({ auth: { token } });
  const gone = nextEvent(bot, 'disconnect');
  check(await api('DELETE', `/api/tokens/${encodeURIComponent(name)}`, { cookie }) === 204, 'token revoke');
  const [reason] = await gone;
  check(reason === 'io server disconnect', `the revoked token's socket left with ${show(reason)}`);
  const again = socketWith({ auth: { token } });
  check(await outcome(again) === 'connect_error: unauthorized', 'a revoked token must not connect again');

  // Deactivating a user (alice is an admin) disconnects every socket of theirs.
  const bob = await connectedSocket({ auth: { token: bobToken } });
  const deactivated = nextEvent(bob, 'disconnect');
  check(await api('POST', '/api/users/bob/deactivate', { cookie }) === 204, 'deactivate bob');
  const [bobReason] = await deactivated;
  check(bobReason === 'io server disconnect', `the deactivated user's socket left with ${show(bobReason)}`);
  const bobAgain = socketWith({ auth: { token: bobToken } });
  check(await outcome(bobAgain) === 'connect_error: unauthorized', "a deactivated user's token must not connect");

  const byCookie = await connectedSocket({ extraHeaders: { cookie } });
  const signedOut = nextEvent(byCookie, 'disconnect');
  check(await api('DELETE', '/api/session', { cookie }) === 204, 'sign-out');
  const [why] = await signedOut;
  check(why === 'io server disconnect', `the signed-out session's socket left with ${show(why)}`);
  if (await api('GET', '/api/me', { cookie }) !== 401) fail('the signed-out cookie still works');
}

runScenarioFromArgv({
  usage: USAGE,
  scenarios: { connect: scenarioConnect, identity: scenarioIdentity, revoke: scenarioRevoke },
  limitMs: 60000,
  openSockets,
  setBaseUrl: (url) => { baseUrl = url; },
});
