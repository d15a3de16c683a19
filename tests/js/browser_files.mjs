// Sharing files from the chat page in Debian Chromium driven by playwright-core (README
// "Files"). Every check is about what a person sees, or gets when they click.
//
// Usage: node tests/js/browser_files.mjs <scenario> http://127.0.0.1:PORT [artifacts-dir]
//   share       accounts mode (alice in light, bob in dark, made by tests/browser_files.rs):
//               alice attaches a PNG with the button: bob sees its preview (thumbnail,
//               width/height set, lazy, a link to the full image in a new tab) with no
//               duplicate caption; alice drops a PDF onto the conversation (the drop
//               zone shows while dragging): bob sees a chip with name, size and a
//               download link that gives back the exact bytes; bob pastes an image into
//               the message box: alice sees its preview; after a reload the history
//               shows the same, each once
//   open-limit  open mode with --max-upload 1 MiB: an image uploads with the typed name
//               as sender and shows on the other page; a 1.5 MiB file says
//               "File too large (max 1 MB)" and can be removed
// Exit 0 printing `ok <scenario>`, or 1 with the reason; screenshots go to
// artifacts-dir as files-<scenario>-<step>.png.

import { check } from './lib.mjs';
import { DESKTOP, STEP_MS, baseUrl, newUser, runScenarios, screenshot, waitInPage, waitStatus } from './pages.mjs';

const USAGE = 'node browser_files.mjs <scenario> http://127.0.0.1:PORT [artifacts-dir]';
const PASSWORD = 'correct horse battery';
const SIGN_IN_MS = 20000;
const SCENARIO_MS = 150000;

// ---------------------------------------------------------------- helpers

async function person(browser, username, colorScheme) {
  const user = await newUser(browser, null, { viewport: DESKTOP, context: { colorScheme } });
  Object.assign(user, { username, label: username });
  const res = await user.context.request.post(`${baseUrl}/api/session`, {
    data: { username, password: PASSWORD }, headers: { Origin: baseUrl }, timeout: SIGN_IN_MS,
  });
  check(res.status() === 200, `${username} cannot sign in: HTTP ${res.status()} ${await res.text()}`);
  return user;
}

async function openChat(user, room) {
  await user.page.goto(`${baseUrl}/chat/${room}`, { timeout: STEP_MS });
  await waitStatus(user, 'connected');
}

/**
 * A PNG of `w`×`h` drawn in `user`'s page (a gradient and a label, so the screenshots
 * show something), as base64.
 */
function pngIn(user, w, h, label) {
  return user.page.evaluate(async ([w, h, label]) => {
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    const g = c.getContext('2d');
    const grad = g.createLinearGradient(0, 0, w, h);
    grad.addColorStop(0, '#6366f1');
    grad.addColorStop(1, '#f59e0b');
    g.fillStyle = grad;
    g.fillRect(0, 0, w, h);
    g.fillStyle = '#ffffff';
    g.font = `bold ${Math.round(h / 8)}px sans-serif`;
    g.fillText(label, w / 12, h / 2);
    const blob = await new Promise((resolve) => c.toBlob(resolve, 'image/png'));
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  }, [w, h, label]);
}

/** What `viewer` shows for the message with the file `name`: null until it is there, confirmed, once. */
function fileRow(viewer, name) {
  return viewer.page.evaluate((n) => {
    const rows = Array.from(document.querySelectorAll('#messages li.msg')).filter((li) =>
      Array.from(li.querySelectorAll('.file-chip__name, .file-image__img')).some((e) => (e.alt || e.textContent) === n));
    if (rows.length !== 1 || !rows[0].dataset.id || rows[0].dataset.state !== 'sent') return { count: rows.length };
    const li = rows[0];
    const img = li.querySelector('img.file-image__img');
    const chip = li.querySelector('a.file-chip');
    const bubble = li.querySelector('.msg__bubble');
    return {
      count: 1,
      id: li.dataset.id,
      captionShown: getComputedStyle(bubble).display !== 'none',
      image: img && {
        src: img.getAttribute('src'), width: img.getAttribute('width'), height: img.getAttribute('height'),
        loading: img.loading, loaded: img.complete && img.naturalWidth > 0,
        href: img.closest('a').getAttribute('href'), target: img.closest('a').target,
      },
      chip: chip && {
        href: chip.getAttribute('href'), name: chip.querySelector('.file-chip__name').textContent,
        size: chip.querySelector('.file-chip__size').textContent,
      },
    };
  }, name);
}

