/*
 * prefs.js: what the browser remembers between visits: the user's name and the recently
 * opened chat keys, which the lobby, the chat page and the debugger read, so a returning
 * user is one click away from their chats; and, signed in, whether notifications play a
 * sound and whether the offer to turn notifications on was dismissed.
 */

import { roomProblem } from './rules.js';

const NAME_KEY = 'parley.name';
const RECENT_KEY = 'parley.recentRooms';
const RECENT_MAX = 10;
const SOUND_KEY = 'parley.notifySound';
const OFFER_KEY = 'parley.notifyOfferDismissed';

// localStorage throws in some privacy modes: the pages must still work without it.
function load(key) { try { return localStorage.getItem(key); } catch (err) { return null; } }
function save(key, value) { try { localStorage.setItem(key, value); } catch (err) { /* not persisted */ } }
function remove(key) { try { localStorage.removeItem(key); } catch (err) { /* ignore */ } }

/** The remembered chat keys, newest first; anything that is not a valid key is skipped. */
export function recentRooms() {
  try {
    const list = JSON.parse(load(RECENT_KEY) || '[]');
    return Array.isArray(list) ? list.filter((r) => typeof r === 'string' && roomProblem(r) === null) : [];
  } catch (err) { return []; }
}

// Validated chat keys only use characters that are legal in a URL path: no encoding.
export function rememberRoom(room) {
  const list = [room, ...recentRooms().filter((r) => r !== room)].slice(0, RECENT_MAX);
  save(RECENT_KEY, JSON.stringify(list));
}

export function forgetRooms() { remove(RECENT_KEY); }

/** The remembered name, unchecked (null when there is none). */
export function storedName() { return load(NAME_KEY); }
export function storeName(name) { save(NAME_KEY, name); }

/** Whether notifications play a sound (off unless the user turned it on). */
export function soundOn() { return load(SOUND_KEY) === '1'; }
export function storeSound(on) { if (on) save(SOUND_KEY, '1'); else remove(SOUND_KEY); }

/** Whether the user said no to the offer to turn desktop notifications on. */
export function notifyOfferDismissed() { return load(OFFER_KEY) === '1'; }
export function dismissNotifyOffer() { save(OFFER_KEY, '1'); }
