// Rooms, membership, direct messages, presence, read markers and unread counts
// (TEAM-CHAT.md, "Rooms, membership, direct messages" and "Presence, read markers,
// unread"), driven by the official `socket.io-client` against `parley --auth accounts`.
//
// Usage: node tests/js/rooms.mjs http://127.0.0.1:PORT <scenario> TOKENS
//   TOKENS is a JSON object {username: API token} of the team tests/rooms_socket.rs
//   makes: admin alice, members bob, carol, dave, erin, and long1…long5 (long1–long4 are
//   29 characters, long5 30, so that `dm:alice:long1:…:long4` is exactly 128 characters
//   and one more makes the id a hash).
//   open-rooms     join creates an open room and makes me a member; send_message does too;
//                  part; create_room kind open; conflict
//   closed-rooms   create_room, add_member, remove_member, part, with the `room` events
//                  reaching every socket of the users concerned, and message delivery
//                  following membership
//   direct         open_dm: ids, the same room again, 2–8 people, the hashed long id;
//                  what a DM refuses (add/remove member, part)
//   non-member     every attempt of a non-member on a closed room and a DM is forbidden
//                  and shows nothing; a `dm:` id nobody opened cannot be claimed; admins
//                  may enter closed rooms but not DMs
//   rooms          `rooms`: most recent activity first, unread and mention counts, read
//                  markers moving them; `room`; GET /api/rooms and ?all=1 agree
//   counts         unread counts beyond the newest 1024 messages, and the cap of 999
//   read           `read`: max() of the marker, the other sockets of mine told, the join
//                  ack and `room` carry it
//   fanout         a socket receives the messages of all my rooms without joining them,
//                  each once
//   presence       online/offline to every signed-in socket, a second tab and a reload
//                  within the 10 s grace send no offline, a real departure does after it;
//                  GET /api/users `online`
//   open-mode      (against `--auth open`, no TOKENS) join and send work as before
//   hold USER      (for tests/rooms_http.rs) connects as USER, prints `connected USER`
//                  and stays until a line or the end on stdin
//   seed           (for tests/rooms_http.rs) makes the rooms it describes, prints `seeded`
// PARLEY_TEST_TRANSPORT=websocket|polling restricts the signed-in sockets to one
// transport (default: polling then upgrade).
// Prints `ok <scenario>` or `FAIL <scenario>: reason`.

import { createHash } from 'node:crypto';
import {
  QUIET_MS, apiWith, assertSame, call, check, fail, forget, none, ok, randomName, recordingSocket,
  refused, roomOf, runTeamScenarioFromArgv, seen, send, sendMany, show, signInAs, sleep, waitFor, waitUntil,
} from './lib.mjs';

const USAGE = 'node rooms.mjs http://127.0.0.1:PORT <scenario> TOKENS [USER]';
// What every room object carries (TEAM-CHAT.md; `members` only for closed and direct).
const ROOM_FIELDS = ['id', 'name', 'kind', 'member', 'unread', 'mentions', 'last_message', 'read_marker'];
const GRACE_MS = 10000; // how long a user stays online after their last socket went

let baseUrl;
let tokens = {};
const openSockets = [];

// ---------------------------------------------------------------- clients

const signIn = (user, options) => signInAs(baseUrl, openSockets, tokens, user, options);
const api = (user, method, path, body) => apiWith(baseUrl, tokens[user], method, path, body);

const roomEvent = (id, member) => (e) => e?.room?.id === id && (member === undefined || e.room.member === member);

// ---------------------------------------------------------------- HTTP

async function apiRooms(user, query = '') {
  const reply = await api(user, 'GET', `/api/rooms${query}`);
  check(reply.status === 200 && Array.isArray(reply.json?.rooms), `${user}: GET /api/rooms${query}: ${reply.status} ${reply.text}`);
  reply.json.rooms.forEach((room) => checkShape(room, `GET /api/rooms${query} for ${user}`));
  return reply.json.rooms;
}

// ---------------------------------------------------------------- room objects

// Asserts the RoomInfo shape: every field, `members` exactly for closed and direct
// rooms, sorted.
function checkShape(room, what) {
  check(room && typeof room === 'object', `${what}: not a room object: ${show(room)}`);
  for (const field of ROOM_FIELDS) check(field in room, `${what}: room ${show(room.id)} lacks '${field}': ${show(room)}`);
  check(['open', 'closed', 'direct'].includes(room.kind), `${what}: kind ${show(room.kind)}`);
  if (room.kind === 'open') {
    check(room.members === undefined, `${what}: an open room lists no members: ${show(room)}`);
  } else {
    check(Array.isArray(room.members), `${what}: a ${room.kind} room lists its members: ${show(room)}`);
    assertSame(room.members, [...room.members].sort(), `${what}: members are sorted`);
  }
}

// Asserts `room` is a RoomInfo with the `expected` fields (members compared as given;
// `last` compares last_message by id, or null).
function checkRoom(room, expected, what) {
  checkShape(room, what);
  const { last, ...fields } = expected;
  for (const [field, value] of Object.entries(fields)) {
    assertSame(room[field], value, `${what}: room ${room.id} '${field}'`);
  }
  if (last !== undefined) {
    if (last === null) {
      check(room.last_message === null, `${what}: last_message should be null: ${show(room.last_message)}`);
    } else {
      check(room.last_message?.id === last.id && room.last_message.text === last.text,
        `${what}: last_message should be ${show(last)}, got ${show(room.last_message)}`);
    }
  }
}

