// What the browser scenarios (browser.mjs, accounts.mjs) share: Debian Chromium through
// playwright-core, people in their own browser contexts with every console error, CSP
// violation, uncaught exception and dialog recorded as a problem, waits that fail with
// a picture of the page, and the command line that runs one scenario.
//
// A scenario script calls runScenarios(); `baseUrl` is set before its scenario starts.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { check, describeError, fail, parseBaseUrl, sleep } from './lib.mjs';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync', '--disable-quic',
];
export const DESKTOP = { width: 1280, height: 800 };
const NAME_KEY = 'parley.name'; // where the lobby and chat page keep the user's name

// Upper bounds for waits. The page's own timings (chat.js) set the floors: HTTP polling
// every 3 s while the socket is down, reconnect backoff capped at 5 s (+50 % jitter).
export const STEP_MS = 6000; // something the page does at once (render, ack, connect)

// Console lines Chromium prints by itself when a request fails. Expected only in the
// scenarios that cut the network on purpose; anything else in the console is a failure.
const NETWORK_NOISE = /^Failed to load resource: net::ERR_|^WebSocket connection to '[^']*' failed/;

/** The server under test, `http://127.0.0.1:PORT`. */
export let baseUrl;
let artifactsDir = null;
export const notes = []; // measurements printed before `ok`, for the test log
const users = []; // everyone opened by the scenario, checked for problems at the end

// ---------------------------------------------------------------- users and pages

/**
 * A person in their own browser context (own localStorage, own cookies, own
 * connection), with everything that would be a visible or console-level problem
 * recorded in `problems`. `name` is stored before the first page loads, as the lobby
 * would have done; `networkErrors` allows Chromium's own "request failed" console lines;
 * `context` adds options for the browser context (a phone's isMobile and hasTouch).
 * A console error matching one of `user.expectedErrors` is a step's intended refusal
 * (Chromium logs every 4xx answer to a fetch), not a problem.
 */
export async function newUser(browser, name, { viewport = DESKTOP, networkErrors = false, context: options = {} } = {}) {
  const context = await browser.newContext({ viewport, ...options });
  const problems = [];
  const label = name || 'anonymous';
  // CSP violations do reach the console too, but this also catches those reported
  // without a console line (e.g. in report-only mode).
  await context.exposeFunction('__parleyCspViolation', (what) => problems.push(`CSP violation: ${what}`));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__parleyCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline code'}`);
    });
  });
  if (name) await context.addInitScript(([key, value]) => localStorage.setItem(key, value), [NAME_KEY, name]);
  const user = { name, label, context, page: await context.newPage(), problems, expectedErrors: [], networkErrors };
  watch(user, user.page, '');
  users.push(user);
  return user;
}

/** Records `page`'s problems among `user`'s, each starting with `prefix`. */
function watch(user, page, prefix) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    if (user.networkErrors && NETWORK_NOISE.test(msg.text())) return;
    if (user.expectedErrors.some((re) => re.test(msg.text()))) return;
    user.problems.push(`${prefix}console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => user.problems.push(`${prefix}uncaught exception: ${err.message}`));
  page.on('dialog', (dialog) => {
    user.problems.push(`${prefix}dialog (${dialog.type()}): ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
}

/**
 * A second tab of `user` (same context: same cookies and storage), watched the same
 * way; it is `user` with another page and `label`.
 */
export async function newTab(user, label) {
  const tab = { ...user, label, page: await user.context.newPage() };
  watch(user, tab.page, `${label}: `);
  return tab;
}

function browserProblems() {
  return users.flatMap((u) => u.problems.map((p) => `${u.label}: ${p}`));
}

/** A short picture of a page for failure messages: address, indicator, typing line, messages. */
async function describePage(user) {
  try {
    return await user.page.evaluate(() => {
      const status = document.getElementById('connection-status');
      const rows = Array.from(document.querySelectorAll('#messages li.msg'), (li) =>
        `[${li.dataset.id || 'no id'} ${li.dataset.sender} ${li.dataset.state}] ${li.querySelector('.msg__bubble')?.textContent}`);
      const alerts = Array.from(document.querySelectorAll('[role="alert"]:not([hidden])'), (el) => el.textContent.trim())
        .filter(Boolean);
      return `${location.pathname}${location.search} status=${status?.dataset.state}/${status?.dataset.transport || '-'} ` +
        `typing=${JSON.stringify(document.getElementById('typing-indicator')?.textContent || '')} ` +
        `alerts=${JSON.stringify(alerts)} messages:\n    ${rows.join('\n    ') || '(none)'}`;
    });
  } catch (err) {
    return `(page not readable: ${err.message})`;
  }
}

