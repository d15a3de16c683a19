/*
 * lobby.js: the start page. Pick a name and a chat key, open /chat/{key}.
 * The name and recently opened keys live in localStorage, so returning users are one
 * click away from their chats. Validation mirrors the server's rules, so a bad key is
 * explained here instead of failing on the chat page.
 */
(function () {
  'use strict';

  const ROOM_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
  // 1–64 characters without control characters, as the server checks senders.
  const NAME_BAD = /[\u0000-\u001f\u007f-\u009f]/;
  const NAME_KEY = 'parley.name';
  const RECENT_KEY = 'parley.recentRooms';

  // localStorage throws in some privacy modes: the lobby must still work without it.
  function load(key) { try { return localStorage.getItem(key); } catch (err) { return null; } }
  function save(key, value) { try { localStorage.setItem(key, value); } catch (err) { /* not persisted */ } }
  function remove(key) { try { localStorage.removeItem(key); } catch (err) { /* ignore */ } }

  function recentRooms() {
    try {
      const list = JSON.parse(load(RECENT_KEY) || '[]');
      return Array.isArray(list) ? list.filter((r) => typeof r === 'string' && ROOM_RE.test(r)) : [];
    } catch (err) { return []; }
  }

  // Validated room keys only use characters that are legal in a URL path: no encoding.
  function rememberRoom(room) {
    const list = [room, ...recentRooms().filter((r) => r !== room)].slice(0, 10);
    save(RECENT_KEY, JSON.stringify(list));
  }

  const form = document.getElementById('lobby-form');
  const nameInput = document.getElementById('name');
  const roomInput = document.getElementById('room');
  const nameError = document.getElementById('name-error');
  const roomError = document.getElementById('room-error');
  const recentList = document.getElementById('recent-rooms');
  const recentEmpty = document.getElementById('recent-empty');
  const clearRecent = document.getElementById('clear-recent');

  function nameProblem(name) {
    if (name.length === 0) return 'Please enter your name.';
    if (name.length > 64) return 'Names can be at most 64 characters.';
    if (NAME_BAD.test(name)) return 'Names cannot contain control characters.';
    return null;
  }

  function roomProblem(room) {
    if (room.length === 0) return 'Please enter a chat key.';
    if (room.length > 128) return 'Chat keys can be at most 128 characters.';
    if (!ROOM_RE.test(room)) {
      const bad = Array.from(new Set(room.replace(/[A-Za-z0-9_.:-]/g, ''))).map((c) => (c === ' ' ? 'space' : '“' + c + '”'));
      return 'Chat keys may only use letters, digits and _ . : - (not ' + bad.slice(0, 5).join(', ') + ').';
    }
    return null;
  }

  function showError(input, el, message) {
    el.textContent = message || '';
    el.hidden = !message;
    if (message) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
  }

  function renderRecent() {
    const rooms = recentRooms();
    recentList.replaceChildren();
    for (const room of rooms) {
      const li = document.createElement('li');
      li.className = 'recent__item';
      const a = document.createElement('a');
      a.className = 'recent__link';
      a.href = '/chat/' + room;
      const hash = document.createElement('span');
      hash.className = 'recent__hash';
      hash.setAttribute('aria-hidden', 'true');
      hash.textContent = '#';
      const label = document.createElement('span');
      label.textContent = room;
      a.append(hash, label);
      li.append(a);
      recentList.append(li);
    }
    recentEmpty.hidden = rooms.length > 0;
    clearRecent.hidden = rooms.length === 0;
  }

  /** A key nobody will guess by accident: two words of base-36 randomness. */
  function randomRoom() {
    const bytes = new Uint8Array(8);
    crypto.getRandomValues(bytes);
    const s = Array.from(bytes, (b) => (b % 36).toString(36)).join('');
    return 'team-' + s.slice(0, 4) + '-' + s.slice(4);
  }

  nameInput.value = load(NAME_KEY) || '';
  const recent = recentRooms();
  if (recent.length) roomInput.value = recent[0];
  renderRecent();
  (nameInput.value ? roomInput : nameInput).focus();

  nameInput.addEventListener('input', () => showError(nameInput, nameError, null));
  roomInput.addEventListener('input', () => {
    // Live feedback only for a bad character; "empty" waits for submit.
    const v = roomInput.value.trim();
    showError(roomInput, roomError, v ? roomProblem(v) : null);
  });

  document.getElementById('random-room').addEventListener('click', () => {
    roomInput.value = randomRoom();
    showError(roomInput, roomError, null);
    roomInput.focus();
  });

  clearRecent.addEventListener('click', () => {
    remove(RECENT_KEY);
    renderRecent();
    roomInput.focus();
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    const room = roomInput.value.trim();
    const np = nameProblem(name);
    const rp = roomProblem(room);
    showError(nameInput, nameError, np);
    showError(roomInput, roomError, rp);
    if (np) { nameInput.focus(); return; }
    if (rp) { roomInput.focus(); return; }
    save(NAME_KEY, name);
    rememberRoom(room);
    window.location.href = '/chat/' + room;
  });
})();