async function myRooms(socket) {
  const { rooms } = await ok(socket, 'rooms', {});
  check(Array.isArray(rooms), `rooms: ${show(rooms)}`);
  rooms.forEach((room) => checkShape(room, `rooms of ${socket.user}`));
  return rooms;
}

const ids = (rooms) => rooms.map((room) => room.id);

// ---------------------------------------------------------------- scenarios

async function scenarioOpenRooms() {
  const a1 = await signIn('alice');
  const a2 = await signIn('alice'); // another tab, which never joins anything
  const bob = await signIn('bob');
  const room = randomName('lobby');

  // The newcomer's marker is the server's to choose (it starts them with nothing
  // unread); the ack carries whatever it is.
  const joined = await ok(a1, 'join', { room });
  assertSame(Object.keys(joined).sort(), ['messages', 'ok', 'read_marker', 'room'], 'join ack fields');
  check(joined.room === room && joined.messages.length === 0, `join ack of a new open room: ${show(joined)}`);
  check(Number.isSafeInteger(joined.read_marker) && joined.read_marker >= 0, `join ack read_marker: ${show(joined)}`);
  await waitFor(a2, 'room', roomEvent(room, true), 'a `room` event with member:true after joining on another tab');
  checkRoom(await roomOf(a1, room), {
    id: room, name: room, kind: 'open', member: true, unread: 0, mentions: 0, read_marker: joined.read_marker, last: null,
  }, 'a joined open room');
  check(ids(await myRooms(a2)).includes(room), 'the joined room is one of my rooms');

  // Bob neither joins nor is a member: his send makes him one.
  check((await roomOf(bob, room)).member === false, 'bob is not a member before sending');
  const hello = await send(bob, room, 'hello open room');
  check(ids(await myRooms(bob)).includes(room), 'sending to an open room makes the sender a member');
  await waitFor(a2, 'message', (m) => m.id === hello.id, "alice's unjoined tab receives the room's message");

  // Parting: I stop being a member, my sockets are told and receive the room no more.
  assertSame(await ok(a1, 'part', { room }), { ok: true }, 'part ack');
  await waitFor(a2, 'room', roomEvent(room, false), 'a `room` event with member:false after parting');
  check((await roomOf(a1, room)).member === false, "`room` after part: member false");
  check(!ids(await myRooms(a1)).includes(room), 'a parted room is not in `rooms`');
  check(!ids(await apiRooms('alice')).includes(room), 'a parted room is not in GET /api/rooms');
  const all = await apiRooms('alice', '?all=1');
  const listed = all.find((r) => r.id === room);
  check(listed?.member === false && listed.kind === 'open', `GET /api/rooms?all=1 lists the open room with member:false: ${show(listed)}`);
  const after = await send(bob, room, 'after alice parted');
  for (const socket of [a1, a2]) await none(socket, 'message', (m) => m.id === after.id, 'a message of a parted room');

  // Joining again makes her a member again, with the history.
  const again = await ok(a1, 'join', { room });
  assertSame(again.messages.map((m) => m.id), [hello.id, after.id], 'the history on joining again');

  // create_room of kind open: named, listed, no members field.
  const square = randomName('square');
  const created = await ok(a1, 'create_room', { room: square, name: 'Town Square', kind: 'open', members: [] });
  checkRoom(created.room, { id: square, name: 'Town Square', kind: 'open', member: true, unread: 0, mentions: 0, last: null },
    'create_room kind open');
  await waitFor(a2, 'room', roomEvent(square, true), 'a `room` event for the room I created');
  await refused(bob, 'create_room', { room: square, kind: 'open', members: [] }, 'conflict');
  await refused(bob, 'create_room', { room, kind: 'closed', members: [] }, 'conflict');
  check((await roomOf(bob, square)).member === false, 'bob is no member of a room he failed to create');
}

