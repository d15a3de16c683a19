// Full-text search (TEAM-CHAT.md, "Search"; issue 15), driven by the official
// `socket.io-client` and `fetch` against `parley --auth accounts` (and `--auth open`).
// A message becomes searchable shortly after its ack (the index is fed after commit), so
// every first look for one polls, bounded, until the index has it.
//
// Usage: node tests/js/search.mjs http://127.0.0.1:PORT <scenario> TOKENS [ARGS]
//   TOKENS is a JSON object {username: API token} of the team tests/search_socket.rs
//   makes: admin alice, members bob, carol and dave.
//   words          case-insensitive; every word must match; the last word as a prefix;
//                  highlights are the matched words as written; empty queries
//   scripts        Cyrillic ("Привет мир" by "мир" and "ПРИВ"), CJK written without
//                  spaces found by any two-character word, Hangul, mixed scripts
//   order          newest first; `limit` (default 20, at most 100) and `before` paging;
//                  the `room` filter; bad payloads
//   access         only rooms I can read: a closed room I am not in and others' DMs are
//                  left out, asking for them is forbidden; an admin reads closed rooms
//                  but not others' DMs; a member removed from a closed room
//   changes        an edited message is found by its new text only; a deleted one is
//                  not found
//   http           GET /api/search: as the event answers, percent-encoded Unicode, `+`
//                  as a space, paging, 401 without credentials, 403 for a closed room
//   http-numbers   GET /api/search with a q or a room made of digits
//   seed MARK [indexed]
//                  (for the restart tests) bob writes the MARK messages (see seedTexts),
//                  edits one and deletes one, then prints `sent`; with `indexed`, first
//                  waits until the search finds them all
//   find MARK...   (after a restart) each MARK's messages are found as they are now
//   open-mode      (against `--auth open`, no TOKENS) search over Socket.IO and HTTP
//                  without credentials
// Prints `ok <scenario>` or `FAIL <scenario>: reason`.

import {
  assertSame, call, check, fail, ok, randomName, recordingSocket, refused,
  runTeamScenarioFromArgv, send, show, signInAs, sleep,
} from './lib.mjs';

const USAGE = 'node search.mjs http://127.0.0.1:PORT <scenario> TOKENS [ARGS]';
// How long a message may take to become searchable here: the goal is about a second,
// the bound leaves room for a loaded machine.
const INDEX_MS = 8000;
// Messages per seeded marker, before the edited and the deleted one.
const SEEDED = 30;

let baseUrl;
let tokens = {};
const openSockets = [];
// The longest any message took from its ack to the first search that found it.
let slowestIndexMs = 0;

// ---------------------------------------------------------------- clients

const signIn = (user, options) => signInAs(baseUrl, openSockets, tokens, user, options);

// ---------------------------------------------------------------- search

// Asserts the shape of a search answer's results and returns them.
function checkResults(results, what) {
  check(Array.isArray(results), `${what}: results should be a list, got ${show(results)}`);
  for (const result of results) {
    assertSame(Object.keys(result ?? {}).sort(), ['highlights', 'message'], `${what}: a result's fields (${show(result)})`);
    const { message, highlights } = result;
    check(typeof message?.text === 'string' && Number.isSafeInteger(message.id) && message.deleted === undefined,
      `${what}: a result's message: ${show(message)}`);
    check(Array.isArray(highlights) && highlights.every((h) => typeof h === 'string' && message.text.includes(h)),
      `${what}: the highlights must be words of the text as written: ${show(result)}`);
  }
  return results;
}

// The results of `search` {q, ...extra}.
async function search(socket, q, extra = {}) {
  const reply = await ok(socket, 'search', { q, ...extra });
  assertSame(Object.keys(reply).sort(), ['ok', 'results'], `${socket.user}: search ${show(q)}: the ack's fields`);
  return checkResults(reply.results, `${socket.user}: search ${show(q)}`);
}

const ids = (results) => results.map((result) => result.message.id);
const idsOf = (messages) => messages.map((message) => message.id);

