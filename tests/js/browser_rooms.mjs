// The team chat in Debian Chromium driven by playwright-core (README, "Rooms" and
// "Presence"), against a server in accounts mode whose team (alice, an admin; bob; carol)
// tests/browser_rooms.rs made with `parley user add`. Everyone is in their own browser
// context, signed in with POST /api/session; every check is about what they see: the
// sidebar's rooms, DMs, people and badges, the room header, the tab title, the messages.
//
// Usage: node tests/js/browser_rooms.mjs <scenario> http://127.0.0.1:PORT [artifacts-dir]
//   direct-message   bob's dot goes online when he connects; alice opens a DM from the
//                    people list, bob sees its badge and the message; "Message someone"
//   closed-room      alice makes a closed room for herself and bob in the "New room"
//                    dialog; carol never sees it listed, not even among the open rooms
//                    she may browse and join, and is refused it (page and API); then
//                    alice adds her in the members dialog, and bob leaves
//   unread-two-tabs  bob has two tabs; messages in another room (one mentioning him)
//                    show badges and the count in both titles; reading them in one tab
//                    clears both; the lobby lists his rooms
//   phone-drawer     on a 390x844 touch phone the sidebar is a drawer behind a button
//   reconnect        bob's connection is cut while messages go to the room on his screen
//                    and to one he opened before: the first arrives over HTTP, the other
//                    is caught up when he goes back to it, each message once, in order
// Switching rooms must never reload the page or open a second connection. Exit 0
// printing `ok <scenario>`, or 1 with the reason; screenshots go to artifacts-dir as
// rooms-<scenario>-<step>.png.

import { check } from './lib.mjs';
import { PHONE, openChat as openRoom, person as signedIn, socketSwitch } from './browser_lib.mjs';
import {
  DESKTOP, STEP_MS, baseUrl, newTab, runScenarios, say, screenshot, send, waitInPage, waitMessage, waitPath,
  waitStatus,
} from './pages.mjs';

const USAGE = 'node browser_rooms.mjs <scenario> http://127.0.0.1:PORT [artifacts-dir]';
const SCENARIO_MS = 120000;
// The page's own timings (chat/connection.js) set the floors: HTTP polling every 3 s
// while the socket is down, reconnect backoff capped at 5 s (+50 % jitter).
const DELIVERY_MS = 4500;
const RECONNECT_MS = 15000;

// ---------------------------------------------------------------- people and pages

/**
 * `username` in their own browser context, signed in. Every tab of theirs counts the
 * Engine.IO handshakes it makes (`tab.handshakes`): a room switch must not add one.
 */
async function person(browser, username, options) {
  const user = await signedIn(browser, username, options);
  countHandshakes(user);
  return user;
}

function countHandshakes(tab) {
  tab.handshakes = 0;
  tab.page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.pathname.startsWith('/socket.io/') && !url.searchParams.has('sid')) tab.handshakes += 1;
  });
}

/** A second tab of `user`, signed in as they are (same context). */
async function secondTab(user, label) {
  const tab = await newTab(user, label);
  countHandshakes(tab);
  return tab;
}

/** Opens /chat/{room} and waits until the room is joined and listed in the sidebar. */
async function openChat(user, room) {
  user.handshakes = 0; // a new document: its one connection is counted from here
  await openRoom(user, room);
  // Switching rooms keeps this document: a reload would lose the mark.
  await user.page.evaluate(() => { window.__parleySameDocument = true; });
}

/** Clicks the sidebar's link to `room` and waits until it is the room on screen. */
async function clickRoom(user, room, title) {
  await user.page.click(`#sidebar a[data-room="${room}"]`);
  await waitPath(user, `/chat/${room}`);
  await waitInPage(user, `${room} on screen as "${title}"`, ([r, t]) => {
    const a = document.querySelector(`#sidebar a[data-room="${CSS.escape(r)}"]`);
    return document.getElementById('room-name').textContent === t && a && a.getAttribute('aria-current') === 'page';
  }, [room, title]);
}

