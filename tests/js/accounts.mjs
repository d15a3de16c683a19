// A new team's first five minutes with Parley's accounts (README, "Accounts"), in
// Debian Chromium driven by playwright-core, against a fresh server in accounts mode:
// the first visit lands on the setup page, the admin is created there, finds the join
// link in the settings and copies it; a second person opens it in their own browser,
// joins, and the two chat under their display names. Then signing out in one tab sends
// the chat in another to the sign-in page, a wrong password is refused with the one sentence for it, and signing
// in again returns to the page that asked for it. The connection debugger, signed in,
// says who it is.
//
// Usage: node tests/js/accounts.mjs <desktop|phone> http://127.0.0.1:PORT [artifacts-dir]
// The same story at 1280x800, or on a 390x844 touch phone, where the pages must also
// be usable with fingers: 16 px inputs (iOS zooms into smaller ones), tap targets of at
// least 44 px, nothing wider than the screen. Screenshots go to artifacts-dir as
// accounts-<size>-<step>.png. Exit 0 printing `ok <size>`, or 1 with the reason.

import { check, randomName } from './lib.mjs';
import {
  DESKTOP, STEP_MS, baseUrl, newTab, newUser, runScenarios, say, screenshot, waitInPage, waitPath, waitStatus,
} from './pages.mjs';

const USAGE = 'node accounts.mjs <desktop|phone> http://127.0.0.1:PORT [artifacts-dir]';
const PHONE = { viewport: { width: 390, height: 844 }, context: { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } };
// Creating an account or signing in hashes a password (argon2, slow on purpose, and
// slower still in a debug build): allow those steps more than STEP_MS.
const HASH_MS = 20000;
const SCENARIO_MS = 120000;
const PASSWORD = 'correct horse battery';
// Chromium logs every refused fetch as a console error; these are refusals a step asks for.
const REFUSED_401 = /status of 401/;

/** Fills the form fields `values` ({selector: text}) of `user`'s page. */
async function fillAll(user, values) {
  for (const [selector, text] of Object.entries(values)) await user.page.fill(selector, text);
}

/** Text of `selector` when it is shown, '' when hidden or missing. */
function shownText(user, selector) {
  return user.page.evaluate((sel) => {
    const el = document.querySelector(sel);
    return el && !el.closest('[hidden]') ? el.textContent.trim() : '';
  }, selector);
}

/**
 * On a phone, what a finger and iOS need: every visible input at 16 px or more, every
 * visible button and link styled as one at least 44 px high, no sideways scrolling.
 */
async function checkTouchFriendly(user, what) {
  const found = await user.page.evaluate(() => {
    const visible = (el) => el.getClientRects().length > 0 && !el.closest('[hidden]');
    const label = (el) => `${el.tagName.toLowerCase()}#${el.id || '?'}.${el.className}`;
    const small = Array.from(document.querySelectorAll('input:not([type=hidden]):not(.sr-only), textarea'))
      .filter(visible)
      .filter((el) => parseFloat(getComputedStyle(el).fontSize) < 16)
      .map((el) => `${label(el)} ${getComputedStyle(el).fontSize}`);
    const tiny = Array.from(document.querySelectorAll('button, .btn, .user-chip, .settings__nav a'))
      .filter(visible)
      .filter((el) => el.getBoundingClientRect().height < 44)
      .map((el) => `${label(el)} ${Math.round(el.getBoundingClientRect().height)}px`);
    return { small, tiny, overflow: document.documentElement.scrollWidth - window.innerWidth };
  });
  check(found.small.length === 0, `${what}: inputs under 16 px make iOS zoom: ${found.small.join(', ')}`);
  check(found.tiny.length === 0, `${what}: tap targets under 44 px: ${found.tiny.join(', ')}`);
  check(found.overflow <= 0, `${what}: the page is ${found.overflow} px wider than the screen`);
}

/**
 * The first visit of a fresh server goes to the setup page, which on this machine needs
 * no code; the admin created there lands in the lobby, signed in.
 */
async function setUpAdmin(admin, size, phone) {
  const { page } = admin;
  await page.goto(`${baseUrl}/`, { timeout: STEP_MS });
  await waitPath(admin, '/setup');
  await waitInPage(admin, 'the setup form, without a code field on loopback', () =>
    document.activeElement?.id === 'username' && document.getElementById('code-field').hidden);
  if (phone) await checkTouchFriendly(admin, 'setup page');
  await screenshot(admin, `accounts-${size}-setup.png`);
  // Typed with capitals: usernames are stored lowercase.
  await fillAll(admin, {
    '#username': 'Alice', '#name': 'Alice Martin', '#password': PASSWORD, '#password2': PASSWORD,
  });
  await page.click('#setup-submit');
  await waitPath(admin, '/', HASH_MS);
  await waitInPage(admin, 'the lobby with Alice signed in instead of a name field', () =>
    document.getElementById('name-field').hidden && !document.getElementById('lobby-account').hidden &&
    document.querySelector('#account-chip .user-chip__name').textContent === 'Alice Martin');
  if (phone) await checkTouchFriendly(admin, 'lobby');
  await screenshot(admin, `accounts-${size}-lobby.png`);
}