// Searches until `done(results)` holds (bounded) and returns those results.
async function searchUntil(socket, q, extra, done, what) {
  const started = Date.now();
  let results = [];
  for (;;) {
    results = await search(socket, q, extra);
    if (done(results)) {
      slowestIndexMs = Math.max(slowestIndexMs, Date.now() - started);
      return results;
    }
    if (Date.now() - started > INDEX_MS) {
      fail(`${socket.user}: ${what}: search ${show(q)} ${show(extra)} still answers ${show(results)} after ${INDEX_MS} ms`);
    }
    await sleep(50);
  }
}

// Waits until `q` finds exactly `messages` (newest first) for `socket`.
function searchable(socket, q, extra, messages, what) {
  const expected = idsOf(messages).sort((a, b) => b - a);
  return searchUntil(socket, q, extra, (results) => JSON.stringify(ids(results)) === JSON.stringify(expected),
    what ?? `${show(q)} should find ${expected.length} messages`);
}

// Asserts `q` finds exactly the `expected` messages, newest first, each as it is now;
// and when given, `highlights[i]` of `expected[i]` (compared as sets: their order is
// not part of the contract).
async function finds(socket, q, extra, expected, highlights) {
  const results = await search(socket, q, extra);
  const want = [...expected].sort((a, b) => b.id - a.id);
  const what = `${socket.user}: search ${show(q)} ${show(extra)}`;
  assertSame(ids(results), idsOf(want), `${what}: the messages found (newest first)`);
  results.forEach((result, i) => assertSame(result.message, want[i], `${what}: a result is the message as it is`));
  if (highlights) {
    const marked = new Map(expected.map((message, i) => [message.id, highlights[i]]));
    for (const result of results) {
      assertSame([...result.highlights].sort(), [...marked.get(result.message.id)].sort(),
        `${what}: the highlights of ${show(result.message.text)}`);
    }
  }
  return results;
}

// A word of letters only, unlike any other word here: each scenario's own messages.
const marker = () => `zq${Math.random().toString(36).slice(2, 10).replace(/[0-9]/g, (d) => 'abcdefghij'[d])}`;

// ---------------------------------------------------------------- HTTP

async function get(user, path) {
  const headers = { origin: baseUrl };
  if (user) headers.authorization = `Bearer ${tokens[user] ?? user}`;
  const response = await fetch(`${baseUrl}${path}`, { headers });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* kept as text */ }
  return { status: response.status, text, json };
}

function searchPath(params) {
  return `/api/search?${Object.entries(params).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;
}

async function httpResults(user, path) {
  const reply = await get(user, path);
  check(reply.status === 200, `${user}: GET ${path} should answer 200, got ${reply.status} ${reply.text}`);
  assertSame(Object.keys(reply.json ?? {}), ['results'], `GET ${path}: the body's fields (${reply.text})`);
  return checkResults(reply.json.results, `GET ${path}`);
}

// ---------------------------------------------------------------- scenarios

async function scenarioWords() {
  const [bob, carol] = [await signIn('bob'), await signIn('carol')];
  const room = randomName('words');
  const mark = marker();
  for (const socket of [bob, carol]) await ok(socket, 'join', { room });
  const deploying = await send(bob, room, `Deploying the NEW Release tonight ${mark}`);
  const notes = await send(carol, room, `release notes are ready ${mark}`);
  const failed = await send(bob, room, `deploy failed again, ${mark}!`);
  const cluster = await send(carol, room, `Kubernetes CLUSTER upgrade (${mark})`);
  const all = [deploying, notes, failed, cluster];
  await searchable(carol, mark, {}, all);
  const here = { room };

  // Case-insensitive, whatever the case of the query or of the text.
  for (const q of ['kubernetes cluster', 'KUBERNETES CLUSTER', 'kUbErNeTeS ClUsTeR']) {
    await finds(bob, q, here, [cluster], [['Kubernetes', 'CLUSTER']]);
  }
  await finds(bob, 'new RELEASE', here, [deploying], [['NEW', 'Release']]);
  await finds(bob, mark.toUpperCase(), {}, all);

  // Every word must match.
  await finds(bob, 'release tonight', here, [deploying], [['Release', 'tonight']]);
  await finds(bob, 'release', here, [deploying, notes], [['Release'], ['release']]);
  await finds(bob, 'release failed', here, []);
  await finds(bob, 'kubernetes banana', here, []);
  await finds(bob, `upgrade ${mark}`, {}, [cluster], [['upgrade', mark]]);

  // The last word also as a prefix.
  await finds(bob, 'depl', here, [deploying, failed], [['Deploying'], ['deploy']]);
  await finds(bob, 'Kube', here, [cluster], [['Kubernetes']]);
  await finds(bob, 'release to', here, [deploying], [['Release', 'tonight']]);
  await finds(bob, 'deploy f', here, [failed], [['deploy', 'failed']]);
  await finds(bob, 'deployx', here, []);

  // Punctuation is not part of a word, in the text or in the query.
  await finds(bob, `again, ${mark}!`, {}, [failed], [['again', mark]]);
  await finds(bob, `(${mark})`, here, all);
  // No words at all: nothing.
  for (const q of ['', '   ', '?! ... --']) await finds(bob, q, here, []);
  return `slowest ack-to-searchable ${slowestIndexMs} ms`;
}

