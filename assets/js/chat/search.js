/*
 * chat/search.js: finding messages. The box at the top of the sidebar searches as one
 * types (after a short pause) and on Enter: `search` {q, room?, limit} over the socket,
 * GET /api/search while it is down. The results panel beside the conversation (over it
 * on smaller screens) lists the newest first with their room, author, time and text,
 * the words that matched marked; "In this room" narrows to the room on screen, and
 * "More results" pages on with `before`. Choosing a result opens its room at the message
 * with the history around it (jump.js). The marks are <mark> elements around text nodes
 * cut from the message's text: nothing the server sends is ever read as HTML.
 */

import { $, clockTime, element } from '../page.js';
import { trimmed } from '../rules.js';
import { getSearch } from './api.js';
import { ask } from './connection.js';
import { icon } from './icons.js';
import { jumpTo } from './jump.js';
import { describeError } from './notices.js';
import { roomKind, roomTitle } from './rooms.js';
import { closeDrawer } from './sidebar.js';
import { on, socketUp, state } from './state.js';

const LIMIT = 20;
const TYPING_PAUSE_MS = 300;   // search as one types, once the typing pauses
const MIN_CHARS = 2;           // fewer is too broad to search as one types (Enter still does)
const CONTEXT_CHARS = 60;      // text kept before the first mark of a long message
const LONG_TEXT = 160;
// The panel sits beside the conversation only this wide; narrower, it covers it.
const beside = window.matchMedia('(min-width: 1100px)');

const form = $('search-form');
const input = $('search-input');
const panel = $('search-panel');
const list = $('search-results');
const status = $('search-status');
const more = $('search-more');
const scope = $('search-scope');

let asked = 0;          // numbers each search, so that only the latest one's answer is shown
let current = null;     // {q, room, last} of the results on show
let typingTimer = null;

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `text` as nodes with each of `words` (as written in it) inside a <mark>; a long text
 * starts shortly before its first mark, so that the mark shows.
 */
export function markedText(text, words) {
  const list = Array.isArray(words) ? words.filter((w) => typeof w === 'string' && w !== '') : [];
  if (!list.length) return [document.createTextNode(text)];
  // Longest first, so that a word is marked whole rather than a shorter word inside it.
  const re = new RegExp(list.sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'gu');
  const found = Array.from(text.matchAll(re));
  let at = 0;
  const parts = [];
  if (found.length && text.length > LONG_TEXT && found[0].index > CONTEXT_CHARS) {
    const space = text.indexOf(' ', found[0].index - CONTEXT_CHARS);
    at = space >= 0 && space < found[0].index ? space + 1 : found[0].index - CONTEXT_CHARS;
    parts.push(document.createTextNode('…'));
  }
  for (const m of found) {
    if (m.index < at) continue;
    if (m.index > at) parts.push(document.createTextNode(text.slice(at, m.index)));
    parts.push(element('mark', 'search-result__mark', m[0]));
    at = m.index + m[0].length;
  }
  if (at < text.length) parts.push(document.createTextNode(text.slice(at)));
  return parts;
}

/** "14:05" today, "3 Mar, 14:05" this year, "3 Mar 2023" before. */
function when(ts) {
  const d = new Date(ts);
  if (isNaN(d.getTime())) return '';
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return clockTime(d);
  try {
    if (d.getFullYear() === now.getFullYear()) {
      return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' }) + ', ' + clockTime(d);
    }
    return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
  } catch (err) {
    return d.toDateString();
  }
}

function resultItem(r) {
  const m = r.message;
  const button = element('button', 'search-result');
  button.type = 'button';
  button.dataset.room = m.room;
  button.dataset.id = String(m.id);
  const head = element('span', 'search-result__head');
  const room = element('span', 'search-result__room');
  const kind = roomKind(m.room);
  room.append(icon(kind === 'closed' ? 'lock' : kind === 'direct' ? 'people' : 'hash'),
    element('span', 'search-result__room-name', roomTitle(m.room)));
  const time = element('time', 'search-result__time', when(m.ts));
  const d = new Date(m.ts);
  if (!isNaN(d.getTime())) time.dateTime = d.toISOString();
  head.append(room, element('span', 'search-result__sender', m.sender), time);
  const text = element('span', 'search-result__text');
  text.append(...markedText(String(m.text), r.highlights));
  button.append(head, text);
  const li = element('li', 'search-results__item');
  li.append(button);
  return li;
}

