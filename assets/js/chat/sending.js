/*
 * chat/sending.js: sending a message, with a visible fate. The original app showed a
 * local echo and hoped for the best, so people saw messages that never arrived. Here:
 *   - an echo is shown at once with data-state="sending" and a client_id;
 *   - it becomes "sent" only when the server's copy arrives (ack or broadcast, whichever
 *     is first; render.js swaps it in), and is then the server's message (id, ts);
 *   - otherwise it becomes "failed" with a Retry button that resends the same client_id,
 *     which the server deduplicates, so a retry can never post twice.
 * Sends go over the socket when it is joined, else over HTTP POST. A send belongs to the
 * room it was written in (its view), also when the reader has moved on to another room.
 * A reply carries `reply_to` and its echo already shows the quote; a message sent while
 * the view shows an older stretch of the room (jump.js) brings it back to the newest.
 */

import { newClientId } from '../page.js';
import { isBlankText } from '../rules.js';
import { createMessage } from './api.js';
import { backToLive } from './jump.js';
import { setQuote } from './message.js';
import { showNameForm } from './name.js';
import { describeError } from './notices.js';
import { buildMessage, nearBottom, regroup, renderLive, scrollToBottom, setMsgState, setTime, updateEmpty } from './render.js';
import { takeReply } from './reply.js';
import { els, socketUp, state } from './state.js';
import { stopTyping } from './typing.js';

const SEND_TIMEOUT_MS = 10000;   // no ack within this → "failed", with Retry
// Only these are worth retrying as-is; "invalid" / "too_large" will fail again.
const RETRYABLE = new Set(['not_joined', 'rate_limited', 'unavailable', 'internal', 'timeout', 'network']);

/** The message form was submitted. */
export function submitMessage(event) {
  event.preventDefault();
  if (!state.name) { showNameForm(); return; }
  const text = els.input.value;
  if (isBlankText(text)) { els.input.focus(); return; }
  const v = state.view;
  backToLive(v);
  const clientId = newClientId();
  const payload = { room: v.room, text, sender: state.name, client_id: clientId };
  const replyTo = takeReply(v);
  if (replyTo !== null) payload.reply_to = replyTo;
  const li = buildMessage(state.name, text, state.me ? state.me.username : undefined);
  li.classList.add('msg--own');
  li.dataset.clientId = clientId;
  if (replyTo !== null) setQuote(v, li, replyTo);
  setTime(li, Date.now());
  v.list.append(li);
  regroup(li);
  v.pending.set(clientId, { el: li, payload });
  updateEmpty();
  els.input.value = '';
  stopTyping();
  scrollToBottom();
  deliver(v, clientId);
}

/** Send (or resend) a pending echo of view `v`: socket when joined, HTTP otherwise. Same client_id. */
function deliver(v, clientId) {
  const p = v.pending.get(clientId);
  if (!p) return;
  setMsgState(p.el, 'sending');
  if (!socketUp() || !v.joined) {
    sendOverHttp(v, clientId);
    return;
  }
  const socket = state.socket;
  socket.timeout(SEND_TIMEOUT_MS).emit('send_message', p.payload, (err, res) => {
    if (!v.pending.has(clientId)) return; // the broadcast already confirmed it
    if (err) {
      // Lost with the connection: HTTP can still deliver it (same client_id, so safe).
      if (!socket.connected) sendOverHttp(v, clientId);
      else fail(v, clientId, { code: 'timeout', message: 'No confirmation from the server.' });
      return;
    }
    if (res && res.ok && res.message) renderLive(v, [res.message], true);
    else fail(v, clientId, (res && res.error) || { code: 'internal' });
  });
}

async function sendOverHttp(v, clientId) {
  const p = v.pending.get(clientId);
  if (!p) return;
  const { text, sender, client_id, reply_to } = p.payload;
  try {
    const message = await createMessage(v.room, { text, sender, client_id, reply_to });
    if (message) renderLive(v, [message], true);
    else fail(v, clientId, { code: 'internal', message: 'Unexpected server reply.' });
  } catch (err) {
    fail(v, clientId, err);
  }
}

function fail(v, clientId, error) {
  const p = v.pending.get(clientId);
  if (!p) return;
  const follow = v === state.view && nearBottom(); // the status line adds height: keep it in view
  const canRetry = RETRYABLE.has(error.code) || !error.code;
  setMsgState(p.el, 'failed', describeError(error), canRetry ? () => deliver(v, clientId) : null);
  if (follow) scrollToBottom();
}
