// Edits, deletes, reactions, replies, mentions and notifications in Debian Chromium
// driven by playwright-core (README "Edits, deletes, reactions, replies" and "Mentions
// and notifications"), against a server in accounts mode whose team (alice, an admin;
// bob; carol) tests/browser_edits.rs made with `parley user add`. Everyone is in their
// own browser context, signed in; every check is about what they see.
//
// Usage: node tests/js/browser_edits.mjs <scenario> http://127.0.0.1:PORT [artifacts-dir]
//   live-changes   alice edits a message in the inline editor (Esc cancels, Enter saves)
//                  and deletes one after confirming; bob reacts from the picker and
//                  alice adds hers; each shows up live on the other's page ("edited",
//                  counts, who reacted, gone); alice, an admin, deletes bob's message;
//                  bob cannot edit alice's; light and dark screenshots
//   reply-mention  bob replies to alice's message (quote above the box, then on both
//                  pages), mentions her with the @ suggestions and the keyboard: her
//                  copy is highlighted; a reply to a message not loaded says "earlier
//                  message" and jumps to it when clicked
//   notifications  with permission granted, a mention while bob's tab is hidden, and
//                  a message while he is in another room, make a notification with
//                  the room and sender as title and the text as body; clicking it opens
//                  the room; the level menu changes what notifies; a tab in another room
//                  does not notify what bob reads in his other tab; a page without the
//                  permission asks for it only when "Turn on" is clicked
//   catch-up       bob's connection is cut while alice sends, edits, deletes and
//                  reacts in the room on his screen and in another he opened before:
//                  the first reaches him over HTTP, the other after the reconnect, each
//                  change once, as the server has it
// Exit 0 printing `ok <scenario>`, or 1 with the reason; screenshots go to
// artifacts-dir as edits-<scenario>-<step>.png.

import { check } from './lib.mjs';
import { openChat, person as signedIn, post, socketSwitch } from './browser_lib.mjs';
import {
  DESKTOP, STEP_MS, baseUrl, newTab, runScenarios, say, screenshot, send, waitInPage, waitMessage, waitPath,
  waitStatus,
} from './pages.mjs';

const USAGE = 'node browser_edits.mjs <scenario> http://127.0.0.1:PORT [artifacts-dir]';
const SCENARIO_MS = 150000;
// The page's own timings (chat/connection.js): HTTP polling every 3 s while the socket
// is down, reconnect backoff capped at 5 s (+50 % jitter).
const DELIVERY_MS = 4500;
const RECONNECT_MS = 15000;

// ---------------------------------------------------------------- people and pages

/**
 * Records what the page does with desktop notifications: every `new Notification` (its
 * title, body and the object, whose onclick the test calls as a click would) in
 * `window.__notes`, and every permission request in `window.__asked`. The browser's own
 * permission (granted to the context, or not) is what the page reads.
 */
function recordNotifications() {
  const Real = window.Notification;
  window.__notes = [];
  window.__asked = 0;
  class Recorded {
    constructor(title, options = {}) {
      this.title = title;
      this.body = options.body;
      this.tag = options.tag;
      this.onclick = null;
      this.closed = false;
      window.__notes.push(this);
    }

    close() { this.closed = true; }

    static get permission() { return Real ? Real.permission : 'denied'; }

    static requestPermission(callback) {
      window.__asked += 1;
      return Real.requestPermission(callback);
    }
  }
  window.Notification = Recorded;
}

/** `username` in their own browser context, signed in; `notifications` grants that permission. */
async function person(browser, username, { notifications = false, networkErrors = false, colorScheme = 'light' } = {}) {
  const user = await signedIn(browser, username, { viewport: DESKTOP, networkErrors, context: { colorScheme } });
  if (notifications) await user.context.grantPermissions(['notifications'], { origin: baseUrl });
  await user.context.addInitScript(recordNotifications);
  return user;
}

