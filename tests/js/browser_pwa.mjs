// The installable app in a real browser (README, "HTTPS" and "Installing the app"): Debian
// Chromium, driven by playwright-core, loads Parley over HTTPS from a --tls-self-signed
// server. The browser trusts that one certificate by its public key
// (--ignore-certificate-errors-spki-list), not by ignoring certificate errors in general,
// so the page is a real secure context. Checked, as a person (and Chromium) would:
//   - the service worker registers with scope `/` and controls the page;
//   - the manifest is served as application/manifest+json with its name, start_url,
//     display, theme and icons (192, 512 and a maskable 512, real PNGs of those sizes),
//     and Chromium itself finds no manifest error and no installability error (CDP
//     Page.getAppManifest, Page.getInstallabilityErrors);
//   - the chat page works over WSS, and no API answer or message is in any cache;
//   - when the server stops, reloading shows the offline shell, "offline, retrying", at the
//     page's own address, and an API request fails instead of being answered from a cache;
//     when it is back the page returns by itself.
//
// Usage: node tests/js/browser_pwa.mjs https://127.0.0.1:PORT CERT_PEM [artifacts-dir]
// The server is stopped and started by the test (tests/browser_pwa.rs), one line each way:
//   script → READY_TO_STOP    test → STOPPED
//   script → READY_TO_START   test → STARTED
// Exit 0 printing `ok pwa`, or 1 with the reason.

import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { check, describeError, fail, parseBaseUrl, sleep, within } from './lib.mjs';

const USAGE = 'node browser_pwa.mjs https://127.0.0.1:PORT CERT_PEM [artifacts-dir]';
const CHROMIUM = '/usr/bin/chromium';
const STEP_MS = 8000;
const BACK_MS = 25000; // the offline shell retries after 1, 1.5, 2.3, 3.4, 5.1… s
const SCENARIO_MS = 90000;
const ROOM = 'pwa-room';
const NAME = 'Pia';
// Chromium's own console lines for requests that failed: expected once the server is down.
const NETWORK_NOISE = /^Failed to load resource: net::ERR_|^WebSocket connection to '[^']*' failed/;

const [url, certFile, artifacts] = process.argv.slice(2);
const baseUrl = parseBaseUrl(url, USAGE);
check(baseUrl.startsWith('https://'), `usage: ${USAGE}`);
if (artifacts) mkdirSync(artifacts, { recursive: true });

const problems = [];
let serverDown = false;

// ---------------------------------------------------------------- the test's side

const lines = createInterface({ input: process.stdin });
const waiting = [];
lines.on('line', (line) => waiting.shift()?.(line.trim()));
function tell(line) { console.log(line); }
function hear(expected) {
  return within(new Promise((resolve, reject) => {
    waiting.push((line) => (line === expected ? resolve() : reject(new Error(`expected ${expected}, got ${line}`))));
  }), 30000, `"${expected}" from the test`);
}

// ---------------------------------------------------------------- helpers

/** base64(SHA-256(SubjectPublicKeyInfo)): what --ignore-certificate-errors-spki-list takes. */
function spkiHash(pem) {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

async function shot(page, file) {
  if (artifacts) await page.screenshot({ path: join(artifacts, file), timeout: STEP_MS });
}

async function waitIn(page, what, predicate, arg, ms = STEP_MS) {
  try {
    await page.waitForFunction(predicate, arg, { timeout: ms, polling: 100 });
  } catch (err) {
    if (!/Timeout/i.test(err.message)) throw err;
    const where = await page.evaluate(() => `${location.href}: ${document.body?.innerText.slice(0, 300)}`).catch((e) => e.message);
    fail(`timed out after ${ms} ms waiting for ${what}; page at ${where}`);
  }
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes) {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  check(signature.every((b, i) => bytes[i] === b), 'not a PNG');
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return `${view.getUint32(16)}x${view.getUint32(20)}`;
}

// ---------------------------------------------------------------- steps

async function serviceWorkerControls(page) {
  const registration = await within(page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return { scope: reg.scope, script: reg.active && reg.active.scriptURL };
  }), STEP_MS, 'the service worker to be ready');
  check(registration.scope === `${baseUrl}/`, `service worker scope ${registration.scope}`);
  check(registration.script === `${baseUrl}/sw.js`, `service worker script ${registration.script}`);
  // clients.claim(): the page that registered it is controlled without a reload.
  await waitIn(page, 'the service worker to control the page', () => navigator.serviceWorker.controller !== null);
}