/** The admin opens the settings from the lobby and copies the join link. */
async function copyJoinLink(admin, size, phone) {
  const { page } = admin;
  await page.click('#account-chip');
  await waitPath(admin, '/settings');
  await waitInPage(admin, 'the settings of admin @alice with the join link and the people', () => {
    const url = document.getElementById('invite-url');
    return document.getElementById('me-username').textContent === '@alice' &&
      !document.getElementById('invite').hidden && /\/join\/[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}$/.test(url.value) &&
      document.querySelector('#user-list [data-username="alice"]') !== null;
  });
  const link = await page.inputValue('#invite-url');
  check(link.startsWith(`${baseUrl}/join/`), `the join link ${link} is not on this server`);
  await page.click('#invite-copy');
  await waitInPage(admin, 'the copy button to say "Copied"', () => document.getElementById('invite-copy').textContent === 'Copied');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  check(copied === link, `the clipboard holds ${JSON.stringify(copied)}, not the join link ${link}`);
  if (phone) await checkTouchFriendly(admin, 'settings');
  // From the top: the section links stick to the top of the window, wherever it is.
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(admin, `accounts-${size}-settings.png`, { fullPage: true });
  await createToken(admin);
  return link;
}

/** A token is shown once, with a copy button and the warning, and then works as Alice. */
async function createToken(admin) {
  const { page } = admin;
  await page.fill('#token-name', 'deploy-bot');
  await page.click('#token-submit');
  await waitInPage(admin, 'the new token, shown once, and listed', () =>
    !document.getElementById('token-reveal').hidden && document.getElementById('token-value').value.length > 0 &&
    document.querySelector('#token-list [data-token="deploy-bot"]') !== null);
  const warning = await shownText(admin, '.reveal__warning');
  check(/won.t see it again/.test(warning), `no "you won't see it again" beside the token: ${JSON.stringify(warning)}`);
  const token = await page.inputValue('#token-value');
  const res = await fetch(`${baseUrl}/api/me`, { headers: { Authorization: `Bearer ${token}` } });
  check(res.status === 200, `GET /api/me with the shown token: HTTP ${res.status}`);
  const me = await res.json();
  check(me.user?.username === 'alice', `the shown token is not Alice's: ${JSON.stringify(me)}`);
  await page.click('#token-done');
  await waitInPage(admin, 'the token to be hidden again', () =>
    document.getElementById('token-reveal').hidden && document.getElementById('token-value').value === '');
}

/** Someone new opens the join link in their own browser and becomes a member. */
async function join(member, link, size, phone) {
  const { page } = member;
  await page.goto(link, { timeout: STEP_MS });
  await waitInPage(member, 'the join form', () => document.activeElement?.id === 'username');
  if (phone) await checkTouchFriendly(member, 'join page');
  await screenshot(member, `accounts-${size}-join.png`);
  await fillAll(member, { '#username': 'bob', '#name': 'Bob Lee', '#password': PASSWORD, '#password2': PASSWORD });
  await page.click('#join-submit');
  await waitPath(member, '/', HASH_MS);
  await waitInPage(member, 'the lobby with Bob signed in', () =>
    document.querySelector('#account-chip .user-chip__name').textContent === 'Bob Lee');
}

/** From the lobby into a room: signed in, there is no name to type anywhere. */
async function openRoom(user, room) {
  const { page } = user;
  await page.fill('#room', room);
  await page.click('#open-chat');
  await waitPath(user, `/chat/${room}`);
  await waitStatus(user, 'connected');
  const chip = await page.evaluate(() => {
    const a = document.getElementById('account-chip');
    return {
      shown: !a.hidden,
      name: a.querySelector('.user-chip__name').textContent,
      href: a.getAttribute('href'),
      nameForm: !document.getElementById('name-form').hidden,
      nameChip: !document.getElementById('user-chip').hidden,
    };
  });
  check(chip.shown && chip.name === user.name && chip.href === '/settings',
    `${user.label}'s chat does not show their account linking to the settings: ${JSON.stringify(chip)}`);
  check(!chip.nameForm && !chip.nameChip, `${user.label}'s chat asks for a name: ${JSON.stringify(chip)}`);
}

/** Every message on `user`'s page carries its author's username and display name. */
async function checkAuthors(user, expected) {
  const shown = await user.page.evaluate(() => Array.from(document.querySelectorAll('#messages li.msg'), (li) => ({
    user: li.dataset.user, sender: li.dataset.sender, own: li.classList.contains('msg--own'),
  })));
  const want = expected.map(([username, sender]) => ({ user: username, sender, own: sender === user.name }));
  check(JSON.stringify(shown) === JSON.stringify(want),
    `${user.label} shows the authors ${JSON.stringify(shown)}, expected ${JSON.stringify(want)}`);
}