/** Clicks the sidebar's link to `room` and waits until it is the room on screen. */
async function clickRoom(user, room) {
  await user.page.click(`#sidebar a[data-room="${room}"]`);
  await waitPath(user, `/chat/${room}`);
  await waitInPage(user, `${room} on screen`, (r) =>
    document.querySelector(`#sidebar a[data-room="${CSS.escape(r)}"]`)?.getAttribute('aria-current') === 'page', room);
}

/** The id of the row showing `text` in `user`'s conversation (waits for it). */
async function rowId(user, text) {
  await waitInPage(user, `${JSON.stringify(text)} shown with an id`, (t) =>
    Array.from(document.querySelectorAll('#messages li.msg[data-id]')).some((li) => li.querySelector('.msg__bubble').textContent === t), text);
  return user.page.evaluate((t) => Array.from(document.querySelectorAll('#messages li.msg[data-id]'))
    .find((li) => li.querySelector('.msg__bubble').textContent === t).dataset.id, text);
}

const row = (id) => `#messages li.msg[data-id="${id}"]`;

/** Points at message `id` (its actions appear) and clicks its action `action`. */
async function act(user, id, action) {
  await user.page.hover(`${row(id)} .msg__bubble`);
  await user.page.click(`${row(id)} .msg__actions [data-action="${action}"]`);
}

/** What `user` shows of message `id`: null when it is not shown. */
async function shown(user, id) {
  return user.page.evaluate((sel) => {
    const li = document.querySelector(sel);
    if (!li) return null;
    return {
      text: li.querySelector('.msg__bubble').textContent,
      edited: li.querySelector('.msg__edited')?.textContent || null,
      reactions: Array.from(li.querySelectorAll('.reaction[data-emoji]'), (b) => ({
        emoji: b.dataset.emoji, count: b.querySelector('.reaction__count').textContent, mine: b.getAttribute('aria-pressed') === 'true', title: b.title,
      })),
      quote: li.querySelector('.msg__quote')?.textContent || null,
      mention: li.classList.contains('msg--mention'),
      actions: Array.from(li.querySelectorAll('.msg__actions [data-action]'), (b) => b.dataset.action),
    };
  }, row(id));
}

/** Waits until `user` shows message `id` matching `want` (see shown), or not at all (null). */
async function waitShown(user, id, what, want, ms = STEP_MS) {
  await waitInPage(user, `message ${id} ${what}`, ([sel, w]) => {
    const li = document.querySelector(sel);
    if (w === null) return li === null;
    if (!li) return false;
    const reactions = Array.from(li.querySelectorAll('.reaction[data-emoji]'), (b) =>
      `${b.dataset.emoji}${b.querySelector('.reaction__count').textContent}${b.getAttribute('aria-pressed') === 'true' ? '*' : ''}`);
    return (w.text === undefined || li.querySelector('.msg__bubble').textContent === w.text) &&
      (w.edited === undefined || Boolean(li.querySelector('.msg__edited')) === w.edited) &&
      (w.reactions === undefined || JSON.stringify(reactions) === JSON.stringify(w.reactions)) &&
      (w.quote === undefined || (li.querySelector('.msg__quote')?.textContent || null) === w.quote) &&
      (w.mention === undefined || li.classList.contains('msg--mention') === w.mention);
  }, [row(id), want], ms);
}

// ---------------------------------------------------------------- scenarios