async function scenarioClosedRooms() {
  const bob1 = await signIn('bob');
  const bob2 = await signIn('bob');
  const carol = await signIn('carol');
  const dave = await signIn('dave');
  const erin = await signIn('erin');
  const room = randomName('plan');

  // Bob (a member, not an admin) creates it with carol.
  const created = await ok(bob1, 'create_room', { room, name: 'The Plan', kind: 'closed', members: ['carol'] });
  const fresh = { id: room, name: 'The Plan', kind: 'closed', members: ['bob', 'carol'], member: true, unread: 0, mentions: 0, read_marker: 0, last: null };
  checkRoom(created.room, fresh, 'create_room ack');
  for (const socket of [bob2, carol]) {
    checkRoom((await waitFor(socket, 'room', roomEvent(room), 'a `room` event for the created room')).room,
      { id: room, kind: 'closed', members: ['bob', 'carol'], member: true }, `room event to ${socket.user}`);
  }
  await none(dave, 'room', roomEvent(room), 'a `room` event of a closed room he is not in');
  check(ids(await myRooms(carol)).includes(room), "the closed room is one of carol's rooms");

  // Name defaults to the id; the refusals of create_room.
  const unnamed = randomName('unnamed');
  checkRoom((await ok(carol, 'create_room', { room: unnamed, kind: 'closed', members: [] })).room,
    { id: unnamed, name: unnamed, kind: 'closed', members: ['carol'] }, 'create_room without a name');
  await refused(dave, 'create_room', { room, kind: 'closed', members: [] }, 'conflict');
  await refused(dave, 'create_room', { room: randomName('ghosts'), kind: 'closed', members: ['nobody-here'] }, 'not_found');
  await refused(dave, 'create_room', { room: 'dm:dave:erin', kind: 'closed', members: ['erin'] }, 'forbidden');

  // Members receive its messages without joining; sockets connected later too.
  const first = await send(bob1, room, 'first closed message');
  for (const socket of [bob2, carol]) await waitFor(socket, 'message', (m) => m.id === first.id, 'the closed room message');
  const carolLater = await signIn('carol');

  // add_member by a member: the new member's sockets are told, then get the messages.
  await refused(carol, 'add_member', { room, username: 'nobody-here' }, 'not_found');
  const added = await ok(carol, 'add_member', { room, username: 'dave' });
  checkRoom(added.room, { id: room, members: ['bob', 'carol', 'dave'], member: true }, 'add_member ack');
  checkRoom((await waitFor(dave, 'room', roomEvent(room, true), 'a `room` event on being added')).room,
    { id: room, kind: 'closed', members: ['bob', 'carol', 'dave'], member: true }, 'room event to the added member');
  for (const socket of [bob1, bob2, carolLater]) {
    await waitFor(socket, 'room', (e) => e?.room?.id === room && e.room.members?.includes('dave'), 'a `room` event listing the added member');
  }
  const second = await send(bob1, room, 'welcome dave');
  await waitFor(dave, 'message', (m) => m.id === second.id, 'the message of a room he was added to, without joining');
  await waitFor(carolLater, 'message', (m) => m.id === second.id, 'the message on a socket connected after the room was made');
  const daveJoin = await ok(dave, 'join', { room });
  assertSame(daveJoin.messages.map((m) => m.id), [first.id, second.id], "the added member's join ack history");

  // remove_member: the removed member is told with member:false and gets nothing more.
  forget(carol, 'room');
  const removed = await ok(bob2, 'remove_member', { room, username: 'dave' });
  checkRoom(removed.room, { id: room, members: ['bob', 'carol'], member: true }, 'remove_member ack');
  checkRoom((await waitFor(dave, 'room', roomEvent(room, false), 'a `room` event with member:false on being removed')).room,
    { id: room, member: false }, 'room event to the removed member');
  await waitFor(carol, 'room', (e) => e?.room?.id === room && e.room.member === true && !e.room.members?.includes('dave'), 'a `room` event without the removed member');
  const third = await send(bob1, room, 'dave is gone');
  await none(dave, 'message', (m) => m.id === third.id, 'a message of a room he was removed from (even joined before)');
  for (const event of ['join', 'history', 'room']) {
    await refused(dave, event, { room }, 'forbidden', ['dave is gone', 'welcome dave']);
  }
  check(!ids(await myRooms(dave)).includes(room), 'a removed member no longer lists the room');

  // An admin who is not a member may manage it too.
  const alice = await signIn('alice');
  checkRoom((await ok(alice, 'add_member', { room, username: 'erin' })).room,
    { id: room, members: ['bob', 'carol', 'erin'] }, "an admin's add_member");
  await waitFor(erin, 'room', roomEvent(room, true), 'a `room` event on being added by an admin');

  // part: carol leaves, is told, cannot come back by herself.
  forget(bob2, 'room');
  assertSame(await ok(carol, 'part', { room }), { ok: true }, 'part of a closed room');
  await waitFor(carolLater, 'room', roomEvent(room, false), 'a `room` event with member:false after parting');
  await waitFor(bob2, 'room', (e) => e?.room?.id === room && !e.room.members?.includes('carol'), 'a `room` event without carol');
  await refused(carol, 'join', { room }, 'forbidden', ['dave is gone']);
  const fourth = await send(bob1, room, 'carol left');
  await none(carolLater, 'message', (m) => m.id === fourth.id, 'a message of a closed room she parted');
  checkRoom(await roomOf(bob1, room), { id: room, name: 'The Plan', kind: 'closed', members: ['bob', 'erin'], member: true }, '`room` at the end');
}