/** The page was never reloaded and made exactly one connection. */
async function checkSameConnection(tab) {
  const same = await tab.page.evaluate(() => window.__parleySameDocument === true);
  check(same, `${tab.label}: the page was reloaded`);
  check(tab.handshakes === 1, `${tab.label}: ${tab.handshakes} Socket.IO connections, expected 1`);
}

/**
 * Waits until the sidebar's item for `room` matches `want`: {present: false}, or any of
 * unread and mentions (its data), badge (text, null for none), bold, current.
 */
async function waitItem(user, room, what, want) {
  await waitInPage(user, `${room} in the sidebar ${what}`, ([r, w]) => {
    const a = document.querySelector(`#sidebar a[data-room="${CSS.escape(r)}"]`);
    if (w.present === false) return a === null;
    if (!a) return false;
    const badge = a.querySelector('.side-badge');
    const bold = Number(getComputedStyle(a.querySelector('.side-item__name')).fontWeight) >= 700;
    return (w.unread === undefined || a.dataset.unread === String(w.unread)) &&
      (w.mentions === undefined || a.dataset.mentions === String(w.mentions)) &&
      (w.badge === undefined || (badge ? badge.textContent : null) === w.badge) &&
      (w.bold === undefined || bold === w.bold) &&
      (w.current === undefined || (a.getAttribute('aria-current') === 'page') === w.current) &&
      (w.kind === undefined || a.dataset.kind === w.kind) &&
      (w.name === undefined || a.querySelector('.side-item__name').textContent === w.name);
  }, [room, want]);
}

async function waitTitle(user, title) {
  await waitInPage(user, `the tab title ${JSON.stringify(title)}`, (t) => document.title === t, title);
}

/** Waits until `viewer` shows `username`'s dot in the people list as `online`. */
async function waitDot(viewer, username, online) {
  await waitInPage(viewer, `${username}'s dot ${online ? 'online' : 'offline'}`, ([u, o]) => {
    const item = document.querySelector(`#people-list [data-username="${u}"]`);
    const dot = item && item.querySelector('.presence');
    // Online, the dot is filled with its ring's colour; offline, it is a hollow ring.
    const style = dot && getComputedStyle(dot);
    return Boolean(dot) && item.dataset.online === String(o) && dot.dataset.online === String(o) &&
      (style.backgroundColor === style.borderTopColor) === o;
  }, [username, online]);
}

/** The "New messages" line sits right before the message with `text`. */
async function waitDividerBefore(user, text) {
  await waitInPage(user, `"New messages" right before ${JSON.stringify(text)}`, (t) => {
    const lines = document.querySelectorAll('#messages .unread-divider');
    const next = lines.length === 1 && lines[0].nextElementSibling;
    return Boolean(next) && next.querySelector('.msg__bubble')?.textContent === t && lines[0].textContent === 'New messages';
  }, text);
}

/** Text of the header's meta line and its member names. */
async function header(user) {
  return user.page.evaluate(() => ({
    name: document.getElementById('room-name').textContent,
    kind: document.querySelector('#room-meta .room-title__kind')?.textContent || '',
    members: Array.from(document.querySelectorAll('#room-meta .room-member__name'), (el) => el.textContent),
  }));
}

/**
 * What a finger and iOS need on a phone: visible inputs at 16 px or more, visible
 * buttons and links styled as one at least 44 px high, no sideways scrolling. (A file
 * input takes no typing, so iOS never zooms into it.)
 */
async function checkTouchFriendly(user, what) {
  const found = await user.page.evaluate(() => {
    const visible = (el) => el.getClientRects().length > 0 && !el.closest('[hidden]') &&
      getComputedStyle(el).visibility !== 'hidden';
    const label = (el) => `${el.tagName.toLowerCase()}#${el.id || '?'}.${el.className.baseVal ?? el.className}`;
    const small = Array.from(document.querySelectorAll('input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=file]), textarea'))
      .filter(visible)
      .filter((el) => parseFloat(getComputedStyle(el).fontSize) < 16)
      .map((el) => `${label(el)} ${getComputedStyle(el).fontSize}`);
    const tiny = Array.from(document.querySelectorAll('button, .btn, .user-chip, .side-item'))
      .filter(visible)
      .filter((el) => el.getBoundingClientRect().height < 44)
      .map((el) => `${label(el)} ${Math.round(el.getBoundingClientRect().height)}px`);
    return { small, tiny, overflow: document.documentElement.scrollWidth - window.innerWidth };
  });
  check(found.small.length === 0, `${what}: inputs under 16 px make iOS zoom: ${found.small.join(', ')}`);
  check(found.tiny.length === 0, `${what}: tap targets under 44 px: ${found.tiny.join(', ')}`);
  check(found.overflow <= 0, `${what}: the page is ${found.overflow} px wider than the screen`);
}

