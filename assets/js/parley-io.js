/*
 * parley-io.js: a small Socket.IO v5 / Engine.IO v4 browser client, written for Parley.
 *
 * An ES module with one export, `io(url?, options?)`, shaped like the official client's
 * (`on`, `off`, `once`, `emit` with acks, `timeout(ms).emit`, `emitWithAck`, `volatile`,
 * `connect`, `disconnect`, `connected`, `id`). Only namespace "/" and text frames are
 * supported; binary packets are ignored, not fatal.
 *
 * Transport strategy: HTTP long-polling first, then an upgrade to WebSocket, like the
 * official client. The first request is a plain GET, which every proxy, corporate
 * firewall and antivirus lets through; the WebSocket is only a *probe* on top of a
 * session that already works. If the probe is blocked (or hangs), the page keeps
 * chatting over polling and the user never notices. WebSocket-first would be one round
 * trip faster, but when a middlebox silently swallows the upgrade the user would wait for
 * a timeout before anything works. (Passing `transports: ['websocket', 'polling']`
 * opens the WebSocket first and falls back to polling if it fails before the handshake.)
 *
 * Reconnection: exponential backoff (reconnectionDelay · 2^attempt, capped at
 * reconnectionDelayMax) with ±randomizationFactor jitter so that a restarted server is
 * not hit by every client in the same millisecond. The attempt counter resets after a
 * successful CONNECT. A disconnect the server asked for ("io server disconnect") or the
 * page asked for ("io client disconnect") is not retried, as in the official client.
 *
 * Buffering: `emit` while disconnected queues the packet; the queue is flushed after the
 * next CONNECT. Ack timeouts keep running while a packet waits in the queue: a packet
 * whose ack timed out is removed from the queue, so "timed out" reliably means "this
 * client will not send it later". Packets already sent when the connection drops cannot
 * be acknowledged any more (the server's session is gone): their error-first ack
 * callbacks (timeout/ackTimeout) get Error('socket has been disconnected') at once,
 * plain callbacks are dropped. `volatile.emit` drops the packet when not connected.
 */
// Engine.IO packet types (one character on the wire).
const EIO = { OPEN: '0', CLOSE: '1', PING: '2', PONG: '3', MESSAGE: '4', UPGRADE: '5', NOOP: '6' };
// Socket.IO packet types (first character inside an Engine.IO MESSAGE).
const SIO = { CONNECT: 0, DISCONNECT: 1, EVENT: 2, ACK: 3, CONNECT_ERROR: 4, BINARY_EVENT: 5, BINARY_ACK: 6 };
// Polling payloads join packets with the ASCII record separator.
const SEPARATOR = '\x1e';
// Events the socket emits locally; the page cannot `emit` them to the server.
const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

/** Minimal event emitter: listeners are called in registration order. */
class Emitter {
  constructor() { this._listeners = new Map(); }
  on(event, fn) {
    if (!this._listeners.has(event)) this._listeners.set(event, []);
    this._listeners.get(event).push(fn);
    return this;
  }
  once(event, fn) {
    const wrapper = (...args) => { this.off(event, wrapper); fn.apply(this, args); };
    wrapper.original = fn;
    return this.on(event, wrapper);
  }
  off(event, fn) {
    if (event === undefined) { this._listeners.clear(); return this; }
    if (fn === undefined) { this._listeners.delete(event); return this; }
    const list = this._listeners.get(event);
    if (list) {
      const i = list.findIndex((l) => l === fn || l.original === fn);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }
  _fire(event, ...args) {
    const list = this._listeners.get(event);
    if (!list) return;
    // Copy: a listener may remove itself (once) while we iterate.
    for (const fn of list.slice()) {
      try { fn.apply(this, args); } catch (err) { setTimeout(() => { throw err; }); }
    }
  }
}

/** A random query value so no cache or proxy ever answers a poll from its store. */
function cacheBuster() { return Date.now().toString(36) + Math.random().toString(36).slice(2, 6); }

// ---------------------------------------------------------------------------------
// Transports. Each one speaks Engine.IO packets as strings and reports to its Engine
// through callbacks: onPackets(array of strings), onError(Error), onClose(reason).
// ---------------------------------------------------------------------------------

/** What both transports share: a name, their Engine, the session id and its address. */
class Transport {
  constructor(engine, name) {
    this.name = name;
    this.engine = engine;
    this.sid = null;
    this.closed = false;
  }

