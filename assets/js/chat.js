/*
 * chat.js: the chat page for one room (/chat/{room}).
 *
 * The original app showed a local echo and hoped for the best, so people saw messages
 * that never arrived. Here every message has a visible fate:
 *   - an echo is shown at once with data-state="sending" and a client_id;
 *   - it becomes "sent" only when the server's copy arrives (ack or broadcast, whichever
 *     is first), and is then the server's message (id, ts), rendered exactly once;
 *   - otherwise it becomes "failed" with a Retry button that resends the same client_id,
 *     which the server deduplicates, so a retry can never post twice.
 * While the socket is down, sends go over HTTP POST and new messages are polled every
 * 3 s from the newest id we have; when the socket returns we re-join and catch up from
 * that id. Every rendering path goes through renderMessage(), which dedupes by id.
 * Text is only ever set with textContent: messages are data, never HTML.
 */
(function () {
  'use strict';

  const { nameProblem, roomProblem, rememberRoom, storedName, storeName } = window.ParleyPrefs;
  const PAGE = 50;                 // history page size (the server's join also returns 50)
  const SEND_TIMEOUT_MS = 10000;   // no ack within this → "failed", with Retry
  const REQUEST_TIMEOUT_MS = 10000;
  const HTTP_POLL_MS = 3000;       // polling interval while the socket is down
  const SOCKET_GRACE_MS = 4000;    // first load: how long to wait for the socket before HTTP
  const TYPING_THROTTLE_MS = 2000; // resend "typing: true" at most this often
  const TYPING_IDLE_MS = 3000;     // no keystroke for this long → "typing: false"
  const TYPING_EXPIRE_MS = 5000;   // forget a remote typer not refreshed for this long
  const MAX_CATCHUP_PAGES = 100;   // bound on catch-up loops (5000 messages)
  const NEAR_BOTTOM_PX = 120;
  const MAX_ID = 9007199254740991; // "before" cursor meaning "the newest messages"

  const $ = (id) => document.getElementById(id);
  const els = {
    roomName: $('room-name'),
    status: $('connection-status'),
    userChip: $('user-chip'),
    userName: $('user-name'),
    userAvatar: $('user-avatar'),
    notices: $('notices'),
    scroller: $('scroller'),
    list: $('messages'),
    loadOlder: $('load-older'),
    historyStart: $('history-start'),
    emptyState: $('empty-state'),
    roomError: $('room-error-panel'),
    jump: $('jump-latest'),
    typing: $('typing-indicator'),
    nameForm: $('name-form'),
    nameInput: $('name-input'),
    nameError: $('name-form-error'),
    form: $('chat-form'),
    input: $('message-input'),
    send: $('send-button'),
  };

  // ---------- small helpers ----------

  function roomFromPath() {
    const m = window.location.pathname.match(/^\/chat\/([^/]+)\/?$/);
    if (!m) return null;
    try { return decodeURIComponent(m[1]); } catch (err) { return null; }
  }

  function newClientId() {
    if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
    // Fallback for non-secure contexts (plain http on a LAN address): RFC 4122 v4 by hand.
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  const pad2 = (n) => String(n).padStart(2, '0');
  function hhmm(d) { return pad2(d.getHours()) + ':' + pad2(d.getMinutes()); }
  function fullDate(d) {
    try { return d.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'medium' }); } catch (err) { return d.toString(); }
  }

  const ERROR_TEXT = {
    invalid: 'The server rejected this message.',
    too_large: 'Message is too long.',
    not_joined: 'Not in the room yet.',
    rate_limited: 'Sending too fast, slow down a little.',
    unavailable: 'The server is temporarily unavailable.',
    internal: 'The server hit an error.',
  };
  // Only these are worth retrying as-is; "invalid" / "too_large" will fail again.
  const RETRYABLE = new Set(['not_joined', 'rate_limited', 'unavailable', 'internal', 'timeout', 'network']);

  function describeError(error) {
    if (!error) return 'Unknown error.';
    return error.message || ERROR_TEXT[error.code] || String(error.code || 'error');
  }

  /** fetch() with a timeout and JSON on both sides; throws {code, message} on failure. */
  async function api(method, path, body) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), REQUEST_TIMEOUT_MS);
    let res;
    try {
      res = await fetch(path, {
        method,
        headers: body ? { 'Content-Type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
        cache: 'no-store',
        credentials: 'same-origin',
        signal: ctrl.signal,
      });
    } catch (err) {
      throw { code: ctrl.signal.aborted ? 'timeout' : 'network', message: 'Could not reach the server.' };
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    try { data = await res.json(); } catch (err) { data = null; }
    if (!res.ok) {
      const e = (data && data.error) || {};
      throw { code: e.code || (res.status === 413 ? 'too_large' : res.status === 429 ? 'rate_limited' : 'internal'), message: e.message || 'HTTP ' + res.status };
    }
    return data || {};
  }

  // ---------- page state ----------

  const room = roomFromPath();
  // Room characters are all legal in a URL path, so the validated room goes in as-is:
  // the server never has to percent-decode it.
  const apiBase = '/api/rooms/' + room + '/messages';
  const state = {
    name: null,
    byId: new Map(),       // message id → <li>, the single source of "already shown"
    pending: new Map(),    // client_id → { el, payload } for echoes not yet confirmed
    oldestId: null,
    newestId: null,        // the cursor for catch-up and HTTP polling
    initialLoaded: false,
    hasMore: false,
    loadingOlder: false,
    joined: false,
    httpPolling: false,
    httpTimer: null,
    httpPollBusy: false,
    typers: new Map(),     // sender → expiry timer
    typingSentAt: 0,
    typingIdleTimer: null,
  };
  let socket = null;

  // ---------- connection indicator ----------

  function setStatus(kind, transport) {
    const text = {
      connected: 'connected · ' + (transport || 'polling'),
      offline: 'offline — sending over HTTP',
      reconnecting: 'reconnecting…',
      connecting: 'connecting…',
    }[kind];
    const dataState = kind === 'connecting' ? 'reconnecting' : kind;
    els.status.textContent = text;
    els.status.dataset.state = dataState;
    els.status.className = 'status status--' + dataState;
    if (kind === 'connected' && transport) els.status.dataset.transport = transport;
    else delete els.status.dataset.transport;
  }

  // ---------- notices ----------

  function notice(message, code) {
    // Same text twice in a row is one notice, not a stack of them.
    for (const n of els.notices.children) {
      if (n.dataset.text === message) return;
    }
    while (els.notices.children.length >= 3) els.notices.firstElementChild.remove();
    const box = document.createElement('div');
    box.className = 'notice';
    box.setAttribute('role', 'alert');
    box.dataset.text = message;
    if (code) box.dataset.code = code;
    const text = document.createElement('span');
    text.className = 'notice__text';
    text.textContent = message;
    box.append(text);
    if (code) {
      const c = document.createElement('span');
      c.className = 'notice__code';
      c.textContent = code;
      box.append(c);
    }
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'btn btn--ghost btn--small notice__close';
    close.textContent = 'Dismiss';
    close.addEventListener('click', () => { box.remove(); els.input.focus(); });
    box.append(close);
    els.notices.append(box);
  }

  // ---------- rendering ----------

  function nearBottom() {
    const s = els.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }
  function scrollToBottom() {
    els.scroller.scrollTop = els.scroller.scrollHeight;
    els.jump.hidden = true;
  }

  function buildMessage(sender, text) {
    const li = document.createElement('li');
    li.className = 'msg';
    li.dataset.sender = sender;
    const meta = document.createElement('div');
    meta.className = 'msg__meta';
    const who = document.createElement('span');
    who.className = 'msg__sender';
    who.textContent = sender;
    const time = document.createElement('time');
    time.className = 'msg__time';
    meta.append(who, time);
    const bubble = document.createElement('div');
    bubble.className = 'msg__bubble';
    bubble.textContent = text;
    const status = document.createElement('div');
    status.className = 'msg__status';
    status.hidden = true;
    li.append(meta, bubble, status);
    if (sender === state.name) li.classList.add('msg--own');
    return li;
  }

  function setTime(li, ts) {
    const d = new Date(ts);
    const t = li.querySelector('.msg__time');
    if (isNaN(d.getTime())) return;
    t.textContent = hhmm(d);
    t.dateTime = d.toISOString();
    t.title = fullDate(d);
    li.dataset.ts = String(ts);
  }

  function setMsgState(li, msgState, reason, canRetry, clientId) {
    li.dataset.state = msgState;
    const status = li.querySelector('.msg__status');
    status.replaceChildren();
    if (msgState === 'sent') { status.hidden = true; return; }
    status.hidden = false;
    const label = document.createElement('span');
    label.textContent = msgState === 'sending' ? 'Sending…' : 'Not sent · ' + reason;
    status.append(label);
    if (msgState === 'failed' && canRetry) {
      const retry = document.createElement('button');
      retry.type = 'button';
      retry.className = 'btn btn--small msg__retry';
      retry.textContent = 'Retry';
      retry.setAttribute('aria-label', 'Retry sending this message');
      retry.addEventListener('click', () => deliver(clientId));
      status.append(retry);
    }
  }

  /** Messages are kept in id order; unconfirmed echoes always stay at the end. */
  function insertSorted(li, id) {
    let node = els.list.lastElementChild;
    while (node && (!node.dataset.id || Number(node.dataset.id) > id)) node = node.previousElementSibling;
    els.list.insertBefore(li, node ? node.nextElementSibling : els.list.firstElementChild);
  }

  /** Group runs from one sender (within 5 minutes) so names are not repeated. */
  function regroup(li) {
    for (const el of [li, li && li.nextElementSibling]) {
      if (!el) continue;
      const prev = el.previousElementSibling;
      const same = prev && prev.dataset.sender === el.dataset.sender &&
        Math.abs(Number(el.dataset.ts || Date.now()) - Number(prev.dataset.ts || Date.now())) < 5 * 60 * 1000;
      el.classList.toggle('msg--cont', Boolean(same));
    }
  }

  function updateEmpty() {
    const none = els.list.childElementCount === 0;
    els.emptyState.hidden = !state.initialLoaded || !none;
    els.historyStart.hidden = !state.initialLoaded || state.hasMore || none;
  }

  /**
   * Show one server message, exactly once. Returns true if something new appeared.
   * An echo with the same sender + client_id is turned into this message in place.
   */
  function renderMessage(msg) {
    if (!msg || typeof msg.id !== 'number' || typeof msg.sender !== 'string') return false;
    if (msg.room && msg.room !== room) return false;
    const echo = msg.client_id ? state.pending.get(msg.client_id) : null;
    const isOurEcho = echo && echo.payload.sender === msg.sender;
    if (state.byId.has(msg.id)) {
      // Already shown (e.g. broadcast beat the ack): just drop a leftover echo.
      if (isOurEcho) { echo.el.remove(); state.pending.delete(msg.client_id); }
      return false;
    }
    let li;
    if (isOurEcho) {
      li = echo.el;
      state.pending.delete(msg.client_id);
      li.remove();
      li.querySelector('.msg__bubble').textContent = String(msg.text);
    } else {
      li = buildMessage(msg.sender, String(msg.text));
    }
    li.dataset.id = String(msg.id);
    if (msg.client_id) li.dataset.clientId = msg.client_id;
    setTime(li, msg.ts);
    setMsgState(li, 'sent');
    insertSorted(li, msg.id);
    regroup(li);
    state.byId.set(msg.id, li);
    if (state.oldestId === null || msg.id < state.oldestId) state.oldestId = msg.id;
    if (state.newestId === null || msg.id > state.newestId) state.newestId = msg.id;
    updateEmpty();
    return true;
  }

  /** New messages at the bottom: follow them only if the reader is already there. */
  function renderLive(messages, forceScroll) {
    const follow = forceScroll || nearBottom();
    let added = 0;
    for (const m of messages) {
      if (renderMessage(m)) {
        added += 1;
        // Whoever just sent a message has stopped typing it.
        if (state.typers.has(m.sender)) dropTyper(m.sender);
      }
    }
    if (!added) return;
    if (follow) scrollToBottom();
    else els.jump.hidden = false;
  }

  /** Older messages at the top: keep what the reader is looking at still. */
  function renderOlder(messages) {
    const s = els.scroller;
    const fromBottom = s.scrollHeight - s.scrollTop;
    els.list.setAttribute('aria-busy', 'true'); // don't announce a page of history
    for (const m of messages) renderMessage(m);
    s.scrollTop = s.scrollHeight - fromBottom;
    setTimeout(() => els.list.removeAttribute('aria-busy'), 0);
  }

  function setHasMore(more) {
    state.hasMore = more;
    els.loadOlder.hidden = !more;
    updateEmpty();
  }

  /** First batch of history, whichever way it came (join ack or HTTP). */
  function renderInitial(messages) {
    els.list.setAttribute('aria-busy', 'true');
    for (const m of messages) renderMessage(m);
    setTimeout(() => els.list.removeAttribute('aria-busy'), 0);
    if (!state.initialLoaded) {
      state.initialLoaded = true;
      setHasMore(messages.length >= PAGE);
      updateEmpty();
      scrollToBottom();
    }
  }

  // ---------- history ----------

  /** history over the socket when it is up, else over HTTP. Resolves to messages. */
  function fetchHistory(params) {
    if (socket && socket.connected) {
      return new Promise((resolve, reject) => {
        socket.timeout(REQUEST_TIMEOUT_MS).emit('history', Object.assign({ room }, params), (err, res) => {
          if (err) reject({ code: 'timeout', message: err.message });
          else if (!res || !res.ok) reject((res && res.error) || { code: 'internal' });
          else resolve(Array.isArray(res.messages) ? res.messages : []);
        });
      });
    }
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
    return api('GET', apiBase + '?' + q).then((d) => (Array.isArray(d.messages) ? d.messages : []));
  }

  async function loadOlder() {
    if (state.loadingOlder || !state.hasMore || state.oldestId === null) return;
    state.loadingOlder = true;
    els.loadOlder.disabled = true;
    try {
      const msgs = await fetchHistory({ before: state.oldestId, limit: PAGE });
      renderOlder(msgs);
      setHasMore(msgs.length >= PAGE);
    } catch (err) {
      notice('Could not load earlier messages: ' + describeError(err), err && err.code);
    } finally {
      state.loadingOlder = false;
      els.loadOlder.disabled = false;
    }
  }

  /** Everything after `afterId`, page by page, until a short page says we are current. */
  async function catchUp(afterId) {
    let cursor = afterId;
    for (let i = 0; i < MAX_CATCHUP_PAGES; i += 1) {
      const msgs = await fetchHistory({ after: cursor, limit: PAGE });
      renderLive(msgs);
      if (msgs.length < PAGE) return;
      cursor = msgs.reduce((max, m) => (m.id > max ? m.id : max), cursor);
    }
  }

  // ---------- HTTP fallback (socket down) ----------

  function startHttpPolling() {
    if (state.httpPolling) return;
    state.httpPolling = true;
    httpPoll();
  }

  function stopHttpPolling() {
    state.httpPolling = false;
    clearTimeout(state.httpTimer);
    state.httpTimer = null;
  }

  async function httpPoll() {
    if (!state.httpPolling || state.httpPollBusy) return;
    state.httpPollBusy = true;
    const base = apiBase + '?';
    try {
      if (!state.initialLoaded) {
        const d = await api('GET', base + 'before=' + MAX_ID + '&limit=' + PAGE);
        if (state.httpPolling) renderInitial(Array.isArray(d.messages) ? d.messages : []);
      } else {
        // Page forward from our newest id until a short page: nothing missed after an outage.
        for (let i = 0; i < MAX_CATCHUP_PAGES && state.httpPolling; i += 1) {
          const after = state.newestId === null ? 0 : state.newestId;
          const d = await api('GET', base + 'after=' + after + '&limit=' + PAGE);
          const msgs = Array.isArray(d.messages) ? d.messages : [];
          renderLive(msgs);
          if (msgs.length < PAGE) break;
        }
      }
      if (state.httpPolling && !(socket && socket.connected)) setStatus('offline');
    } catch (err) {
      if (state.httpPolling && !(socket && socket.connected)) setStatus('reconnecting');
    } finally {
      state.httpPollBusy = false;
      if (state.httpPolling) state.httpTimer = setTimeout(httpPoll, HTTP_POLL_MS);
    }
  }

  // ---------- sending ----------

  function submitMessage(event) {
    event.preventDefault();
    if (!state.name) { showNameForm(); return; }
    const text = els.input.value;
    if (!text.trim()) { els.input.focus(); return; }
    const clientId = newClientId();
    const payload = { room, text, sender: state.name, client_id: clientId };
    const li = buildMessage(state.name, text);
    li.classList.add('msg--own');
    li.dataset.clientId = clientId;
    li.dataset.ts = String(Date.now());
    setTime(li, Date.now());
    els.list.append(li);
    regroup(li);
    state.pending.set(clientId, { el: li, payload });
    updateEmpty();
    els.input.value = '';
    stopTyping();
    scrollToBottom();
    deliver(clientId);
  }

  /** Send (or resend) a pending echo: socket when joined, HTTP otherwise. Same client_id. */
  function deliver(clientId) {
    const p = state.pending.get(clientId);
    if (!p) return;
    setMsgState(p.el, 'sending');
    if (socket && socket.connected && state.joined) {
      socket.timeout(SEND_TIMEOUT_MS).emit('send_message', p.payload, (err, res) => {
        if (!state.pending.has(clientId)) return; // the broadcast already confirmed it
        if (err) {
          // Lost with the connection: HTTP can still deliver it (same client_id, so safe).
          if (!socket.connected) sendOverHttp(clientId);
          else fail(clientId, { code: 'timeout', message: 'No confirmation from the server.' });
          return;
        }
        if (res && res.ok && res.message) renderLive([res.message], true);
        else fail(clientId, (res && res.error) || { code: 'internal' });
      });
    } else {
      sendOverHttp(clientId);
    }
  }

  async function sendOverHttp(clientId) {
    const p = state.pending.get(clientId);
    if (!p) return;
    const { text, sender, client_id } = p.payload;
    try {
      const d = await api('POST', apiBase, { text, sender, client_id });
      if (d.message) renderLive([d.message], true);
      else fail(clientId, { code: 'internal', message: 'Unexpected server reply.' });
    } catch (err) {
      fail(clientId, err);
    }
  }

  function fail(clientId, error) {
    const p = state.pending.get(clientId);
    if (!p) return;
    const follow = nearBottom(); // the status line adds height: keep it in view
    setMsgState(p.el, 'failed', describeError(error), RETRYABLE.has(error.code) || !error.code, clientId);
    if (follow) scrollToBottom();
  }

  // ---------- typing ----------

  function emitTyping(typing) {
    if (!socket || !socket.connected || !state.joined || !state.name) return;
    // volatile: a stale "typing" is worse than none, so never queue it for later.
    socket.volatile.emit('typing', { room, sender: state.name, typing });
  }

  function onInputTyping() {
    if (!els.input.value.trim()) { stopTyping(); return; }
    const now = Date.now();
    if (now - state.typingSentAt >= TYPING_THROTTLE_MS) {
      state.typingSentAt = now;
      emitTyping(true);
    }
    clearTimeout(state.typingIdleTimer);
    state.typingIdleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(state.typingIdleTimer);
    if (state.typingSentAt) {
      state.typingSentAt = 0;
      emitTyping(false);
    }
  }

  function renderTyping() {
    const names = Array.from(state.typers.keys());
    let text = '';
    if (names.length === 1) text = names[0] + ' is typing…';
    else if (names.length === 2) text = names[0] + ' and ' + names[1] + ' are typing…';
    else if (names.length > 2) text = names.length + ' people are typing…';
    els.typing.textContent = text;
  }

  function dropTyper(sender) {
    clearTimeout(state.typers.get(sender));
    state.typers.delete(sender);
    renderTyping();
  }

  function onTyping(d) {
    if (!d || d.room !== room || typeof d.sender !== 'string' || d.sender === state.name) return;
    if (d.typing) {
      clearTimeout(state.typers.get(d.sender));
      state.typers.set(d.sender, setTimeout(() => dropTyper(d.sender), TYPING_EXPIRE_MS));
      renderTyping();
    } else {
      dropTyper(d.sender);
    }
  }

  function clearTypers() {
    for (const t of state.typers.values()) clearTimeout(t);
    state.typers.clear();
    renderTyping();
  }

  // ---------- name ----------

  function applyName(name) {
    state.name = name;
    els.userName.textContent = name;
    els.userAvatar.textContent = Array.from(name.trim())[0] || '?';
    els.userChip.hidden = false;
    els.nameForm.hidden = true;
    els.form.hidden = false;
  }

  function showNameForm() {
    els.nameForm.hidden = false;
    els.form.hidden = true;
    els.nameInput.value = state.name || '';
    els.nameError.hidden = true;
    els.nameInput.focus();
  }

  els.nameForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = els.nameInput.value.trim();
    const problem = nameProblem(name);
    if (problem) {
      els.nameError.textContent = problem;
      els.nameError.hidden = false;
      els.nameInput.setAttribute('aria-invalid', 'true');
      els.nameInput.focus();
      return;
    }
    els.nameInput.removeAttribute('aria-invalid');
    stopTyping();
    storeName(name);
    applyName(name);
    // Own/other styling follows the name.
    for (const li of els.list.children) if (li.dataset.id) li.classList.toggle('msg--own', li.dataset.sender === name);
    els.input.focus();
  });

  // ---------- socket ----------

  function joinRoom() {
    const since = state.initialLoaded ? state.newestId : null;
    socket.timeout(REQUEST_TIMEOUT_MS).emit('join', { room }, (err, res) => {
      if (err) {
        // Lost with the connection: the next 'connect' joins again. Otherwise say so.
        if (socket.connected) notice('Joining the chat timed out. Retrying…', 'timeout');
        if (socket.connected) setTimeout(() => socket.connected && !state.joined && joinRoom(), 2000);
        return;
      }
      if (!res || !res.ok) {
        notice('Could not join the chat: ' + describeError(res && res.error), res && res.error && res.error.code);
        return;
      }
      state.joined = true;
      rememberRoom(room);
      const msgs = Array.isArray(res.messages) ? res.messages : [];
      if (!state.initialLoaded) renderInitial(msgs);
      else renderLive(msgs);
      // Anything between what we had and the server's "last N": fetch it, page by page.
      if (since !== null) {
        catchUp(since).catch((e) => notice('Could not catch up: ' + describeError(e), e && e.code));
      }
    });
  }

  function startSocket() {
    socket = window.io({
      path: '/socket.io/',
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
    });

    socket.on('connect', () => {
      stopHttpPolling();
      setStatus('connected', socket.transportName);
      joinRoom();
    });
    socket.on('transport', (name) => { if (socket.connected) setStatus('connected', name); });
    socket.on('disconnect', (reason) => {
      state.joined = false;
      clearTypers();
      setStatus('reconnecting');
      startHttpPolling();
      // A server-side disconnect is not retried by the client library; a chat should be.
      if (reason === 'io server disconnect') setTimeout(() => socket.connect(), 1000);
    });
    socket.on('connect_error', () => {
      if (els.status.dataset.state !== 'offline') setStatus('reconnecting');
      startHttpPolling();
    });
    socket.on('error', (e) => {
      const code = e && e.code;
      notice((e && e.message) || ERROR_TEXT[code] || 'The server reported an error.', code);
    });
    socket.on('message', (m) => renderLive([m]));
    socket.on('typing', onTyping);

    // If the socket neither connects nor fails quickly (a proxy holding the request),
    // show history over HTTP instead of an empty page.
    setTimeout(() => { if (!socket.connected) startHttpPolling(); }, SOCKET_GRACE_MS);
  }

  // ---------- wiring ----------

  function init() {
    if (!room || roomProblem(room) !== null) {
      els.roomName.textContent = 'invalid chat key';
      document.title = 'Invalid chat key · Parley';
      els.roomError.hidden = false;
      els.form.hidden = true;
      setStatus('reconnecting');
      els.status.textContent = 'not connected';
      return;
    }
    els.roomName.textContent = room;
    document.title = '#' + room + ' · Parley';
    els.input.placeholder = 'Message #' + room;

    const stored = storedName();
    if (nameProblem(stored) === null) applyName(stored);
    else showNameForm();

    els.form.addEventListener('submit', submitMessage);
    els.input.addEventListener('input', onInputTyping);
    els.userChip.addEventListener('click', showNameForm);
    els.loadOlder.addEventListener('click', loadOlder);
    els.jump.addEventListener('click', () => { scrollToBottom(); els.input.focus(); });
    els.scroller.addEventListener('scroll', () => {
      if (els.scroller.scrollTop < 80) loadOlder();
      if (nearBottom()) els.jump.hidden = true;
    }, { passive: true });
    // Escape leaves the name form when a name already exists.
    els.nameForm.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && state.name) { els.nameForm.hidden = true; els.form.hidden = false; els.input.focus(); }
    });
    window.addEventListener('pagehide', stopTyping);

    setStatus('connecting');
    if (typeof window.io !== 'function') {
      notice('The chat client failed to load; using HTTP only.');
      startHttpPolling();
      return;
    }
    startSocket();
    if (state.name) els.input.focus();
  }

  init();
})();