function isResult(r) {
  return r && r.message && typeof r.message.id === 'number' && typeof r.message.room === 'string' &&
    typeof r.message.sender === 'string';
}

/** The scope choice names the room on screen. */
function nameScope() {
  const room = state.view.room;
  $('search-scope-room').textContent = 'In ' + (roomKind(room) === 'direct' ? '' : '#') + roomTitle(room);
}

function showStatus(text) {
  status.textContent = text;
  status.hidden = !text;
}

function openPanel() {
  panel.hidden = false;
  document.body.classList.add('search-open');
  // On a phone the drawer would hide the results: they take its place.
  closeDrawer();
}

export function closePanel() {
  asked += 1;
  panel.hidden = true;
  document.body.classList.remove('search-open');
  current = null;
}

/** Searches for `q` (or the next page of the results on show, with `next`). */
async function search(q, next = false) {
  const query = trimmed(q);
  if (!query) { closePanel(); return; }
  const room = scope.value === 'room' ? state.view.room : null;
  const params = { q: query, limit: LIMIT };
  if (room) params.room = room;
  if (next && current) params.before = current.last;
  const mine = ++asked;
  openPanel();
  $('search-query').textContent = query;
  if (!next) {
    list.replaceChildren();
    more.hidden = true;
  }
  list.setAttribute('aria-busy', 'true');
  showStatus('Searching…');
  let results;
  try {
    results = socketUp() ? (await ask('search', params)).results : await getSearch(params);
  } catch (err) {
    if (mine === asked) showStatus('Search failed: ' + describeError(err));
    return;
  } finally {
    if (mine === asked) list.removeAttribute('aria-busy');
  }
  if (mine !== asked) return;
  const found = Array.isArray(results) ? results.filter(isResult) : [];
  list.append(...found.map(resultItem));
  current = { q: query, room, last: found.length ? found[found.length - 1].message.id : (current && current.last) };
  more.hidden = found.length < LIMIT;
  const none = list.children.length === 0;
  showStatus(none ? 'No messages match “' + query + '”' + (room ? ' in this room.' : '.') : '');
}

function onInput() {
  clearTimeout(typingTimer);
  const q = trimmed(input.value);
  if (!q) { closePanel(); return; }
  if (Array.from(q).length < MIN_CHARS) return;
  typingTimer = setTimeout(() => search(input.value), TYPING_PAUSE_MS);
}

function onResultClick(event) {
  const button = event.target.closest('button.search-result');
  if (!button) return;
  for (const b of list.querySelectorAll('[aria-current]')) b.removeAttribute('aria-current');
  button.setAttribute('aria-current', 'true');
  const room = button.dataset.room;
  const id = Number(button.dataset.id);
  // Beside the conversation the results stay for the next one; over it they make way.
  if (!beside.matches) closePanel();
  jumpTo(room, id);
}

export function setUpSearch() {
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(typingTimer);
    search(input.value);
  });
  input.addEventListener('input', onInput);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !panel.hidden) { e.preventDefault(); e.stopPropagation(); closePanel(); }
  });
  $('search-close').addEventListener('click', () => { closePanel(); input.focus(); });
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); closePanel(); input.focus(); }
  });
  list.addEventListener('click', onResultClick);
  more.addEventListener('click', () => { if (current) search(current.q, true); });
  scope.addEventListener('change', () => { if (trimmed(input.value)) search(input.value); });
  // "In this room" names the room on screen, and searches it when it changes.
  on('switched', () => {
    nameScope();
    if (current && current.room && scope.value === 'room') search(input.value);
  });
  on('rooms', nameScope);
}