async function scenarioDirect() {
  const alice = await signIn('alice');
  const bob = await signIn('bob');
  const bob2 = await signIn('bob');
  const carol = await signIn('carol');

  const opened = await ok(alice, 'open_dm', { users: ['bob'] });
  checkRoom(opened.room, { id: 'dm:alice:bob', kind: 'direct', members: ['alice', 'bob'], member: true, unread: 0, mentions: 0, last: null }, 'open_dm ack');
  for (const socket of [bob, bob2]) await waitFor(socket, 'room', roomEvent('dm:alice:bob', true), 'a `room` event for a DM opened with him');
  await none(carol, 'room', roomEvent('dm:alice:bob'), "a `room` event of other people's DM");

  // The same room again, from either side.
  checkRoom((await ok(alice, 'open_dm', { users: ['bob'] })).room, { id: 'dm:alice:bob', members: ['alice', 'bob'] }, 'open_dm again');
  checkRoom((await ok(bob, 'open_dm', { users: ['alice'] })).room, { id: 'dm:alice:bob', members: ['alice', 'bob'] }, "open_dm from the other side");
  checkRoom((await ok(alice, 'open_dm', { users: ['Bob'] })).room, { id: 'dm:alice:bob' }, 'usernames compare case-insensitively');

  // Members receive it without joining; the DM is in both people's rooms.
  const psst = await send(alice, 'dm:alice:bob', 'psst bob');
  for (const socket of [bob, bob2]) await waitFor(socket, 'message', (m) => m.id === psst.id, 'a DM without joining it');
  check(ids(await myRooms(bob)).includes('dm:alice:bob'), "the DM is one of bob's rooms");
  const history = await ok(bob, 'history', { room: 'dm:alice:bob' });
  assertSame(history.messages.map((m) => m.text), ['psst bob'], 'DM history');
  const reply = await send(bob, 'dm:alice:bob', 'hi alice');
  await waitFor(alice, 'message', (m) => m.id === reply.id, 'the answer in the DM');

  // Ids: sorted usernames whoever opens it; 3 and 8 people.
  checkRoom((await ok(carol, 'open_dm', { users: ['bob', 'alice'] })).room,
    { id: 'dm:alice:bob:carol', kind: 'direct', members: ['alice', 'bob', 'carol'] }, 'a three-person DM');
  const eight = ['bob', 'carol', 'dave', 'erin', 'long1', 'long2', 'long3'].map(longName);
  const octet = (await ok(alice, 'open_dm', { users: eight })).room;
  const everyone = ['alice', ...eight].sort();
  check(octet.members.length === 8, `eight people: ${show(octet.members)}`);
  assertSame(octet.members, everyone, 'the eight-person DM members');
  const joined = `dm:${everyone.join(':')}`;
  const expectedId = joined.length > 128 ? `dm:${sha32(everyone.join(':'))}` : joined;
  check(octet.id === expectedId, `eight-person DM id: expected ${expectedId}, got ${octet.id}`);

  // Exactly 128 characters stays readable; 129 is hashed.
  const four = ['long4', 'long3', 'long2', 'long1'].map(longName);
  const exact = `dm:${['alice', ...four].sort().join(':')}`;
  check(exact.length === 128, `test setup: ${exact} is ${exact.length} characters`);
  checkRoom((await ok(alice, 'open_dm', { users: four })).room, { id: exact, kind: 'direct' }, 'a DM id of exactly 128 characters');
  const five = ['long5', 'long1', 'long2', 'long3'].map(longName);
  const list = ['alice', ...five].sort().join(':');
  check(`dm:${list}`.length === 129, 'test setup: 129 characters');
  const hashed = `dm:${sha32(list)}`;
  const long = (await ok(alice, 'open_dm', { users: five })).room;
  checkRoom(long, { id: hashed, kind: 'direct', members: ['alice', ...five].sort() }, 'a DM id over 128 characters is hashed');
  const longAgain = await signIn(longName('long5'));
  checkRoom((await ok(longAgain, 'open_dm', { users: ['alice', ...five.filter((u) => u !== longName('long5'))] })).room,
    { id: hashed }, 'the hashed DM again, opened by another member');

  // Refusals: fewer than 2 or more than 8 people, unknown users; nothing created.
  for (const users of [[], ['alice'], [...eight, longName('long4')]]) {
    const answer = await call(alice, 'open_dm', { users });
    check(answer?.ok === false, `open_dm with users ${show(users)} must be refused: ${show(answer)}`);
  }
  const unknown = await call(alice, 'open_dm', { users: ['nobody-here'] });
  check(unknown?.ok === false, `open_dm with an unknown user must be refused: ${show(unknown)}`);
  await refused(alice, 'join', { room: 'dm:alice:nobody-here' }, 'forbidden');

  // What a DM refuses even to its members.
  await refused(alice, 'add_member', { room: 'dm:alice:bob', username: 'carol' }, 'forbidden');
  await refused(alice, 'remove_member', { room: 'dm:alice:bob', username: 'bob' }, 'forbidden');
  await refused(bob, 'part', { room: 'dm:alice:bob' }, 'forbidden');
  checkRoom(await roomOf(bob, 'dm:alice:bob'), { members: ['alice', 'bob'], member: true }, 'the DM after the refusals');

  // Opening it again changes nothing, so nobody is told of a change (`room` is for a
  // record that changed). Last, so that a failure here hides none of the above.
  await sleep(QUIET_MS); // every earlier event has arrived
  forget(bob2, 'room');
  forget(alice, 'room');
  await ok(alice, 'open_dm', { users: ['bob'] });
  await ok(bob, 'open_dm', { users: ['alice'] });
  for (const socket of [alice, bob2]) {
    await none(socket, 'room', roomEvent('dm:alice:bob'), 'a `room` event for a DM opened again, unchanged');
  }
}

function longName(name) {
  // long1–long4: 29 characters, long5: 30 (tests/rooms_socket.rs makes them).
  if (!name.startsWith('long')) return name;
  return `${name}-`.padEnd(name === 'long5' ? 30 : 29, 'x');
}

const sha32 = (text) => createHash('sha256').update(text).digest('hex').slice(0, 32);