// ---------------------------------------------------------------- scenarios

async function directMessage(browser) {
  const alice = await person(browser, 'alice');
  const bob = await person(browser, 'bob');
  await openChat(alice, 'general');
  // Nobody else is connected yet: both other people are listed, offline.
  await waitDot(alice, 'bob', false);
  await waitDot(alice, 'carol', false);

  await openChat(bob, 'general');
  await waitDot(alice, 'bob', true);
  await waitDot(bob, 'alice', true);
  await waitDot(alice, 'carol', false);
  await screenshot(alice, 'rooms-direct-message-presence.png');

  // From the people list, in place: the address changes, the page and socket stay.
  await alice.page.click('#people-list [data-username="bob"]');
  await waitPath(alice, '/chat/dm:alice:bob');
  await waitInPage(alice, 'the DM with Bob Lee in the header, online', () =>
    document.getElementById('room-name').textContent === 'Bob Lee' &&
    document.querySelector('#room-meta .room-title__kind')?.textContent === 'Direct message · online' &&
    document.querySelector('#room-icon .presence')?.dataset.online === 'true' &&
    document.querySelector('#dm-list a[data-room="dm:alice:bob"]')?.getAttribute('aria-current') === 'page' &&
    document.title === 'Bob Lee · Parley');
  await send(alice, 'Hi Bob, got a minute for the release notes?');
  await waitMessage(alice, 'Hi Bob, got a minute for the release notes?', alice.name);

  // Bob, still in #general, gets a badge on a new DM and the count in his title.
  await waitItem(bob, 'dm:alice:bob', 'with 1 unread, bold, named after Alice', {
    unread: 1, mentions: 0, badge: '1', bold: true, current: false, name: 'Alice Martin',
  });
  await waitTitle(bob, '(1) #general · Parley');
  await screenshot(bob, 'rooms-direct-message-badge.png');

  await clickRoom(bob, 'dm:alice:bob', 'Alice Martin');
  await waitMessage(bob, 'Hi Bob, got a minute for the release notes?', alice.name);
  await waitDividerBefore(bob, 'Hi Bob, got a minute for the release notes?');
  await waitItem(bob, 'dm:alice:bob', 'read: no badge', { unread: 0, badge: null, current: true });
  await waitTitle(bob, 'Alice Martin · Parley');
  await say(bob, 'Sure, send them over.', [alice]);
  // Alice is reading the DM: Bob's answer is no unread message for her.
  await waitItem(alice, 'dm:alice:bob', 'without a badge while she reads it', { unread: 0, badge: null });
  await waitTitle(alice, 'Bob Lee · Parley');
  await screenshot(alice, 'rooms-direct-message-alice.png');
  await screenshot(bob, 'rooms-direct-message-bob.png');

  // "Message someone": Bob finds Carol, who is offline, and starts a conversation.
  await bob.page.click('#message-someone');
  await waitInPage(bob, 'the "Message someone" dialog', () => document.getElementById('dm-dialog').open);
  await bob.page.fill('#dm-filter', 'car');
  await bob.page.press('#dm-filter', 'Enter');
  await waitInPage(bob, 'Carol picked', () => document.querySelector('#dm-people input[value="carol"]').checked &&
    !document.getElementById('dm-submit').disabled);
  await screenshot(bob, 'rooms-direct-message-dialog.png');
  await bob.page.click('#dm-submit');
  await waitPath(bob, '/chat/dm:bob:carol');
  await waitInPage(bob, 'the DM with Carol, offline, and the dialog gone', () =>
    document.getElementById('room-name').textContent === 'Carol Diaz' &&
    document.querySelector('#room-meta .room-title__kind')?.textContent === 'Direct message · offline' &&
    !document.getElementById('dm-dialog').open &&
    document.querySelectorAll('#dm-list a[data-room]').length === 2);
  await say(bob, 'Carol, the notes are ready when you are back.', []);
  // Back to the first DM with the browser's Back button: in place, shown as before.
  await bob.page.goBack();
  await waitPath(bob, '/chat/dm:alice:bob');
  await waitMessage(bob, 'Sure, send them over.', bob.name);
  for (const tab of [alice, bob]) await checkSameConnection(tab);
}