async function scenarioScripts() {
  const bob = await signIn('bob');
  const room = randomName('scripts');
  await ok(bob, 'join', { room });
  const russian = await send(bob, room, 'Привет мир');
  const tokyo = await send(bob, room, '東京タワーに行きました');
  const server = await send(bob, room, 'deploy到服务器了');
  const seoul = await send(bob, room, '서울에서 만나요');
  const mixed = await send(bob, room, 'Ёлка and СЕРВЕР: done');
  const here = { room };
  await searchable(bob, 'мир', here, [russian]);
  await searchable(bob, 'Ёлка', here, [mixed]);

  await finds(bob, 'мир', here, [russian], [['мир']]);
  await finds(bob, 'ПРИВ', here, [russian], [['Привет']]);
  await finds(bob, 'привет МИР', here, [russian], [['Привет', 'мир']]);
  await finds(bob, 'мирный', here, []);
  await finds(bob, 'ёлка сервер', here, [mixed], [['Ёлка', 'СЕРВЕР']]);
  await finds(bob, 'серв', here, [mixed], [['СЕРВЕР']]);

  // CJK written without spaces: any two neighbouring characters are a word.
  await searchable(bob, '京タ', here, [tokyo]);
  for (const q of ['京タ', 'タワ', '東京', '行き', 'きま']) await finds(bob, q, here, [tokyo], [[q]]);
  await finds(bob, '東京 行き', here, [tokyo], [['東京', '行き']]);
  await finds(bob, '京ワ', here, []);
  await finds(bob, '大阪', here, []);
  await finds(bob, '服务', here, [server], [['服务']]);
  await finds(bob, 'DEPLOY 服务', here, [server], [['deploy', '服务']]);
  await finds(bob, '서울', here, [seoul], [['서울']]);
  // Found without the room filter too.
  await finds(bob, 'タワ', {}, [tokyo]);
}

