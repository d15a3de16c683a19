/*
 * page.js: the small helpers every page (lobby, chat, debugger, the account pages) uses,
 * kept in one place so that the pages cannot drift apart: element lookup and creation,
 * the connection indicator, messages and form-field errors, client ids and clock times.
 *
 * `element` is the only way the pages create elements that show text, and it sets that
 * text with textContent: whatever a server or a user sent is data, never HTML.
 */

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** A new `<tag>` with these classes and, if given, this text. */
export function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * Shows a connection state on an indicator (`status status--{state}`, data-state). The
 * transport goes into data-transport only while there is one, so a stale "websocket" is
 * never left on a page that is not connected.
 */
export function showStatus(el, state, text, transport) {
  el.textContent = text;
  el.dataset.state = state;
  el.className = 'status status--' + state;
  if (transport) el.dataset.transport = transport;
  else delete el.dataset.transport;
}

/** Shows `message` in `el`, or hides `el` when `message` is null. */
export function showMessage(el, message) {
  el.textContent = message || '';
  el.hidden = !message;
}

/** Shows `message` under a form field, or clears it when `message` is null. */
export function showFieldError(input, errorEl, message) {
  showMessage(errorEl, message);
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/** A fresh id for one message send; its retries reuse it so the server can deduplicate. */
export function newClientId() {
  if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // Fallback for non-secure contexts (plain http on a LAN address): RFC 4122 v4 by hand.
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
}

const pad = (n, width) => String(n).padStart(width, '0');

/** Local time of day: "14:05", or "14:05:09.042" when `precise` (the debugger's log). */
export function clockTime(date, precise) {
  const hm = pad(date.getHours(), 2) + ':' + pad(date.getMinutes(), 2);
  if (!precise) return hm;
  return hm + ':' + pad(date.getSeconds(), 2) + '.' + pad(date.getMilliseconds(), 3);
}