async function closedRoom(browser) {
  const alice = await person(browser, 'alice');
  const bob = await person(browser, 'bob');
  const carol = await person(browser, 'carol');
  await openChat(bob, 'design');
  for (const user of [alice, bob, carol]) await openChat(user, 'general');

  await alice.page.click('#new-room');
  await waitInPage(alice, 'the "New room" dialog', () => document.getElementById('new-room-dialog').open &&
    document.activeElement?.id === 'new-room-name');
  await alice.page.fill('#new-room-name', 'Launch plans');
  const address = await alice.page.inputValue('#new-room-id');
  check(address === 'launch-plans', `the address made from "Launch plans" is ${JSON.stringify(address)}`);
  await alice.page.click('label.choice:has(#new-room-closed)');
  await alice.page.check('#new-room-members input[value="bob"]');
  await screenshot(alice, 'rooms-closed-room-dialog.png');
  await alice.page.click('#new-room-submit');
  await waitPath(alice, '/chat/launch-plans');
  await waitInPage(alice, 'the new closed room on screen', () =>
    !document.getElementById('new-room-dialog').open && document.getElementById('room-name').textContent === 'Launch plans' &&
    document.querySelector('#room-icon use')?.getAttribute('href') === '#icon-lock');
  const head = await header(alice);
  check(head.kind === 'Closed · 2 members' && JSON.stringify(head.members) === '["Alice Martin","Bob Lee"]',
    `alice's header for the closed room: ${JSON.stringify(head)}`);
  await waitItem(alice, 'launch-plans', 'listed as a closed room', { kind: 'closed', current: true, name: 'Launch plans' });
  await send(alice, 'The budget draft is in the shared folder.');
  await waitMessage(alice, 'The budget draft is in the shared folder.', alice.name);

  // Bob, a member, sees it appear with its message waiting.
  await waitItem(bob, 'launch-plans', 'listed with 1 unread', { kind: 'closed', unread: 1, badge: '1', bold: true });
  await clickRoom(bob, 'launch-plans', 'Launch plans');
  await waitMessage(bob, 'The budget draft is in the shared folder.', alice.name);
  await say(bob, 'Thanks, reading it now.', [alice]);
  await screenshot(alice, 'rooms-closed-room-alice.png');

  // Carol was online throughout: nothing of the room reached her sidebar.
  await waitItem(carol, 'general', 'still listed', { current: true });
  await waitItem(carol, 'launch-plans', 'absent', { present: false });
  const titles = await carol.page.evaluate(() => Array.from(document.querySelectorAll('#sidebar a[data-room]'), (a) => a.dataset.room));
  check(!titles.includes('launch-plans'), `carol's sidebar lists ${JSON.stringify(titles)}`);
  // Her API answers forbidden, and nothing of the room.
  const api = await carol.context.request.get(`${baseUrl}/api/rooms/launch-plans/messages`);
  const body = await api.text();
  check(api.status() === 403 && JSON.parse(body).error?.code === 'forbidden' && !body.includes('budget'),
    `carol's GET of the closed room: HTTP ${api.status()} ${body}`);
  const rooms = await (await carol.context.request.get(`${baseUrl}/api/rooms`)).json();
  check(!JSON.stringify(rooms).includes('launch-plans'), `carol's /api/rooms lists the closed room: ${JSON.stringify(rooms)}`);
  // Opening its address, the page says she has no access, and shows and offers nothing.
  await carol.page.goto(`${baseUrl}/chat/launch-plans`, { timeout: STEP_MS });
  await waitStatus(carol, 'connected');
  await waitInPage(carol, 'the "no access" panel instead of the conversation', () =>
    !document.getElementById('room-forbidden-panel').hidden &&
    getComputedStyle(document.querySelector('.composer-area')).display === 'none' &&
    document.querySelectorAll('#messages li').length === 0 && document.title === 'No access · Parley');
  await screenshot(carol, 'rooms-closed-room-carol.png');

  // Among the open rooms she may join: #design, not the closed room.
  await openChat(carol, 'general');
  await carol.page.click('#browse-rooms');
  await waitInPage(carol, 'the open rooms to browse: only #design', () => {
    const rooms = Array.from(document.querySelectorAll('#browse-list [data-room]'), (b) => b.dataset.room);
    return document.getElementById('browse-dialog').open && JSON.stringify(rooms) === '["design"]';
  });
  await screenshot(carol, 'rooms-closed-room-browse.png');
  await carol.page.click('#browse-list [data-room="design"]');
  await waitPath(carol, '/chat/design');
  await waitItem(carol, 'design', 'joined and listed', { current: true, kind: 'open' });
  await checkSameConnection(carol);

  // Alice adds Carol from the members dialog: the room appears in Carol's sidebar.
  await alice.page.click('#room-details');
  await waitInPage(alice, 'the members dialog with Alice and Bob, and Carol to add', () => {
    const names = Array.from(document.querySelectorAll('#members-list .pick__name'), (el) => el.textContent);
    return document.getElementById('members-dialog').open && JSON.stringify(names) === '["Alice Martin (you)","Bob Lee"]' &&
      document.querySelector('#members-candidates [data-action="add"][data-username="carol"]') !== null;
  });
  await alice.page.click('#members-candidates [data-action="add"][data-username="carol"]');
  await waitInPage(alice, 'Carol among the members', () =>
    document.querySelector('#members-list [data-username="carol"]') !== null &&
    document.querySelector('#room-meta .room-title__kind').textContent === 'Closed · 3 members');
  await screenshot(alice, 'rooms-closed-room-members.png');
  await alice.page.click('#members-close');
  await waitItem(carol, 'launch-plans', 'listed now that she is a member', { kind: 'closed' });
  await clickRoom(carol, 'launch-plans', 'Launch plans');
  await waitMessage(carol, 'Thanks, reading it now.', bob.name);

  // Bob leaves: the room goes from his sidebar and he lands in another of his rooms.
  await bob.page.click('#room-details');
  await waitInPage(bob, 'the members dialog with "Leave room"', () =>
    document.getElementById('members-dialog').open && !document.getElementById('leave-room').hidden);
  await bob.page.click('#leave-room');
  await waitItem(bob, 'launch-plans', 'gone after leaving', { present: false });
  await waitPath(bob, (url) => url.pathname !== '/chat/launch-plans');
  await waitInPage(alice, 'Bob no longer in the header', () =>
    document.querySelector('#room-meta .room-title__kind').textContent === 'Closed · 2 members');
  for (const tab of [alice, bob, carol]) await checkSameConnection(tab);
}