async function scenarioOrder() {
  const [bob, carol] = [await signIn('bob'), await signIn('carol')];
  const [roomA, roomB] = [randomName('order-a'), randomName('order-b')];
  const mark = marker();
  for (const socket of [bob, carol]) {
    await ok(socket, 'join', { room: roomA });
    await ok(socket, 'join', { room: roomB });
  }
  const sent = [];
  for (let i = 0; i < 30; i += 1) {
    const inB = i % 6 === 5;
    sent.push(await send(i % 2 ? carol : bob, inB ? roomB : roomA, `note ${i} ${mark}`));
  }
  const newestFirst = [...sent].reverse();
  const everything = await searchable(bob, mark, { limit: 100 }, sent);
  check(everything.every((r, i) => i === 0 || r.message.id < everything[i - 1].message.id), `newest first: ${show(ids(everything))}`);

  // `limit`: 20 unless asked; fewer when asked.
  assertSame(ids(await search(bob, mark)), idsOf(newestFirst.slice(0, 20)), 'the default limit is the newest 20');
  assertSame(ids(await search(bob, mark, { limit: 7 })), idsOf(newestFirst.slice(0, 7)), 'limit 7');
  assertSame(ids(await search(bob, mark, { limit: 1 })), idsOf(newestFirst.slice(0, 1)), 'limit 1');

  // `before`: pages that join up to everything, once each.
  const paged = [];
  let before;
  for (let page = 0; page < 10; page += 1) {
    const results = await search(bob, mark, before === undefined ? { limit: 7 } : { limit: 7, before });
    check(results.length <= 7, `a page of at most 7: ${results.length}`);
    if (results.length === 0) break;
    paged.push(...ids(results));
    before = results[results.length - 1].message.id;
  }
  assertSame(paged, idsOf(newestFirst), 'pages of 7 with `before` give every message once, newest first');
  const middle = newestFirst[10];
  assertSame(ids(await search(bob, mark, { before: middle.id, limit: 3 })), idsOf(newestFirst.slice(11, 14)),
    'before an id: the ones older than it');
  assertSame(ids(await search(bob, mark, { before: newestFirst[29].id })), [], 'before the oldest: nothing');

  // `room`: only that room's, paging within it.
  const inB = newestFirst.filter((m) => m.room === roomB);
  assertSame(ids(await search(carol, mark, { room: roomB })), idsOf(inB), 'room filter');
  const inA = newestFirst.filter((m) => m.room === roomA);
  assertSame(ids(await search(carol, mark, { room: roomA, limit: 4, before: inA[3].id })), idsOf(inA.slice(4, 8)),
    'room filter with limit and before');
  assertSame(ids(await search(carol, 'note', { room: roomB, limit: 100 })), idsOf(inB), 'room filter on a common word');

  // At most 100 results.
  const more = [];
  for (let i = 30; i < 110; i += 1) more.push(await send(bob, roomA, `note ${i} ${mark}`));
  const newest100 = idsOf([...sent, ...more].reverse().slice(0, 100));
  await searchUntil(bob, mark, { limit: 100 }, (r) => JSON.stringify(ids(r)) === JSON.stringify(newest100),
    'limit 100: the newest 100 of 110');
  const over = await call(bob, 'search', { q: mark, limit: 1000 });
  check((over.ok === true && over.results.length === 100) || over.error?.code === 'invalid',
    `limit 1000: at most 100 results (or refused as invalid), got ${over.results?.length ?? show(over)}`);

  // Payloads that are not a search.
  await refused(bob, 'search', {}, 'invalid');
  await refused(bob, 'search', { q: mark, limit: 'ten' }, 'invalid');
  await refused(bob, 'search', { q: mark, before: 'yesterday' }, 'invalid');
  await refused(bob, 'search', { q: mark, room: 'no spaces allowed' }, 'invalid');
}

async function scenarioAccess() {
  const [alice, bob, carol, dave] = [await signIn('alice'), await signIn('bob'), await signIn('carol'), await signIn('dave')];
  const room = randomName('access');
  const crew = randomName('crew');
  const mark = marker();
  for (const socket of [bob, carol]) await ok(socket, 'join', { room });
  await ok(bob, 'create_room', { room: crew, kind: 'closed', members: ['carol'] });
  const dm = (await ok(bob, 'open_dm', { users: ['carol'] })).room.id;
  const open = await send(bob, room, `open plan ${mark}`);
  const closed = await send(carol, crew, `crew secret plan ${mark}`);
  const direct = await send(bob, dm, `direct secret plan ${mark}`);
  await searchable(carol, mark, {}, [open, closed, direct]);

  // Dave is in neither the closed room nor the DM, and joined no room at all: he reads
  // open rooms only.
  await finds(dave, `plan ${mark}`, {}, [open]);
  await finds(dave, 'secret', {}, []);
  await finds(dave, mark, { room }, [open]);
  await refused(dave, 'search', { q: mark, room: crew }, 'forbidden', ['crew secret']);
  await refused(dave, 'search', { q: mark, room: dm }, 'forbidden', ['direct secret']);

  // An admin reads closed rooms, never others' DMs.
  await finds(alice, mark, {}, [open, closed]);
  await finds(alice, mark, { room: crew }, [closed]);
  await refused(alice, 'search', { q: mark, room: dm }, 'forbidden', ['direct secret']);
  await finds(bob, mark, { room: dm }, [direct]);

  // Carol removed from the closed room no longer finds its messages, her own included.
  await ok(bob, 'remove_member', { room: crew, username: 'carol' });
  await finds(carol, mark, {}, [open, direct]);
  await refused(carol, 'search', { q: mark, room: crew }, 'forbidden', ['crew secret']);
  // Dave added to it finds them.
  await ok(bob, 'add_member', { room: crew, username: 'dave' });
  await finds(dave, mark, {}, [open, closed]);
}

