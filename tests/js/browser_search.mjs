// Search in Debian Chromium driven by playwright-core (README "Search"), against a
// server in accounts mode whose team (alice, an admin; bob; carol) tests/browser_search.rs
// made with `parley user add`. Everyone is in their own browser context, signed in;
// every check is about what they see.
//
// Usage: node tests/js/browser_search.mjs <scenario> http://127.0.0.1:PORT [artifacts-dir]
//   search-jump   bob searches from the sidebar as he types: the results list room,
//                 author, time and text with the matched words marked (a message that
//                 looks like HTML stays text); choosing one in a room he is not looking
//                 at opens that room at the message, with the messages around it, though
//                 it is older than the page loaded; scrolling down fills up to the newest
//                 and the room is live again; "In this room" narrows the results
//   search-phone  on a 390x844 phone the box is in the drawer, the results cover the
//                 conversation and make way for the message chosen
// Exit 0 printing `ok <scenario>`, or 1 with the reason; screenshots go to
// artifacts-dir as search-<scenario>-<step>.png.

import { check } from './lib.mjs';
import { PHONE, openChat, person, post } from './browser_lib.mjs';
import {
  baseUrl, runScenarios, say, screenshot, waitInPage, waitPath,
} from './pages.mjs';

const USAGE = 'node browser_search.mjs <scenario> http://127.0.0.1:PORT [artifacts-dir]';
const SCENARIO_MS = 150000;
// Messages are indexed after they are stored, off the acknowledgement path.
const INDEX_MS = 10000;
const FILLERS = 60;   // more than the 50 a room opens with

/** Waits until the server finds `q` in `count` messages (the index is fed after commit). */
async function waitIndexed(user, q, count) {
  const deadline = Date.now() + INDEX_MS;
  for (;;) {
    const res = await user.context.request.get(`${baseUrl}/api/search?q=${encodeURIComponent(q)}`);
    const found = res.ok() ? (await res.json()).results.length : -1;
    if (found === count) return;
    check(Date.now() < deadline, `the server finds ${found} messages for ${JSON.stringify(q)}, expected ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The results on show: [{room, roomName, sender, time, text, marks}]. */
async function results(user) {
  return user.page.evaluate(() => Array.from(document.querySelectorAll('#search-results .search-result'), (b) => ({
    room: b.dataset.room,
    id: Number(b.dataset.id),
    roomName: b.querySelector('.search-result__room-name').textContent,
    sender: b.querySelector('.search-result__sender').textContent,
    time: b.querySelector('.search-result__time').textContent,
    text: b.querySelector('.search-result__text').textContent,
    marks: Array.from(b.querySelectorAll('mark'), (m) => m.textContent),
    elements: b.querySelector('.search-result__text').querySelectorAll('*:not(mark)').length,
  })));
}

/** Waits for `count` results of the search for `q` in the panel. */
async function waitResults(user, q, count) {
  await waitInPage(user, `${count} results for ${JSON.stringify(q)}`, ([query, n]) =>
    !document.getElementById('search-panel').hidden && document.getElementById('search-query').textContent === query &&
    document.querySelectorAll('#search-results .search-result').length === n &&
    !document.getElementById('search-results').hasAttribute('aria-busy'), [q, count]);
}

/** Waits until message `id` is on screen in the conversation, flashing. */
async function waitJumped(user, id) {
  await waitInPage(user, `message ${id} shown in the middle, flashing`, (i) => {
    const li = document.querySelector(`#messages li.msg[data-id="${i}"]`);
    if (!li || !li.classList.contains('msg--flash')) return false;
    const r = li.getBoundingClientRect();
    const box = document.getElementById('scroller').getBoundingClientRect();
    return r.top >= box.top && r.bottom <= box.bottom;
  }, id);
}

/** Texts of the conversation on screen, in order. */
async function conversation(user) {
  return user.page.evaluate(() => Array.from(document.querySelectorAll('#messages li.msg .msg__bubble'), (b) => b.textContent));
}

// ---------------------------------------------------------------- scenarios

