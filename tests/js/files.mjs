// One signed-in member's socket for tests/files_http.rs (TEAM-CHAT.md, "Files"; issue
// 15), driven by the official `socket.io-client` against `parley --auth accounts`: the
// Rust test uploads and downloads over HTTP, and this socket is what another member of
// the room sees, and how messages get deleted (there is no HTTP route for that).
//
// Usage: node tests/js/files.mjs http://127.0.0.1:PORT watch TOKEN
// Prints `ready` once connected, then reads commands on stdin, one a line, and answers
// each with exactly one line that starts with the command's name:
//   join ROOM                 `join ROOM {ack}` (asserted ok)
//   create ROOM USER,USER     a closed room with those members: `create ROOM {ack}`
//   dm USER                   `dm ROOM_ID`, the direct room with USER
//   delete ROOM ID            delete_message: `delete ID {ack}` (ok or not)
//   messages N                waits (bounded) until N `message` events came:
//                             `messages [every message event so far]`
//   auto-delete               `auto-delete on`; from now on every `message` event that carries files is
//                             deleted the moment it arrives, from the event handler
//   auto-deleted N            waits until N of those deletes were answered:
//                             `auto-deleted [{id, ack}]`
//   quit                      `quit`, and the script ends
// Ends with `ok watch` or `FAIL watch: reason`.

import { createInterface } from 'node:readline';
import { io } from 'socket.io-client';
import {
  WAIT_MS, check, connected, emitWithAck, runScenarioFromArgv, show, waitUntil,
} from './lib.mjs';

const USAGE = 'node files.mjs http://127.0.0.1:PORT watch TOKEN';

let baseUrl;
const openSockets = [];

async function watch(token) {
  check(token, 'no token');
  const socket = io(baseUrl, {
    forceNew: true, reconnection: false, timeout: WAIT_MS, auth: { token },
  });
  openSockets.push(socket);
  const messages = [];
  const autoDeleted = [];
  let autoDelete = false;
  socket.on('message', (message) => {
    messages.push(message);
    if (autoDelete && Array.isArray(message?.files) && message.files.length > 0) {
      // No await before the emit: the delete leaves in the same tick the message came.
      socket.emit('delete_message', { room: message.room, id: message.id }, (ack) => {
        autoDeleted.push({ id: message.id, ack });
      });
    }
  });
  await connected(socket, 'the watching member');
  console.log('ready');

  const ok = async (event, payload) => {
    const [ack] = await emitWithAck(socket, event, payload);
    check(ack?.ok === true, `${event} ${show(payload)}: ${show(ack)}`);
    return ack;
  };
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [command, ...args] = line.trim().split(/\s+/);
    if (command === 'join') {
      console.log(`join ${args[0]} ${JSON.stringify(await ok('join', { room: args[0] }))}`);
    } else if (command === 'create') {
      const members = args[1].split(',');
      const ack = await ok('create_room', { room: args[0], kind: 'closed', members });
      console.log(`create ${args[0]} ${JSON.stringify(ack)}`);
    } else if (command === 'dm') {
      console.log(`dm ${(await ok('open_dm', { users: [args[0]] })).room.id}`);
    } else if (command === 'delete') {
      const [ack] = await emitWithAck(socket, 'delete_message', { room: args[0], id: Number(args[1]) });
      console.log(`delete ${args[1]} ${JSON.stringify(ack)}`);
    } else if (command === 'messages') {
      const count = Number(args[0]);
      await waitUntil(() => messages.length >= count, `${count} message events (have ${messages.length})`);
      console.log(`messages ${JSON.stringify(messages)}`);
    } else if (command === 'auto-delete') {
      autoDelete = true;
      console.log('auto-delete on');
    } else if (command === 'auto-deleted') {
      const count = Number(args[0]);
      await waitUntil(() => autoDeleted.length >= count, `${count} deletes answered (have ${autoDeleted.length})`);
      console.log(`auto-deleted ${JSON.stringify(autoDeleted)}`);
    } else if (command === 'quit') {
      console.log('quit');
      break;
    } else {
      check(false, `unknown command ${show(line)}`);
    }
  }
  lines.close();
}

await runScenarioFromArgv({
  usage: USAGE,
  scenarios: { watch },
  limitMs: 120000,
  openSockets,
  setBaseUrl: (url) => { baseUrl = url; },
});