async function scenarioChanges() {
  const [bob, carol] = [await signIn('bob'), await signIn('carol')];
  const room = randomName('changes');
  const mark = marker();
  for (const socket of [bob, carol]) await ok(socket, 'join', { room });
  const meeting = await send(bob, room, `the meeting is on Monday ${mark}`);
  const draft = await send(bob, room, `please delete this draft ${mark}`);
  const kept = await send(carol, room, `an unrelated note ${mark}`);
  await searchable(carol, mark, {}, [meeting, draft, kept]);
  await finds(carol, 'monday', { room }, [meeting], [['Monday']]);

  // Edited: found by its new text as it is now, never by its old text.
  const moved = (await ok(bob, 'edit_message', { room, id: meeting.id, text: `the meeting moved to Tuesday ${mark}` })).message;
  await searchable(carol, 'tuesday', { room }, [moved], 'the edited message by its new text');
  await finds(carol, 'tuesday', { room }, [moved], [['Tuesday']]);
  await finds(carol, 'monday', { room }, []);
  await finds(carol, `meeting on ${mark}`, {}, []);
  await finds(carol, `meeting ${mark}`, {}, [moved]);
  const again = (await ok(bob, 'edit_message', { room, id: meeting.id, text: `the meeting is cancelled ${mark}` })).message;
  await searchable(carol, 'cancelled', { room }, [again], 'the message edited twice by its latest text');
  await finds(carol, 'tuesday', { room }, []);
  await finds(carol, 'monday', { room }, []);

  // Deleted: not found, by any of its words, and not as a tombstone.
  await finds(carol, 'draft', { room }, [draft]);
  await ok(bob, 'delete_message', { room, id: draft.id });
  await searchable(carol, 'draft', { room }, [], 'the deleted message is not found');
  await sleep(1000); // past the index's next commit: it stays gone
  await finds(carol, 'draft', { room }, []);
  await finds(carol, `please ${mark}`, {}, []);
  await finds(carol, mark, {}, [again, kept]);
  // Deleting after an edit: gone too.
  await ok(bob, 'delete_message', { room, id: meeting.id });
  await searchable(carol, mark, {}, [kept], 'only the message never deleted');
  await finds(carol, 'cancelled', { room }, []);

  // Deleted messages leave the index itself: with the newest two deleted, a page of two
  // is the two next ones, not a page cut short.
  const stack = [];
  for (let i = 0; i < 5; i += 1) stack.push(await send(bob, room, `stack ${i}`));
  await searchable(carol, 'stack', { room }, stack);
  for (const message of stack.slice(3)) await ok(bob, 'delete_message', { room, id: message.id });
  await searchable(carol, 'stack', { room, limit: 2 }, stack.slice(1, 3), 'a page of two once the newest two are deleted');
  await finds(carol, 'stack', { room, limit: 2, before: stack[1].id }, [stack[0]]);
}

