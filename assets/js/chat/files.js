/*
 * chat/files.js: sharing files in the room on screen, and showing the files a message
 * carries. A file comes from the attach button (several at once), from a drop onto the
 * conversation (a drop zone shows while something is dragged over it) or from pasting
 * an image; each file is its own upload and so its own message
 * (POST /api/rooms/{room}/files, the raw bytes with the file's type, the server's
 * contract in README "Files").
 *
 * An upload is shown at once as our own echo, as sending.js does for text: a preview
 * (the picture itself for an image, a chip otherwise), "Uploading… 42 %", and then the
 * server's message in its place (render.js swaps it in by client_id, so the broadcast
 * and the upload's answer make one row), or "Not sent" with the reason and a Retry that
 * reuses the client_id, which the server deduplicates. XMLHttpRequest rather than fetch
 * because only it reports upload progress; like fetch, it sends the Origin header and
 * the session cookie of this same-origin page.
 *
 * A message's files (drawFiles, called by message.js for every copy of a message) are
 * images shown inline from their thumbnail, at the size the server gave (so nothing
 * jumps when they load), opening the full image in a new tab, and other files as a chip
 * with a download link. Names and sizes are set with textContent and ids are checked,
 * so a message's data never becomes markup or a foreign address.
 */

import { goToSignIn } from '../account.js';
import { element, newClientId } from '../page.js';
import { icon } from './icons.js';
import { showNameForm } from './name.js';
import { backToLive } from './jump.js';
import { regroup, renderLive, scrollToBottom, setMsgState, setTime, updateEmpty, buildMessage } from './render.js';
import { els, state } from './state.js';

const PREVIEW_MAX = 320;   // px: the longest side of an inline image
const FILE_ID = /^[A-Za-z0-9_-]{1,128}$/;
const MB = 1024 * 1024;
const LOCAL_PREVIEW_MAX = 8 * MB; // a picture larger than this is previewed as a chip until sent

const ui = {
  button: document.getElementById('attach-button'),
  input: document.getElementById('file-input'),
  dropZone: document.getElementById('drop-zone'),
  dropText: document.getElementById('drop-zone-text'),
};

// ---------- sizes and names ----------

/** "512 B", "12 KB", "3.4 MB". */
export function formatSize(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1024) return bytes + ' B';
  if (bytes < MB) return Math.round(bytes / 1024) + ' KB';
  const mb = bytes / MB;
  return (mb < 10 ? mb.toFixed(1) : String(Math.round(mb))) + ' MB';
}

/** "25 MB", "1.5 MB": a limit in bytes as people say it. */
function limitText(bytes) {
  const mb = bytes / MB;
  return (Number.isInteger(mb) ? String(mb) : String(Math.round(mb * 10) / 10)) + ' MB';
}

/** A file's address: its id and name are the server's, but checked and encoded all the same. */
function fileUrl(f, part) {
  return '/files/' + encodeURIComponent(f.id) + '/' + (part === 'thumb' ? 'thumb' : encodeURIComponent(f.name));
}

/** The files of `m` that can be shown: an id, a name, a size. */
function validFiles(m) {
  if (!Array.isArray(m.files)) return [];
  return m.files.filter((f) => f && typeof f.id === 'string' && FILE_ID.test(f.id) && typeof f.name === 'string' &&
    typeof f.size === 'number');
}

function isImage(f) {
  return typeof f.width === 'number' && typeof f.height === 'number' && f.width > 0 && f.height > 0;
}