  /** The Engine.IO address on `base`, with the page's query and `extra` parameters. */
  _url(base, extra) {
    const q = new URLSearchParams(this.engine.query);
    q.set('EIO', '4');
    q.set('transport', this.name);
    for (const [key, value] of Object.entries(extra)) q.set(key, value);
    if (this.sid) q.set('sid', this.sid);
    return base + '?' + q.toString();
  }
}

/** HTTP long-polling: one GET always waiting for data, one POST at a time for sending. */
class PollingTransport extends Transport {
  constructor(engine) {
    super(engine, 'polling');
    this.paused = false;
    this.getInFlight = null;     // Promise of the running GET, if any
    this.postInFlight = null;    // Promise of the running POST, if any
    this.outbox = [];            // encoded packets waiting for the next POST
    // Only the long GET is aborted on close; POSTs are short and must not lose data.
    this.getAborter = new AbortController();
  }

  url() { return this._url(this.engine.httpBase, { t: cacheBuster() }); }

  /** The handshake is simply the first GET (without sid). */
  open() { this._poll(); }

  _poll() {
    if (this.closed || this.paused || this.getInFlight) return;
    const request = fetch(this.url(), { method: 'GET', cache: 'no-store', credentials: 'same-origin', signal: this.getAborter.signal })
      .then((res) => {
        if (!res.ok) throw new Error('poll failed with HTTP ' + res.status);
        return res.text();
      })
      .then((body) => {
        this.getInFlight = null;
        if (this.closed) return;
        this.engine._onPackets(this, body.split(SEPARATOR));
        this._poll(); // no-op when paused or closed meanwhile
      })
      .catch((err) => {
        this.getInFlight = null;
        if (!this.closed) this.engine._onTransportError(this, err);
      });
    this.getInFlight = request;
  }

  send(packets) {
    this.outbox.push(...packets);
    this._flush();
  }

  _flush() {
    if (this.closed || this.postInFlight || this.outbox.length === 0) return;
    // Respect the server's maxPayload: send as many whole packets as fit.
    const limit = this.engine.maxPayload || 1e6;
    let size = 0;
    let count = 0;
    for (const p of this.outbox) {
      const add = p.length + (count ? 1 : 0);
      if (count > 0 && size + add > limit) break;
      size += add;
      count += 1;
    }
    const batch = this.outbox.splice(0, count);
    this.postInFlight = fetch(this.url(), {
      method: 'POST',
      cache: 'no-store',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'text/plain;charset=UTF-8' },
      body: batch.join(SEPARATOR),
    })
      .then((res) => {
        if (!res.ok) throw new Error('post failed with HTTP ' + res.status);
        this.postInFlight = null;
        this._flush();
      })
      .catch((err) => {
        this.postInFlight = null;
        if (!this.closed) this.engine._onTransportError(this, err);
      });
  }

  /** Stop polling and resolve when no request is in flight any more (upgrade step). */
  pause() {
    this.paused = true;
    const pending = [this.getInFlight, this.postInFlight].filter(Boolean);
    // Errors are reported through _onTransportError; here we only wait for quiet.
    return Promise.all(pending.map((p) => p.catch(() => {}))).then(() => {
      // A POST may have started from the outbox while we waited: wait for it as well.
      if (this.postInFlight) return this.pause();
      return undefined;
    });
  }

