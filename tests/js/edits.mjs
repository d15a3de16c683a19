// Edits, deletes, reactions, replies, mentions, notification levels and the catch-up
// with `since` (TEAM-CHAT.md, "Edits, deletes, reactions, replies" and "Mentions and
// notifications"; issue 14), driven by the official `socket.io-client` against
// `parley --auth accounts`.
//
// Usage: node tests/js/edits.mjs http://127.0.0.1:PORT <scenario> TOKENS [ARGS]
//   TOKENS is a JSON object {username: API token} of the team tests/edits_socket.rs
//   makes: admin alice, members bob, carol and dave.
//   edit          `rev` on every message; edit_message by the author reaches the room as
//                 `message_updated` with `edited_ts`, a fresh rev and recomputed
//                 mentions; every refusal (another user, an admin, unknown id, another
//                 room's id, a deleted message, someone no longer in a closed room)
//   delete        delete_message by the author and by an admin, `message_deleted`, the
//                 tombstone in history, join and HTTP; a non-author member refused;
//                 deleting again; an outsider of a closed room refused
//   react         react on and off, who reacted in order, a fresh rev per real change,
//                 nothing for a repeat, at most 64 emojis, bad emojis, a room I cannot
//                 read (closed room, DM, even for an admin)
//   reply         reply_to kept on the message everywhere; another room's id or an
//                 unknown one is invalid
//   mentions      @member and @room on the message, someone who cannot read a closed
//                 room, unknown and deactivated users not; the `rooms` mention counts
//                 follow sends, edits and deletes
//   notify        the default levels, `notify` with its ack and `room` event, `rooms`,
//                 `room` and GET /api/rooms agreeing, the refusals
//   notify-after  (after a restart) the levels set by `notify` are still there
//   catch-up      a client offline while others send, edit, delete and react gets
//                 exactly those changes from `history {since}`, in rev order, once;
//                 in pages with `limit`; over HTTP with ?since=
//   deep          edits, deletes and reactions of messages older than the newest 1024
//                 of a room: counts, paging back, the catch-up
//   race [SEED]   the catch-up polled while three writers change the room at once:
//                 every answer is the room at one moment
//   seed ROOM     (for tests/edits_http.rs) fills ROOM with edits, reactions, replies
//                 and deletes; prints `seeded`
//   open-mode     (against `--auth open`, no TOKENS) messages carry rev; edit, delete,
//                 react and notify answer `invalid`
// Prints `ok <scenario>` or `FAIL <scenario>: reason`.

import {
  QUIET_MS, apiWith, assertSame, call, check, forget, none, ok, randomName, recordingSocket,
  refused, roomOf, runTeamScenarioFromArgv, seen, sendMany as sendAll, show, signInAs, sleep, waitFor, waitUntil,
} from './lib.mjs';

const USAGE = 'node edits.mjs http://127.0.0.1:PORT <scenario> TOKENS [ARGS]';
// The fields of every message, and those it carries only when it has them.
const MESSAGE_FIELDS = ['client_id', 'id', 'room', 'rev', 'sender', 'text', 'ts', 'user'];
const OPTIONAL_FIELDS = ['edited_ts', 'mentions', 'reactions', 'reply_to'];
const TOMBSTONE_FIELDS = ['deleted', 'id', 'rev', 'room', 'ts']; // sorted
const MAX_EMOJIS = 64;
const MAX_TEXT_CHARS = 4000; // the server's default

let baseUrl;
let tokens = {};
const openSockets = [];
// The highest id or rev this scenario has been given: a change's rev must pass it,
// since revs are server-wide increasing and every request here waits for its answer.
let highest = 0;

// ---------------------------------------------------------------- clients

const signIn = (user, options) => signInAs(baseUrl, openSockets, tokens, user, options);
const api = (user, method, path, body) => apiWith(baseUrl, tokens[user], method, path, body);

// ---------------------------------------------------------------- messages

// Asserts the shape of a message: every field, the optional ones only when not empty,
// and `rev` at least the id.
function checkMessage(message, what) {
  check(message && typeof message === 'object' && message.deleted === undefined, `${what}: not a message: ${show(message)}`);
  const keys = Object.keys(message);
  for (const field of MESSAGE_FIELDS) check(keys.includes(field), `${what}: lacks '${field}': ${show(message)}`);
  for (const key of keys) {
    check(MESSAGE_FIELDS.includes(key) || OPTIONAL_FIELDS.includes(key), `${what}: unexpected field '${key}': ${show(message)}`);
  }
  check(Number.isSafeInteger(message.rev) && message.rev >= message.id, `${what}: rev ${message.rev} of id ${message.id}`);
  for (const list of ['mentions', 'reactions']) {
    check(message[list] === undefined || (Array.isArray(message[list]) && message[list].length > 0),
      `${what}: '${list}' is absent when empty, got ${show(message[list])}`);
  }
  return message;
}

// Asserts a tombstone: {id, room, rev, ts, deleted: true} and nothing more.
function checkTombstone(tombstone, expected, what) {
  assertSame(Object.keys(tombstone ?? {}).sort(), TOMBSTONE_FIELDS, `${what}: the tombstone's fields (${show(tombstone)})`);
  check(tombstone.deleted === true, `${what}: deleted must be true: ${show(tombstone)}`);
  assertSame([tombstone.id, tombstone.room, tombstone.ts], [expected.id, expected.room, expected.ts], `${what}: the tombstone's id, room and ts`);
  check(tombstone.rev > expected.rev, `${what}: the tombstone's rev ${tombstone.rev} must pass the message's ${expected.rev}`);
}

// Asserts `rev` is new: above every id and rev given out before; remembers it.
function fresh(rev, what) {
  check(Number.isSafeInteger(rev) && rev > highest, `${what}: rev ${rev} should be fresh, above ${highest}`);
  highest = rev;
}

function noteSeen(message) {
  highest = Math.max(highest, message.id, message.rev);
}

async function send(socket, room, text, extra = {}) {
  const { message } = await ok(socket, 'send_message', { room, text, ...extra });
  checkMessage(message, `send_message ack of ${show(text)}`);
  check(message.rev === message.id, `a new message's rev is its id: ${show(message)}`);
  fresh(message.id, `the id of ${show(text)}`);
  return message;
}

// The change acks: {ok, message}, the message checked and its rev fresh.
async function changed(socket, event, payload, what) {
  const reply = await ok(socket, event, payload);
  assertSame(Object.keys(reply).sort(), ['message', 'ok'], `${what}: the ack's fields`);
  checkMessage(reply.message, `${what}: the ack`);
  fresh(reply.message.rev, what);
  return reply.message;
}

const edit = (socket, message, text) => changed(socket, 'edit_message', { room: message.room, id: message.id, text },
  `${socket.user} edits ${message.id}`);

const react = (socket, message, emoji, on = true) => changed(socket, 'react', { room: message.room, id: message.id, emoji, on },
  `${socket.user} reacts ${emoji} ${on} on ${message.id}`);

