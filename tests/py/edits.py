"""Edits, deletes, reactions and the catch-up with `since`, driven by the official
python-socketio client against `parley --auth accounts` (TEAM-CHAT.md, "Edits,
deletes, reactions, replies"): the author's edit reaches another member as
`message_updated` with a fresh rev; someone else's edit and a reaction in a closed room
they are not in are refused; a client that was disconnected while others sent, edited,
deleted and reacted gets exactly those changes from `history {since}`, in rev order,
once each, and the same from GET ?since=.

Usage: python tests/py/edits.py http://127.0.0.1:PORT TOKENS
  TOKENS is a JSON object {username: API token} with alice (admin), bob, carol, dave.
Exit 0 printing `ok edits`, or 1 with the reason.
"""

import sys
import time

import requests

from common import QUIET_S, WAIT_S, TeamClient, assert_same, check, random_name, run_team_script

USAGE = "python edits.py http://127.0.0.1:PORT TOKENS"
TOMBSTONE_FIELDS = ["deleted", "id", "rev", "room", "ts"]


class Client(TeamClient):
    """A signed-in socket of one user, its server events queued."""

    EVENTS = ("message", "message_updated", "message_deleted")

    def send(self, room, text):
        message = super().send(room, text)
        check(message.get("rev") == message["id"], f"a new message's rev is its id: {message}")
        return message

    def change(self, event, payload):
        reply = self.ok(event, payload)
        check(sorted(reply) == ["message", "ok"], f"{self.user}: {event} ack fields: {reply}")
        return reply["message"]


def scenario(base_url, tokens, sign_in):
    alice, bob, carol, dave = (sign_in(user) for user in ("alice", "bob", "carol", "dave"))
    room = random_name("py-edits")
    for client in (alice, bob, carol):
        client.ok("join", {"room": room})

    # The author's edit: a fresh rev, edited_ts, mentions, the room told.
    first = bob.send(room, "first try")
    later = bob.send(room, "second")
    edited = bob.change("edit_message", {"room": room, "id": first["id"], "text": "first, fixed @alice"})
    check(edited["rev"] > later["id"], f"the edit's rev passes every earlier id: {edited}")
    check(isinstance(edited.get("edited_ts"), int), f"edited_ts: {edited}")
    assert_same(edited.get("mentions"), ["alice"], "the mentions of the edited text")
    assert_same(
        {k: v for k, v in edited.items() if k not in ("text", "rev", "edited_ts", "mentions")},
        {k: v for k, v in first.items() if k not in ("text", "rev")},
        "an edit changes nothing but text, rev, edited_ts and mentions",
    )
    update = carol.wait_for("message_updated", lambda e: e["message"]["rev"] == edited["rev"], "the edit")
    assert_same(update, {"message": edited}, "message_updated to carol")

    # Refusals: someone else's edit; a reaction in a closed room dave is not in.
    carol.refused("edit_message", {"room": room, "id": first["id"], "text": "not mine"}, "forbidden")
    alice.refused("edit_message", {"room": room, "id": first["id"], "text": "admin"}, "forbidden")
    bob.refused("edit_message", {"room": room, "id": 12345, "text": "nothing"}, "not_found")
    crew = random_name("py-crew")
    bob.ok("create_room", {"room": crew, "kind": "closed", "members": ["carol"]})
    hidden = carol.send(crew, "closed talk")
    dave.refused("react", {"room": crew, "id": hidden["id"], "emoji": "👀"}, "forbidden", ["closed talk"])
    carol.refused("delete_message", {"room": room, "id": later["id"]}, "forbidden")
    time.sleep(QUIET_S)
    check(not carol.drain("message_updated"), "a refused change reached the room")

    # Carol goes away after seeing everything up to the edit.
    last_seen = edited["rev"]
    carol.sio.disconnect()
    new = bob.send(room, "while carol is away")
    final = {new["id"]: alice.change("react", {"room": room, "id": new["id"], "emoji": "🎉"})}
    final[first["id"]] = bob.change("edit_message", {"room": room, "id": first["id"], "text": "first, final"})
    bob.ok("delete_message", {"room": room, "id": later["id"]})
    alice.ok("react", {"room": room, "id": new["id"], "emoji": "🎉"})  # again: no change

    back = sign_in("carol")
    caught = back.ok("history", {"room": room, "since": last_seen})
    got = caught["messages"]
    ids = [m["id"] for m in got]
    check(sorted(ids) == sorted([*final, later["id"]]), f"exactly what changed while away, once each: {got}")
    revs = [m["rev"] for m in got]
    check(revs == sorted(set(revs)), f"in rev order: {revs}")
    for message in got:
        if message["id"] == later["id"]:
            check(sorted(message) == TOMBSTONE_FIELDS and message["deleted"] is True, f"the tombstone: {message}")
        else:
            assert_same(message, final[message["id"]], "a changed message as it is now")
    check(caught["rev"] == revs[-1], f"`rev` is the room's latest: {caught['rev']} vs {revs}")
    http = requests.get(
        f"{base_url}/api/rooms/{room}/messages",
        params={"since": last_seen},
        headers={"Authorization": f"Bearer {tokens['carol']}"},
        timeout=WAIT_S,
    )
    check(http.status_code == 200, f"GET ?since: {http.status_code} {http.text}")
    assert_same(http.json(), {"messages": got, "rev": caught["rev"]}, "GET ?since= answers as history does")
    check("second" not in http.text, f"the deleted text: {http.text}")


def main():
    return run_team_script("edits", USAGE, Client, scenario)


if __name__ == "__main__":
    sys.exit(main())