  close(sendClosePacket) {
    if (this.closed) return;
    if (sendClosePacket && this.sid) {
      // Tell the server, so it frees the session at once; packets still queued (e.g. a
      // Socket.IO DISCONNECT) ride along. keepalive lets it finish while the page unloads.
      const body = this.outbox.splice(0).concat(EIO.CLOSE).join(SEPARATOR);
      fetch(this.url(), { method: 'POST', body, keepalive: true, credentials: 'same-origin',
        headers: { 'Content-Type': 'text/plain;charset=UTF-8' } }).catch(() => {});
    }
    this.closed = true;
    this.getAborter.abort();
  }
}

/** WebSocket: one Engine.IO packet per text frame. */
class WebSocketTransport extends Transport {
  constructor(engine) {
    super(engine, 'websocket');
    this.ws = null;
  }

  url() { return this._url(this.engine.wsBase, {}); }

  /** Opens the socket; `handlers` lets the upgrade probe watch it before it is adopted. */
  open(handlers) {
    this.handlers = handlers;
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (err) {
      setTimeout(() => this.handlers.onError(err));
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => { if (!this.closed) this.handlers.onOpen(); };
    ws.onmessage = (ev) => {
      if (this.closed) return;
      if (typeof ev.data !== 'string') return; // binary frames are not supported: ignore
      this.handlers.onPackets([ev.data]);
    };
    ws.onerror = () => { if (!this.closed) this.handlers.onError(new Error('websocket error')); };
    ws.onclose = (ev) => {
      if (this.closed) return;
      this.closed = true;
      this.handlers.onClose('transport close', ev.code);
    };
  }

  send(packets) {
    if (this.closed || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    for (const p of packets) this.ws.send(p);
  }

  close(sendClosePacket) {
    if (this.closed) return;
    this.closed = true;
    if (this.ws) {
      try {
        if (sendClosePacket && this.ws.readyState === WebSocket.OPEN) this.ws.send(EIO.CLOSE);
        this.ws.close();
      } catch (err) { /* already closing */ }
    }
  }
}

// ---------------------------------------------------------------------------------
// Engine: one Engine.IO session (handshake, heartbeat, upgrade). Emits 'open',
// 'message' (Socket.IO payload string), 'upgrade' (transport name), 'close' (reason).
// ---------------------------------------------------------------------------------
class Engine extends Emitter {
  constructor(opts) {
    super();
    this.httpBase = opts.httpBase;
    this.wsBase = opts.wsBase;
    this.query = opts.query || {};
    this.transports = opts.transports;
    this.upgradeEnabled = opts.upgrade !== false;
    this.probeTimeoutMs = opts.probeTimeout || 10000;
    this.state = 'opening'; // opening → open → closed
    this.transport = null;
    this.sid = null;
    this.maxPayload = 1e6;
    this.writeBuffer = [];   // packets waiting while the transport is paused (upgrade)
    this.upgrading = false;
    this.heartbeat = null;
  }

  open() {
    this._openWith(0);
  }

  _openWith(index) {
    const name = this.transports[index];
    const t = name === 'websocket' ? new WebSocketTransport(this) : new PollingTransport(this);
    this.transport = t;
    if (t.name === 'websocket') {
      t.open({
        onOpen: () => {},
        onPackets: (packets) => this._onPackets(t, packets),
        onError: (err) => this._onTransportError(t, err),
        onClose: (reason) => this._onTransportClose(t, reason),
      });
      // Fallback: if the WebSocket dies before the handshake, try the next transport.
      t.fallbackIndex = index + 1 < this.transports.length ? index + 1 : null;
    } else {
      t.open();
    }
  }

  get transportName() { return this.transport ? this.transport.name : null; }

  _onPackets(t, packets) {
    for (const raw of packets) {
      if (this.state === 'closed' || t !== this.transport) return;
      this._onPacket(raw);
    }
  }

  _onPacket(raw) {
    if (raw.length === 0) return;
    const type = raw[0];
    const data = raw.slice(1);
    switch (type) {
      case EIO.OPEN: return this._onHandshake(data);
      case EIO.PING:
        // v4: the server pings, we answer; a ping also proves the server is alive.
        this._resetHeartbeat();
        this._send([EIO.PONG]);
        return undefined;
      case EIO.MESSAGE: return this._fire('message', data);
      case EIO.CLOSE: return this._close('transport close');
      case EIO.NOOP: return undefined;
      default:
        // 'b…' is a base64 binary packet over polling: unsupported, so ignored.
        return undefined;
    }
  }

  _onHandshake(json) {
    let hs;
    try { hs = JSON.parse(json); } catch (err) { return this._close('parse error'); }
    this.sid = hs.sid;
    this.pingInterval = hs.pingInterval || 25000;
    this.pingTimeout = hs.pingTimeout || 20000;
    this.maxPayload = hs.maxPayload || 1e6;
    this.transport.sid = hs.sid;
    this.state = 'open';
    this._resetHeartbeat();
    this._fire('open', hs);
    this._flush();
    if (this.upgradeEnabled && this.transport.name === 'polling' &&
        Array.isArray(hs.upgrades) && hs.upgrades.includes('websocket') &&
        this.transports.includes('websocket') && typeof WebSocket === 'function') {
      this._probe();
    }
    return undefined;
  }

  /**
   * No ping within pingInterval + pingTimeout means the server (or the path to it) is
   * gone even if the TCP connection looks open: close and let the socket reconnect.
   */
  _resetHeartbeat() {
    clearTimeout(this.heartbeat);
    this.heartbeat = setTimeout(() => this._close('ping timeout'), this.pingInterval + this.pingTimeout);
  }

  /** The polling → WebSocket upgrade, as described in the Engine.IO v4 protocol. */
  _probe() {
    const polling = this.transport;
    const ws = new WebSocketTransport(this);
    ws.sid = this.sid;
    this.probe = ws; // closed by _close() if the session ends mid-probe
    let done = false;
    const fail = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ws.close(false);
      // Stay on polling. If we had paused it for the switch, resume.
      if (polling.paused && this.transport === polling && this.state === 'open') {
        polling.paused = false;
        this.upgrading = false;
        polling._poll();
        this._flush();
      }
    };
    // A proxy may accept the upgrade and then say nothing: give up after a while.
    const timer = setTimeout(fail, this.probeTimeoutMs);
    ws.open({
      onOpen: () => ws.send([EIO.PING + 'probe']),
      onPackets: (packets) => {
        if (done) { this._onPackets(ws, packets); return; }
        if (packets[0] !== EIO.PONG + 'probe') { fail(); return; }
        clearTimeout(timer);
        // Stop polling and wait for the running GET to return (the server answers it
        // with a NOOP once it has seen the probe) and for the last POST to finish, so
        // no packet is in flight on the old transport when we switch.
        this.upgrading = true;
        polling.pause().then(() => {
          if (done || this.state !== 'open' || this.transport !== polling) { fail(); return; }
          done = true;
          ws.handlers = {
            onOpen: () => {},
            onPackets: (p) => this._onPackets(ws, p),
            onError: (err) => this._onTransportError(ws, err),
            onClose: (reason) => this._onTransportClose(ws, reason),
          };
          ws.send([EIO.UPGRADE]);
          polling.close(false);
          this.transport = ws;
          this.upgrading = false;
          this._fire('upgrade', ws.name);
          this._flush();
        });
      },
      onError: fail,
      onClose: fail,
    });
  }

  /** Queue packets; they go out now, or once an upgrade in progress has finished. */
  _send(packets) {
    if (this.state === 'closed') return;
    this.writeBuffer.push(...packets);
    this._flush();
  }

  _flush() {
    if (this.state !== 'open' || this.upgrading || this.writeBuffer.length === 0) return;
    const packets = this.writeBuffer.splice(0);
    this.transport.send(packets);
  }

  sendMessage(data) { this._send([EIO.MESSAGE + data]); }

  _onTransportError(t, err) {
    if (t !== this.transport) return;
    // WebSocket-first that failed before the handshake: fall back to the next transport.
    if (this.state === 'opening' && t.fallbackIndex != null) {
      t.close(false);
      this._openWith(t.fallbackIndex);
      return;
    }
    this.lastError = err;
    this._close('transport error', err);
  }

  _onTransportClose(t, reason) {
    if (t !== this.transport) return;
    if (this.state === 'opening' && t.fallbackIndex != null) {
      this._openWith(t.fallbackIndex);
      return;
    }
    this._close(reason);
  }

  /** Close from our side (reason 'forced close') or because the session ended. */
  close() { this._close('forced close'); }

  _close(reason, err) {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    clearTimeout(this.heartbeat);
    if (this.probe && this.probe !== this.transport) this.probe.close(false);
    if (this.transport) this.transport.close(reason === 'forced close' && wasOpen);
    this.writeBuffer = [];
    this._fire('close', reason, err);
  }
}

// ---------------------------------------------------------------------------------
// Socket: the Socket.IO layer (namespace "/"), plus the reconnection manager.
// ---------------------------------------------------------------------------------
class Socket extends Emitter {
  constructor(url, opts) {
    super();
    const o = Object.assign({
      path: '/socket.io/',
      transports: ['polling', 'websocket'],
      upgrade: true,
      reconnection: true,
      reconnectionAttempts: Infinity,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      timeout: 20000,          // how long a connection attempt may take
      autoConnect: true,
      ackTimeout: undefined,
      auth: undefined,
      query: {},
    }, opts || {});
    this.opts = o;
    const base = new URL(url || '/', window.location.href);
    let path = o.path;
    if (!path.endsWith('/')) path += '/';
    this._httpBase = base.origin + path;
    this._wsBase = (base.protocol === 'https:' ? 'wss://' : 'ws://') + base.host + path;

    this.connected = false;
    this.id = undefined;
    this.active = false;        // true between connect() and disconnect()
    this.engine = null;
    this.sendBuffer = [];       // [{ id?, frame }] waiting for CONNECT
    this.acks = new Map();      // ack id → callback
    this.sentAckIds = new Set();
    this.nextAckId = 0;
    this.attempts = 0;
    this.reconnectTimer = null;
    this.connectTimer = null;
    this.flags = {};
    if (o.autoConnect) this.connect();
  }

