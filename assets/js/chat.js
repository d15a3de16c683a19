/*
 * chat.js: the chat page for one room (/chat/{room}); this entry module only wires the
 * parts together, each in assets/js/chat/:
 *   state.js      the page's elements, its room, and what it knows right now
 *   render.js     messages on screen, each exactly once, in order
 *   sending.js    sending with a visible fate: sending → sent, or failed with Retry
 *   history.js    earlier messages, and catching up (new messages, edits, deletions)
 *   files.js      sharing files (attach, drop, paste) and a message's images and files
 *   message.js    a message's text, mentions, quote, "edited" mark, reactions, actions
 *   jump.js       showing one message with the history around it
 *   connection.js the socket, the connection indicator, and the HTTP fallback
 *   typing.js     "… is typing" both ways
 *   name.js       the user's name and the form that asks for it (open mode)
 *   notices.js    error wording and notices
 *   api.js        the room's HTTP API
 *   team.js       signed in: the team chat around the room (sidebar, switching rooms,
 *                 unread counts, presence), wired from its own modules
 * The Socket.IO client is loaded on its own (a dynamic import), so that a page whose
 * client failed to load still chats over HTTP instead of doing nothing at all.
 * Who the user is comes first (account.js): signed in, the account's name is used, the
 * chip links to the settings and the page becomes the team chat (team.js); in open mode
 * the name is typed and the page shows the one room of its address, as it always did.
 */

import { showAccountChip, whoAmI } from './account.js';
import './app.js';
import { checkName, roomProblem } from './rules.js';
import { storedName } from './prefs.js';
import { setStatus, startHttpPolling, startSocket } from './chat/connection.js';
import { setUpFiles } from './chat/files.js';
import { loadOlder } from './chat/history.js';
import { backToLive } from './chat/jump.js';
import { applyName, setUpNameForm, showNameForm } from './chat/name.js';
import { notice } from './chat/notices.js';
import { nearBottom, scrollToBottom } from './chat/render.js';
import { submitMessage } from './chat/sending.js';
import { els, state } from './chat/state.js';
import { startTeam } from './chat/team.js';
import { onInputTyping, stopTyping } from './chat/typing.js';

function showInvalidRoom() {
  els.roomName.textContent = 'invalid chat key';
  document.title = 'Invalid chat key · Parley';
  els.roomError.hidden = false;
  els.form.hidden = true;
  setStatus('not connected');
}

/** Open mode: the remembered name if the server would take it, else the name form. */
function useTypedName() {
  setUpNameForm();
  const { name, problem } = checkName(storedName());
  if (problem === null) applyName(name);
  else showNameForm();
}

function useAccount(user) {
  state.me = user;
  state.name = user.name;
  showAccountChip('account-chip', user);
  startTeam();
}

async function init() {
  const room = state.view.room;
  if (!room || roomProblem(room) !== null) {
    showInvalidRoom();
    return;
  }
  els.roomName.textContent = room;
  document.title = '#' + room + ' · Parley';
  els.input.placeholder = 'Message #' + room;

  setStatus('connecting');
  // Until the page knows who is writing, Enter must not submit the form the browser's way
  // (into the address bar); submitMessage takes over below.
  els.form.addEventListener('submit', (event) => event.preventDefault());
  const { user } = await whoAmI(() => setStatus('reconnecting'));
  if (user) useAccount(user);
  else useTypedName();

  els.form.addEventListener('submit', submitMessage);
  els.input.addEventListener('input', onInputTyping);
  setUpFiles();
  els.loadOlder.addEventListener('click', loadOlder);
  els.jump.addEventListener('click', () => {
    // A view showing older messages (a search result's) goes back to the newest.
    if (state.view.detached) backToLive(state.view);
    else scrollToBottom();
    els.input.focus();
  });
  els.scroller.addEventListener('scroll', () => {
    if (els.scroller.scrollTop < 80) loadOlder();
    if (nearBottom()) els.jump.hidden = true;
  }, { passive: true });
  window.addEventListener('pagehide', stopTyping);

  if (state.name) els.input.focus();
  import('./parley-io.js').then(({ io }) => startSocket(io), () => {
    notice('The chat client failed to load; using HTTP only.');
    startHttpPolling();
  });
}

init();
