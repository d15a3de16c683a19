/*
 * debug.js: the connection debugger at /test-chat-debug (the original app had one too).
 * It drives parley-io.js by hand and logs every event with a millisecond timestamp, so
 * a user can see exactly where a connection stops: handshake (connect / connect_error),
 * transport upgrade, room join (ack), sending (ack + the room's message broadcast).
 * Each log line carries data-event="…" and a class per kind for tests and colour.
 */
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const userInput = $('user_id');
  const roomInput = $('chat_key');
  const transportEl = $('transport');
  const statusEl = $('connection-status');
  const log = $('event-log');
  let socket = null;
  let counter = 0;

  function stamp() {
    const d = new Date();
    const p = (n, w) => String(n).padStart(w || 2, '0');
    return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds()) + '.' + p(d.getMilliseconds(), 3);
  }

  function show(value) {
    if (value === undefined) return '';
    if (typeof value === 'string') return value;
    if (value instanceof Error) return value.message + (value.data ? ' ' + JSON.stringify(value.data) : '');
    try { return JSON.stringify(value); } catch (err) { return String(value); }
  }

  /** One log line: time, kind, payload. Only textContent: payloads are untrusted. */
  function add(kind, label, data) {
    const empty = log.querySelector('.log__empty');
    if (empty) empty.remove();
    const li = document.createElement('li');
    li.className = 'log__line log--' + kind;
    li.dataset.event = kind;
    const t = document.createElement('span');
    t.className = 'log__time';
    t.textContent = stamp();
    const k = document.createElement('span');
    k.className = 'log__kind';
    k.textContent = label || kind;
    const d = document.createElement('span');
    d.className = 'log__data';
    d.textContent = show(data);
    li.append(t, k, d);
    const follow = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.append(li);
    // Keep the page light during long sessions.
    while (log.childElementCount > 1000) log.firstElementChild.remove();
    if (follow) log.scrollTop = log.scrollHeight;
  }

  function setTransport(name) {
    transportEl.textContent = name || 'none';
    transportEl.dataset.transport = name || '';
  }

  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.className = 'status status--' + state;
    statusEl.textContent = text;
  }

  function room() { return roomInput.value.trim(); }
  function user() { return userInput.value.trim(); }

  function requireSocket() {
    if (socket) return true;
    add('error', 'error', 'Not connected: press Connect first.');
    return false;
  }

  function connect() {
    if (socket && (socket.connected || socket.active)) {
      add('info', 'info', 'Already connected or connecting (' + (socket.id || 'no sid yet') + ').');
      return;
    }
    add('info', 'info', 'Connecting to ' + window.location.origin + '/socket.io/ …');
    setStatus('reconnecting', 'connecting…');
    socket = window.io({ path: '/socket.io/' });
    socket.on('connect', () => {
      add('connect', 'connect', 'sid=' + socket.id + ' transport=' + socket.transportName);
      setTransport(socket.transportName);
      setStatus('connected', 'connected');
    });
    socket.on('transport', (name) => {
      add('transport', 'transport', 'upgraded to ' + name);
      setTransport(name);
    });
    socket.on('disconnect', (reason) => {
      add('disconnect', 'disconnect', reason);
      setTransport(null);
      setStatus('reconnecting', reason === 'io client disconnect' ? 'not connected' : 'reconnecting…');
    });
    socket.on('connect_error', (err) => {
      add('connect_error', 'connect_error', err);
      setStatus('reconnecting', 'reconnecting…');
    });
    socket.on('reconnect_attempt', (n) => add('info', 'reconnect', 'attempt ' + n));
    socket.on('error', (e) => add('error', 'error', e));
    socket.on('message', (m) => add('message', 'message', m));
    socket.on('typing', (t) => add('typing', 'typing', t));
  }

  function join() {
    if (!requireSocket()) return;
    const payload = { room: room() };
    add('join', 'join →', payload);
    socket.timeout(10000).emit('join', payload, (err, res) => {
      if (err) add('error', 'ack', 'join: ' + err.message);
      else add('ack', 'ack join', res);
    });
  }

  function sendTest() {
    if (!requireSocket()) return;
    const payload = {
      room: room(),
      text: 'Test message from ' + (user() || '?') + ' at ' + stamp(),
      sender: user(),
      client_id: (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + '-' + (++counter),
    };
    add('info', 'send →', payload);
    socket.timeout(10000).emit('send_message', payload, (err, res) => {
      if (err) add('error', 'ack', 'send_message: ' + err.message);
      else add('ack', 'ack send', res);
    });
  }

  function disconnect() {
    if (!requireSocket()) return;
    socket.disconnect();
    socket.off();
    socket = null;
    setTransport(null);
    setStatus('reconnecting', 'not connected');
  }

  function clearLog() {
    log.replaceChildren();
    const li = document.createElement('li');
    li.className = 'log__empty';
    li.textContent = 'No events yet. Press Connect to start.';
    log.append(li);
  }

  $('connect-btn').addEventListener('click', connect);
  $('join-btn').addEventListener('click', join);
  $('send-btn').addEventListener('click', sendTest);
  $('disconnect-btn').addEventListener('click', disconnect);
  $('clear-log').addEventListener('click', clearLog);
  $('debug-form').addEventListener('submit', (e) => { e.preventDefault(); connect(); });

  // Sensible defaults: the name from the lobby, the latest room.
  try {
    const name = localStorage.getItem('parley.name');
    if (name) userInput.value = name;
    const recent = JSON.parse(localStorage.getItem('parley.recentRooms') || '[]');
    if (Array.isArray(recent) && typeof recent[0] === 'string') roomInput.value = recent[0];
  } catch (err) { /* storage unavailable: keep the defaults */ }
  // ?user_id=…&chat_key=… prefill, handy for bookmarks and support links.
  const q = new URLSearchParams(window.location.search);
  if (q.get('user_id')) userInput.value = q.get('user_id');
  if (q.get('chat_key')) roomInput.value = q.get('chat_key');
  clearLog();
  setTransport(null);
})();