  /** The current transport name: 'polling', 'websocket' or null while not connected. */
  get transportName() { return this.engine && this.engine.state === 'open' ? this.engine.transportName : null; }

  /** Mirrors `socket.io.engine.transport.name` from the official client. */
  get io() {
    const self = this;
    return { engine: { get transport() { return { name: self.transportName }; }, get id() { return self.engine && self.engine.sid; } } };
  }

  get disconnected() { return !this.connected; }

  connect() {
    if (this.connected || (this.active && (this.engine || this.reconnectTimer))) return this;
    this.active = true;
    this._openEngine();
    return this;
  }
  open() { return this.connect(); }

  _openEngine() {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const engine = new Engine({
      httpBase: this._httpBase,
      wsBase: this._wsBase,
      transports: this.opts.transports,
      upgrade: this.opts.upgrade,
      query: this.opts.query,
    });
    this.engine = engine;
    engine.on('open', () => {
      // Socket.IO CONNECT to "/", with the auth payload if any.
      const auth = this.opts.auth;
      engine.sendMessage(SIO.CONNECT + (auth ? JSON.stringify(auth) : ''));
    });
    engine.on('message', (data) => this._onSioPacket(data));
    engine.on('upgrade', (name) => this._fire('transport', name));
    engine.on('close', (reason, err) => this._onEngineClose(engine, reason, err));
    // A connection attempt that hangs (e.g. a proxy holding the request) must fail.
    clearTimeout(this.connectTimer);
    this.connectTimer = setTimeout(() => {
      if (this.engine === engine && !this.connected) engine._close('timeout', new Error('timeout'));
    }, this.opts.timeout);
    engine.open();
  }