// Waits for the `message_updated` carrying exactly `message` on each socket.
async function updatedReaches(sockets, message, what) {
  for (const socket of sockets) {
    const event = await waitFor(socket, 'message_updated', (e) => e?.message?.id === message.id && e.message.rev === message.rev,
      `message_updated for ${what}`);
    assertSame(event, { message }, `the message_updated of ${what} to ${socket.user}`);
  }
}

async function history(socket, room, extra = {}) {
  const reply = await ok(socket, 'history', { room, ...extra });
  check(Array.isArray(reply.messages), `history: ${show(reply)}`);
  return reply;
}

// The room's page as `socket` reads it, by id.
async function page(socket, room) {
  const { messages } = await history(socket, room, { limit: 200 });
  return new Map(messages.map((m) => [m.id, m]));
}

// ---------------------------------------------------------------- HTTP

const messagesPath = (room, query = '') => `/api/rooms/${encodeURIComponent(room)}/messages${query}`;

async function roomsOf(socket) {
  const { rooms } = await ok(socket, 'rooms', {});
  check(Array.isArray(rooms), `rooms: ${show(rooms)}`);
  return rooms;
}

// ---------------------------------------------------------------- scenarios

// Three users in an open room, and dave, who joins nothing.
async function team(prefix) {
  const [alice, bob, carol, dave] = [await signIn('alice'), await signIn('bob'), await signIn('carol'), await signIn('dave')];
  const room = randomName(prefix);
  for (const socket of [alice, bob, carol]) await ok(socket, 'join', { room });
  return { alice, bob, carol, dave, room };
}

async function scenarioEdit() {
  const { alice, bob, carol, dave, room } = await team('edits');
  const bob2 = await signIn('bob');

  // `rev` on every message: the ack, the live event, history, HTTP.
  const original = await send(bob, room, 'helo @carol');
  assertSame(original.mentions, ['carol'], 'the mentions of a new message');
  check(original.edited_ts === undefined, `a new message has no edited_ts: ${show(original)}`);
  for (const socket of [alice, carol]) {
    const live = await waitFor(socket, 'message', (m) => m.id === original.id, 'the new message');
    assertSame(live, original, `the message event to ${socket.user}`);
  }
  const later = await send(alice, room, 'sent after it');
  for (const m of (await history(carol, room)).messages) {
    checkMessage(m, 'history');
    check(m.rev === m.id, `an unchanged message's rev is its id: ${show(m)}`);
  }
  const listed = await api('carol', 'GET', messagesPath(room));
  check(listed.status === 200 && listed.json.messages.every((m) => m.rev === m.id), `GET messages: ${listed.text}`);

  // The author's edit: the ack and the room's `message_updated`, to every member.
  const before = Date.now();
  const edited = await edit(bob, original, 'hello @alice');
  const after = Date.now();
  assertSame({ ...edited, rev: 0, edited_ts: 0 }, { ...original, text: 'hello @alice', mentions: ['alice'], rev: 0, edited_ts: 0 },
    'the edit changes the text and mentions, nothing else of the message');
  check(edited.rev > later.id, `the edit's rev ${edited.rev} passes a message sent after the original (${later.id})`);
  check(Number.isSafeInteger(edited.edited_ts) && edited.edited_ts >= before - 1000 && edited.edited_ts <= after + 1000,
    `edited_ts is the time of the edit in ms (${before}..${after}): ${edited.edited_ts}`);
  await updatedReaches([alice, carol, bob2], edited, 'the edit');
  await none([alice, carol], 'message', (m) => m.id === original.id && m.rev !== original.rev, 'an edit as a new `message`');

  // Editing again: another fresh rev, the latest text everywhere.
  const again = await edit(bob2, edited, 'hello @alice and @room');
  assertSame(again.mentions, ['alice', 'room'], 'the mentions after the second edit');
  check(again.edited_ts >= edited.edited_ts, `edited_ts moves on: ${show(again)}`);
  await updatedReaches([alice, carol], again, 'the second edit');
  assertSame((await page(carol, room)).get(original.id), again, 'history shows the message as last edited');
  const http = await api('alice', 'GET', messagesPath(room));
  assertSame(http.json?.messages?.find((m) => m.id === original.id), again, 'GET messages shows the edit');
  const fixed = await edit(alice, later, 'sent after it, fixed');
  assertSame((await roomOf(carol, room)).last_message, fixed, "the room's last_message is the latest as edited");
  assertSame((await roomsOf(carol)).find((r) => r.id === room)?.last_message, fixed, '`rooms` last_message as edited');

  // Refusals: another member, an admin, an unknown id, an id of another room, an
  // empty text, a deleted message. None changes anything or reaches the room.
  forget(alice, 'message_updated');
  await refused(carol, 'edit_message', { room, id: original.id, text: 'carol was here' }, 'forbidden');
  await refused(alice, 'edit_message', { room, id: original.id, text: 'the admin was here' }, 'forbidden');
  await refused(dave, 'edit_message', { room, id: original.id, text: 'dave was here' }, 'forbidden');
  await refused(bob, 'edit_message', { room, id: 12345, text: 'nothing there' }, 'not_found');
  const elsewhere = randomName('elsewhere');
  const other = await send(bob, elsewhere, 'in another room');
  await refused(bob, 'edit_message', { room, id: other.id, text: 'wrong room' }, 'not_found');
  await refused(bob, 'edit_message', { room, id: original.id, text: '' }, 'invalid');
  await refused(bob, 'edit_message', { room, id: original.id, text: 'x'.repeat(MAX_TEXT_CHARS + 1) }, 'too_large');
  await refused(bob, 'edit_message', { room, text: 'which one?' }, 'invalid');
  const doomed = await send(bob, room, 'soon gone');
  assertSame(await ok(bob, 'delete_message', { room, id: doomed.id }), { ok: true }, 'the delete ack');
  await refused(bob, 'edit_message', { room, id: doomed.id, text: 'back from the dead' }, 'not_found');
  await none([alice], 'message_updated', () => true, 'a message_updated after refused edits');
  const now = await page(carol, room);
  assertSame(now.get(original.id), again, 'the message after the refused edits');
  check(now.get(doomed.id)?.deleted === true, `the deleted message stays deleted: ${show(now.get(doomed.id))}`);

  // A closed room: dave wrote there, then was removed; his own message is out of his
  // reach now, and the members are told nothing.
  const crew = randomName('crew');
  await ok(bob, 'create_room', { room: crew, kind: 'closed', members: ['dave', 'carol'] });
  const his = await send(dave, crew, 'dave wrote this');
  await ok(bob, 'remove_member', { room: crew, username: 'dave' });
  await refused(dave, 'edit_message', { room: crew, id: his.id, text: 'let me fix it' }, 'forbidden', ['dave wrote this']);
  await refused(dave, 'edit_message', { room: crew, id: 1, text: 'probing' }, 'forbidden');
  await refused(dave, 'delete_message', { room: crew, id: his.id }, 'forbidden');
  await refused(dave, 'react', { room: crew, id: his.id, emoji: '👍' }, 'forbidden');
  await none([carol], 'message_updated', (e) => e?.message?.room === crew, 'a message_updated of a refused edit');
  assertSame((await page(carol, crew)).get(his.id), his, 'the closed room message after the refused edit');
  // Changes in the room no longer reach him.
  const carols = await send(carol, crew, 'after dave left');
  const changedThere = await edit(carol, carols, 'after dave left, edited');
  await updatedReaches([bob], changedThere, 'an edit in the closed room');
  await ok(carol, 'delete_message', { room: crew, id: carols.id });
  await waitFor(bob, 'message_deleted', (e) => e?.id === carols.id, 'a delete in the closed room');
  await none([dave], 'message_updated', (e) => e?.message?.room === crew, "an edit in a room he was removed from");
  await none([dave], 'message_deleted', (e) => e?.room === crew, "a delete in a room he was removed from");
}

