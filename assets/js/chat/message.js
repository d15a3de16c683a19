/*
 * chat/message.js: what a message row shows besides its author and time, drawn from the
 * message as it is now: the text with its mentions marked, its files (files.js), the
 * quote of the message it answers, the "edited" mark, the reactions with their counts, and (signed in) the
 * buttons to react, reply, edit and delete. render.js decides which rows exist and in
 * what order and calls drawMessage for a new row and again for each newer copy (an edit,
 * a reaction), so a change is drawn exactly as a new message is. What the buttons do is
 * actions.js's. Everything is built as elements whose text is set with textContent.
 */

import { element } from '../page.js';
import { drawFiles } from './files.js';
import { icon } from './icons.js';
import { personName } from './presence.js';
import { state } from './state.js';

// A name character of a mention, as the server reads them (src/model.rs mentioned_names).
const NAME_CHAR = /[A-Za-z0-9_.-]/;
const MENTION = /@([A-Za-z0-9_.-]+)/g;
export const ROOM_MENTION = 'room';

/** A message's rev: when it last changed (its id until then). */
export function revOf(m) {
  return typeof m.rev === 'number' ? m.rev : m.id;
}

/**
 * The `@name` words of `text` as the server finds them: an `@` at the start or after a
 * character that cannot be in a name, the name's trailing dots being punctuation. Each
 * is {start, end, name} with the name lowercased.
 */
export function mentionWords(text) {
  const found = [];
  for (const m of text.matchAll(MENTION)) {
    if (m.index > 0 && NAME_CHAR.test(text[m.index - 1])) continue;
    const name = m[1].replace(/\.+$/, '');
    if (name) found.push({ start: m.index, end: m.index + 1 + name.length, name: name.toLowerCase() });
  }
  return found;
}

function isMe(name) {
  return name === ROOM_MENTION || Boolean(state.me && name === state.me.username);
}

/** Whether `m` mentions me (by name or with @room), by someone else: it is highlighted. */
export function mentionsMe(m) {
  if (!state.me || !Array.isArray(m.mentions) || m.user === state.me.username) return false;
  return m.mentions.some(isMe);
}

/**
 * Fills `bubble` with `text`, the mentions the server found (`mentions`) marked: mine
 * and @room stand out. Only names the server counted are marked, so `@nobody` stays text.
 */
export function fillText(bubble, text, mentions) {
  const counted = Array.isArray(mentions) ? mentions : [];
  const words = counted.length ? mentionWords(text).filter((w) => counted.includes(w.name)) : [];
  if (!words.length) {
    bubble.textContent = text;
    return;
  }
  const parts = [];
  let at = 0;
  for (const w of words) {
    if (w.start > at) parts.push(document.createTextNode(text.slice(at, w.start)));
    parts.push(element('span', 'mention' + (isMe(w.name) ? ' mention--me' : ''), text.slice(w.start, w.end)));
    at = w.end;
  }
  if (at < text.length) parts.push(document.createTextNode(text.slice(at)));
  bubble.replaceChildren(...parts);
}

// ---------- the quote of the message a reply answers ----------

/**
 * Shows in `quote` the message it refers to (data-reply-to), from what view `v` holds:
 * its author and text, "Original message deleted", or, not loaded, "an earlier message".
 */
function fillQuote(v, quote) {
  const id = Number(quote.dataset.replyTo);
  const original = v.messages.get(id);
  const who = element('span', 'quote__who');
  const what = element('span', 'quote__text');
  quote.disabled = false;
  quote.dataset.state = 'loaded';
  if (original) {
    who.textContent = original.sender;
    what.textContent = String(original.text);
    quote.title = 'Show the message ' + original.sender + ' wrote';
  } else if (v.deleted.has(id)) {
    what.textContent = 'Original message deleted';
    quote.dataset.state = 'deleted';
    quote.disabled = true;
    quote.removeAttribute('title');
  } else {
    what.textContent = 'Reply to an earlier message';
    quote.dataset.state = 'unloaded';
    quote.title = 'Show the earlier message';
  }
  const body = element('span', 'quote__body');
  if (who.textContent) body.append(who);
  body.append(what);
  quote.replaceChildren(icon('reply'), body);
}

/** Row `li` of view `v` quotes message `id` (a reply's, or its echo's while it is sent). */
export function setQuote(v, li, id) {
  let quote = li.querySelector(':scope > .msg__quote');
  if (!quote) {
    quote = element('button', 'msg__quote');
    quote.type = 'button';
    quote.dataset.action = 'show-original';
    li.insertBefore(quote, li.querySelector(':scope > .msg__line'));
  }
  quote.dataset.replyTo = String(id);
  fillQuote(v, quote);
}

