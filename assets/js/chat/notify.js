/*
 * chat/notify.js: being told when someone needs me. Each room has a level (`notify`,
 * stored by the server per user and room and sent in RoomInfo): every message ("all",
 * the default for direct messages), only those that mention me or @room ("mentions",
 * the default elsewhere), or nothing. The bell in the header shows it and opens a menu
 * to change it, as does the room's dialog (the people button, where it is on a phone);
 * a muted room shows a crossed bell in the sidebar.
 *
 * A new message that matches my level shows a desktop notification (title: who wrote it
 * and where; body: the text) while the tab is hidden or another room is on screen;
 * clicking it brings the window forward and opens the room at the message (where a page
 * may not show one itself, the service worker does, and opens the room). The browser
 * only allows this after the user said yes, which the page asks only when the user
 * clicks "Turn on desktop notifications" (in the menu, or in the sidebar's offer, shown
 * until dismissed), never on its own. Notifications need a secure context (HTTPS, or
 * this machine). An optional short beep (Web Audio, off by default) goes with them.
 */

import { $ } from '../page.js';
import { dismissNotifyOffer, notifyOfferDismissed, soundOn, storeSound } from '../prefs.js';
import { ask } from './connection.js';
import { jumpTo } from './jump.js';
import { mentionsMe } from './message.js';
import { describeError, notice } from './notices.js';
import { dmPartners, roomKind, roomTitle } from './rooms.js';
import { announce, on, state } from './state.js';

export const LEVELS = ['all', 'mentions', 'none'];
const LEVEL_TEXT = { all: 'all new messages', mentions: 'mentions only', none: 'off' };
const REMEMBERED = 200;    // message ids already notified, so that none is shown twice
// A notification waits this long, so that one for a message my other tab shows is never
// made: reading it there moves my marker (`read`), which reaches this tab well before.
const WAIT_FOR_READ_MS = 1500;
const BEEP_HZ = 880;
const BEEP_S = 0.18;

const wrap = $('notify-wrap');
const bell = $('room-notify');
const menu = $('notify-menu');
const permissionText = $('notify-permission');
const enable = $('notify-enable');
const sound = $('notify-sound');
const offer = $('notify-offer');
const dialogLevel = $('members-notify-level');

const notified = new Set();
const showing = new Map();  // room → its notifications on screen, closed once the room is read
let audio = null;

/** My level in `room`: its record's, or the default for its kind. */
export function levelOf(room) {
  const info = state.rooms.get(room);
  if (info && LEVELS.includes(info.notify)) return info.notify;
  return roomKind(room) === 'direct' ? 'all' : 'mentions';
}

/** 'granted', 'denied', 'default' (not asked yet), or 'unsupported' (no API, or not a secure context). */
function permission() {
  if (!('Notification' in window) || !window.isSecureContext) return 'unsupported';
  return Notification.permission;
}

// ---------- the bell and its menu ----------

function showBell() {
  const v = state.view;
  const level = levelOf(v.room);
  wrap.hidden = v.refused;
  bell.dataset.level = level;
  bell.querySelector('use').setAttribute('href', level === 'none' ? '#icon-bell-off' : '#icon-bell');
  const label = 'Notifications: ' + LEVEL_TEXT[level];
  bell.title = label;
  $('room-notify-label').textContent = label;
  for (const radio of menu.querySelectorAll('input[name="notify-level"]')) radio.checked = radio.value === level;
  dialogLevel.value = level;
}

function showPermission() {
  const p = permission();
  const text = {
    granted: 'Desktop notifications are on in this browser.',
    denied: 'This browser blocks Parley’s notifications; allow them in its site settings.',
    default: 'Desktop notifications are off in this browser.',
    unsupported: 'Desktop notifications need HTTPS (or this machine) and a browser that has them.',
  }[p];
  permissionText.textContent = text;
  permissionText.dataset.permission = p;
  enable.hidden = p !== 'default';
  sound.checked = soundOn();
  offer.hidden = p !== 'default' || notifyOfferDismissed();
}

function openMenu() {
  showBell();
  showPermission();
  menu.hidden = false;
  bell.setAttribute('aria-expanded', 'true');
  const checked = menu.querySelector('input[name="notify-level"]:checked');
  if (checked) checked.focus();
}

function closeMenu(focusBell) {
  if (menu.hidden) return;
  menu.hidden = true;
  bell.setAttribute('aria-expanded', 'false');
  if (focusBell) bell.focus();
}

async function setLevel(level) {
  const room = state.view.room;
  try {
    const res = await ask('notify', { room, level });
    const info = state.rooms.get(room);
    if (info) info.notify = LEVELS.includes(res.level) ? res.level : level;
    announce('rooms');
  } catch (err) {
    notice('Could not change the notifications: ' + describeError(err), err && err.code);
    showBell();
  }
}

/** The user clicked "Turn on": the browser asks them (older browsers answer by callback). */
async function askPermission() {
  if (permission() !== 'default') return;
  try {
    await new Promise((resolve) => {
      const answer = Notification.requestPermission(resolve);
      if (answer && typeof answer.then === 'function') answer.then(resolve, resolve);
    });
  } catch (err) {
    // Nothing more to do: the text says what the browser decided.
  }
  showPermission();
}