async function scenarioDelete() {
  const { alice, bob, carol, dave, room } = await team('deletes');
  await ok(dave, 'join', { room });
  const first = await send(bob, room, 'first, the secret is 4242');
  const second = await send(carol, room, 'second, carol says 7777');
  const third = await send(bob, room, 'third stays');

  // The author deletes: {ok: true}, then `message_deleted` {room, id} to the room.
  assertSame(await ok(bob, 'delete_message', { room, id: first.id }), { ok: true }, "the author's delete ack");
  for (const socket of [alice, carol, dave]) {
    const event = await waitFor(socket, 'message_deleted', (e) => e?.id === first.id, 'message_deleted');
    assertSame(event, { room, id: first.id }, `message_deleted to ${socket.user}`);
  }
  // An admin deletes someone else's.
  assertSame(await ok(alice, 'delete_message', { room, id: second.id }), { ok: true }, "an admin's delete ack");
  for (const socket of [bob, carol, dave]) {
    assertSame(await waitFor(socket, 'message_deleted', (e) => e?.id === second.id, "message_deleted of the admin's delete"),
      { room, id: second.id }, `message_deleted to ${socket.user}`);
  }

  // The tombstones everywhere the room's messages are read; the texts nowhere.
  const check3 = (messages, what) => {
    assertSame(messages.map((m) => m.id), [first.id, second.id, third.id], `${what}: the ids`);
    checkTombstone(messages[0], first, `${what}: the author's delete`);
    checkTombstone(messages[1], second, `${what}: the admin's delete`);
    assertSame(messages[2], third, `${what}: the message left`);
    const text = JSON.stringify(messages);
    for (const secret of ['4242', '7777']) check(!text.includes(secret), `${what} still shows the deleted text ${secret}: ${text}`);
  };
  check3((await history(dave, room)).messages, 'history');
  check3((await ok(dave, 'join', { room })).messages, 'the join ack');
  const http = await api('dave', 'GET', messagesPath(room));
  check(http.status === 200, `GET messages: ${http.status} ${http.text}`);
  check3(http.json.messages, 'GET messages');
  const latest = (await history(dave, room, { since: 0 })).messages;
  assertSame(latest.map((m) => m.id), [third.id, first.id, second.id], 'history since 0: in rev order');
  check(!JSON.stringify(latest).includes('4242'), 'since shows no deleted text');

  // Deleting the room's last message: `rooms` and `room` show its text no more.
  const last = await send(bob, room, 'last words 5150');
  await ok(bob, 'delete_message', { room, id: last.id });
  for (const listed of [await roomOf(carol, room), (await roomsOf(carol)).find((r) => r.id === room)]) {
    check(!JSON.stringify(listed).includes('5150'), `the room still shows the deleted last message: ${show(listed)}`);
  }
  const http2 = await api('carol', 'GET', '/api/rooms');
  check(http2.status === 200 && !http2.text.includes('5150'), `GET /api/rooms shows the deleted last message: ${http2.text}`);

  // Deleting again is fine and tells nobody.
  forget(carol, 'message_deleted');
  assertSame(await ok(bob, 'delete_message', { room, id: first.id }), { ok: true }, 'deleting again');
  assertSame(await ok(alice, 'delete_message', { room, id: first.id }), { ok: true }, 'deleting again, as an admin');
  await none([carol], 'message_deleted', () => true, 'a message_deleted for a message deleted before');
  const since = (await history(dave, room, { since: 0 })).messages;
  assertSame(since.slice(0, 3), latest, 'deleting again changes no rev');
  check(since.length === 4 && since[3].id === last.id && since[3].deleted === true, `the last tombstone: ${show(since)}`);

  // Refusals: a member who is not the author, an unknown id, an outsider of a closed room.
  await refused(dave, 'delete_message', { room, id: third.id }, 'forbidden');
  await refused(carol, 'delete_message', { room, id: third.id }, 'forbidden');
  await refused(bob, 'delete_message', { room, id: 12345 }, 'not_found');
  await refused(bob, 'delete_message', { room }, 'invalid');
  const crew = randomName('crew');
  await ok(bob, 'create_room', { room: crew, kind: 'closed', members: ['carol'] });
  const hidden = await send(carol, crew, 'closed words');
  await refused(dave, 'delete_message', { room: crew, id: hidden.id }, 'forbidden', ['closed words']);
  await refused(bob, 'delete_message', { room: crew, id: hidden.id }, 'forbidden');
  await refused(carol, 'react', { room, id: first.id, emoji: '👍' }, 'not_found');
  await none([bob, carol], 'message_deleted', (e) => e?.id === third.id || e?.id === hidden.id, 'a refused delete');
  assertSame((await page(carol, room)).get(third.id), third, 'the message after refused deletes');
  assertSame((await page(bob, crew)).get(hidden.id), hidden, 'the closed room after refused deletes');

  // An admin who is no member may still delete in a closed room (admins may enter).
  assertSame(await ok(alice, 'delete_message', { room: crew, id: hidden.id }), { ok: true }, "an admin's delete in a closed room");
  await waitFor(bob, 'message_deleted', (e) => e?.id === hidden.id, 'the admin delete in the closed room');
}

