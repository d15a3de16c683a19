/*
 * chat/team.js: the chat page signed in, where it is the team's chat: the sidebar of
 * rooms, DMs and people beside the open room, switching rooms in place, unread counts
 * and read markers, presence. This module only wires those parts together and to the
 * socket's events; each part is its own module:
 *   rooms.js     my room records (RoomInfo), create_room and open_dm
 *   presence.js  the people and who is online
 *   unread.js    counts, the read marker, the "New messages" line, the tab title
 *   sidebar.js   the lists on the left, and the drawer they are in on a phone
 *   roomhead.js  the open room's name and members at the top
 *   switch.js    opening another room without reloading
 *   dialogs.js   "New room", "Browse open rooms" and "Message someone"
 *   members.js   the room's members: adding, removing, leaving
 *   actions.js   reacting, replying, editing and deleting (reactions.js, reply.js, edit.js)
 *   mentions.js  `@` suggestions in the message box
 *   notify.js    notification levels, desktop notifications and their sound
 *   search.js    the search box and its results
 *   jump.js      showing a message (a result, a quote, a notification) with its context
 * In open mode none of this runs: the page is the one-room chat it always was.
 */

import { setUpActions } from './actions.js';
import { setUpDialogs } from './dialogs.js';
import { setUpJumps } from './jump.js';
import { refreshMembers, setUpMembers } from './members.js';
import { setUpMentions } from './mentions.js';
import { setUpNotifications } from './notify.js';
import { loadPeople, onPresence } from './presence.js';
import { nearBottom } from './render.js';
import { applyRoom, refreshRooms, scheduleRefresh } from './rooms.js';
import { showRoomHead } from './roomhead.js';
import { setUpSearch } from './search.js';
import { setUpSidebar, showSidebar } from './sidebar.js';
import { els, on, state } from './state.js';
import { openRoom, setUpSwitching } from './switch.js';
import { considerRead, enteredRoom, noteMessage, onReadEvent, showTitle } from './unread.js';

function redraw() {
  showSidebar();
  showRoomHead();
  showTitle();
  refreshMembers();
}

/** Makes the page the team chat; call before the socket is started. */
export function startTeam() {
  state.team = true;
  document.body.classList.add('page-chat--team');
  setUpSidebar(openRoom);
  setUpDialogs(openRoom);
  setUpMembers(openRoom);
  setUpSwitching();
  setUpActions();
  setUpMentions();
  setUpNotifications();
  setUpSearch();
  setUpJumps();

  on('rooms', redraw);
  on('people', redraw);
  on('switched', redraw);
  on('message', noteMessage);
  on('rendered', ({ view }) => { if (view === state.view) considerRead(); });
  // A deleted message may have been counted unread: the server counts again.
  on('changed', ({ view, deleted }) => {
    const info = state.rooms.get(view.room);
    if (deleted && info && info.unread > 0) scheduleRefresh();
  });
  on('joined', ({ view }) => {
    if (view === state.view && view.entering) {
      view.entering = false;
      enteredRoom(view);
    } else {
      considerRead();
    }
    redraw();
  });
  on('refused', ({ view }) => {
    if (view === state.view) redraw();
  });
  on('socket', ({ socket }) => {
    socket.on('presence', onPresence);
    socket.on('read', onReadEvent);
    // A record changed (a room created, a member added or removed, a DM opened to me).
    socket.on('room', (d) => {
      if (!d || !d.room) return;
      applyRoom(d.room);
      scheduleRefresh();
      // Taken out of the closed room or DM on screen: it is no longer mine to read.
      if (d.room.id === state.view.room && d.room.member === false && d.room.kind !== 'open') {
        state.view.refused = true;
        redraw();
      }
    });
  });
  // Whatever changed while the socket was down is asked again.
  on('connected', () => { refreshRooms(); loadPeople(); redraw(); considerRead(); });

  els.scroller.addEventListener('scroll', () => { if (nearBottom()) considerRead(); }, { passive: true });
  document.addEventListener('visibilitychange', considerRead);
  window.addEventListener('focus', considerRead);

  redraw();
  refreshRooms();
  loadPeople();
}