// ---------- sound ----------

/**
 * The audio context, made (or woken) during a click: browsers let a page make sound only
 * after the user did something on it.
 */
function wakeAudio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  if (!audio) audio = new Context();
  if (audio.state === 'suspended') audio.resume().catch(() => {});
  return audio;
}

function beep() {
  if (!audio || audio.state !== 'running') return;
  const t = audio.currentTime;
  const osc = audio.createOscillator();
  const gain = audio.createGain();
  osc.type = 'sine';
  osc.frequency.value = BEEP_HZ;
  gain.gain.setValueAtTime(0.0001, t);
  gain.gain.exponentialRampToValueAtTime(0.2, t + 0.015);
  gain.gain.exponentialRampToValueAtTime(0.0001, t + BEEP_S);
  osc.connect(gain).connect(audio.destination);
  osc.start(t);
  osc.stop(t + BEEP_S + 0.02);
}

// ---------- notifications ----------

/** "Alice Martin in #general", "… in Bob Lee, Carol Diaz" (a group), "… (direct message)". */
function titleOf(m) {
  const kind = roomKind(m.room);
  const info = state.rooms.get(m.room);
  if (kind === 'direct' && (!info || dmPartners(info).length === 1)) return m.sender + ' (direct message)';
  return m.sender + ' in ' + (kind === 'direct' ? '' : '#') + roomTitle(m.room);
}

/** Whether the reader is elsewhere: the tab hidden, or another room on screen. */
function away(room) {
  return document.visibilityState !== 'visible' || document.hidden === true || room !== state.view.room;
}

/**
 * Where the page may not make notifications itself (Chrome on Android), the service
 * worker shows it; a click on it opens the room (sw.js).
 */
function showThroughWorker(title, options, m) {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.getRegistration()
    .then((registration) => registration && registration.showNotification(title, Object.assign({ data: { room: m.room } }, options)))
    .catch(() => { /* no notification, as without the permission */ });
}

function show(m) {
  if (permission() !== 'granted') return;
  const title = titleOf(m);
  const options = { body: String(m.text), tag: 'parley:' + m.room + ':' + m.id, icon: '/assets/favicon.svg' };
  let n;
  try {
    n = new Notification(title, options);
  } catch (err) {
    showThroughWorker(title, options, m);
    return;
  }
  n.onclick = () => {
    window.focus();
    if (typeof n.close === 'function') n.close();
    jumpTo(m.room, m.id);
  };
  const list = showing.get(m.room) || [];
  list.push(n);
  showing.set(m.room, list);
}

/** The room on screen is being read: its notifications have done their job. */
function closeShown() {
  if (away(state.view.room)) return;
  const list = showing.get(state.view.room);
  if (!list) return;
  showing.delete(state.view.room);
  for (const n of list) if (typeof n.close === 'function') n.close();
}

/** Whether message `m` is still worth telling: unread, and the reader still elsewhere. */
function stillNew(m) {
  const info = state.rooms.get(m.room);
  return away(m.room) && !(info && info.read_marker >= m.id);
}

/** A new message in one of my rooms (the `message` announcement). */
function onMessage({ message: m }) {
  if (!state.me || typeof m.id !== 'number' || typeof m.room !== 'string' || m.user === state.me.username) return;
  const key = m.room + ':' + m.id;
  if (notified.has(key)) return;
  const level = levelOf(m.room);
  if (level === 'none' || (level === 'mentions' && !mentionsMe(m)) || !away(m.room)) return;
  notified.add(key);
  if (notified.size > REMEMBERED) notified.delete(notified.values().next().value);
  setTimeout(() => {
    if (!stillNew(m)) return;
    if (soundOn()) beep();
    show(m);
  }, WAIT_FOR_READ_MS);
}

export function setUpNotifications() {
  bell.addEventListener('click', () => (menu.hidden ? openMenu() : closeMenu(true)));
  menu.addEventListener('change', (e) => {
    if (e.target.name === 'notify-level' && LEVELS.includes(e.target.value)) setLevel(e.target.value);
    if (e.target === sound) {
      storeSound(sound.checked);
      if (sound.checked && wakeAudio()) beep();
    }
  });
  menu.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); closeMenu(true); } });
  document.addEventListener('pointerdown', (e) => {
    if (!menu.hidden && !menu.contains(e.target) && !bell.contains(e.target)) closeMenu(false);
  });
  dialogLevel.addEventListener('change', () => { if (LEVELS.includes(dialogLevel.value)) setLevel(dialogLevel.value); });
  enable.addEventListener('click', askPermission);
  $('notify-offer-enable').addEventListener('click', askPermission);
  $('notify-offer-close').addEventListener('click', () => { dismissNotifyOffer(); showPermission(); });
  // With the sound on, the first click on the page wakes the audio (needed after a reload).
  document.addEventListener('pointerdown', () => { if (soundOn()) wakeAudio(); });

  on('message', onMessage);
  on('rooms', showBell);
  on('switched', () => { closeMenu(false); showBell(); closeShown(); });
  document.addEventListener('visibilitychange', closeShown);
  showBell();
  showPermission();
}