async function scenarioReact() {
  const { alice, bob, carol, dave, room } = await team('reactions');
  await ok(dave, 'join', { room });
  const target = await send(bob, room, 'react to me');
  const members = [alice, bob, carol];

  const thumbs = await react(alice, target, '👍');
  assertSame({ ...thumbs, rev: 0 }, { ...target, reactions: [{ emoji: '👍', users: ['alice'] }], rev: 0 },
    'a reaction changes the reactions and the rev only');
  check(thumbs.edited_ts === undefined, 'a reaction is no edit');
  await updatedReaches(members, thumbs, 'the first reaction');

  const two = await changed(carol, 'react', { room, id: target.id, emoji: '👍' }, 'carol reacts 👍 (on by default)');
  assertSame(two.reactions, [{ emoji: '👍', users: ['alice', 'carol'] }], 'two users, in the order they reacted');
  const party = await react(carol, target, '🎉');
  assertSame(party.reactions, [{ emoji: '👍', users: ['alice', 'carol'] }, { emoji: '🎉', users: ['carol'] }], 'a second emoji');
  await updatedReaches(members, party, 'the second emoji');

  // The same reaction again, or taking back one not given: no change, same rev, no event.
  forget(alice, 'message_updated');
  forget(bob, 'message_updated');
  for (const [socket, emoji, on] of [[alice, '👍', true], [carol, '🎉', true], [bob, '👍', false], [alice, '🎉', false]]) {
    const reply = await ok(socket, 'react', { room, id: target.id, emoji, on });
    assertSame(reply, { ok: true, message: party }, `${socket.user} reacting ${emoji} ${on} again changes nothing`);
  }
  await none([alice, bob], 'message_updated', () => true, 'a message_updated for a reaction that changed nothing');

  // Taking back: the user leaves the list; the last one takes the emoji away; no
  // reactions at all leaves no field.
  const less = await react(alice, target, '👍', false);
  assertSame(less.reactions, [{ emoji: '👍', users: ['carol'] }, { emoji: '🎉', users: ['carol'] }], 'alice took hers back');
  await updatedReaches([bob], less, 'a reaction taken back');
  const fewer = await react(carol, target, '👍', false);
  assertSame(fewer.reactions, [{ emoji: '🎉', users: ['carol'] }], 'the emoji goes with its last user');
  const bare = await react(carol, target, '🎉', false);
  check(bare.reactions === undefined, `no reactions, no field: ${show(bare)}`);
  assertSame({ ...bare, rev: 0 }, { ...target, rev: 0 }, 'the message without reactions is as it was sent');
  await updatedReaches(members, bare, 'the last reaction taken back');

  // History and HTTP carry the reactions.
  const liked = await react(dave, target, '❤️');
  assertSame(liked.reactions, [{ emoji: '❤️', users: ['dave'] }], 'an emoji with a modifier');
  assertSame((await page(carol, room)).get(target.id), liked, 'history carries the reactions');
  const http = await api('bob', 'GET', messagesPath(room));
  assertSame(http.json?.messages?.find((m) => m.id === target.id), liked, 'GET messages carries the reactions');

  // Bad emojis and ids.
  for (const emoji of ['', 'two words', 'x'.repeat(33), 'tab\there']) {
    await refused(alice, 'react', { room, id: target.id, emoji }, 'invalid');
  }
  await refused(alice, 'react', { room, id: target.id }, 'invalid');
  await refused(alice, 'react', { room, id: 12345, emoji: '👍' }, 'not_found');
  const longest = await react(alice, target, 'y'.repeat(32));
  check(longest.reactions.length === 2, `a 32-character emoji: ${show(longest.reactions)}`);

  // At most 64 distinct emojis on a message.
  const crowded = await send(bob, room, 'many reactions');
  let last;
  for (let i = 0; i < MAX_EMOJIS; i += 1) last = await react(alice, crowded, `e${i}`);
  check(last.reactions.length === MAX_EMOJIS, `${MAX_EMOJIS} emojis: ${last.reactions.length}`);
  await refused(bob, 'react', { room, id: crowded.id, emoji: 'one-too-many' }, 'too_large');
  const joined = await react(bob, crowded, 'e0');
  assertSame(joined.reactions[0], { emoji: 'e0', users: ['alice', 'bob'] }, 'an existing emoji may still be given');

  // A room I cannot read: a closed room (as a member), a DM (even as an admin).
  const crew = randomName('crew');
  await ok(bob, 'create_room', { room: crew, kind: 'closed', members: ['carol'] });
  const closedOne = await send(carol, crew, 'closed and quiet');
  const dm = (await ok(bob, 'open_dm', { users: ['carol'] })).room.id;
  const dmOne = await send(bob, dm, 'just us two');
  forget(bob, 'message_updated');
  forget(carol, 'message_updated');
  await refused(dave, 'react', { room: crew, id: closedOne.id, emoji: '👀' }, 'forbidden', ['closed and quiet']);
  await refused(dave, 'react', { room: dm, id: dmOne.id, emoji: '👀' }, 'forbidden', ['just us two']);
  await refused(alice, 'react', { room: dm, id: dmOne.id, emoji: '👀' }, 'forbidden', ['just us two']);
  await none([bob, carol], 'message_updated', () => true, 'a message_updated of a refused reaction');
  assertSame((await page(carol, crew)).get(closedOne.id), closedOne, 'the closed room message after refused reactions');
  assertSame((await page(carol, dm)).get(dmOne.id), dmOne, 'the DM after refused reactions');
  check(!seen(dave, 'message_updated').some((e) => [crew, dm].includes(e?.message?.room)), 'dave saw nothing of the rooms');
}

async function scenarioReply() {
  const { alice, bob, carol, room } = await team('replies');
  const question = await send(alice, room, 'lunch?');
  check(question.reply_to === undefined, `a message that answers nothing has no reply_to: ${show(question)}`);
  const answer = await send(bob, room, 'yes', { reply_to: question.id });
  check(answer.reply_to === question.id, `reply_to kept: ${show(answer)}`);
  assertSame(await waitFor(carol, 'message', (m) => m.id === answer.id, 'the reply'), answer, 'the reply to the room');
  assertSame((await page(carol, room)).get(answer.id), answer, 'the reply in history');
  const http = await api('carol', 'POST', messagesPath(room), { text: 'me too', reply_to: question.id });
  check(http.status === 201 && http.json?.message?.reply_to === question.id, `a reply over HTTP: ${http.status} ${http.text}`);
  const edited = await edit(bob, answer, 'yes, at noon');
  check(edited.reply_to === question.id, `an edit keeps reply_to: ${show(edited)}`);

  // A reply to what is not a message of this room.
  const elsewhere = randomName('elsewhere');
  const other = await send(alice, elsewhere, 'somewhere else');
  forget(carol, 'message');
  await refused(bob, 'send_message', { room, text: 'to nothing', reply_to: 12345 }, 'invalid');
  await refused(bob, 'send_message', { room, text: 'across rooms', reply_to: other.id }, 'invalid');
  await refused(bob, 'send_message', { room, text: 'not a number', reply_to: 'abc' }, 'invalid');
  await none([carol], 'message', (m) => m.room === room, 'a refused reply');
  assertSame([...(await page(carol, room)).keys()].length, 3, 'no refused reply was stored');
}