  _onSioPacket(str) {
    const type = Number(str[0]);
    let i = 1;
    if (type === SIO.BINARY_EVENT || type === SIO.BINARY_ACK) {
      // Binary attachments arrive as separate frames we do not support: skip the packet.
      return;
    }
    // Optional namespace: we only use "/", so packets for others are ignored.
    if (str[i] === '/') {
      const comma = str.indexOf(',', i);
      const nsp = comma < 0 ? str.slice(i) : str.slice(i, comma);
      if (nsp !== '/') return;
      i = comma < 0 ? str.length : comma + 1;
    }
    let digits = '';
    while (i < str.length && str[i] >= '0' && str[i] <= '9') digits += str[i++];
    const ackId = digits === '' ? undefined : Number(digits);
    let payload;
    if (i < str.length) {
      try { payload = JSON.parse(str.slice(i)); } catch (err) { return; }
    }

    switch (type) {
      case SIO.CONNECT: return this._onConnect(payload);
      case SIO.CONNECT_ERROR: {
        const err = new Error((payload && payload.message) || 'connect error');
        err.data = payload && payload.data;
        err.type = 'server';
        this._failAttempt(err);
        return undefined;
      }
      case SIO.EVENT:
        if (!Array.isArray(payload) || payload.length === 0) return undefined;
        if (ackId !== undefined) payload.push(this._makeAckReply(ackId));
        this._fire(String(payload[0]), ...payload.slice(1));
        return undefined;
      case SIO.ACK: {
        const fn = this.acks.get(ackId);
        if (!fn) return undefined;
        this.acks.delete(ackId);
        this.sentAckIds.delete(ackId);
        const args = Array.isArray(payload) ? payload : [];
        if (fn.withError) fn(null, ...args); else fn(...args);
        return undefined;
      }
      case SIO.DISCONNECT:
        this._teardown('io server disconnect', false);
        return undefined;
      default:
        return undefined;
    }
  }