/** The inline size of an image: its own, scaled down to fit PREVIEW_MAX. */
function previewSize(width, height) {
  const scale = Math.min(1, PREVIEW_MAX / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

// ---------- a message's files ----------

function imageTile(f) {
  const link = element('a', 'file-image');
  link.href = fileUrl(f, 'full');
  link.target = '_blank';
  link.rel = 'noopener';
  link.title = f.name + ' · ' + formatSize(f.size) + ' · opens in a new tab';
  const img = element('img', 'file-image__img');
  const size = previewSize(f.width, f.height);
  img.width = size.width;
  img.height = size.height;
  img.loading = 'lazy';
  img.decoding = 'async';
  img.alt = f.name;
  img.src = fileUrl(f, 'thumb');
  link.append(img);
  return link;
}

function fileChip(f) {
  const chip = element('a', 'file-chip');
  chip.href = fileUrl(f, 'full');
  chip.download = f.name;
  chip.title = 'Download ' + f.name;
  const body = element('span', 'file-chip__body');
  body.append(element('span', 'file-chip__name', f.name), element('span', 'file-chip__size', formatSize(f.size)));
  const badge = element('span', 'file-chip__icon');
  badge.append(icon('file'));
  const get = element('span', 'file-chip__get');
  get.append(icon('download'));
  chip.append(badge, body, get);
  return chip;
}

/**
 * Shows in row `li` the files of message `m` (nothing when it has none). The files of a
 * message never change, so a redraw (an edit, a reaction) keeps the images it loaded. A
 * message whose text is only its file's name shows the file without that caption.
 */
export function drawFiles(li, m) {
  const files = validFiles(m);
  const line = li.querySelector('.msg__line');
  let box = line.querySelector(':scope > .msg__files');
  const key = files.map((f) => f.id).join(',');
  li.classList.toggle('msg--files', files.length > 0);
  li.classList.toggle('msg--file-only', files.length > 0 && files.some((f) => f.name === String(m.text).trim()));
  if (!files.length) {
    if (box) box.remove();
    return;
  }
  if (box && box.dataset.files === key) return;
  const fresh = element('div', 'msg__files');
  fresh.dataset.files = key;
  for (const f of files) fresh.append(isImage(f) ? imageTile(f) : fileChip(f));
  if (box) box.replaceWith(fresh);
  else line.prepend(fresh);
  box = fresh;
}

// ---------- uploading ----------

/**
 * The preview of a file not sent yet: the picture itself, or a chip without a link. The
 * page's policy allows images from itself and data: addresses only (not blob:), so the
 * picture is read as a data: address, which is worth it only for a picture of usual size.
 */
function localPreview(file) {
  const readable = /^image\/(png|jpeg|gif|webp)$/.test(file.type) && file.size <= LOCAL_PREVIEW_MAX;
  const box = element('div', 'msg__files msg__files--local');
  if (readable) {
    const tile = element('span', 'file-image');
    const img = element('img', 'file-image__img');
    img.alt = file.name;
    const reader = new FileReader();
    reader.addEventListener('load', () => { if (typeof reader.result === 'string') img.src = reader.result; }, { once: true });
    reader.readAsDataURL(file);
    // Its size is known only once it loaded; until then a box of the usual size holds its place.
    img.width = PREVIEW_MAX;
    img.height = Math.round(PREVIEW_MAX * 0.6);
    img.addEventListener('load', () => {
      const size = previewSize(img.naturalWidth, img.naturalHeight);
      img.width = size.width;
      img.height = size.height;
    }, { once: true });
    tile.append(img);
    box.append(tile);
  } else {
    const chip = element('span', 'file-chip');
    const badge = element('span', 'file-chip__icon');
    badge.append(icon('file'));
    const body = element('span', 'file-chip__body');
    body.append(element('span', 'file-chip__name', file.name), element('span', 'file-chip__size', formatSize(file.size)));
    chip.append(badge, body);
    box.append(chip);
  }
  const bar = element('span', 'upload-bar');
  bar.append(element('span', 'upload-bar__fill'));
  box.append(bar);
  return box;
}

/** "Uploading… 42 %" under the echo, the bar in the preview filled as far. */
function showProgress(li, fraction) {
  const pct = Math.max(0, Math.min(100, Math.round(fraction * 100)));
  const status = li.querySelector('.msg__status');
  status.hidden = false;
  status.replaceChildren(element('span', 'upload-status', 'Uploading… ' + pct + ' %'));
  const fill = li.querySelector('.upload-bar__fill');
  if (fill) fill.style.width = pct + '%';
}

/** The reason an upload failed, in words, and whether trying again could help. */
export function uploadError(status, body) {
  const e = (body && body.error) || {};
  if (status === 0) return { text: 'Could not reach the server.', retry: true };
  if (status === 413) {
    const limit = /at most (\d+) bytes/.exec(String(e.message || ''));
    if (limit) return { text: 'File too large (max ' + limitText(Number(limit[1])) + ')', retry: false };
    const said = String(e.message || 'The file is too large.');
    return { text: said.charAt(0).toUpperCase() + said.slice(1), retry: false };
  }
  if (status === 403) return { text: 'You are not a member of this room.', retry: false };
  if (status === 400) return { text: 'The server refused this file: ' + (e.message || 'invalid'), retry: false };
  if (status === 429) return { text: 'Sending too fast, slow down a little.', retry: true };
  return { text: e.message ? String(e.message) : 'The upload failed (HTTP ' + status + ').', retry: true };
}

/** POSTs `file` for view `v`'s room; resolves to {status, body}. Reports progress to `onProgress`. */
function post(v, file, clientId, onProgress) {
  const q = new URLSearchParams({ name: file.name, client_id: clientId });
  if (!state.me) q.set('sender', state.name);
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/rooms/' + v.room + '/files?' + q.toString());
    xhr.withCredentials = true;
    xhr.responseType = 'json';
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => resolve({ status: xhr.status, body: xhr.response }));
    xhr.addEventListener('error', () => resolve({ status: 0, body: null }));
    xhr.addEventListener('abort', () => resolve({ status: 0, body: null }));
    xhr.send(file);
  });
}