async function scenarioMentions() {
  const [alice, bob, carol] = [await signIn('alice'), await signIn('bob'), await signIn('carol')];
  const crew = randomName('crew');
  await ok(bob, 'create_room', { room: crew, kind: 'closed', members: ['alice'] });
  // Carol is no member of the closed room: she cannot read it, so she is no mention.
  const all = await send(bob, crew, '@alice @carol @room @nobody-here bob@example.com, see @Bob.');
  assertSame([...all.mentions].sort(), ['alice', 'bob', 'room'], 'mentions of a member, the room and the author; not carol nor an unknown');
  assertSame(await waitFor(alice, 'message', (m) => m.id === all.id, 'the message'), all, 'the message to the room');
  const plain = await send(bob, crew, 'no one in particular, mail me at me@example.com');
  check(plain.mentions === undefined, `no mentions, no field: ${show(plain)}`);
  await ok(alice, 'read', { room: crew, id: plain.id });

  // Alice's counts follow sends, edits and deletes.
  const count = async (what, unread, mentions) => {
    const listed = (await roomsOf(alice)).find((r) => r.id === crew);
    check(listed, `${what}: the room is in alice's rooms`);
    assertSame([listed.unread, listed.mentions], [unread, mentions], `${what}: alice's [unread, mentions] in rooms`);
    const one = await roomOf(alice, crew);
    assertSame([one.unread, one.mentions], [unread, mentions], `${what}: alice's [unread, mentions] in room`);
  };
  const one = await send(bob, crew, 'look @alice');
  const two = await send(bob, crew, 'just words');
  const three = await send(bob, crew, 'everyone @room');
  await count('after three', 3, 2);
  const unmentioned = await edit(bob, one, 'look');
  check(unmentioned.mentions === undefined, `an edit that drops the mention drops the field: ${show(unmentioned)}`);
  await count('after an edit drops @alice', 3, 1);
  const mentioned = await edit(bob, two, 'just words, @alice');
  assertSame(mentioned.mentions, ['alice'], 'an edit that adds a mention');
  await count('after an edit adds @alice', 3, 2);
  await ok(bob, 'delete_message', { room: crew, id: three.id });
  await count('after deleting the @room message', 2, 1);
  const carolEdit = await edit(bob, mentioned, 'now @carol');
  check(carolEdit.mentions === undefined, `an edit mentioning someone who cannot read the room: ${show(carolEdit)}`);
  await count('after an edit to @carol', 2, 0);

  // In an open room anyone may read: @bob is a mention, an unknown name not.
  const hall = randomName('hall');
  await ok(bob, 'join', { room: hall });
  const open = await send(alice, hall, 'hi @bob and @ghost-user');
  assertSame(open.mentions, ['bob'], 'a member of an open room; not an unknown user');
  const before = (await roomsOf(bob)).find((r) => r.id === hall);
  check(before?.mentions === 1, `bob's mention count in the open room: ${show(before)}`);

  // A deactivated user is no longer mentioned (last: it ends dave's sessions).
  const dave = await send(alice, hall, 'ping @dave');
  assertSame(dave.mentions, ['dave'], 'an active user who can read the open room');
  const gone = await api('alice', 'POST', '/api/users/dave/deactivate');
  check(gone.status === 200 || gone.status === 204, `deactivating dave: ${gone.status} ${gone.text}`);
  const after = await send(alice, hall, 'ping @dave again');
  check(after.mentions === undefined, `a deactivated user is no mention: ${show(after)}`);
}

async function scenarioNotify() {
  const a1 = await signIn('alice');
  const a2 = await signIn('alice');
  const bob = await signIn('bob');
  const carol = await signIn('carol');
  await ok(a1, 'join', { room: 'hall' });
  await ok(bob, 'join', { room: 'hall' });
  await ok(a1, 'create_room', { room: 'council', kind: 'closed', members: ['bob'] });
  await ok(a1, 'open_dm', { users: ['bob'] });
  const dm = 'dm:alice:bob';

  // The defaults: all for a DM, mentions elsewhere; every view agrees.
  const levels = async (socket, what) => {
    const rooms = await roomsOf(socket);
    const listed = Object.fromEntries(rooms.filter((r) => ['hall', 'council', dm].includes(r.id)).map((r) => [r.id, r.notify]));
    for (const id of ['hall', 'council', dm]) check(id in listed, `${what}: ${id} in ${socket.user}'s rooms`);
    for (const id of Object.keys(listed)) assertSame((await roomOf(socket, id)).notify, listed[id], `${what}: \`room\` ${id} agrees`);
    const http = await api(socket.user, 'GET', '/api/rooms');
    for (const r of http.json?.rooms ?? []) {
      if (r.id in listed) assertSame(r.notify, listed[r.id], `${what}: GET /api/rooms ${r.id} agrees`);
    }
    return listed;
  };
  assertSame(await levels(a1, 'defaults'), { hall: 'mentions', council: 'mentions', [dm]: 'all' }, 'the default levels');

  // notify: the ack, the `room` event to my other socket, and nobody else's.
  await sleep(QUIET_MS);
  forget(a2, 'room');
  forget(bob, 'room');
  assertSame(await ok(a1, 'notify', { room: 'hall', level: 'all' }), { ok: true, room: 'hall', level: 'all' }, 'the notify ack');
  const event = await waitFor(a2, 'room', (e) => e?.room?.id === 'hall' && e.room.notify === 'all', 'the `room` event with the new level');
  check(event.room.member === true && event.room.kind === 'open', `the room event is the room as alice sees it: ${show(event)}`);
  assertSame(await ok(a1, 'notify', { room: dm, level: 'none' }), { ok: true, room: dm, level: 'none' }, 'notify none');
  assertSame(await ok(a2, 'notify', { room: 'council', level: 'all' }), { ok: true, room: 'council', level: 'all' }, 'notify all');
  assertSame(await ok(a2, 'notify', { room: 'council', level: 'mentions' }), { ok: true, room: 'council', level: 'mentions' }, 'back to mentions');
  assertSame(await ok(a2, 'notify', { room: 'council', level: 'all' }), { ok: true, room: 'council', level: 'all' }, 'and all again');
  await waitFor(a1, 'room', (e) => e?.room?.id === 'council' && e.room.notify === 'all', 'the `room` event on the other socket');
  await waitFor(a2, 'room', (e) => e?.room?.id === dm && e.room.notify === 'none', 'the `room` event for the DM');
  await none([bob], 'room', () => true, "a `room` event of alice's notification level");
  assertSame(await levels(a2, 'after notify'), { hall: 'all', council: 'all', [dm]: 'none' }, "alice's levels");
  assertSame(await levels(bob, "bob's"), { hall: 'mentions', council: 'mentions', [dm]: 'all' }, "bob's levels are his own");

  // Refusals: a level that does not exist, none given, a room I cannot read.
  for (const level of ['loud', '', 3]) await refused(a1, 'notify', { room: 'hall', level }, 'invalid');
  await refused(a1, 'notify', { room: 'hall' }, 'invalid');
  await refused(carol, 'notify', { room: 'council', level: 'all' }, 'forbidden');
  await refused(carol, 'notify', { room: dm, level: 'all' }, 'forbidden');
  assertSame(await levels(a1, 'after the refusals'), { hall: 'all', council: 'all', [dm]: 'none' }, 'alice after the refusals');
}

