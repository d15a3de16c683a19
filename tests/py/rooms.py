"""Rooms, membership, direct messages and read markers, driven by the official
python-socketio client against `parley --auth accounts` (TEAM-CHAT.md, "Rooms,
membership, direct messages" and "Presence, read markers, unread"): a closed room
refuses an outsider's every attempt and shows him nothing, `open_dm` names and reuses
a DM whose members receive it without joining, `read` moves the marker that the other
socket, `join` and `rooms` see.

Usage: python tests/py/rooms.py http://127.0.0.1:PORT TOKENS
  TOKENS is a JSON object {username: API token} with alice (admin), bob, carol, dave.
Exit 0 printing `ok rooms`, or 1 with the reason.
"""

import json
import sys
import time

import requests

from common import QUIET_S, WAIT_S, TeamClient, check, random_name, run_team_script

USAGE = "python rooms.py http://127.0.0.1:PORT TOKENS"


class Client(TeamClient):
    """A signed-in socket of one user, its server events queued."""

    EVENTS = ("message", "room", "read", "typing")


def scenario(base_url, tokens, sign_in):
    alice, bob, carol, dave = (sign_in(user) for user in ("alice", "bob", "carol", "dave"))

    # A closed room: the outsider is refused everything and sees nothing.
    room = random_name("py-closed")
    secret = "python secret"
    created = bob.ok("create_room", {"room": room, "kind": "closed", "members": ["carol"]})["room"]
    check(created.get("kind") == "closed" and created.get("members") == ["bob", "carol"], f"created {created}")
    carol.wait_for("room", lambda e: e["room"]["id"] == room, "room event for the created room")
    sent = bob.ok("send_message", {"room": room, "text": secret})["message"]
    carol.wait_for("message", lambda m: m["id"] == sent["id"], "the closed room's message without joining")
    for event, payload in (
        ("join", {"room": room}),
        ("history", {"room": room}),
        ("send_message", {"room": room, "text": "let me in"}),
        ("typing", {"room": room, "typing": True}),
        ("read", {"room": room, "id": sent["id"]}),
        ("room", {"room": room}),
        ("add_member", {"room": room, "username": "dave"}),
    ):
        dave.refused(event, payload, "forbidden", [secret])
    time.sleep(QUIET_S)
    for event in ("message", "room", "typing"):
        got = [e for e in dave.drain(event) if room in json.dumps(e)]
        check(not got, f"dave got {event} events of a closed room: {got}")
    http = requests.get(
        f"{base_url}/api/rooms/{room}/messages",
        headers={"Authorization": f"Bearer {tokens['dave']}"},
        timeout=WAIT_S,
    )
    check(http.status_code == 403 and secret not in http.text, f"HTTP GET by an outsider: {http.status_code} {http.text}")
    check(http.json().get("error", {}).get("code") == "forbidden", f"HTTP refusal: {http.text}")
    history = carol.ok("history", {"room": room})["messages"]
    check([m["text"] for m in history] == [secret], f"the room after the attempts: {history}")

    # open_dm: the id, the same room from the other side, delivery without joining.
    dm = alice.ok("open_dm", {"users": ["bob"]})["room"]
    check(dm.get("id") == "dm:alice:bob" and dm.get("kind") == "direct", f"open_dm: {dm}")
    check(dm.get("members") == ["alice", "bob"], f"DM members: {dm}")
    again = bob.ok("open_dm", {"users": ["alice"]})["room"]
    check(again.get("id") == "dm:alice:bob", f"open_dm again: {again}")
    bob_tab = sign_in("bob")
    psst = alice.ok("send_message", {"room": "dm:alice:bob", "text": "psst @bob"})["message"]
    for socket in (bob, bob_tab):
        socket.wait_for("message", lambda m: m["id"] == psst["id"], "the DM without joining it")
    dave.refused("join", {"room": "dm:alice:bob"}, "forbidden", ["psst"])
    dave.refused("join", {"room": "dm:carol:dave"}, "forbidden")

    # rooms: the DM is the latest activity; unread and the @bob mention; read moves them.
    rooms = bob.ok("rooms", {})["rooms"]
    check(rooms and rooms[0]["id"] == "dm:alice:bob", f"the DM first: {[r['id'] for r in rooms]}")
    check((rooms[0]["unread"], rooms[0]["mentions"]) == (1, 1), f"unread and mentions: {rooms[0]}")
    marker = bob.ok("read", {"room": "dm:alice:bob", "id": psst["id"]})
    check((marker["room"], marker["id"]) == ("dm:alice:bob", psst["id"]), f"read ack: {marker}")
    moved = bob_tab.wait_for("read", lambda e: e["room"] == "dm:alice:bob", "the read event on the other socket")
    check(moved == {"room": "dm:alice:bob", "id": psst["id"]}, f"read event: {moved}")
    time.sleep(QUIET_S)
    check(not bob.drain("read"), "the socket that read got a read event")
    joined = bob_tab.ok("join", {"room": "dm:alice:bob"})
    check(joined.get("read_marker") == psst["id"], f"join ack read_marker: {joined}")
    info = bob.ok("room", {"room": "dm:alice:bob"})["room"]
    check((info["unread"], info["mentions"], info["read_marker"]) == (0, 0, psst["id"]), f"room after read: {info}")


def main():
    return run_team_script("rooms", USAGE, Client, scenario)


if __name__ == "__main__":
    sys.exit(main())