async function liveChanges(browser) {
  const alice = await person(browser, 'alice');
  const bob = await person(browser, 'bob');
  await openChat(alice, 'general');
  await openChat(bob, 'general');

  await say(alice, 'The release is on Tuesdy.', [bob]);
  await say(alice, 'Wrong room, sorry!', [bob]);
  await say(bob, 'Tuesday works for me.', [alice]);
  const typo = await rowId(alice, 'The release is on Tuesdy.');
  const wrong = await rowId(alice, 'Wrong room, sorry!');
  const bobs = await rowId(alice, 'Tuesday works for me.');

  // Bob may react and reply to alice's message, not edit or delete it.
  const theirs = await shown(bob, typo);
  check(JSON.stringify(theirs.actions) === '["react","reply"]', `bob's actions on alice's message: ${theirs.actions}`);
  const own = await shown(alice, typo);
  check(JSON.stringify(own.actions) === '["react","reply","edit","delete"]', `alice's actions on her message: ${own.actions}`);
  // Alice is an admin: she may delete bob's message too, but not edit it.
  const admin = await shown(alice, bobs);
  check(JSON.stringify(admin.actions) === '["react","reply","delete"]', `alice's actions on bob's message: ${admin.actions}`);

  // Edit in place: Escape leaves it as it was; Enter saves.
  await act(alice, typo, 'edit');
  await waitInPage(alice, 'the editor with the text, focused', (sel) => {
    const area = document.querySelector(`${sel} .msg__editor textarea`);
    return area && document.activeElement === area && area.value === 'The release is on Tuesdy.';
  }, row(typo));
  await alice.page.keyboard.type(' (draft)');
  await alice.page.keyboard.press('Escape');
  await waitShown(alice, typo, 'unchanged after Escape', { text: 'The release is on Tuesdy.', edited: false });
  check(await alice.page.evaluate(() => document.querySelector('.msg__editor') === null), 'the editor stayed open after Escape');
  await act(alice, typo, 'edit');
  await alice.page.fill(`${row(typo)} .msg__editor textarea`, 'The release is on Tuesday.');
  await screenshot(alice, 'edits-live-changes-editing.png');
  await alice.page.keyboard.press('Enter');
  for (const user of [alice, bob]) await waitShown(user, typo, 'edited', { text: 'The release is on Tuesday.', edited: true });

  // Bob reacts from the picker; alice sees it, who gave it, and adds hers by clicking it.
  await act(bob, typo, 'react');
  await waitInPage(bob, 'the reaction picker', () => document.querySelectorAll('.reaction-picker:not([hidden]) button').length === 8);
  await screenshot(bob, 'edits-live-changes-picker.png');
  await bob.page.click('.reaction-picker button[data-emoji="👍"]');
  await waitShown(bob, typo, 'with bob\'s 👍', { reactions: ['👍1*'] });
  await waitShown(alice, typo, 'with bob\'s 👍', { reactions: ['👍1'] });
  const byBob = (await shown(alice, typo)).reactions[0].title;
  check(byBob === 'Bob Lee reacted with 👍', `the reaction's title at alice: ${JSON.stringify(byBob)}`);
  await alice.page.click(`${row(typo)} .reaction[data-emoji="👍"]`);
  await waitShown(alice, typo, 'with two 👍, one hers', { reactions: ['👍2*'] });
  await waitShown(bob, typo, 'with two 👍', { reactions: ['👍2*'] });
  const both = (await shown(bob, typo)).reactions[0].title;
  check(both === 'Alice Martin and you reacted with 👍', `the reaction's title at bob: ${JSON.stringify(both)}`);
  await act(alice, bobs, 'react');
  await alice.page.click('.reaction-picker button[data-emoji="🎉"]');
  await waitShown(bob, bobs, 'with alice\'s 🎉', { reactions: ['🎉1'] });
  await alice.page.mouse.move(0, 0);

  // Deleting asks first; then the message is gone from both pages.
  await act(alice, wrong, 'delete');
  await waitInPage(alice, 'the delete dialog showing the message', () =>
    document.getElementById('delete-dialog').open && document.getElementById('delete-preview').textContent.includes('Wrong room, sorry!'));
  await screenshot(alice, 'edits-live-changes-delete.png');
  await alice.page.click('#delete-cancel');
  await waitShown(bob, wrong, 'still there after Cancel', { text: 'Wrong room, sorry!' });
  await act(alice, wrong, 'delete');
  await alice.page.click('#delete-confirm');
  for (const user of [alice, bob]) await waitShown(user, wrong, 'gone', null);
  await screenshot(bob, 'edits-live-changes-bob.png');
  await screenshot(alice, 'edits-live-changes-alice.png');

  // The same conversation in the dark scheme.
  await bob.page.emulateMedia({ colorScheme: 'dark' });
  await bob.page.hover(`${row(typo)} .msg__bubble`);
  await screenshot(bob, 'edits-live-changes-dark.png');

  // As an admin, alice deletes bob's message.
  await act(alice, bobs, 'delete');
  await waitInPage(alice, 'the admin wording', () => document.getElementById('delete-text').textContent.includes('as an admin'));
  await alice.page.click('#delete-confirm');
  for (const user of [alice, bob]) await waitShown(user, bobs, 'gone after the admin deleted it', null);

  // A reload shows the room as the server has it: edited, reacted to, without the deleted ones.
  await bob.page.reload({ timeout: STEP_MS });
  await waitStatus(bob, 'connected');
  await waitShown(bob, typo, 'as stored after a reload', { text: 'The release is on Tuesday.', edited: true, reactions: ['👍2*'] });
  const left = await bob.page.evaluate(() => Array.from(document.querySelectorAll('#messages li.msg'), (li) => li.querySelector('.msg__bubble').textContent));
  check(JSON.stringify(left) === '["The release is on Tuesday."]', `bob's messages after a reload: ${JSON.stringify(left)}`);
}