async function manifestIsValid(page) {
  const manifest = await page.evaluate(async () => {
    const link = document.querySelector('link[rel="manifest"]');
    const res = await fetch(link.href);
    return { link: link.href, status: res.status, type: res.headers.get('content-type'), body: await res.json() };
  });
  check(manifest.link === `${baseUrl}/manifest.webmanifest`, `manifest link ${manifest.link}`);
  check(manifest.status === 200 && manifest.type === 'application/manifest+json', `manifest: ${manifest.status} ${manifest.type}`);
  const m = manifest.body;
  check(m.name === 'Parley' && m.short_name === 'Parley', `name ${m.name} / ${m.short_name}`);
  check(m.start_url === '/' && m.scope === '/' && m.display === 'standalone', `start_url ${m.start_url}, scope ${m.scope}, display ${m.display}`);
  check(/^#[0-9a-f]{6}$/i.test(m.theme_color) && /^#[0-9a-f]{6}$/i.test(m.background_color), `colours ${m.theme_color} ${m.background_color}`);
  const wanted = [['192x192', 'any'], ['512x512', 'any'], ['512x512', 'maskable']];
  for (const [sizes, purpose] of wanted) {
    const icon = m.icons.find((i) => i.sizes === sizes && (i.purpose || 'any').split(' ').includes(purpose));
    check(icon, `no ${sizes} ${purpose} icon in ${JSON.stringify(m.icons)}`);
    const fetched = await page.evaluate(async (src) => {
      const res = await fetch(src);
      return { status: res.status, type: res.headers.get('content-type'), bytes: Array.from(new Uint8Array(await res.arrayBuffer()).slice(0, 32)) };
    }, icon.src);
    check(fetched.status === 200 && fetched.type === 'image/png', `${icon.src}: ${fetched.status} ${fetched.type}`);
    check(pngSize(Uint8Array.from(fetched.bytes)) === sizes, `${icon.src} is ${pngSize(Uint8Array.from(fetched.bytes))}, not ${sizes}`);
  }
  const worker = await page.evaluate(async () => {
    const res = await fetch('/sw.js');
    return { status: res.status, type: res.headers.get('content-type') };
  });
  check(worker.status === 200 && worker.type.startsWith('text/javascript'), `/sw.js: ${worker.status} ${worker.type}`);
}

/** Chromium's own verdict: the manifest parses without errors and nothing stops installing. */
async function installable(context, page) {
  const cdp = await context.newCDPSession(page);
  const manifest = await cdp.send('Page.getAppManifest');
  check(manifest.url === `${baseUrl}/manifest.webmanifest`, `Chromium read the manifest from ${manifest.url}`);
  check(manifest.errors.length === 0, `manifest errors: ${JSON.stringify(manifest.errors)}`);
  // The check needs the worker active; it is, but give Chromium a moment to notice.
  let errors = null;
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    ({ installabilityErrors: errors } = await cdp.send('Page.getInstallabilityErrors'));
    if (errors.length === 0 || Date.now() > deadline) break;
    await sleep(250);
  }
  check(errors.length === 0, `installability errors: ${JSON.stringify(errors)}`);
  await cdp.detach();
}