async function unreadTwoTabs(browser) {
  const alice = await person(browser, 'alice');
  const bob = await person(browser, 'bob');
  // Bob becomes a member of #random, then reads #general in two tabs.
  await openChat(bob, 'random');
  await openChat(bob, 'general');
  const tab2 = await secondTab(bob, 'bob tab 2');
  await openChat(tab2, 'general');
  await openChat(alice, 'random');

  await say(alice, '@bob can you check the numbers before noon?', []);
  await say(alice, 'The slides are in the usual place.', []);
  for (const tab of [bob, tab2]) {
    await waitItem(tab, 'random', 'with 2 unread, one mentioning bob', { unread: 2, mentions: 1, badge: '@1', bold: true });
    await waitTitle(tab, '(2) #general · Parley');
  }
  await screenshot(tab2, 'rooms-unread-two-tabs-badges.png');

  // Reading #random in the first tab clears the badge and the count in both.
  await clickRoom(bob, 'random', 'random');
  await waitMessage(bob, 'The slides are in the usual place.', alice.name);
  await waitDividerBefore(bob, '@bob can you check the numbers before noon?');
  await waitItem(bob, 'random', 'read in this tab', { unread: 0, mentions: 0, badge: null, current: true });
  await waitTitle(bob, '#random · Parley');
  await waitItem(tab2, 'random', 'read in the other tab', { unread: 0, mentions: 0, badge: null, bold: false, current: false });
  await waitTitle(tab2, '#general · Parley');
  await screenshot(bob, 'rooms-unread-two-tabs-read.png');
  await screenshot(tab2, 'rooms-unread-two-tabs-cleared.png');

  // A message in the room a tab shows is read there at once: no badge comes back.
  await say(alice, 'Thanks!', [bob]);
  await waitItem(bob, 'random', 'still without a badge', { unread: 0, badge: null });
  await waitItem(tab2, 'random', 'still without a badge', { unread: 0, badge: null });
  await waitTitle(tab2, '#general · Parley');
  for (const tab of [bob, tab2]) await checkSameConnection(tab);

  // The lobby, signed in, lists his rooms (most recent first, with what is unread)
  // instead of this browser's keys.
  await tab2.page.goto(`${baseUrl}/`, { timeout: STEP_MS });
  await openChat(alice, 'general');
  await say(alice, 'One more in #general, for the lobby.', []);
  await waitItem(bob, 'general', 'with 1 unread', { unread: 1 });
  await tab2.page.reload({ timeout: STEP_MS });
  await waitInPage(tab2, 'the lobby listing #general (1 unread) then #random', () => {
    const rooms = Array.from(document.querySelectorAll('#recent-rooms a[data-room]'),
      (a) => `${a.dataset.room}:${a.querySelector('.side-badge')?.textContent || ''}`);
    return document.getElementById('recent-title').textContent === 'Your rooms' &&
      JSON.stringify(rooms) === '["general:1","random:"]';
  });
  await screenshot(tab2, 'rooms-unread-two-tabs-lobby.png');
}