async function scenarioNonMember() {
  const bob = await signIn('bob');
  const carol = await signIn('carol');
  const dave = await signIn('dave'); // the outsider, a member
  const alice = await signIn('alice'); // the outsider, an admin
  const room = randomName('secret');
  const secret = 'the launch code is 0000';
  const dmSecret = 'between bob and carol';

  await ok(bob, 'create_room', { room, name: 'Secret Plans', kind: 'closed', members: ['carol'] });
  const closedMessage = await send(bob, room, secret);
  const dm = (await ok(bob, 'open_dm', { users: ['carol'] })).room.id;
  check(dm === 'dm:bob:carol', `dm id ${dm}`);
  const dmMessage = await send(carol, dm, dmSecret);
  await waitFor(bob, 'message', (m) => m.id === dmMessage.id, 'the DM');

  const attempts = (target) => [
    ['join', { room: target }],
    ['history', { room: target }],
    ['send_message', { room: target, text: 'let me in' }],
    ['typing', { room: target, typing: true }],
    ['read', { room: target, id: closedMessage.id }],
    ['room', { room: target }],
    ['add_member', { room: target, username: 'dave' }],
    ['add_member', { room: target, username: 'erin' }],
    ['remove_member', { room: target, username: 'carol' }],
  ];
  const secrets = [secret, dmSecret, 'Secret Plans'];
  for (const target of [room, dm]) {
    for (const [event, payload] of attempts(target)) await refused(dave, event, payload, 'forbidden', secrets);
  }
  // An admin may enter a closed room, not a DM.
  for (const [event, payload] of attempts(dm)) {
    if (event === 'add_member' || event === 'remove_member') continue; // refused for DMs to anyone
    await refused(alice, event, payload, 'forbidden', secrets);
  }
  // Nothing of theirs reached the outsider, nor did his attempts reach the members.
  const leaks = (e) => JSON.stringify(e ?? null).includes(room) || JSON.stringify(e ?? null).includes(dm);
  for (const event of ['message', 'room', 'typing', 'read']) {
    check(!seen(dave, event).some(leaks), `dave got a ${event} event of a room he is not in: ${show(seen(dave, event))}`);
  }
  await none(carol, 'message', (m) => m.text === 'let me in', "an outsider's message");
  await none(carol, 'typing', (t) => t?.room === room || t?.room === dm, "an outsider's typing");
  const history = await ok(carol, 'history', { room });
  assertSame(history.messages.map((m) => m.text), [secret], 'the closed room history after the attempts');
  checkRoom(await roomOf(carol, room), { members: ['bob', 'carol'] }, 'the members after the attempts');
  checkRoom(await roomOf(carol, dm), { members: ['bob', 'carol'] }, 'the DM members after the attempts');

  // Not listed to him, over the socket or HTTP, not even with ?all=1.
  check(!ids(await myRooms(dave)).some((id) => id === room || id === dm), 'rooms of an outsider');
  for (const query of ['', '?all=1']) {
    const listed = ids(await apiRooms('dave', query));
    check(!listed.includes(room) && !listed.includes(dm), `GET /api/rooms${query} for an outsider lists ${show(listed)}`);
  }

  // HTTP: 403 forbidden, nothing stored.
  for (const target of [room, dm]) {
    const path = `/api/rooms/${encodeURIComponent(target)}/messages`;
    for (const [method, body] of [['GET', undefined], ['POST', { text: 'over http' }]]) {
      const reply = await api('dave', method, path, body);
      check(reply.status === 403 && reply.json?.error?.code === 'forbidden', `dave: ${method} ${path}: ${reply.status} ${reply.text}`);
      for (const text of secrets) check(!reply.text.includes(text), `${method} ${path} leaks ${text}`);
    }
  }
  const dmHistory = await ok(bob, 'history', { room: dm });
  assertSame(dmHistory.messages.map((m) => m.text), [dmSecret], 'the DM history after the attempts');

  // The admin, refused the DM above, may read the closed room.
  const dmHttp = await api('alice', 'GET', `/api/rooms/${encodeURIComponent(dm)}/messages`);
  check(dmHttp.status === 403, `an admin's GET of a DM: ${dmHttp.status} ${dmHttp.text}`);
  const adminHttp = await api('alice', 'GET', `/api/rooms/${encodeURIComponent(room)}/messages`);
  check(adminHttp.status === 200 && adminHttp.text.includes(secret), `an admin's GET of a closed room: ${adminHttp.status} ${adminHttp.text}`);
  const adminJoin = await ok(alice, 'join', { room });
  assertSame(adminJoin.messages.map((m) => m.text), [secret], "an admin's join of a closed room shows its history");

  // A `dm:` id nobody opened cannot be claimed, by join, send or HTTP; open_dm then
  // gives the real thing.
  for (const socket of [dave, alice]) {
    await refused(socket, 'join', { room: 'dm:dave:erin' }, 'forbidden');
    await refused(socket, 'send_message', { room: 'dm:dave:erin', text: 'claim' }, 'forbidden');
  }
  await refused(dave, 'join', { room: 'dm:no:such:people' }, 'forbidden');
  // The server's own channels (`@` for presence, `@bob` for bob's read markers and room
  // events) are no chat rooms anyone may join.
  for (const channel of ['@', '@bob']) await refused(dave, 'join', { room: channel }, 'invalid');
  await ok(bob, 'read', { room: dm, id: dmMessage.id });
  await none(dave, 'read', () => true, "another user's read markers");
  const claim = await api('dave', 'POST', `/api/rooms/${encodeURIComponent('dm:dave:erin')}/messages`, { text: 'claim' });
  check(claim.status === 403, `POST to an unopened dm: id: ${claim.status} ${claim.text}`);
  const erin = await signIn('erin');
  const real = await ok(erin, 'open_dm', { users: ['dave'] });
  checkRoom(real.room, { id: 'dm:dave:erin', members: ['dave', 'erin'], last: null }, 'the DM opened after the claims');
  assertSame((await ok(erin, 'join', { room: 'dm:dave:erin' })).messages, [], 'the DM holds none of the claims');
}