async function replyMention(browser) {
  const alice = await person(browser, 'alice');
  const bob = await person(browser, 'bob');
  // An old message, 60 others after it: opening the room, the page loads only the last 50.
  await openChat(alice, 'general');
  const kickoff = await post(alice, 'general', 'Kickoff notes are in the wiki.');
  for (let i = 1; i <= 60; i += 1) await post(alice, 'general', `Status line ${i}`);
  await post(alice, 'general', 'Did everyone read the kickoff notes?', { reply_to: kickoff.id });
  await openChat(bob, 'general');
  const question = await rowId(bob, 'Did everyone read the kickoff notes?');
  await waitShown(bob, question, 'quoting a message not loaded', { quote: 'Reply to an earlier message' });

  // Bob answers alice's question: the quote is above the box, then on both pages.
  await act(bob, question, 'reply');
  await waitInPage(bob, 'the reply bar quoting alice, the box focused', () =>
    !document.getElementById('reply-bar').hidden && document.getElementById('reply-who').textContent === 'Alice Martin' &&
    document.getElementById('reply-text').textContent === 'Did everyone read the kickoff notes?' &&
    document.activeElement === document.getElementById('message-input'));
  // Mentioning her with the suggestions: "@al" lists Alice; the keyboard picks her.
  await bob.page.type('#message-input', 'Yes, thanks @al');
  await waitInPage(bob, 'the @ suggestions with Alice first', () => {
    const options = Array.from(document.querySelectorAll('#mention-list [role="option"]'), (o) => o.dataset.username);
    return !document.getElementById('mention-list').hidden && options[0] === 'alice' &&
      document.getElementById('message-input').getAttribute('aria-expanded') === 'true';
  });
  await screenshot(bob, 'edits-reply-mention-suggestions.png');
  await bob.page.keyboard.press('Enter');
  await waitInPage(bob, 'the mention put in the box', () =>
    document.getElementById('message-input').value === 'Yes, thanks @alice ' && document.getElementById('mention-list').hidden);
  await bob.page.type('#message-input', 'and @');
  await waitInPage(bob, 'every member and @room suggested', () => {
    const options = Array.from(document.querySelectorAll('#mention-list [role="option"]'), (o) => o.dataset.username);
    return JSON.stringify(options) === '["alice","carol","room"]';
  });
  await bob.page.keyboard.press('ArrowDown');
  await bob.page.keyboard.press('ArrowDown');
  await bob.page.keyboard.press('Tab');
  await waitInPage(bob, '@room put in the box', () => document.getElementById('message-input').value === 'Yes, thanks @alice and @room ');
  await screenshot(bob, 'edits-reply-mention-replying.png');
  const answer = 'Yes, thanks @alice and @room';
  await bob.page.keyboard.press('Enter');
  await Promise.all([alice, bob].map((user) => waitMessage(user, answer, bob.name)));
  const answerId = await rowId(alice, answer);
  const quote = 'Alice MartinDid everyone read the kickoff notes?';
  await waitShown(alice, answerId, 'quoting the question and highlighted for her', { quote, mention: true });
  await waitShown(bob, answerId, 'quoting the question, not highlighted for its author', { quote, mention: false });
  check(await bob.page.evaluate(() => document.getElementById('reply-bar').hidden), 'the reply bar stayed after sending');
  const marks = await alice.page.evaluate((sel) => Array.from(document.querySelectorAll(`${sel} .mention`), (m) => `${m.textContent}${m.classList.contains('mention--me') ? '*' : ''}`), row(answerId));
  check(JSON.stringify(marks) === '["@alice*","@room*"]', `the mentions marked at alice: ${JSON.stringify(marks)}`);
  await screenshot(alice, 'edits-reply-mention-alice.png');

  // The quote of the old message leads to it, loaded with what surrounds it.
  await bob.page.click(`${row(question)} .msg__quote`);
  await waitInPage(bob, 'the kickoff message shown, flashing, with its neighbours', (id) => {
    const li = document.querySelector(`#messages li.msg[data-id="${id}"]`);
    const r = li && li.getBoundingClientRect();
    const box = document.getElementById('scroller').getBoundingClientRect();
    return li && li.classList.contains('msg--flash') && r.top >= box.top && r.bottom <= box.bottom &&
      document.querySelector('#messages li.msg[data-id]')?.querySelector('.msg__bubble').textContent === 'Kickoff notes are in the wiki.' &&
      Array.from(document.querySelectorAll('#messages .msg__bubble')).some((b) => b.textContent === 'Status line 20') &&
      !document.getElementById('jump-latest').hidden;
  }, kickoff.id);
  await screenshot(bob, 'edits-reply-mention-jumped.png');
  // Back to the newest messages.
  await bob.page.click('#jump-latest');
  await waitShown(bob, answerId, 'shown again with the newest', { text: answer });
  await waitInPage(bob, 'the old stretch gone, the button hidden', (id) =>
    document.querySelector(`#messages li.msg[data-id="${id}"]`) === null && document.getElementById('jump-latest').hidden, kickoff.id);
}