async function chatOverWss(page) {
  await page.goto(`${baseUrl}/chat/${ROOM}`, { timeout: STEP_MS });
  await waitIn(page, 'the chat connected over WebSocket', () => {
    const el = document.getElementById('connection-status');
    return el && el.dataset.state === 'connected' && el.dataset.transport === 'websocket';
  });
  await page.fill('#message-input', 'hello over wss');
  await page.press('#message-input', 'Enter');
  await waitIn(page, 'the message confirmed', () => Array.from(document.querySelectorAll('#messages li.msg'))
    .some((li) => li.dataset.state === 'sent' && li.dataset.id && li.textContent.includes('hello over wss')));
  await shot(page, 'pwa-chat.png');
}

async function nothingDynamicCached(page) {
  const cached = await page.evaluate(async () => {
    const urls = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) urls.push(new URL(request.url).pathname);
    }
    return urls;
  });
  check(cached.includes('/assets/offline.html'), `the offline shell is not cached: ${JSON.stringify(cached)}`);
  const dynamic = cached.filter((p) => !p.startsWith('/assets/'));
  check(dynamic.length === 0, `cached besides the shell's files: ${JSON.stringify(dynamic)}`);
}

async function offlineShell(page) {
  await page.reload({ timeout: STEP_MS }).catch(() => {});
  await waitIn(page, '"offline, retrying"', () => document.getElementById('offline-status')?.textContent === 'offline, retrying');
  const where = await page.evaluate(() => location.pathname);
  check(where === `/chat/${ROOM}`, `the offline shell moved the address to ${where}`);
  const api = await page.evaluate(async (room) => {
    try {
      const res = await fetch(`/api/rooms/${room}/messages`);
      return `answered ${res.status}`;
    } catch (err) {
      return 'failed';
    }
  }, ROOM);
  check(api === 'failed', `with the server down, the API ${api} (from a cache?)`);
  await shot(page, 'pwa-offline.png');
}

async function backByItself(page) {
  await waitIn(page, 'the chat page back, connected', () => {
    const el = document.getElementById('connection-status');
    return el && el.dataset.state === 'connected';
  }, null, BACK_MS);
  await waitIn(page, 'the message from before the outage', () => Array.from(document.querySelectorAll('#messages li.msg'))
    .some((li) => li.dataset.id && li.textContent.includes('hello over wss')));
}

// ---------------------------------------------------------------- main

async function main() {
  const profile = mkdtempSync(join(tmpdir(), 'parley-pwa-'));
  // A persistent profile: Chromium does not offer to install from an incognito context,
  // which is what playwright's other contexts are.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    timeout: STEP_MS * 2,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic',
      `--ignore-certificate-errors-spki-list=${spkiHash(readFileSync(certFile))}`,
    ],
  });
  try {
    await context.addInitScript(([name]) => localStorage.setItem('parley.name', name), [NAME]);
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      if (serverDown && NETWORK_NOISE.test(msg.text())) return;
      problems.push(`console error: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`uncaught exception: ${err.message}`));

    await page.goto(`${baseUrl}/`, { timeout: STEP_MS });
    const secure = await page.evaluate(() => window.isSecureContext && location.protocol);
    check(secure === 'https:', `the page is not a secure HTTPS context: ${secure}`);
    await serviceWorkerControls(page);
    await manifestIsValid(page);
    await installable(context, page);
    await chatOverWss(page);
    await nothingDynamicCached(page);

    serverDown = true;
    tell('READY_TO_STOP');
    await hear('STOPPED');
    await offlineShell(page);
    tell('READY_TO_START');
    await hear('STARTED');
    await backByItself(page);
    serverDown = false;
    check(problems.length === 0, `problems in the browser:\n  ${problems.join('\n  ')}`);
  } finally {
    await Promise.race([context.close(), sleep(5000)]);
    rmSync(profile, { recursive: true, force: true });
  }
}

setTimeout(() => {
  console.error(`pwa: gave up after ${SCENARIO_MS} ms`);
  process.exit(1);
}, SCENARIO_MS).unref();

try {
  await main();
  console.log('ok pwa');
  process.exit(0);
} catch (err) {
  console.error(`pwa failed: ${describeError(err)}`);
  for (const problem of problems) console.error(`  also: ${problem}`);
  process.exit(1);
}