/** Uploads (or uploads again) the pending file `clientId` of view `v`. */
async function deliver(v, clientId) {
  const p = v.pending.get(clientId);
  if (!p) return;
  setMsgState(p.el, 'sending');
  p.el.dataset.upload = 'uploading';
  showProgress(p.el, 0);
  const { status, body } = await post(v, p.file, clientId, (f) => {
    if (v.pending.get(clientId) === p) showProgress(p.el, f);
  });
  if (status === 401) goToSignIn();
  if ((status === 200 || status === 201) && body && body.message) {
    // The broadcast may have come first; renderLive swaps the echo either way, once.
    renderLive(v, [body.message], true);
    return;
  }
  if (v.pending.get(clientId) !== p) return;
  const why = uploadError(status, body);
  p.el.dataset.upload = 'failed';
  setMsgState(p.el, 'failed', why.text, why.retry ? () => deliver(v, clientId) : null);
  const remove = element('button', 'btn btn--ghost btn--small msg__retry', 'Remove');
  remove.type = 'button';
  remove.setAttribute('aria-label', 'Remove this file that was not sent');
  remove.addEventListener('click', () => {
    v.pending.delete(clientId);
    const next = p.el.nextElementSibling;
    p.el.remove();
    if (next) regroup(next);
    updateEmpty();
    els.input.focus();
  });
  p.el.querySelector('.msg__status').append(remove);
}

/** Shares `files` (a FileList or an array) in the room on screen, each as its own message. */
export function shareFiles(files) {
  const list = Array.from(files || []).filter((f) => f instanceof File);
  if (!list.length) return;
  if (!state.name) { showNameForm(); return; }
  const v = state.view;
  if (!v || v.refused) return;
  backToLive(v);
  for (const file of list) {
    const clientId = newClientId();
    const li = buildMessage(state.name, file.name, state.me ? state.me.username : undefined);
    li.classList.add('msg--own', 'msg--files', 'msg--file-only');
    li.dataset.clientId = clientId;
    li.querySelector('.msg__line').prepend(localPreview(file));
    setTime(li, Date.now());
    v.list.append(li);
    regroup(li);
    // payload.sender: how render.js recognises the server's copy as this echo.
    v.pending.set(clientId, { el: li, payload: { sender: state.name }, file });
    deliver(v, clientId);
  }
  updateEmpty();
  scrollToBottom();
}

// ---------- where files come from ----------

/** A pasted picture often has no useful name ("image.png"): it gets one with the time. */
function pastedName(file) {
  if (file.name && file.name !== 'image.png') return file;
  const ext = (file.type.split('/')[1] || 'png').replace('jpeg', 'jpg');
  const d = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  const stamp = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + '.' +
    pad(d.getMinutes()) + '.' + pad(d.getSeconds());
  return new File([file], 'Pasted image ' + stamp + '.' + ext, { type: file.type });
}

function hasFiles(event) {
  const types = event.dataTransfer && event.dataTransfer.types;
  return Boolean(types && Array.from(types).includes('Files'));
}

/** Whether the composer is there to write in (a name chosen, a room I may write in). */
function canShare() {
  return !els.form.hidden && !(state.view && state.view.refused);
}

function setUpDrop() {
  const area = els.scroller.closest('.chat-layout') || document.body;
  let depth = 0; // dragenter/dragleave pairs of the area's children: hidden only when all have left
  const hide = () => { depth = 0; ui.dropZone.hidden = true; };
  area.addEventListener('dragenter', (event) => {
    if (!hasFiles(event) || !canShare()) return;
    event.preventDefault();
    depth += 1;
    if (state.view) ui.dropText.textContent = 'Each file is sent to ' + (els.roomName.textContent || 'this room') + ' as its own message.';
    ui.dropZone.hidden = false;
  });
  area.addEventListener('dragover', (event) => {
    if (!hasFiles(event) || !canShare()) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    ui.dropZone.hidden = false;
  });
  area.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) ui.dropZone.hidden = true;
  });
  area.addEventListener('drop', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    hide();
    if (canShare()) shareFiles(event.dataTransfer.files);
  });
  window.addEventListener('dragend', hide);
}

/** Wires the attach button, dropping and pasting. */
export function setUpFiles() {
  ui.button.addEventListener('click', () => {
    if (!state.name) { showNameForm(); return; }
    ui.input.click();
  });
  ui.input.addEventListener('change', () => {
    const files = Array.from(ui.input.files || []);
    ui.input.value = ''; // the same file can be chosen again
    shareFiles(files);
    els.input.focus();
  });
  setUpDrop();
  document.addEventListener('paste', (event) => {
    const files = event.clipboardData ? Array.from(event.clipboardData.files || []) : [];
    if (!files.length || !canShare()) return;
    // Only what the page is about: pasting into a dialog's field is that field's business.
    if (event.target instanceof Element && event.target.closest('dialog, #search-form')) return;
    event.preventDefault();
    shareFiles(files.map(pastedName));
  });
}