async function scenarioRooms() {
  const alice = await signIn('alice');
  const bob = await signIn('bob');
  const [r1, r2, r3] = ['one', 'two', 'three'].map(randomName);
  for (const room of [r1, r2, r3]) {
    await ok(alice, 'join', { room });
    await ok(bob, 'join', { room });
  }
  const dm = (await ok(alice, 'open_dm', { users: ['bob'] })).room.id;

  const mine = await send(alice, r1, 'my own words');
  const plain = await send(bob, r1, 'plain words');
  const direct = await send(bob, r1, '@Alice have a look'); // names compare case-insensitively
  const everyone = await send(bob, r1, 'all of you @room');
  const other = await send(bob, r1, '@carol is not alice');
  await send(bob, r3, 'three');
  await send(bob, r2, 'two');
  const psst = await send(bob, dm, 'psst');

  let rooms = await myRooms(alice);
  assertSame(ids(rooms), [dm, r2, r3, r1], 'rooms, most recent activity first');
  const byId = (list, id) => list.find((room) => room.id === id);
  checkRoom(byId(rooms, r1), { kind: 'open', member: true, unread: 4, mentions: 2, last: other },
    'r1: 4 by others (mine not counted), @alice and @room mention me');
  checkRoom(byId(rooms, dm), { kind: 'direct', unread: 1, mentions: 0, last: psst }, 'the DM');
  checkRoom(byId(rooms, r2), { unread: 1, mentions: 0 }, 'r2');
  checkRoom(byId(rooms, r1), { unread: 4 }, 'r1');
  checkRoom((await myRooms(bob)).find((room) => room.id === r1), { unread: 1, mentions: 0 }, "bob's r1: alice's message only");
  assertSame(await roomOf(alice, r1), byId(rooms, r1), '`room` and `rooms` agree');
  const http = await apiRooms('alice');
  assertSame(ids(http), ids(rooms), 'GET /api/rooms order');
  for (const room of http) {
    const socket = byId(rooms, room.id);
    assertSame([room.unread, room.mentions, room.last_message?.id], [socket.unread, socket.mentions, socket.last_message?.id], `GET /api/rooms ${room.id}`);
  }

  // New activity moves a room first.
  const back = await send(bob, r1, 'back again');
  rooms = await myRooms(alice);
  assertSame(ids(rooms), [r1, dm, r2, r3], 'rooms after a message in r1');
  checkRoom(byId(rooms, r1), { unread: 5, mentions: 2, last: back }, 'r1 after one more');

  // Reading moves the counts; reading does not reorder.
  await ok(alice, 'read', { room: r1, id: direct.id });
  checkRoom(await roomOf(alice, r1), { unread: 3, mentions: 1, read_marker: direct.id }, 'r1 read up to the @alice message');
  await ok(alice, 'read', { room: r1, id: plain.id }); // behind the marker: no change
  checkRoom(await roomOf(alice, r1), { unread: 3, mentions: 1, read_marker: direct.id }, 'r1 after reading an older id');
  await ok(alice, 'read', { room: r1, id: back.id });
  await ok(alice, 'read', { room: dm, id: psst.id });
  rooms = await myRooms(alice);
  assertSame(ids(rooms), [r1, dm, r2, r3], 'reading does not reorder');
  checkRoom(byId(rooms, r1), { unread: 0, mentions: 0, read_marker: back.id, last: back }, 'r1 read to the end');
  checkRoom(byId(rooms, dm), { unread: 0, mentions: 0, read_marker: psst.id }, 'the DM read');
  checkRoom(byId(rooms, r2), { unread: 1 }, 'r2 still unread');
  check(mine.id < plain.id && everyone.id < other.id, 'ids increase');

  // ?all=1 adds the open rooms I am not in (and not closed ones).
  const carol = await signIn('carol');
  const garden = randomName('garden');
  const hidden = randomName('hidden');
  await ok(carol, 'join', { room: garden });
  await ok(carol, 'create_room', { room: hidden, kind: 'closed', members: [] });
  const mineOnly = ids(await apiRooms('bob'));
  check(!mineOnly.includes(garden), 'GET /api/rooms lists only my rooms');
  const all = await apiRooms('bob', '?all=1');
  checkRoom(all.find((room) => room.id === garden) ?? fail(`?all=1 lacks ${garden}: ${show(ids(all))}`),
    { kind: 'open', member: false }, '?all=1: an open room I am not in');
  check(!ids(all).includes(hidden), `?all=1 must not list a closed room I am not in: ${show(ids(all))}`);
  for (const id of mineOnly) check(all.find((room) => room.id === id)?.member === true, `?all=1 keeps my room ${id}`);
}