/** Makes `user`'s page believe its tab is hidden (`hidden` true) or visible again. */
async function setHidden(user, hidden) {
  await user.page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { value: h, configurable: true });
    Object.defineProperty(document, 'visibilityState', { value: h ? 'hidden' : 'visible', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

/** The notifications `user`'s page made so far: [{title, body}]. */
async function notes(user) {
  return user.page.evaluate(() => window.__notes.map((n) => ({ title: n.title, body: n.body })));
}

/** Waits until `user`'s page has made `count` notifications, the last one `want` ({title, body}). */
async function waitNote(user, count, want) {
  await waitInPage(user, `notification ${count}: ${JSON.stringify(want)}`, ([c, w]) => {
    const all = window.__notes;
    const last = all[all.length - 1];
    return all.length === c && last.title === w.title && last.body === w.body;
  }, [count, want]);
}

/** Chooses `level` in the bell's menu of the room on `user`'s screen. */
async function chooseLevel(user, level) {
  await user.page.click('#room-notify');
  await waitInPage(user, 'the notification menu open', () => !document.getElementById('notify-menu').hidden);
  await user.page.check(`#notify-menu input[value="${level}"]`);
  await waitInPage(user, `the bell at "${level}"`, (l) => document.getElementById('room-notify').dataset.level === l, level);
}

async function notifications(browser) {
  const alice = await person(browser, 'alice');
  const bob = await person(browser, 'bob', { notifications: true });
  await openChat(bob, 'random');
  await openChat(bob, 'general');
  await openChat(alice, 'random');
  // Granted already: nothing to offer, and the page asked nothing.
  await waitInPage(bob, 'no offer to turn notifications on', () => document.getElementById('notify-offer').hidden);
  check(await bob.page.evaluate(() => window.__asked === 0), 'the page asked for the permission by itself');

  // Bob reads #general; in #random, only a mention notifies him (the default for a room).
  await say(alice, 'Lunch at noon?', []);
  const mention = '@bob can you review the draft?';
  await say(alice, mention, []);
  await waitNote(bob, 1, { title: 'Alice Martin in #random', body: mention });
  check((await notes(bob)).length === 1, `bob's notifications: ${JSON.stringify(await notes(bob))}`);
  await screenshot(bob, 'edits-notifications-elsewhere.png');
  // Clicking it opens the room at the message.
  await bob.page.evaluate(() => window.__notes[0].onclick(new Event('click')));
  await waitPath(bob, '/chat/random');
  await waitMessage(bob, mention, alice.name);
  check(await bob.page.evaluate(() => window.__notes[0].closed), 'the notification stayed after its click');

  // In the room on screen, nothing notifies while the tab shows; hidden, a mention does.
  await say(alice, '@bob while you are here', [bob]);
  await setHidden(bob, true);
  await say(alice, 'Not for bob.', [bob]);
  await say(alice, '@bob one more thing', [bob]);
  await waitNote(bob, 2, { title: 'Alice Martin in #random', body: '@bob one more thing' });

  // "All new messages": every message notifies; "Nothing": none does, and the room is muted.
  await setHidden(bob, false);
  await chooseLevel(bob, 'all');
  await screenshot(bob, 'edits-notifications-menu.png');
  await bob.page.keyboard.press('Escape');
  await setHidden(bob, true);
  await say(alice, 'Deploy finished.', [bob]);
  await waitNote(bob, 3, { title: 'Alice Martin in #random', body: 'Deploy finished.' });
  await setHidden(bob, false);
  await chooseLevel(bob, 'none');
  await bob.page.keyboard.press('Escape');
  await waitInPage(bob, '#random muted in the sidebar', () =>
    document.querySelector('#sidebar a[data-room="random"]').classList.contains('side-item--muted'));
  await setHidden(bob, true);
  await say(alice, '@bob are you there?', [bob]);
  // A direct message notifies (its default is every message), and proves the mention did not.
  await alice.page.click('#people-list [data-username="bob"]');
  await waitPath(alice, '/chat/dm:alice:bob');
  await send(alice, 'Ping me when you are back.');
  await waitNote(bob, 4, { title: 'Alice Martin (direct message)', body: 'Ping me when you are back.' });
  // The level is stored: a reload shows it.
  await setHidden(bob, false);
  await bob.page.reload({ timeout: STEP_MS });
  await waitStatus(bob, 'connected');
  await waitInPage(bob, 'the bell still "none" after a reload', () => document.getElementById('room-notify').dataset.level === 'none');
  await screenshot(bob, 'edits-notifications-muted.png');

  // Two tabs: what bob reads in one is not notified by the other, in another room.
  await clickRoom(bob, 'general');
  const tab2 = await newTab(bob, 'bob tab 2');
  await openChat(tab2, 'random');
  await openChat(alice, 'general');
  await say(alice, '@bob did you see the numbers?', [bob]);
  await setHidden(bob, true);
  await say(alice, '@bob last one for today', [bob]);
  await waitNote(tab2, 1, { title: 'Alice Martin in #general', body: '@bob last one for today' });

  // Without the permission, the page asks for it only when the user clicks.
  const carol = await person(browser, 'carol');
  await openChat(carol, 'general');
  await waitInPage(carol, 'the offer in the sidebar', () => !document.getElementById('notify-offer').hidden);
  await carol.page.waitForTimeout(300);
  check(await carol.page.evaluate(() => window.__asked === 0), 'the page asked for the permission by itself');
  await screenshot(carol, 'edits-notifications-offer.png');
  await carol.page.click('#notify-offer-enable');
  await waitInPage(carol, 'the permission asked once', () => window.__asked === 1);
}

/**
 * Waits until `viewer` shows `room` exactly as the server stores it: the same messages
 * (none deleted), once each, in order, with their text, "edited" marks and reactions.
 */
async function waitInSync(viewer, room, ms = STEP_MS) {
  const res = await viewer.context.request.get(`${baseUrl}/api/rooms/${room}/messages?limit=200`);
  check(res.ok(), `GET ${room}'s messages: HTTP ${res.status()}`);
  const want = (await res.json()).messages.filter((m) => !m.deleted).map((m) => [
    m.id, m.text, Boolean(m.edited_ts), (m.reactions || []).map((r) => `${r.emoji}${r.users.length}`).join(' '),
  ]);
  await waitInPage(viewer, `#${room} as stored: ${JSON.stringify(want)}`, (w) => {
    const rows = Array.from(document.querySelectorAll('#messages li.msg'), (li) => [
      Number(li.dataset.id || -1), li.querySelector('.msg__bubble').textContent, Boolean(li.querySelector('.msg__edited')),
      Array.from(li.querySelectorAll('.reaction[data-emoji]'), (b) => `${b.dataset.emoji}${b.dataset.count}`).join(' '),
    ]);
    return JSON.stringify(rows) === JSON.stringify(w);
  }, want, ms);
}

/** `user` edits their message `id` to `text` in its editor. */
async function edit(user, id, text) {
  await act(user, id, 'edit');
  await user.page.fill(`${row(id)} .msg__editor textarea`, text);
  await user.page.keyboard.press('Enter');
  await waitShown(user, id, 'edited', { text, edited: true });
}

/** `user` deletes message `id`, confirming. */
async function remove(user, id) {
  await act(user, id, 'delete');
  await user.page.click('#delete-confirm');
  await waitShown(user, id, 'deleted', null);
}

/** `user` gives message `id` the reaction `emoji` from the picker. */
async function reactTo(user, id, emoji) {
  await act(user, id, 'react');
  await user.page.click(`.reaction-picker button[data-emoji="${emoji}"]`);
  await waitInPage(user, `${emoji} on message ${id}`, ([sel, e]) =>
    document.querySelector(`${sel} .reaction[data-emoji="${e}"][aria-pressed="true"]`) !== null, [row(id), emoji]);
}

async function catchUpScenario(browser) {
  const alice = await person(browser, 'alice');
  const bob = await person(browser, 'bob', { networkErrors: true });
  const line = await socketSwitch(bob.context);
  await openChat(alice, 'random');
  // Bob, a member of both, has both rooms loaded in one page: #random from before.
  await openChat(bob, 'general');
  await openChat(bob, 'random');
  await say(alice, 'Random one', [bob]);
  await say(alice, 'Random two', [bob]);
  await clickRoom(bob, 'general');
  await openChat(alice, 'general');
  for (const text of ['General one', 'General two', 'General three']) await say(alice, text, [bob]);
  const [g1, g2, g3] = await Promise.all(['General one', 'General two', 'General three'].map((t) => rowId(alice, t)));
  await waitInSync(bob, 'general');

  line.cut();
  await waitStatus(bob, 'offline', null, RECONNECT_MS);
  // In the room on bob's screen: he is polling over HTTP, and sees each change.
  await edit(alice, g1, 'General one, edited while bob was away');
  await remove(alice, g2);
  await reactTo(alice, g3, '🎉');
  await say(alice, 'General four', [bob], DELIVERY_MS + STEP_MS);
  await waitInSync(bob, 'general', DELIVERY_MS + STEP_MS);
  await screenshot(bob, 'edits-catch-up-polling.png');
  // In the room he opened before and left.
  await clickRoom(alice, 'random');
  const [r1, r2] = await Promise.all(['Random one', 'Random two'].map((t) => rowId(alice, t)));
  await edit(alice, r1, 'Random one, edited');
  await reactTo(alice, r1, '👀');
  await remove(alice, r2);
  await say(alice, 'Random three', []);

  line.restore();
  await waitStatus(bob, 'connected', null, RECONNECT_MS);
  await clickRoom(bob, 'random');
  await waitInSync(bob, 'random');
  await screenshot(bob, 'edits-catch-up-random.png');
  await clickRoom(bob, 'general');
  await waitInSync(bob, 'general');
  // Live again: a change reaches him at once.
  await reactTo(alice, r1, '👍');
  await clickRoom(bob, 'random');
  await waitInSync(bob, 'random');
}

runScenarios({
  usage: USAGE,
  scenarios: {
    'live-changes': liveChanges,
    'reply-mention': replyMention,
    notifications,
    'catch-up': catchUpScenario,
  },
  limitMs: SCENARIO_MS,
});