async function searchJump(browser) {
  const alice = await person(browser, 'alice');
  const bob = await person(browser, 'bob');
  await openChat(alice, 'design');
  await openChat(bob, 'design');
  await openChat(alice, 'general');
  await openChat(bob, 'general');
  // In #design, an invoice message with 60 after it: opening the room shows only the last 50.
  const acme = await post(alice, 'design', 'The invoice for ACME is attached, please check the totals.');
  for (let i = 1; i <= FILLERS; i += 1) await post(alice, 'design', `Mockup round ${i}`);
  await say(alice, 'Invoices go to finance on Fridays.', [bob]);
  await say(alice, 'Is <b>this</b> an <img src=x onerror=alert(1)> invoice?', [bob]);
  await waitIndexed(bob, 'invoice', 3);

  // As he types: the last word is a prefix, matched case-insensitively.
  await bob.page.fill('#search-input', 'INVOI');
  await waitResults(bob, 'INVOI', 3);
  const found = await results(bob);
  check(JSON.stringify(found.map((r) => r.text)) === JSON.stringify([
    'Is <b>this</b> an <img src=x onerror=alert(1)> invoice?',
    'Invoices go to finance on Fridays.',
    'The invoice for ACME is attached, please check the totals.',
  ]), `the results, newest first: ${JSON.stringify(found)}`);
  check(JSON.stringify(found.map((r) => r.marks)) === '[["invoice"],["Invoices"],["invoice"]]', `the marked words: ${JSON.stringify(found)}`);
  check(found.every((r) => r.elements === 0 && r.sender === 'Alice Martin' && /^\d\d:\d\d$/.test(r.time)), `results: ${JSON.stringify(found)}`);
  check(JSON.stringify(found.map((r) => r.roomName)) === '["general","general","design"]', `the rooms: ${JSON.stringify(found)}`);
  await screenshot(bob, 'search-search-jump-results.png');
  await bob.page.emulateMedia({ colorScheme: 'dark' });
  await screenshot(bob, 'search-search-jump-results-dark.png');
  await bob.page.emulateMedia({ colorScheme: 'light' });

  // Choosing the one in #design opens it at the message, with what was around it.
  await bob.page.click(`#search-results .search-result[data-id="${acme.id}"]`);
  await waitPath(bob, '/chat/design');
  await waitJumped(bob, acme.id);
  const around = await conversation(bob);
  check(around[0] === 'The invoice for ACME is attached, please check the totals.' && around.includes('Mockup round 20') &&
    !around.includes(`Mockup round ${FILLERS}`), `the conversation around the result: ${JSON.stringify(around)}`);
  await waitInPage(bob, 'the result marked as chosen, the way back to the newest offered', (id) =>
    document.querySelector(`#search-results .search-result[data-id="${id}"]`)?.getAttribute('aria-current') === 'true' &&
    document.getElementById('jump-latest').textContent.startsWith('Jump to recent'), acme.id);
  await screenshot(bob, 'search-search-jump-jumped.png');

  // Scrolling down fills up to the newest; then the room is live again.
  for (let i = 0; i < 20; i += 1) {
    const last = await conversation(bob);
    if (last[last.length - 1] === `Mockup round ${FILLERS}` && await bob.page.evaluate(() => document.getElementById('jump-latest').hidden)) break;
    await bob.page.evaluate(() => { const s = document.getElementById('scroller'); s.scrollTop = s.scrollHeight; });
    await bob.page.waitForTimeout(200);
  }
  const filled = await conversation(bob);
  check(filled.length === FILLERS + 1 && new Set(filled).size === filled.length &&
    filled[filled.length - 1] === `Mockup round ${FILLERS}`, `#design after scrolling down: ${JSON.stringify(filled)}`);
  await openChat(alice, 'design');
  await say(alice, 'Mockups are final.', [bob]);
  await waitIndexed(bob, 'mockups', 1);

  // "In this room" narrows to #design.
  await bob.page.selectOption('#search-scope', 'room');
  await bob.page.fill('#search-input', 'mockups');
  await bob.page.press('#search-input', 'Enter');
  await waitResults(bob, 'mockups', 1);
  await bob.page.fill('#search-input', 'invoice');
  await bob.page.press('#search-input', 'Enter');
  await waitResults(bob, 'invoice', 1);
  check((await results(bob))[0].id === acme.id, `in #design: ${JSON.stringify(await results(bob))}`);
  await bob.page.fill('#search-input', 'nothing like this');
  await bob.page.press('#search-input', 'Enter');
  await waitInPage(bob, 'the "no messages" line', () =>
    document.getElementById('search-status').textContent === 'No messages match “nothing like this” in this room.');
  await bob.page.click('#search-close');
  await waitInPage(bob, 'the results closed', () => document.getElementById('search-panel').hidden);
}

async function searchPhone(browser) {
  const alice = await person(browser, 'alice');
  const bob = await person(browser, 'bob', PHONE);
  await openChat(alice, 'general');
  await openChat(bob, 'general');
  await say(alice, 'The quarterly report draft is in the shared folder.', [bob]);
  for (let i = 1; i <= 12; i += 1) await post(alice, 'general', `Standup note ${i}`);
  await waitIndexed(bob, 'quarterly', 1);
  await bob.page.click('#drawer-open');
  await waitInPage(bob, 'the drawer open', () => document.body.classList.contains('drawer-open'));
  await bob.page.fill('#search-input', 'quarterly report');
  await bob.page.press('#search-input', 'Enter');
  await waitResults(bob, 'quarterly report', 1);
  const cover = await bob.page.evaluate(() => {
    const r = document.getElementById('search-panel').getBoundingClientRect();
    return { left: r.left, width: r.width, drawer: document.body.classList.contains('drawer-open') };
  });
  check(cover.left === 0 && cover.width === 390 && !cover.drawer, `the results on a phone: ${JSON.stringify(cover)}`);
  await screenshot(bob, 'search-search-phone-results.png');
  const [first] = await results(bob);
  await bob.page.click('#search-results .search-result');
  await waitInPage(bob, 'the results closed', () => document.getElementById('search-panel').hidden);
  await waitJumped(bob, first.id);
  await screenshot(bob, 'search-search-phone-jumped.png');
}

runScenarios({
  usage: USAGE,
  scenarios: {
    'search-jump': searchJump,
    'search-phone': searchPhone,
  },
  limitMs: SCENARIO_MS,
});
