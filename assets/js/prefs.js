/*
 * prefs.js: what the lobby and the chat page share. The rules for names and chat keys
 * (the server's rules, so a bad value is explained before it is sent), and what the
 * browser remembers: the user's name and the recently opened chat keys.
 */
(function () {
  'use strict';

  const ROOM_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
  // 1–64 characters without control characters, as the server checks senders.
  const NAME_BAD = /[\u0000-\u001f\u007f-\u009f]/;
  const NAME_KEY = 'parley.name';
  const RECENT_KEY = 'parley.recentRooms';
  const RECENT_MAX = 10;

  // localStorage throws in some privacy modes: the pages must still work without it.
  function load(key) { try { return localStorage.getItem(key); } catch (err) { return null; } }
  function save(key, value) { try { localStorage.setItem(key, value); } catch (err) { /* not persisted */ } }
  function remove(key) { try { localStorage.removeItem(key); } catch (err) { /* ignore */ } }

  /** Why `name` cannot be used, or null when it can. */
  function nameProblem(name) {
    if (typeof name !== 'string' || name.length === 0) return 'Please enter your name.';
    if (name.length > 64) return 'Names can be at most 64 characters.';
    if (NAME_BAD.test(name)) return 'Names cannot contain control characters.';
    return null;
  }

  /** Why `room` cannot be used as a chat key, or null when it can. */
  function roomProblem(room) {
    if (room.length === 0) return 'Please enter a chat key.';
    if (room.length > 128) return 'Chat keys can be at most 128 characters.';
    if (!ROOM_RE.test(room)) {
      const bad = Array.from(new Set(room.replace(/[A-Za-z0-9_.:-]/g, ''))).map((c) => (c === ' ' ? 'space' : '“' + c + '”'));
      return 'Chat keys may only use letters, digits and _ . : - (not ' + bad.slice(0, 5).join(', ') + ').';
    }
    // Browsers collapse `.` and `..` out of a /chat/… address.
    if (/^\.+$/.test(room)) return 'Chat keys cannot be only dots.';
    return null;
  }

  function recentRooms() {
    try {
      const list = JSON.parse(load(RECENT_KEY) || '[]');
      return Array.isArray(list) ? list.filter((r) => typeof r === 'string' && roomProblem(r) === null) : [];
    } catch (err) { return []; }
  }

  // Validated chat keys only use characters that are legal in a URL path: no encoding.
  function rememberRoom(room) {
    const list = [room, ...recentRooms().filter((r) => r !== room)].slice(0, RECENT_MAX);
    save(RECENT_KEY, JSON.stringify(list));
  }

  function forgetRooms() { remove(RECENT_KEY); }

  function storedName() { return load(NAME_KEY); }
  function storeName(name) { save(NAME_KEY, name); }

  window.ParleyPrefs = {
    nameProblem, roomProblem, recentRooms, rememberRoom, forgetRooms, storedName, storeName,
  };
})();