/** The connection debugger says who the server knows the page as, and connects as them. */
async function debugAsSignedIn(admin, size) {
  const { page } = admin;
  await page.goto(`${baseUrl}/test-chat-debug`, { timeout: STEP_MS });
  await waitInPage(admin, 'the identity in the debugger\'s log and its sender field', () => {
    const line = document.querySelector('#event-log [data-event="identity"]');
    const sender = document.getElementById('user_id');
    return line && /signed in as Alice Martin \(@alice, admin\)/.test(line.textContent) &&
      sender.value === 'Alice Martin' && sender.readOnly;
  });
  await page.click('#connect-btn');
  await waitInPage(admin, 'the debugger connected', () =>
    document.querySelector('#event-log [data-event="connect"]') !== null);
  await screenshot(admin, `accounts-${size}-debug.png`);
  await page.click('#disconnect-btn');
}

/**
 * Bob signs out in his settings, opened in a second tab: the chat in the first tab goes
 * to the sign-in page by itself (the server drops the session's sockets). He fails once
 * with a wrong password, then signs in and is back in the chat.
 */
async function signOutAndBack(member, room, size, phone) {
  const { page } = member;
  const settings = await newTab(member, 'settings tab');
  await settings.page.goto(`${baseUrl}/settings`, { timeout: STEP_MS });
  await waitInPage(settings, 'a member\'s settings, without the admin sections', () =>
    !document.getElementById('sign-out').hidden && document.getElementById('invite').hidden &&
    document.getElementById('people').hidden);
  // The chat tab may ask the room's history over HTTP once before it learns why its
  // socket went: that request is refused.
  member.expectedErrors.push(REFUSED_401);
  await settings.page.click('#sign-out');
  await waitPath(settings, '/signin');
  const toSignIn = (url) => url.pathname === '/signin' && url.searchParams.get('next') === `/chat/${room}`;
  await waitPath(member, toSignIn);
  member.expectedErrors.pop();
  await settings.page.close();

  // Signed out, opening the chat leads to the sign-in page, and back to the chat after.
  await page.goto(`${baseUrl}/chat/${room}`, { timeout: STEP_MS });
  await waitPath(member, toSignIn);
  await waitInPage(member, 'the sign-in form', () => document.activeElement?.id === 'username');
  if (phone) await checkTouchFriendly(member, 'sign-in page');

  member.expectedErrors.push(REFUSED_401);
  await fillAll(member, { '#username': 'bob', '#password': 'not the password' });
  await page.click('#signin-submit');
  await waitInPage(member, '"Wrong username or password"', () => {
    const status = document.getElementById('signin-status');
    return !status.hidden && status.textContent === 'Wrong username or password';
  }, null, HASH_MS);
  await screenshot(member, `accounts-${size}-signin-wrong.png`);
  member.expectedErrors.pop();

  await page.fill('#password', PASSWORD);
  await page.click('#signin-submit');
  await waitPath(member, `/chat/${room}`, HASH_MS);
  await waitStatus(member, 'connected');
}

async function firstFiveMinutes(browser, size, options) {
  const phone = size === 'phone';
  const room = randomName('team');
  const admin = await newUser(browser, null, options);
  admin.label = 'Alice (admin)';
  await admin.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
  await setUpAdmin(admin, size, phone);
  const link = await copyJoinLink(admin, size, phone);

  const member = await newUser(browser, null, options);
  member.label = 'Bob (member)';
  await join(member, link, size, phone);

  admin.name = 'Alice Martin';
  member.name = 'Bob Lee';
  await admin.page.goto(`${baseUrl}/`, { timeout: STEP_MS });
  await openRoom(admin, room);
  await openRoom(member, room);
  await say(admin, 'Welcome aboard, Bob!', [member]);
  await say(member, 'Thanks Alice, glad to be here.', [admin]);
  await say(admin, 'The release checklist is pinned in #ops; shout if anything is unclear.', [member]);
  const authors = [['alice', 'Alice Martin'], ['bob', 'Bob Lee'], ['alice', 'Alice Martin']];
  await checkAuthors(admin, authors);
  await checkAuthors(member, authors);
  if (phone) await checkTouchFriendly(member, 'chat');
  await screenshot(admin, `accounts-${size}-chat-alice.png`);
  await screenshot(member, `accounts-${size}-chat-bob.png`);

  await debugAsSignedIn(admin, size);
  await signOutAndBack(member, room, size, phone);
  await screenshot(member, `accounts-${size}-chat-again.png`);
}

runScenarios({
  usage: USAGE,
  scenarios: {
    desktop: (browser) => firstFiveMinutes(browser, 'desktop', { viewport: DESKTOP }),
    phone: (browser) => firstFiveMinutes(browser, 'phone', PHONE),
  },
  limitMs: SCENARIO_MS,
});