async function scenarioNotifyAfter() {
  const alice = await signIn('alice');
  const bob = await signIn('bob');
  const dm = 'dm:alice:bob';
  for (const [socket, expected] of [[alice, { hall: 'all', council: 'all', [dm]: 'none' }], [bob, { hall: 'mentions', council: 'mentions', [dm]: 'all' }]]) {
    const rooms = await roomsOf(socket);
    const listed = Object.fromEntries(rooms.filter((r) => r.id in expected).map((r) => [r.id, r.notify]));
    assertSame(listed, expected, `${socket.user}'s levels after a restart`);
  }
}

// Someone offline while the others send, edit, delete and react; coming back, one
// `history {since}` is exactly what changed, in rev order, once each.
async function scenarioCatchUp() {
  const { alice, bob, carol, dave, room } = await team('catchup');
  const m = [];
  for (let i = 1; i <= 6; i += 1) m.push(await send(bob, room, `m${i}`));
  const early = await react(alice, m[4], '👍');
  const elsewhere = randomName('elsewhere');
  const foreign = await send(bob, elsewhere, 'not this room');

  // What carol has seen live: every message and every update, up to the last rev.
  await waitFor(carol, 'message_updated', (e) => e?.message?.rev === early.rev, 'the update before going offline');
  await waitUntil(() => m.every((x) => seen(carol, 'message').some((got) => got.id === x.id)), 'carol has every message');
  const revs = [...seen(carol, 'message'), ...seen(carol, 'message_updated').map((e) => e.message)].filter((x) => x.room === room).map((x) => x.rev);
  const lastSeen = Math.max(...revs);
  check(lastSeen === early.rev, `carol's last rev is the reaction's: ${lastSeen} vs ${early.rev}`);
  const idle = await history(carol, room, { since: lastSeen });
  assertSame(idle, { ok: true, messages: [], rev: lastSeen }, 'nothing after the last rev seen; `rev` is the latest');
  carol.disconnect();

  // While she is away. `final` holds what each touched message becomes.
  const final = new Map();
  const keep = (message) => { final.set(message.id, message); return message; };
  const n1 = keep(await send(bob, room, 'n1 while away'));
  keep(await edit(bob, m[0], 'm1 edited'));
  keep(await edit(bob, m[0], 'm1 edited twice, @carol'));
  await ok(bob, 'delete_message', { room, id: m[1].id });
  final.set(m[1].id, { deleted: m[1] });
  keep(await react(alice, m[2], '🎉'));
  keep(await react(bob, m[2], '🎉'));
  await ok(dave, 'react', { room, id: m[2].id, emoji: '🎉', on: false }); // never given: no change
  keep(await react(alice, m[4], '👍', false));
  const n2 = keep(await send(alice, room, 'n2 soon gone'));
  await ok(alice, 'delete_message', { room, id: n2.id });
  final.set(n2.id, { deleted: n2 });
  const n3 = keep(await send(dave, room, 'n3 from dave', { reply_to: m[5].id }));
  keep(await edit(dave, n3, 'n3 from dave, edited'));
  keep(await react(bob, n1, '✅'));
  await ok(bob, 'delete_message', { room, id: m[2].id });
  final.set(m[2].id, { deleted: m[2] });
  await edit(bob, foreign, 'still not this room');
  const untouched = [m[3].id, m[5].id];

  // Back: one `history {since}`.
  const back = await signIn('carol');
  const caught = await history(back, room, { since: lastSeen });
  assertSame(Object.keys(caught).sort(), ['messages', 'ok', 'rev'], 'the since answer fields');
  const got = caught.messages;
  const gotIds = got.map((x) => x.id);
  check(new Set(gotIds).size === gotIds.length, `each message once: ${show(gotIds)}`);
  assertSame([...gotIds].sort(), [...final.keys()].sort(), `exactly the messages created or changed while away (not ${show(untouched)}, not another room's)`);
  for (let i = 1; i < got.length; i += 1) check(got[i].rev > got[i - 1].rev, `rev order: ${show(got.map((x) => x.rev))}`);
  for (const x of got) {
    check(x.rev > lastSeen, `every change is after the rev seen: ${show(x)}`);
    const expected = final.get(x.id);
    if (expected.deleted) {
      checkTombstone(x, expected.deleted, `the tombstone of ${expected.deleted.text}`);
    } else {
      assertSame(x, expected, `message ${expected.text} as it is now`);
    }
  }
  check(caught.rev === got[got.length - 1].rev, `\`rev\` is the room's latest, the last change's: ${caught.rev} vs ${got[got.length - 1].rev}`);
  for (const text of ['soon gone', '"m2"', '"m3"']) check(!JSON.stringify(got).includes(text), `the deleted ${text} in the catch-up`);
  assertSame(got.find((x) => x.id === m[0].id)?.text, 'm1 edited twice, @carol', 'the final text of an edited message');
  // The same catch-up in pages of two, each from the last rev of the one before.
  const paged = [];
  let since = lastSeen;
  for (let round = 0; round < 20; round += 1) {
    const part = await history(back, room, { since, limit: 2 });
    check(part.messages.length <= 2, `a page of at most 2: ${show(part.messages)}`);
    check(part.rev === caught.rev, `each page's rev is the room's latest: ${part.rev}`);
    if (part.messages.length === 0) break;
    paged.push(...part.messages);
    since = part.messages[part.messages.length - 1].rev;
  }
  assertSame(paged, got, 'the catch-up in pages of 2');
  // And over HTTP.
  const http = await api('carol', 'GET', messagesPath(room, `?since=${lastSeen}`));
  check(http.status === 200, `GET ?since: ${http.status} ${http.text}`);
  assertSame(http.json, { messages: got, rev: caught.rev }, 'GET ?since= answers as history does');
  const httpPage = await api('carol', 'GET', messagesPath(room, `?since=${lastSeen}&limit=3`));
  assertSame(httpPage.json, { messages: got.slice(0, 3), rev: caught.rev }, 'GET ?since=&limit=3');
  const httpNone = await api('carol', 'GET', messagesPath(room, `?since=${caught.rev}`));
  assertSame(httpNone.json, { messages: [], rev: caught.rev }, 'GET ?since= the latest rev');

  // Caught up: nothing more, then live again, then only the new change.
  assertSame(await history(back, room, { since: caught.rev }), { ok: true, messages: [], rev: caught.rev }, 'caught up');
  const live = await edit(bob, m[3], 'm4 edited after her return');
  await updatedReaches([back], live, 'an edit after the return');
  assertSame(await history(back, room, { since: caught.rev }), { ok: true, messages: [live], rev: live.rev }, 'the next catch-up');

  // Refusals: a since that is not a rev, a closed room I am not in.
  await refused(back, 'history', { room, since: -1 }, 'invalid');
  await refused(back, 'history', { room, since: 'yesterday' }, 'invalid');
  const crew = randomName('crew');
  await ok(bob, 'create_room', { room: crew, kind: 'closed', members: ['alice'] });
  await send(bob, crew, 'closed changes');
  await refused(back, 'history', { room: crew, since: 0 }, 'forbidden', ['closed changes']);
  const outsider = await api('carol', 'GET', messagesPath(crew, '?since=0'));
  check(outsider.status === 403 && !outsider.text.includes('closed changes'), `GET ?since by an outsider: ${outsider.status} ${outsider.text}`);
  return `${got.length} changes`;
}