async function waitFile(viewer, name, ms = STEP_MS) {
  await waitInPage(viewer, `${name} shown once, sent`, (n) => {
    const rows = Array.from(document.querySelectorAll('#messages li.msg[data-id]')).filter((li) =>
      Array.from(li.querySelectorAll('.file-chip__name, .file-image__img')).some((e) => (e.alt || e.textContent) === n));
    if (rows.length !== 1 || rows[0].dataset.state !== 'sent') return false;
    const img = rows[0].querySelector('img.file-image__img');
    return !img || (img.complete && img.naturalWidth > 0);
  }, name, ms);
  const row = await fileRow(viewer, name);
  check(row.count === 1, `${viewer.label} shows ${name} ${row.count} times`);
  return row;
}

function checkImage(row, who, name) {
  check(row.image, `${who}: ${name} is not shown as an image: ${JSON.stringify(row)}`);
  check(/^\/files\/[^/]+\/thumb$/.test(row.image.src), `${who}: preview src ${row.image.src}`);
  check(row.image.width && row.image.height, `${who}: preview without width/height`);
  check(row.image.loading === 'lazy', `${who}: preview loading=${row.image.loading}`);
  check(row.image.href.endsWith('/' + encodeURIComponent(name)) && row.image.target === '_blank',
    `${who}: preview link ${row.image.href} target ${row.image.target}`);
  check(!row.captionShown, `${who}: ${name} repeats its name as a caption`);
}

/** Dispatches drag events carrying `file` (base64 bytes) onto the conversation, as a drop does. */
function dropFile(user, name, type, base64, { stopBeforeDrop = false } = {}) {
  return user.page.evaluate(([name, type, b64, stop]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], name, { type }));
    const target = document.getElementById('scroller');
    target.dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));
    target.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }));
    if (stop) return !document.getElementById('drop-zone').hidden;
    target.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
    return document.getElementById('drop-zone').hidden;
  }, [name, type, base64, stopBeforeDrop]);
}

// ---------------------------------------------------------------- scenarios

