/*
 * lobby.js: the start page. Pick a name and a chat key, open /chat/{key}.
 * The name and recently opened keys are remembered (prefs.js), so returning users are
 * one click away from their chats. Validation mirrors the server's rules, so a bad key
 * is explained here instead of failing on the chat page.
 */
(function () {
  'use strict';

  const {
    nameProblem, roomProblem, recentRooms, rememberRoom, forgetRooms, storedName, storeName,
  } = window.ParleyPrefs;

  const form = document.getElementById('lobby-form');
  const nameInput = document.getElementById('name');
  const roomInput = document.getElementById('room');
  const nameError = document.getElementById('name-error');
  const roomError = document.getElementById('room-error');
  const recentList = document.getElementById('recent-rooms');
  const recentEmpty = document.getElementById('recent-empty');
  const clearRecent = document.getElementById('clear-recent');

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

  nameInput.value = storedName() || '';
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
    forgetRooms();
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
    storeName(name);
    rememberRoom(room);
    window.location.href = '/chat/' + room;
  });
})();
