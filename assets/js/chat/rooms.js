/*
 * chat/rooms.js: the records of my rooms (RoomInfo, see the README's "Rooms"): open and
 * closed rooms and direct messages, with their members, my unread and mention counts, my
 * read marker and my notification level. The list comes from `rooms` (GET /api/rooms
 * while the socket is down), asked when the page starts, after every reconnect and
 * whenever a `room` event says a record changed; creating a room and opening a DM go
 * through here too.
 */

import { getRooms } from './api.js';
import { ask } from './connection.js';
import { personName } from './presence.js';
import { announce, socketUp, state } from './state.js';

const REFRESH_DELAY_MS = 150;  // a burst of `room` events is one `rooms` request

let order = [];                // room ids, most recent activity first
let refreshTimer = null;

function isRoomInfo(r) {
  return r && typeof r.id === 'string' && (r.kind === 'open' || r.kind === 'closed' || r.kind === 'direct');
}

const NOTIFY_LEVELS = ['all', 'mentions', 'none'];

/** The record as the page keeps it: counts as numbers, members as a list, a notification level. */
function normalize(r) {
  return {
    id: r.id,
    name: typeof r.name === 'string' && r.name ? r.name : r.id,
    kind: r.kind,
    members: Array.isArray(r.members) ? r.members.filter((m) => typeof m === 'string') : [],
    unread: Number.isInteger(r.unread) ? r.unread : 0,
    mentions: Number.isInteger(r.mentions) ? r.mentions : 0,
    last_message: r.last_message && typeof r.last_message.id === 'number' ? r.last_message : null,
    read_marker: typeof r.read_marker === 'number' ? r.read_marker : 0,
    // My notification level here (notify.js); the server's defaults when it says none.
    notify: NOTIFY_LEVELS.includes(r.notify) ? r.notify : (r.kind === 'direct' ? 'all' : 'mentions'),
  };
}

/** My rooms and DMs, most recent activity first. */
export function roomsInOrder() {
  return order.map((id) => state.rooms.get(id)).filter(Boolean);
}

/** Asks the server for my rooms and replaces what the page had. */
export async function refreshRooms() {
  let list;
  try {
    list = socketUp() ? (await ask('rooms', {})).rooms : await getRooms();
  } catch (err) {
    return; // keep what the page has; the next connect asks again
  }
  if (!Array.isArray(list)) return;
  state.rooms.clear();
  order = [];
  for (const r of list) {
    if (!isRoomInfo(r) || r.member === false) continue;
    state.rooms.set(r.id, withLocalMarker(normalize(r)));
    order.push(r.id);
  }
  announce('rooms');
}

/**
 * A record as the server counted it, corrected by what this page read since: a `read`
 * sent while the answer was on its way (as right after a reconnect, when the join and
 * `rooms` are asked together) must not bring back the badge it cleared.
 */
function withLocalMarker(info) {
  const v = state.views.get(info.id);
  const local = v ? Math.max(v.readMarker, v.readSent) : 0;
  if (local > info.read_marker) {
    info.read_marker = local;
    if (!info.last_message || local >= info.last_message.id) {
      info.unread = 0;
      info.mentions = 0;
    }
  }
  return info;
}

/** refreshRooms, soon: several reasons close together make one request. */
export function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshRooms, REFRESH_DELAY_MS);
}

/**
 * One record as the server sent it (a `room` event, or the answer to create_room or
 * open_dm): added or updated, or dropped when I am no longer a member.
 */
export function applyRoom(r) {
  if (!isRoomInfo(r)) return;
  if (r.member === false) {
    state.rooms.delete(r.id);
    order = order.filter((id) => id !== r.id);
  } else {
    state.rooms.set(r.id, normalize(r));
    if (!order.includes(r.id)) order.unshift(r.id);
  }
  announce('rooms');
}

/** A room had activity just now: it moves to the top of "most recent". */
export function touchRoom(id) {
  if (order[0] === id || !order.includes(id)) return;
  order = [id, ...order.filter((x) => x !== id)];
}

/** What kind of room `id` is, from its record or, without one, from its id. */
export function roomKind(id) {
  const info = state.rooms.get(id);
  if (info) return info.kind;
  return id && id.startsWith('dm:') ? 'direct' : 'open';
}

/** The members of a DM other than me (all of them for a DM with myself only). */
export function dmPartners(info) {
  const me = state.me ? state.me.username : null;
  const others = info.members.filter((u) => u !== me);
  return others.length ? others : info.members;
}

/** How a room is called on the page: a DM by its other people's names, a room by its name. */
export function roomTitle(id) {
  const info = state.rooms.get(id);
  if (!info) return id;
  if (info.kind === 'direct') return dmPartners(info).map(personName).join(', ') || info.id;
  return info.name;
}

/** create_room; resolves to the new room's record. */
export async function createRoom({ room, name, kind, members }) {
  const res = await ask('create_room', { room, name, kind, members });
  applyRoom(res.room);
  return res.room;
}

/** open_dm with `users` (me included by the server); resolves to the DM's record. */
export async function openDm(users) {
  const res = await ask('open_dm', { users });
  applyRoom(res.room);
  return res.room;
}