  /** A server event asked for an ack: give its listener a function that replies once. */
  _makeAckReply(id) {
    let sent = false;
    return (...args) => {
      if (sent) return;
      sent = true;
      this._sendFrame(SIO.ACK + String(id) + JSON.stringify(args));
    };
  }

  _onConnect(payload) {
    clearTimeout(this.connectTimer);
    this.connected = true;
    this.id = payload && payload.sid;
    const wasReconnect = this.attempts > 0;
    this.attempts = 0;
    // Flush what was emitted while we were away, in order.
    const buffered = this.sendBuffer.splice(0);
    for (const p of buffered) {
      if (p.id !== undefined) this.sentAckIds.add(p.id);
      this._sendFrame(p.frame);
    }
    this._fire('connect');
    if (wasReconnect) this._fire('reconnect');
  }

  _sendFrame(frame) { if (this.engine) this.engine.sendMessage(frame); }

  /** A connection attempt failed (before CONNECT): report it and maybe try again. */
  _failAttempt(err) {
    clearTimeout(this.connectTimer);
    this._dropEngine();
    this._fire('connect_error', err);
    this._scheduleReconnect();
  }

  /** Closes the current engine, if any, without hearing its 'close': we are the reason. */
  _dropEngine() {
    const engine = this.engine;
    this.engine = null;
    if (engine) { engine.off('close'); engine.close(); }
  }

  _onEngineClose(engine, reason, err) {
    if (engine !== this.engine) return;
    if (!this.connected) {
      const e = err instanceof Error ? err : new Error(reason === 'timeout' ? 'timeout' : 'connection failed (' + reason + ')');
      this.engine = null;
      clearTimeout(this.connectTimer);
      this._fire('connect_error', e);
      this._scheduleReconnect();
      return;
    }
    this._teardown(reason, true);
  }

  /** The Socket.IO connection ended: fail in-flight acks, notify, maybe reconnect. */
  _teardown(reason, mayReconnect) {
    this._dropEngine();
    const wasConnected = this.connected;
    this.connected = false;
    this.id = undefined;
    // Acks of packets the old session received can never arrive now.
    for (const id of this.sentAckIds) {
      const fn = this.acks.get(id);
      this.acks.delete(id);
      if (fn && fn.withError) fn(new Error('socket has been disconnected'));
    }
    this.sentAckIds.clear();
    if (!mayReconnect) this.active = false;
    if (wasConnected) this._fire('disconnect', reason);
    if (mayReconnect) this._scheduleReconnect();
  }