/** Quotes in view `v` of message `id` show it as it is now (it loaded, changed or went). */
export function refreshQuotes(v, id) {
  for (const q of v.list.querySelectorAll('.msg__quote[data-reply-to="' + id + '"]')) fillQuote(v, q);
}

// ---------- reactions ----------

function validReactions(m) {
  if (!Array.isArray(m.reactions)) return [];
  return m.reactions.filter((r) => r && typeof r.emoji === 'string' && Array.isArray(r.users) && r.users.length > 0);
}

/** "Alice Martin, Bob Lee and you". */
function namesOf(usernames) {
  const me = state.me && state.me.username;
  const names = usernames.filter((u) => u !== me).map(personName);
  if (me && usernames.includes(me)) names.push('you');
  if (names.length <= 1) return names.join('');
  return names.slice(0, -1).join(', ') + ' and ' + names[names.length - 1];
}

/** The reactions under a message, or null when it has none. */
function reactionsBar(m) {
  const reactions = validReactions(m);
  if (!reactions.length) return null;
  const bar = element('div', 'msg__reactions');
  const me = state.me && state.me.username;
  for (const r of reactions) {
    const mine = Boolean(me && r.users.includes(me));
    const b = element('button', 'reaction' + (mine ? ' reaction--mine' : ''));
    b.type = 'button';
    b.dataset.action = 'toggle-reaction';
    b.dataset.emoji = r.emoji;
    b.dataset.count = String(r.users.length);
    b.setAttribute('aria-pressed', String(mine));
    b.title = namesOf(r.users) + ' reacted with ' + r.emoji;
    b.setAttribute('aria-label', r.emoji + ' ' + r.users.length + ', ' + b.title);
    b.append(element('span', 'reaction__emoji', r.emoji), element('span', 'reaction__count', String(r.users.length)));
    bar.append(b);
  }
  if (state.me) {
    const add = element('button', 'reaction reaction--add');
    add.type = 'button';
    add.dataset.action = 'react';
    add.title = 'Add a reaction';
    add.setAttribute('aria-label', 'Add a reaction');
    add.setAttribute('aria-haspopup', 'true');
    add.append(icon('smile'));
    bar.append(add);
  }
  return bar;
}

// ---------- actions ----------

function actionButton(action, iconName, label) {
  const b = element('button', 'msg__action');
  b.type = 'button';
  b.dataset.action = action;
  b.title = label;
  b.setAttribute('aria-label', label);
  b.append(icon(iconName));
  return b;
}

/** What I may do with `m`: react and reply; edit my own; delete my own, or any as an admin. */
function actionsBar(m) {
  const bar = element('div', 'msg__actions');
  bar.setAttribute('role', 'toolbar');
  bar.setAttribute('aria-label', 'Message from ' + m.sender);
  const own = m.user === state.me.username;
  const react = actionButton('react', 'smile', 'Add a reaction');
  react.setAttribute('aria-haspopup', 'true');
  bar.append(react, actionButton('reply', 'reply', 'Reply'));
  if (own) bar.append(actionButton('edit', 'edit', 'Edit'));
  if (own || state.me.role === 'admin') bar.append(actionButton('delete', 'trash', 'Delete'));
  return bar;
}

// ---------- the row ----------

function fullDate(ts) {
  const d = new Date(ts);
  if (isNaN(d.getTime())) return '';
  try { return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }); } catch (err) { return d.toString(); }
}

/**
 * Draws row `li` of view `v` from message `m` as it is now: text and mentions, files, quote,
 * "edited", reactions, and the actions (signed in, once the message has an id).
 */
export function drawMessage(v, li, m) {
  li.dataset.rev = String(revOf(m));
  const line = li.querySelector('.msg__line');
  fillText(li.querySelector('.msg__bubble'), String(m.text), m.mentions);
  drawFiles(li, m);
  li.classList.toggle('msg--mention', mentionsMe(m));

  const quote = li.querySelector(':scope > .msg__quote');
  if (typeof m.reply_to === 'number') setQuote(v, li, m.reply_to);
  else if (quote) quote.remove();

  let edited = line.querySelector('.msg__edited');
  if (typeof m.edited_ts === 'number') {
    if (!edited) {
      edited = element('span', 'msg__edited', 'edited');
      line.querySelector('.msg__bubble').after(edited);
    }
    edited.title = 'Edited ' + fullDate(m.edited_ts);
  } else if (edited) {
    edited.remove();
  }

  const bar = reactionsBar(m);
  const old = li.querySelector(':scope > .msg__reactions');
  if (old && bar) old.replaceWith(bar);
  else if (old) old.remove();
  else if (bar) li.insertBefore(bar, li.querySelector(':scope > .msg__status'));

  if (state.me && !line.querySelector('.msg__actions')) line.append(actionsBar(m));
}