async function scenarioHttp() {
  const [bob, carol] = [await signIn('bob'), await signIn('carol')];
  const room = randomName('http');
  const crew = randomName('crew');
  const mark = marker();
  await ok(bob, 'join', { room });
  await ok(bob, 'create_room', { room: crew, kind: 'closed', members: ['carol'] });
  const russian = await send(bob, room, `Привет мир ${mark}`);
  const cafe = await send(bob, room, `tea at the Café Müller ${mark}`);
  const tokyo = await send(bob, room, `東京タワーに行きました ${mark}`);
  const secret = await send(carol, crew, `crew only ${mark}`);
  await searchable(carol, mark, {}, [russian, cafe, tokyo, secret]);

  // As the event answers, for the same query.
  for (const [q, extra] of [['мир', { room }], ['ПРИВ мир', {}], ['café müller', {}], ['タワ', {}], [mark, {}], [mark, { room: crew }]]) {
    const path = searchPath({ q, ...extra });
    assertSame(await httpResults('carol', path), await search(carol, q, extra), `GET ${path} answers as the event does`);
  }
  const [found] = await httpResults('bob', searchPath({ q: 'ПРИВ', room }));
  assertSame(found, { message: russian, highlights: ['Привет'] }, 'GET: a Cyrillic prefix, percent-encoded');
  assertSame(ids(await httpResults('bob', `/api/search?q=caf%C3%A9+M%C3%BCller`)), [cafe.id], '`+` is a space and UTF-8 is percent-decoded');
  assertSame(ids(await httpResults('bob', `/api/search?q=CAF%C3%89%20${mark}`)), [cafe.id], 'an upper-case é, percent-encoded');
  // Dave is not in the closed room.
  assertSame(ids(await httpResults('dave', searchPath({ q: mark }))), idsOf([tokyo, cafe, russian]), 'GET: only the rooms dave reads');

  // limit and before.
  const [newest] = await httpResults('carol', searchPath({ q: mark, limit: 1 }));
  assertSame(newest.message, secret, 'GET limit=1: the newest');
  assertSame(ids(await httpResults('carol', searchPath({ q: mark, limit: 2, before: cafe.id }))), [russian.id], 'GET before');
  assertSame(await httpResults('carol', searchPath({ q: '' })), [], 'GET an empty q: nothing');

  // Refusals: no credentials, a bad token, a room I cannot read.
  for (const [user, what] of [[null, 'no credentials'], ['not-a-real-token', 'a bad token']]) {
    const reply = await get(user, searchPath({ q: mark }));
    check(reply.status === 401 && reply.json?.error?.code === 'unauthorized', `GET /api/search with ${what}: ${reply.status} ${reply.text}`);
    check(!reply.text.includes(mark), `GET /api/search with ${what} leaks results: ${reply.text}`);
  }
  const forbidden = await get('dave', searchPath({ q: mark, room: crew }));
  check(forbidden.status === 403 && forbidden.json?.error?.code === 'forbidden', `GET room=<closed room>: ${forbidden.status} ${forbidden.text}`);
  check(!forbidden.text.includes('crew only'), `the refusal leaks the text: ${forbidden.text}`);
  const bad = await get('bob', searchPath({ q: mark, limit: 'ten' }));
  check(bad.status === 400 && bad.json?.error?.code === 'invalid', `GET limit=ten: ${bad.status} ${bad.text}`);
}

async function scenarioHttpNumbers() {
  const bob = await signIn('bob');
  const room = `${Math.floor(Math.random() * 1e9)}`;
  const mark = marker();
  await ok(bob, 'join', { room });
  const agent = await send(bob, room, `agent 007 reporting ${mark}`);
  const year = await send(bob, room, `plans for 2030 ${mark}`);
  await searchable(bob, mark, {}, [agent, year]);
  assertSame(ids(await search(bob, '007')), [agent.id], 'the event: q=007');
  assertSame(ids(await search(bob, mark, { room })), [year.id, agent.id], 'the event: a room named with digits');
  // Each GET on its own, so that one failing does not hide the others.
  const failures = [];
  for (const [params, expected, what] of [
    [{ q: '2030' }, [year.id], 'GET q=2030'],
    [{ q: '007' }, [agent.id], 'GET q=007 (the digits as written, not the number 7)'],
    [{ q: mark, room }, [year.id, agent.id], `GET room=${room} (a room named with digits)`],
  ]) {
    const reply = await get('bob', searchPath(params));
    const found = reply.json?.results?.map((r) => r.message.id);
    if (reply.status !== 200 || JSON.stringify(found) !== JSON.stringify(expected)) {
      failures.push(`${what}: expected 200 with ${show(expected)}, got ${reply.status} ${reply.text}`);
    }
  }
  check(failures.length === 0, failures.join('; '));
}

// What `seed MARK` writes, as it is after the edit and the delete: the notes, then the
// message edited from `old` to `edited`, then the one deleted, the newest.
function seedTexts(mark) {
  const notes = Array.from({ length: SEEDED }, (_, i) => `crash note ${i} ${mark}`);
  return { notes, edited: `edited after ${mark}`, old: `edited before ${mark}`, deleted: `deleted draft ${mark}` };
}