// Counts that need more than the newest 1024 messages (which the server keeps in memory
// per room): my own long run after others' messages, in a room counted before the run
// (kept up to date in memory) and in one counted only after it (loaded from the store);
// and the cap of 999.
async function scenarioCounts() {
  const alice = await signIn('alice');
  const bob = await signIn('bob');
  const [counted, fresh] = [randomName('busy'), randomName('busy')];
  for (const room of [counted, fresh]) {
    await ok(alice, 'join', { room });
    await ok(bob, 'join', { room });
  }
  checkRoom(await roomOf(alice, counted), { unread: 0, mentions: 0 }, 'an empty room');

  const early = {};
  for (const room of [counted, fresh]) {
    early[room] = await sendMany(bob, room, ['@alice first', 'second', '@room third']);
  }
  const mine = Array.from({ length: 1100 }, (_, i) => `mine ${i}`);
  const [ownCounted, ownFresh] = await Promise.all([sendMany(alice, counted, mine), sendMany(alice, fresh, mine)]);
  for (const [room, own] of [[fresh, ownFresh], [counted, ownCounted]]) {
    checkRoom(await roomOf(alice, room), { unread: 3, mentions: 2, last: own[own.length - 1] },
      `${room}: others' messages before 1100 of my own`);
    checkRoom(await roomOf(bob, room), { unread: 999, mentions: 0 }, `${room}: bob's count of alice's 1100 stops at 999`);
  }
  // Later messages add to what was counted from the store, also once they in turn
  // have left memory (bob's 30 below, pushed out by 1030 more of alice's).
  await send(bob, fresh, '@alice again');
  checkRoom(await roomOf(alice, fresh), { unread: 4, mentions: 3 }, 'one more after a count from the store');
  await sendMany(bob, fresh, Array.from({ length: 29 }, (_, i) => `plain ${i}`));
  await sendMany(alice, fresh, Array.from({ length: 1030 }, (_, i) => `more of mine ${i}`));
  checkRoom(await roomOf(alice, fresh), { unread: 33, mentions: 3 }, "bob's 33 after 1030 more of mine");

  await ok(alice, 'read', { room: counted, id: early[counted][1].id });
  checkRoom(await roomOf(alice, counted), { unread: 1, mentions: 1 }, 'read past the first two');

  const pings = await sendMany(bob, counted, Array.from({ length: 1000 }, (_, i) => `@alice ping ${i}`));
  checkRoom(await roomOf(alice, counted), { unread: 999, mentions: 999 }, 'the cap');
  const listed = (await myRooms(alice)).find((r) => r.id === counted);
  checkRoom(listed, { unread: 999, mentions: 999 }, '`rooms` at the cap');
  await ok(alice, 'read', { room: counted, id: pings[pings.length - 11].id });
  checkRoom(await roomOf(alice, counted), { unread: 10, mentions: 10, last: pings[pings.length - 1] }, 'ten left');
}

async function scenarioRead() {
  const a1 = await signIn('alice');
  const a2 = await signIn('alice');
  const bob = await signIn('bob');
  const room = randomName('notes');
  await ok(a1, 'join', { room });
  await ok(bob, 'join', { room });
  const [m1, m2, m3] = [await send(bob, room, 'one'), await send(bob, room, 'two'), await send(bob, room, 'three')];

  assertSame(await ok(a1, 'read', { room, id: m2.id }), { ok: true, room, id: m2.id }, 'read ack');
  assertSame(await waitFor(a2, 'read', (e) => e?.room === room), { room, id: m2.id }, 'read event on my other socket');
  await none(a1, 'read', () => true, 'a read event on the socket that read');
  await none(bob, 'read', () => true, "a read event of someone else's marker");

  assertSame(await ok(a1, 'read', { room, id: m1.id }), { ok: true, room, id: m2.id }, 'read of an older id keeps the marker (max)');
  check((await ok(a2, 'join', { room })).read_marker === m2.id, 'join ack read_marker');
  const a3 = await signIn('alice');
  check((await ok(a3, 'join', { room })).read_marker === m2.id, 'join ack read_marker on a new socket');
  checkRoom(await roomOf(a3, room), { read_marker: m2.id, unread: 1, mentions: 0, last: m3 }, '`room` carries the marker');

  const before = seen(a2, 'read').length;
  assertSame(await ok(a2, 'read', { room, id: m3.id }), { ok: true, room, id: m3.id }, 'read to the end');
  for (const socket of [a1, a3]) await waitFor(socket, 'read', (e) => e?.room === room && e.id === m3.id, 'the moved marker');
  check(seen(a2, 'read').length === before, `the reading socket got a read event: ${show(seen(a2, 'read'))}`);
  checkRoom(await roomOf(a1, room), { read_marker: m3.id, unread: 0 }, 'all read');
}

async function scenarioFanout() {
  const a1 = await signIn('alice');
  const bob = await signIn('bob');
  const [r1, r2] = [randomName('fan'), randomName('fan')];
  await ok(a1, 'join', { room: r1 });
  await ok(a1, 'join', { room: r2 });
  const a2 = await signIn('alice'); // subscribed at connect, joins nothing
  const sent = [await send(bob, r1, 'to r1'), await send(bob, r2, 'to r2'), await send(bob, r1, 'r1 again')];
  for (const socket of [a1, a2]) {
    await waitUntil(() => sent.every((m) => seen(socket, 'message').some((got) => got.id === m.id)), `alice's socket receives every message of her rooms`);
    await sleep(QUIET_MS);
    const got = seen(socket, 'message').map((m) => m.id);
    assertSame(got, sent.map((m) => m.id), 'each message once, in order');
  }
  await none(a2, 'message', (m) => m.room !== r1 && m.room !== r2, 'messages of other rooms');
}

async function usersOnline(user) {
  const reply = await api(user, 'GET', '/api/users');
  check(reply.status === 200 && Array.isArray(reply.json?.users), `GET /api/users: ${reply.status} ${reply.text}`);
  for (const u of reply.json.users) {
    for (const field of ['username', 'name', 'role', 'online']) check(field in u, `GET /api/users: ${show(u)} lacks ${field}`);
  }
  return Object.fromEntries(reply.json.users.map((u) => [u.username, u.online]));
}