async function phoneDrawer(browser) {
  const alice = await person(browser, 'alice', PHONE);
  const bob = await person(browser, 'bob');
  await openChat(bob, 'general');
  await openChat(alice, 'general');
  const drawerState = () => alice.page.evaluate(() => {
    const r = document.getElementById('sidebar').getBoundingClientRect();
    return {
      shown: r.right > 0 && r.left >= 0 && getComputedStyle(document.getElementById('sidebar')).visibility === 'visible',
      expanded: document.getElementById('drawer-open').getAttribute('aria-expanded'),
      button: document.getElementById('drawer-open').getBoundingClientRect().width > 0,
    };
  });
  let drawer = await drawerState();
  check(!drawer.shown && drawer.button && drawer.expanded === 'false', `closed drawer on a phone: ${JSON.stringify(drawer)}`);
  await checkTouchFriendly(alice, 'chat with the drawer closed');
  await say(alice, 'Morning! On my phone today.', [bob]);
  await screenshot(alice, 'rooms-phone-drawer-chat.png');

  await alice.page.click('#drawer-open');
  await waitInPage(alice, 'the drawer open', () => document.body.classList.contains('drawer-open') &&
    document.getElementById('sidebar').getBoundingClientRect().left >= 0 && !document.getElementById('drawer-backdrop').hidden);
  await alice.page.waitForTimeout(300); // the slide-in transition, for the picture
  drawer = await drawerState();
  check(drawer.shown && drawer.expanded === 'true', `open drawer on a phone: ${JSON.stringify(drawer)}`);
  await checkTouchFriendly(alice, 'open drawer');
  await screenshot(alice, 'rooms-phone-drawer-open.png');

  // Choosing someone opens the DM and puts the drawer away.
  await alice.page.click('#people-list [data-username="bob"]');
  await waitPath(alice, '/chat/dm:alice:bob');
  await waitInPage(alice, 'the DM on screen with the drawer closed', () =>
    !document.body.classList.contains('drawer-open') && document.getElementById('room-name').textContent === 'Bob Lee');
  await say(alice, 'Quick question about the release.', []);
  // Meanwhile in #general: the drawer's button says something is waiting elsewhere.
  await say(bob, 'Standup in five minutes.', []);
  await waitInPage(alice, 'the drawer button counting 1 unread', () =>
    !document.getElementById('drawer-badge').hidden && document.getElementById('drawer-badge').textContent === '1');
  await screenshot(alice, 'rooms-phone-drawer-dm.png');
  await alice.page.click('#drawer-open');
  await waitItem(alice, 'general', 'with its unread message', { unread: 1, badge: '1' });
  await alice.page.click('#sidebar a[data-room="general"]');
  await waitPath(alice, '/chat/general');
  await waitMessage(alice, 'Standup in five minutes.', bob.name);
  await waitItem(alice, 'general', 'read', { unread: 0, badge: null });
  await waitInPage(alice, 'no count left on the drawer button', () => document.getElementById('drawer-badge').hidden);
  await checkTouchFriendly(alice, 'chat after switching');
  await checkSameConnection(alice);
}