async function share(browser) {
  const alice = await person(browser, 'alice', 'light');
  const bob = await person(browser, 'bob', 'dark');
  await openChat(alice, 'general');
  await openChat(bob, 'general');

  // An image with the attach button (the file picker's input).
  const png = await pngIn(alice, 640, 400, 'Roadmap');
  await alice.page.setInputFiles('#file-input', { name: 'roadmap.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });
  const mine = await waitFile(alice, 'roadmap.png');
  const theirs = await waitFile(bob, 'roadmap.png');
  checkImage(mine, 'alice', 'roadmap.png');
  checkImage(theirs, 'bob', 'roadmap.png');
  check(theirs.image.width === '320' && theirs.image.height === '200', `preview size ${theirs.image.width}×${theirs.image.height}`);
  const full = await bob.page.evaluate(async (href) => {
    const r = await fetch(href);
    return { status: r.status, type: r.headers.get('content-type'), size: (await r.arrayBuffer()).byteLength };
  }, theirs.image.href);
  check(full.status === 200 && full.type === 'image/png' && full.size === Buffer.from(png, 'base64').length,
    `the full image: ${JSON.stringify(full)}`);

  // A document dropped onto the conversation: the drop zone shows while dragging.
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n% Parley test\n'), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 37) % 256))]);
  const zoneShown = await dropFile(alice, 'Q3 report.pdf', 'application/pdf', pdf.toString('base64'), { stopBeforeDrop: true });
  check(zoneShown, 'no drop zone while dragging a file over the conversation');
  await screenshot(alice, 'files-share-drop-zone.png');
  const zoneGone = await dropFile(alice, 'Q3 report.pdf', 'application/pdf', pdf.toString('base64'));
  check(zoneGone, 'the drop zone stays after the drop');
  const doc = await waitFile(bob, 'Q3 report.pdf');
  check(doc.chip, `the PDF is not a chip: ${JSON.stringify(doc)}`);
  check(doc.chip.size === '3 KB', `chip size ${doc.chip.size}`);
  check(!doc.captionShown, 'the PDF repeats its name as a caption');
  const got = await bob.page.evaluate(async (href) => {
    const r = await fetch(href);
    const bytes = new Uint8Array(await r.arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return { status: r.status, disposition: r.headers.get('content-disposition'), b64: btoa(s) };
  }, doc.chip.href);
  check(got.status === 200, `download: HTTP ${got.status}`);
  check(/^attachment/.test(got.disposition || ''), `download disposition ${got.disposition}`);
  check(got.b64 === pdf.toString('base64'), 'the download is not the bytes that were dropped');
  await waitFile(alice, 'Q3 report.pdf');

  // An image pasted into the message box.
  const shot = await pngIn(bob, 300, 500, 'Paste');
  await bob.page.focus('#message-input');
  await bob.page.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'screenshot.png', { type: 'image/png' }));
    document.getElementById('message-input').dispatchEvent(
      new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: dt }));
  }, shot);
  const pasted = await waitFile(alice, 'screenshot.png');
  checkImage(pasted, 'alice', 'screenshot.png');
  check(pasted.image.width === '192' && pasted.image.height === '320', `pasted preview size ${pasted.image.width}×${pasted.image.height}`);
  await waitFile(bob, 'screenshot.png');
  check(await bob.page.inputValue('#message-input') === '', 'the paste put text into the message box');

  // A caption other than the file name is shown; a text message still works among files.
  await alice.page.fill('#message-input', 'Here are the files for Tuesday');
  await alice.page.press('#message-input', 'Enter');
  await waitInPage(bob, 'the text message', () => Array.from(document.querySelectorAll('#messages .msg__bubble'))
    .some((b) => b.textContent === 'Here are the files for Tuesday'));

  await screenshot(alice, 'files-share-light.png');
  await screenshot(bob, 'files-share-dark.png');

  // History draws the same, each once.
  await bob.page.reload();
  await waitStatus(bob, 'connected');
  for (const name of ['roadmap.png', 'Q3 report.pdf', 'screenshot.png']) await waitFile(bob, name);
  checkImage(await fileRow(bob, 'roadmap.png'), 'bob after reload', 'roadmap.png');
  await screenshot(bob, 'files-share-history-dark.png');
}

async function openLimit(browser) {
  const ann = await newUser(browser, 'Ann', { viewport: DESKTOP, context: { colorScheme: 'light' } });
  const ben = await newUser(browser, 'Ben', { viewport: DESKTOP, context: { colorScheme: 'dark' } });
  await openChat(ann, 'design');
  await openChat(ben, 'design');

  const png = await pngIn(ann, 400, 400, 'Logo');
  await ann.page.setInputFiles('#file-input', { name: 'logo.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });
  checkImage(await waitFile(ben, 'logo.png'), 'ben', 'logo.png');
  const sender = await ben.page.evaluate(() => document.querySelector('#messages li.msg[data-id]').dataset.sender);
  check(sender === 'Ann', `the upload's sender is ${sender}`);

  // Over the limit: the browser logs the 413 itself.
  ann.expectedErrors.push(/status of 413/);
  const big = Buffer.alloc(1536 * 1024, 7);
  await ann.page.setInputFiles('#file-input', { name: 'video.bin', mimeType: 'application/octet-stream', buffer: big });
  await waitInPage(ann, 'the upload refused as too large', () => {
    const li = Array.from(document.querySelectorAll('#messages li.msg')).find((l) => l.dataset.upload === 'failed');
    return li && li.dataset.state === 'failed' && li.querySelector('.msg__status').textContent.includes('File too large (max 1 MB)');
  });
  await screenshot(ann, 'files-open-limit-error.png');
  const others = await ben.page.evaluate(() => document.querySelectorAll('#messages li.msg').length);
  check(others === 1, `ben shows ${others} messages`);
  await ann.page.click('#messages li.msg[data-upload="failed"] .msg__status button');
  await waitInPage(ann, 'the failed upload removed', () => !document.querySelector('#messages li.msg[data-upload="failed"]'));
  await screenshot(ben, 'files-open-limit-dark.png');
}

runScenarios({
  usage: USAGE,
  scenarios: { share, 'open-limit': openLimit },
  limitMs: SCENARIO_MS,
});