// Sends `texts` to `room`, up to 32 at a time (the server takes 64 in flight per
// connection), and returns the messages in id order.
async function sendMany(socket, room, texts) {
  const sent = await sendAll(socket, room, texts);
  sent.forEach(noteSeen);
  return sent;
}

// Changes to messages older than the newest 1024 of a room (those the server keeps in
// memory): the counts, paging back with `before` and the catch-up see them.
async function scenarioDeep() {
  const alice = await signIn('alice');
  const bob = await signIn('bob');
  const room = randomName('deep');
  await ok(alice, 'join', { room });
  await ok(bob, 'join', { room });
  const old = await send(bob, room, '@alice an old one');
  const doomed = await send(bob, room, 'an old one to delete 8080');
  const mine = await sendMany(alice, room, Array.from({ length: 1030 }, (_, i) => `mine ${i}`));
  const count = async (what, expected) => {
    const one = await roomOf(alice, room);
    assertSame([one.unread, one.mentions], expected, `${what}: alice's [unread, mentions]`);
  };
  await count('two of bob before 1030 of mine', [2, 1]);

  const edited = await edit(bob, old, 'an old one, edited');
  await updatedReaches([alice], edited, 'an edit of an old message');
  await count('after the edit drops the mention', [2, 0]);
  await ok(bob, 'delete_message', { room, id: doomed.id });
  await waitFor(alice, 'message_deleted', (e) => e?.id === doomed.id, 'the delete of an old message');
  await count('after the delete', [1, 0]);
  const reacted = await react(alice, edited, '👍');

  const back = (await history(alice, room, { before: mine[0].id, limit: 10 })).messages;
  assertSame(back.map((m) => m.id), [old.id, doomed.id], 'paging back reaches the old messages');
  assertSame(back[0], reacted, 'the old message as edited and reacted to');
  checkTombstone(back[1], doomed, 'the old deleted message');
  const http = await api('alice', 'GET', messagesPath(room, `?before=${mine[0].id}&limit=10`));
  assertSame(http.json?.messages, back, 'GET messages ?before= agrees');
  check(!http.text.includes('8080'), 'GET shows no deleted text');
  const caught = await history(alice, room, { since: mine[mine.length - 1].id });
  assertSame(caught.messages.map((m) => m.id), [doomed.id, old.id], 'the catch-up after my last message: the delete, then the reaction');
  assertSame(caught.messages[1], reacted, 'the catch-up has the old message as it is now');
  check(caught.rev === reacted.rev, `the room's rev: ${caught.rev}`);
  assertSame((await history(alice, room)).messages.map((m) => m.id), mine.slice(-50).map((m) => m.id), 'the latest page is unchanged');
}