/** `viewer` shows exactly the stored messages of `room`, once each, in order. */
async function waitInSync(viewer, room) {
  const res = await viewer.context.request.get(`${baseUrl}/api/rooms/${room}/messages?limit=200`);
  check(res.ok(), `GET ${room}'s messages: HTTP ${res.status()}`);
  const want = (await res.json()).messages.map((m) => m.id);
  await waitInPage(viewer, `#${room} showing the stored messages ${JSON.stringify(want)} once each`, (ids) => {
    const shown = Array.from(document.querySelectorAll('#messages li.msg'), (li) => Number(li.dataset.id || -1));
    return JSON.stringify(shown) === JSON.stringify(ids);
  }, want);
}

async function reconnect(browser) {
  const alice = await person(browser, 'alice');
  const bob = await person(browser, 'bob', { viewport: DESKTOP, networkErrors: true });
  const line = await socketSwitch(bob.context);
  await openChat(alice, 'general');
  await openChat(alice, 'random');
  // Bob is in both rooms and has both views: #random from before, #general on screen.
  await openChat(bob, 'general');
  await openChat(bob, 'random');
  await clickRoom(bob, 'general', 'general');
  await say(alice, 'Before the outage.', []);
  await waitItem(bob, 'random', 'with 1 unread', { unread: 1 });

  line.cut();
  await waitStatus(bob, 'offline', null, RECONNECT_MS);
  await alice.page.click('#sidebar a[data-room="general"]');
  await waitPath(alice, '/chat/general');
  await say(alice, 'General, during the outage.', [bob], DELIVERY_MS + STEP_MS);
  await clickRoom(alice, 'random', 'random');
  await say(alice, 'Random, during the outage: one.', []);
  await say(alice, 'Random, during the outage: two.', []);

  line.restore();
  await waitStatus(bob, 'connected', null, RECONNECT_MS);
  // The counts come back from the server with the connection.
  await waitItem(bob, 'random', 'with the 3 unread messages', { unread: 3, badge: '3' });
  await clickRoom(bob, 'random', 'random');
  await waitInSync(bob, 'random');
  await waitDividerBefore(bob, 'Before the outage.');
  await waitItem(bob, 'random', 'read', { unread: 0, badge: null });
  await screenshot(bob, 'rooms-reconnect-caught-up.png');
  // #general was on screen when its message came over HTTP: it was read then.
  await waitItem(bob, 'general', 'read', { unread: 0, badge: null });
  await clickRoom(bob, 'general', 'general');
  await waitInSync(bob, 'general');
  const same = await bob.page.evaluate(() => window.__parleySameDocument === true);
  check(same, 'bob: the page was reloaded');
}

runScenarios({
  usage: USAGE,
  scenarios: {
    'direct-message': directMessage,
    'closed-room': closedRoom,
    'unread-two-tabs': unreadTwoTabs,
    'phone-drawer': phoneDrawer,
    reconnect,
  },
  limitMs: SCENARIO_MS,
});