/** page.waitForFunction with a readable failure that shows the page's state. */
export async function waitInPage(user, what, predicate, arg, ms = STEP_MS) {
  try {
    await user.page.waitForFunction(predicate, arg, { timeout: ms, polling: 50 });
  } catch (err) {
    if (!/Timeout/i.test(err.message)) throw err;
    fail(`${user.label}: timed out after ${ms} ms waiting for ${what}; page: ${await describePage(user)}`);
  }
}

/**
 * Waits for the page to be at `path` (after a redirect, say): path and query, or a
 * predicate of the URL.
 */
export async function waitPath(user, path, ms = STEP_MS) {
  const arrived = typeof path === 'function' ? path : (url) => url.pathname + url.search === path;
  try {
    await user.page.waitForURL(arrived, { timeout: ms });
  } catch (err) {
    if (!/Timeout/i.test(err.message)) throw err;
    fail(`${user.label}: timed out after ${ms} ms waiting for ${path}; page: ${await describePage(user)}`);
  }
}

/** Waits for the connection indicator to show `state` (and `transport`, if given). */
export async function waitStatus(user, state, transport = null, ms = STEP_MS) {
  const what = `connection indicator ${state}${transport ? ' via ' + transport : ''}`;
  await waitInPage(user, what, ([s, t]) => {
    const el = document.getElementById('connection-status');
    return el && el.dataset.state === s && (!t || el.dataset.transport === t);
  }, [state, transport], ms);
}

/** Types `text` into the message box and submits the form with Enter, as a person does. */
export async function send(user, text) {
  await user.page.fill('#message-input', text);
  await user.page.press('#message-input', 'Enter');
}

/**
 * Waits until `viewer` shows `text` exactly once, confirmed by the server (has an id,
 * data-state="sent"), from `sender`, marked own exactly when the viewer sent it.
 */
export async function waitMessage(viewer, text, sender, ms = STEP_MS) {
  const own = sender === viewer.name;
  await waitInPage(viewer, `${JSON.stringify(text)} from ${sender} shown once`, ([t, s, o]) => {
    const hits = Array.from(document.querySelectorAll('#messages li.msg'))
      .filter((li) => li.querySelector('.msg__bubble')?.textContent === t);
    if (hits.length !== 1) return false;
    const li = hits[0];
    return Boolean(li.dataset.id) && li.dataset.state === 'sent' && li.dataset.sender === s &&
      li.classList.contains('msg--own') === o;
  }, [text, sender, own], ms);
}

/** `from` sends `text`; it must reach "sent" at `from` and appear at every other viewer. */
export async function say(from, text, viewers, ms = STEP_MS) {
  const started = Date.now();
  await send(from, text);
  await Promise.all([from, ...viewers].map((v) => waitMessage(v, text, from.name, ms)));
  return Date.now() - started;
}

/** Saves what `user` sees (the whole page with `fullPage`) as `file` among the artifacts. */
export async function screenshot(user, file, { fullPage = false } = {}) {
  if (!artifactsDir) return;
  await user.page.screenshot({ path: join(artifactsDir, file), fullPage, timeout: STEP_MS });
}

// ---------------------------------------------------------------- main

/**
 * The command line of a scenario script: `<scenario> http://127.0.0.1:PORT
 * [artifacts-dir]`. Runs the scenario (a function of the browser) with an overall time
 * limit, then fails if any page had a problem; prints `ok <scenario>` and exits 0, or
 * exits 1 with the reason (2 for a bad command line).
 */
export async function runScenarios({ usage, scenarios, limitMs }) {
  const [scenario, url, artifacts] = process.argv.slice(2);
  const run = scenarios[scenario];
  if (!run) {
    console.error(`usage: ${usage}\nscenarios: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }
  baseUrl = parseBaseUrl(url, usage);
  if (artifacts) {
    artifactsDir = artifacts;
    mkdirSync(artifactsDir, { recursive: true });
  }
  // A last resort: whatever hangs, the script ends with a reason instead of never.
  setTimeout(() => {
    console.error(`${scenario}: gave up after ${limitMs} ms`);
    process.exit(1);
  }, limitMs).unref();

  let browser;
  let code = 0;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: STEP_MS * 2 });
    await run(browser);
    const problems = browserProblems();
    check(problems.length === 0, `problems in the browser:\n  ${problems.join('\n  ')}`);
    for (const note of notes) console.log(`note: ${note}`);
    console.log(`ok ${scenario}`);
  } catch (err) {
    console.error(`${scenario} failed: ${describeError(err)}`);
    // An uncaught exception in the page often is the reason a wait timed out.
    for (const problem of browserProblems()) console.error(`  also: ${problem}`);
    code = 1;
  } finally {
    if (browser) await Promise.race([browser.close(), sleep(5000)]);
  }
  process.exit(code);
}