async function scenarioSeed(mark, indexed) {
  check(/^[a-z]+$/.test(mark ?? ''), `seed needs a MARK of letters, got ${show(mark)}`);
  const bob = await signIn('bob');
  const room = `seed-${mark}`;
  await ok(bob, 'join', { room });
  const texts = seedTexts(mark);
  for (const text of texts.notes) await send(bob, room, text);
  // The newest two: the one edited, then the one deleted.
  const changed = await send(bob, room, texts.old);
  const doomed = await send(bob, room, texts.deleted);
  const edited = (await ok(bob, 'edit_message', { room, id: changed.id, text: texts.edited })).message;
  await ok(bob, 'delete_message', { room, id: doomed.id });
  if (indexed === 'indexed') {
    await searchUntil(bob, mark, { limit: 100 }, (r) => r.length === SEEDED + 1, 'everything seeded');
    await searchable(bob, mark, { limit: 1 }, [edited], 'the delete and the edit indexed');
  }
  console.log('sent');
}

async function scenarioFind(...marks) {
  check(marks.length > 0, 'find needs at least one MARK');
  const carol = await signIn('carol');
  for (const mark of marks) {
    const texts = seedTexts(mark);
    const want = [texts.edited, ...texts.notes].sort();
    const results = await searchUntil(carol, mark, { limit: 100 },
      (r) => JSON.stringify(r.map((x) => x.message.text).sort()) === JSON.stringify(want), `the messages of ${mark}`);
    check(results.every((r) => r.message.room === `seed-${mark}`), `${mark}: all in its room: ${show(results)}`);
    const edited = results.find((r) => r.message.text === texts.edited).message;
    await finds(carol, `crash note 7 ${mark}`, {}, results.filter((r) => r.message.text === texts.notes[7]).map((r) => r.message));
    // The index has the edit and the delete too (the messages found come from the
    // store as they are now, whatever the index holds): the old text finds nothing,
    // and the newest message searchable is the edited one.
    await searchable(carol, `before ${mark}`, {}, [], `${mark}: the old text of the edit`);
    await searchable(carol, `after ${mark}`, {}, [edited], `${mark}: the new text of the edit`);
    await searchable(carol, mark, { limit: 1 }, [edited], `${mark}: the newest is the edited one, the deleted one is out of the index`);
    await finds(carol, `draft ${mark}`, {}, []);
  }
  return `slowest ${slowestIndexMs} ms`;
}

async function scenarioOpenMode() {
  const connect = (name) => recordingSocket(baseUrl, openSockets, name);
  const [one, two] = [await connect('one'), await connect('two')];
  const room = randomName('open');
  const mark = marker();
  await ok(one, 'join', { room });
  const hello = (await ok(one, 'send_message', { room, sender: 'Zed', text: `Hello World ${mark}` })).message;
  const later = (await ok(one, 'send_message', { room, sender: 'Ann', text: `hello again ${mark}` })).message;
  // `two` never joined the room: open mode has no closed rooms.
  await searchable(two, mark, {}, [hello, later]);
  await finds(two, 'HELLO wor', {}, [hello], [['Hello', 'World']]);
  await finds(two, 'hel', { room }, [later, hello], [['hello'], ['Hello']]);
  const [first] = await httpResults(null, searchPath({ q: 'world', room }));
  assertSame(first, { message: hello, highlights: ['World'] }, 'GET /api/search without credentials in open mode');
  assertSame(await httpResults(null, searchPath({ q: mark })), await search(two, mark), 'GET answers as the event does');
}

const scenarios = {
  words: scenarioWords,
  scripts: scenarioScripts,
  order: scenarioOrder,
  access: scenarioAccess,
  changes: scenarioChanges,
  http: scenarioHttp,
  'http-numbers': scenarioHttpNumbers,
  seed: scenarioSeed,
  find: scenarioFind,
  'open-mode': scenarioOpenMode,
};

runTeamScenarioFromArgv({
  usage: USAGE,
  scenarios,
  setTokens: (parsed) => { tokens = parsed; },
  limitMs: 60000,
  openSockets,
  setBaseUrl: (url) => { baseUrl = url; },
});