async function scenarioPresence() {
  const presence = (username, online) => (p) => p?.username === username && p.online === online;
  const alice = await signIn('alice');
  const dave = await signIn('dave');
  let online = await usersOnline('alice');
  check(online.alice === true && online.dave === true && online.bob === false && online.carol === false, `before bob: ${show(online)}`);

  const b1 = await signIn('bob');
  for (const socket of [alice, dave]) await waitFor(socket, 'presence', presence('bob', true), 'bob online');
  check((await usersOnline('dave')).bob === true, 'GET /api/users: bob online');

  // A second tab closing, a reload within the grace: no offline. The last socket goes
  // at `left`; an offline before left + 8 s would be a timer of an earlier departure.
  const b2 = await signIn('bob');
  b1.disconnect();
  await sleep(1000);
  b2.disconnect();
  await sleep(2000);
  const b3 = await signIn('bob');
  check((await usersOnline('alice')).bob === true, 'bob is online during a reload');
  await sleep(2000);
  b3.disconnect();
  const left = Date.now();

  // Meanwhile carol arrives: everyone signed in hears it.
  const carol = await signIn('carol');
  for (const socket of [alice, dave]) await waitFor(socket, 'presence', presence('carol', true), 'carol online');
  check((await usersOnline('carol')).bob === true, 'bob is still online within the grace');

  await waitFor(alice, 'presence', presence('bob', false), 'bob offline after the grace', GRACE_MS + 5000);
  const after = Date.now() - left;
  check(after >= GRACE_MS - 2000, `bob went offline ${after} ms after his last socket; the grace is ${GRACE_MS} ms`);
  for (const socket of [dave, carol]) await waitFor(socket, 'presence', presence('bob', false), 'bob offline');
  const offlines = seen(alice, 'presence').filter(presence('bob', false));
  check(offlines.length === 1, `one offline for bob: ${show(seen(alice, 'presence'))}`);
  online = await usersOnline('alice');
  check(online.bob === false && online.carol === true, `after bob left: ${show(online)}`);
  return `offline after ${after} ms`;
}

async function scenarioOpenMode() {
  const connect = () => recordingSocket(baseUrl, openSockets, 'anonymous');
  const one = await connect();
  const two = await connect();
  const room = randomName('open');
  const joined = await ok(one, 'join', { room });
  check(joined.room === room && Array.isArray(joined.messages), `open-mode join: ${show(joined)}`);
  await ok(two, 'join', { room });
  const sent = await ok(one, 'send_message', { room, sender: 'Zed', text: 'as before' });
  check(sent.message.sender === 'Zed', `open mode keeps the payload's sender: ${show(sent)}`);
  await waitFor(two, 'message', (m) => m.id === sent.message.id, 'the message in open mode');
  const history = await ok(two, 'history', { room });
  assertSame(history.messages.map((m) => m.text), ['as before'], 'open-mode history');
}

// Stays connected as `user` until a line (or the end) on stdin, for tests/rooms_http.rs;
// then the socket disconnects as a closed tab does. Over WebSocket alone, so that the
// server hears of the departure at once: a polling client leaving before its upgrade
// would be noticed only at the ping timeout, and the test would time that instead.
async function scenarioHold(user) {
  const socket = await signIn(user, { transports: ['websocket'] });
  console.log(`connected ${user}`);
  await new Promise((resolve) => {
    process.stdin.on('data', resolve);
    process.stdin.on('end', resolve);
    process.stdin.resume();
  });
  process.stdin.pause();
  socket.disconnect();
  await sleep(QUIET_MS); // the close frame goes out before the process ends
}

// The rooms tests/rooms_http.rs reads over HTTP: closed `plans` (bob, carol) holding
// "plans text", which carol has read, the DM of bob and carol holding "dm text", open `lobby` (bob) holding
// "lobby text" (the latest), open `garden` (carol only).
async function scenarioSeed() {
  const bob = await signIn('bob');
  const carol = await signIn('carol');
  await ok(bob, 'create_room', { room: 'plans', name: 'Plans', kind: 'closed', members: ['carol'] });
  const plans = await send(bob, 'plans', 'plans text');
  await ok(carol, 'read', { room: 'plans', id: plans.id });
  const dm = (await ok(bob, 'open_dm', { users: ['carol'] })).room.id;
  await send(carol, dm, 'dm text');
  await ok(carol, 'join', { room: 'garden' });
  await ok(bob, 'join', { room: 'lobby' });
  await send(bob, 'lobby', 'lobby text');
  console.log('seeded');
}

const scenarios = {
  'open-rooms': scenarioOpenRooms,
  'closed-rooms': scenarioClosedRooms,
  direct: scenarioDirect,
  'non-member': scenarioNonMember,
  rooms: scenarioRooms,
  read: scenarioRead,
  counts: scenarioCounts,
  fanout: scenarioFanout,
  presence: scenarioPresence,
  'open-mode': scenarioOpenMode,
  hold: scenarioHold,
  seed: scenarioSeed,
};

runTeamScenarioFromArgv({
  usage: USAGE,
  scenarios,
  setTokens: (parsed) => { tokens = parsed; },
  limitMs: 90000,
  openSockets,
  setBaseUrl: (url) => { baseUrl = url; },
});