// A small deterministic random number generator (mulberry32), so that a failing run
// of `race` can be replayed with the seed it printed.
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The catch-up while the room changes under it: three writers send, edit, react and
// delete at once while a reader polls `history {since, limit}`, moving on from the last
// rev it was given. Every answer must be what the room held at one moment: in rev
// order, each message once, no acknowledged change missing below its last rev, and,
// when it is complete (fewer than the limit) and not empty, `rev` (the room's latest)
// equal to its last message's rev, so that a client may carry on from `rev`. In the
// end the reader's copy of the room is the room. The seed of the writers' choices is
// printed, and may be given to replay a run.
async function scenarioRace(seedArg) {
  const seed = Number(seedArg) || Date.now() % 1000000;
  const rand = random(seed);
  const writers = [await signIn('alice'), await signIn('bob'), await signIn('dave')];
  const reader = await signIn('carol');
  const room = randomName('race');
  for (const socket of [...writers, reader]) await ok(socket, 'join', { room });
  const acked = []; // {id, rev} of every acknowledged creation or change
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const all = [];
  const OPS = 250; // per writer: enough for a race to show in nearly every run
  const LIMIT = 20;

  const write = async (socket) => {
    const mine = [];
    for (let i = 0; i < OPS; i += 1) {
      const roll = rand();
      const live = all.filter((m) => !m.gone);
      const own = mine.filter((m) => !m.gone);
      if (roll < 0.4 || live.length === 0) {
        const { message } = await ok(socket, 'send_message', { room, text: `${socket.user} ${i}` });
        const entry = { id: message.id, gone: false };
        mine.push(entry);
        all.push(entry);
        acked.push({ id: message.id, rev: message.rev });
      } else if (roll < 0.65 && own.length > 0) {
        const target = pick(own);
        const { message } = await ok(socket, 'edit_message', { room, id: target.id, text: `${socket.user} ${i} edit` });
        acked.push({ id: message.id, rev: message.rev });
      } else if (roll < 0.92) {
        const target = pick(live);
        const reply = await call(socket, 'react', { room, id: target.id, emoji: pick(['👍', '🎉', '👀']), on: rand() < 0.6 });
        // Its author may have deleted it meanwhile.
        check(reply?.ok === true || reply?.error?.code === 'not_found', `react: ${show(reply)}`);
        if (reply.ok) acked.push({ id: reply.message.id, rev: reply.message.rev });
      } else if (own.length > 0) {
        const target = pick(own);
        target.gone = true;
        await ok(socket, 'delete_message', { room, id: target.id });
      }
    }
  };

  const copy = new Map();
  const answers = [];
  const aheads = []; // complete answers whose `rev` passes their last message's
  const behinds = []; // answers whose `rev` is below their last message's
  let cursor = 0;
  let polls = 0;
  const poll = async () => {
    polls += 1;
    const reply = await history(reader, room, { since: cursor, limit: LIMIT });
    const got = reply.messages;
    const what = `seed ${seed}, poll ${polls} since ${cursor}`;
    check(got.length <= LIMIT, `${what}: more than the limit`);
    check(new Set(got.map((m) => m.id)).size === got.length, `${what}: a message twice: ${show(got.map((m) => m.id))}`);
    for (let i = 0; i < got.length; i += 1) {
      check(got[i].rev > cursor, `${what}: rev ${got[i].rev} is not after the cursor`);
      check(i === 0 || got[i].rev > got[i - 1].rev, `${what}: not in rev order: ${show(got.map((m) => m.rev))}`);
    }
    if (got.length === 0) return 0;
    const last = got[got.length - 1].rev;
    if (reply.rev < last) behinds.push({ since: cursor, last, rev: reply.rev });
    if (got.length < LIMIT && reply.rev !== last) aheads.push({ since: cursor, last, rev: reply.rev });
    answers.push({ since: cursor, upTo: last, revs: new Map(got.map((m) => [m.id, m.rev])) });
    for (const m of got) {
      if (!copy.has(m.id) || copy.get(m.id).rev < m.rev) copy.set(m.id, m);
    }
    cursor = last;
    return got.length;
  };

  let writing = true;
  const done = Promise.all(writers.map(write)).finally(() => { writing = false; });
  const reading = (async () => {
    for (let round = 0; writing && round < 5000; round += 1) await poll();
  })();
  await Promise.all([done, reading]);
  for (let round = 0; round < 100 && (await poll()) > 0; round += 1) { /* drain */ }

  // Revs are given in the order changes are stored, so whatever lies below an answer's
  // last rev was stored when it was read, acknowledged yet or not.
  const holes = [];
  for (const answer of answers) {
    for (const change of acked) {
      if (change.rev <= answer.since || change.rev > answer.upTo) continue;
      const rev = answer.revs.get(change.id);
      if (rev === undefined || rev < change.rev) holes.push({ ...answer, revs: [...answer.revs], missing: change });
    }
  }
  const problems = [];
  if (holes.length > 0) {
    problems.push(`${holes.length} times an answer lacked an acknowledged change below its last rev, e.g. ${show(holes[0])}`);
  }
  if (aheads.length > 0) {
    problems.push(`${aheads.length} complete answers had a \`rev\` past their last message's (a client carrying on from it skips what lies between), e.g. ${show(aheads[0])}`);
  }
  if (behinds.length > 0) {
    problems.push(`${behinds.length} answers had a \`rev\` (the room's latest) below their last message's, e.g. ${show(behinds[0])}`);
  }
  check(problems.length === 0, `seed ${seed}, ${polls} polls: ${problems.join('; ')}`);

  // The reader's copy is the room.
  const now = new Map();
  let since = 0;
  for (let round = 0; round < 100; round += 1) {
    const { messages } = await history(reader, room, { since, limit: 200 });
    if (messages.length === 0) break;
    for (const m of messages) now.set(m.id, m);
    since = messages[messages.length - 1].rev;
  }
  assertSame([...copy.keys()].sort(), [...now.keys()].sort(), `seed ${seed}: the reader's copy has every message`);
  for (const [id, m] of now) assertSame(copy.get(id), m, `seed ${seed}: the reader's copy of ${id}`);

  // What the reader heard live meanwhile, in the order it arrived, ends as the room
  // too: each message's versions in rev order, then its delete.
  await waitUntil(() => [...now.values()].every((m) => (m.deleted
    ? seen(reader, 'message_deleted').some((e) => e.id === m.id)
    : [...seen(reader, 'message'), ...seen(reader, 'message_updated').map((e) => e.message)].some((x) => x.rev === m.rev))),
  'every change live');
  await sleep(QUIET_MS);
  const live = new Map();
  const arrivals = [...seen(reader, 'message'), ...seen(reader, 'message_updated').map((e) => e.message)].filter((m) => m.room === room);
  for (const m of arrivals) {
    const before = live.get(m.id);
    check(!before || before.rev < m.rev, `seed ${seed}: live versions of ${m.id} out of rev order: ${before?.rev} then ${m.rev}`);
    live.set(m.id, m);
  }
  const deletedLive = seen(reader, 'message_deleted').filter((e) => e.room === room).map((e) => e.id);
  check(new Set(deletedLive).size === deletedLive.length, `seed ${seed}: a message_deleted twice: ${show(deletedLive)}`);
  for (const [id, m] of now) {
    if (m.deleted) check(deletedLive.includes(id), `seed ${seed}: no message_deleted for ${id}`);
    else assertSame(live.get(id), m, `seed ${seed}: the live copy of ${id}`);
  }
  return `seed ${seed}, ${acked.length} changes, ${polls} polls`;
}

// Fills `room` for tests/edits_http.rs: an edited message, one with reactions, a reply,
// two deletes (one of them by an admin), whose texts contain `deleted-text`. Prints
// `seeded`.
async function scenarioSeed(room) {
  const [alice, bob, carol] = [await signIn('alice'), await signIn('bob'), await signIn('carol')];
  for (const socket of [alice, bob, carol]) await ok(socket, 'join', { room });
  const first = await send(bob, room, 'first draft');
  await edit(bob, first, 'first, edited @carol');
  const liked = await send(carol, room, 'like this');
  await react(alice, liked, '👍');
  await react(bob, liked, '👍');
  await react(bob, liked, '🎉');
  const gone = await send(bob, room, 'deleted-text-one');
  await send(alice, room, 'an answer', { reply_to: first.id });
  const removed = await send(carol, room, 'deleted-text-two', { reply_to: gone.id });
  await ok(bob, 'delete_message', { room, id: gone.id });
  await ok(alice, 'delete_message', { room, id: removed.id });
  await send(carol, room, 'the last word');
  console.log('seeded');
}

async function scenarioOpenMode() {
  const connect = (name) => recordingSocket(baseUrl, openSockets, name);
  const one = await connect('one');
  const two = await connect('two');
  const room = randomName('open');
  await ok(one, 'join', { room });
  await ok(two, 'join', { room });
  const { message } = await ok(one, 'send_message', { room, sender: 'Zed', text: 'hello @room' });
  check(message.rev === message.id && message.sender === 'Zed', `open mode: a message with rev: ${show(message)}`);
  assertSame(await waitFor(two, 'message', (x) => x.id === message.id, 'the message'), message, 'the message to the room');
  for (const [event, payload] of [
    ['edit_message', { room, id: message.id, text: 'changed' }],
    ['delete_message', { room, id: message.id }],
    ['react', { room, id: message.id, emoji: '👍' }],
    ['notify', { room, level: 'all' }],
  ]) await refused(one, event, payload, 'invalid');
  await none([two], 'message_updated', () => true, 'a message_updated in open mode');
  assertSame((await history(two, room)).messages, [message], 'open mode: the message unchanged');
}

const scenarios = {
  edit: scenarioEdit,
  delete: scenarioDelete,
  react: scenarioReact,
  reply: scenarioReply,
  mentions: scenarioMentions,
  notify: scenarioNotify,
  'notify-after': scenarioNotifyAfter,
  'catch-up': scenarioCatchUp,
  deep: scenarioDeep,
  race: scenarioRace,
  seed: scenarioSeed,
  'open-mode': scenarioOpenMode,
};

runTeamScenarioFromArgv({
  usage: USAGE,
  scenarios,
  setTokens: (parsed) => { tokens = parsed; },
  limitMs: 30000,
  openSockets,
  setBaseUrl: (url) => { baseUrl = url; },
});