  _scheduleReconnect() {
    if (!this.active || !this.opts.reconnection || this.reconnectTimer) return;
    if (this.attempts >= this.opts.reconnectionAttempts) {
      this.active = false;
      this._fire('reconnect_failed');
      return;
    }
    const o = this.opts;
    let delay = o.reconnectionDelay * Math.pow(2, this.attempts);
    if (o.randomizationFactor) {
      const deviation = Math.random() * o.randomizationFactor * delay;
      delay = Math.random() < 0.5 ? delay - deviation : delay + deviation;
    }
    delay = Math.max(0, Math.min(delay, o.reconnectionDelayMax));
    this.attempts += 1;
    const attempt = this.attempts;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.active) return;
      this._fire('reconnect_attempt', attempt);
      this._openEngine();
    }, delay);
  }

  /** Close for good (until connect() is called again). Buffered packets are kept. */
  disconnect() {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    clearTimeout(this.connectTimer);
    this.active = false;
    if (this.connected) {
      this._sendFrame(String(SIO.DISCONNECT));
      // The transports send what is queued (the DISCONNECT above) before closing.
      this._teardown('io client disconnect', false);
    } else {
      this._dropEngine();
    }
    this.attempts = 0;
    return this;
  }
  close() { return this.disconnect(); }

  /** Flags for the next emit only, like the official client: timeout(ms), volatile. */
  timeout(ms) { this.flags.timeout = ms; return this; }
  get volatile() { this.flags.volatile = true; return this; }

  emit(event, ...args) {
    const flags = this.flags;
    this.flags = {};
    if (RESERVED.has(event)) throw new Error('"' + event + '" is a reserved event name');
    let id;
    if (typeof args[args.length - 1] === 'function') {
      id = this.nextAckId++;
      this._registerAck(id, args.pop(), flags.timeout);
    }
    const frame = SIO.EVENT + (id === undefined ? '' : String(id)) + JSON.stringify([event, ...args]);
    if (this.connected) {
      if (id !== undefined) this.sentAckIds.add(id);
      this._sendFrame(frame);
    } else if (!flags.volatile) {
      this.sendBuffer.push({ id, frame });
    } else if (id !== undefined) {
      this.acks.delete(id); // a dropped volatile packet will never be acknowledged
    }
    return this;
  }

  /** Promise flavour: resolves with the ack payload, rejects on timeout/disconnect. */
  emitWithAck(event, ...args) {
    const hasTimeout = this.flags.timeout !== undefined || this.opts.ackTimeout !== undefined;
    return new Promise((resolve, reject) => {
      if (hasTimeout) {
        this.emit(event, ...args, (err, res) => (err ? reject(err) : resolve(res)));
      } else {
        this.emit(event, ...args, resolve);
      }
    });
  }

  _registerAck(id, fn, flagTimeout) {
    const ms = flagTimeout !== undefined ? flagTimeout : this.opts.ackTimeout;
    if (ms === undefined) { this.acks.set(id, fn); return; }
    // Error-first callback: (null, ...response) or (Error).
    const timer = setTimeout(() => {
      this.acks.delete(id);
      this.sentAckIds.delete(id);
      this.sendBuffer = this.sendBuffer.filter((p) => p.id !== id);
      fn(new Error('operation has timed out'));
    }, ms);
    const wrapped = (...args) => { clearTimeout(timer); fn(...args); };
    wrapped.withError = true;
    this.acks.set(id, wrapped);
  }

  /** Same as emit, kept for code written against socket.send('message', ...). */
  send(...args) { return this.emit('message', ...args); }
}

export function io(url, opts) {
  if (typeof url === 'object' && url !== null) { opts = url; url = undefined; }
  return new Socket(url, opts);
}
io.Socket = Socket;
io.protocol = 5;
