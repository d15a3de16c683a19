"""End-to-end chat scenarios (README "Socket.IO events" and "HTTP API") driven by
the official python-socketio client against a running `parley` server.

Usage: python tests/py/chat.py http://127.0.0.1:PORT <scenario> [args...]
  exchange | validation | idempotent | http
  page-peer ROOM   chat with a person on the web page (driven by tests/js/browser.mjs)
PARLEY_TEST_TRANSPORT=websocket|polling restricts the client to one transport
(default: polling then upgrade). Exit 0 printing `ok <scenario>`, or 1 with the reason.
"""

import os
import sys
import time
import urllib.parse

import requests
import socketio

from common import QUIET_S, WAIT_S, EventQueues, Failure, check, describe, parse_base_url, random_name

USAGE = "python chat.py http://127.0.0.1:PORT <scenario> [args...]"
MAX_TEXT = 4000  # the default --max-text-chars (README "Running it")


class ChatClient(EventQueues):
    """A python-socketio client that queues every chat event the server sends it."""

    EVENTS = ("message", "typing", "error")

    def __init__(self, base_url):
        super().__init__(self.EVENTS)
        self.sio = socketio.Client(reconnection=False)  # a drop is a failure here
        for name in self.EVENTS:
            self.sio.on(name, self._recorder(name))
        only = os.environ.get("PARLEY_TEST_TRANSPORT")
        self.sio.connect(base_url, transports=[only] if only else None, wait_timeout=WAIT_S)

    def _recorder(self, name):
        return lambda *args: self.queues[name].put(args[0] if len(args) == 1 else list(args))

    def request(self, event, payload):
        """Emits with an ack and returns the ack payload."""
        try:
            return self.sio.call(event, payload, timeout=WAIT_S)
        except socketio.exceptions.TimeoutError:
            raise Failure(f"timed out after {WAIT_S} s waiting for ack of '{event}'") from None

    def expect_ok(self, event, payload):
        reply = self.request(event, payload)
        check(isinstance(reply, dict) and reply.get("ok") is True, f"'{event}' {payload!r:.200} should succeed, got {reply!r:.300}")
        return reply

    def expect_rejected(self, event, payload, code, what):
        reply = self.request(event, payload)
        error = reply.get("error") if isinstance(reply, dict) else None
        check(
            isinstance(error, dict) and reply.get("ok") is False and error.get("code") == code and isinstance(error.get("message"), str),
            f"{event} ({what}): expected {{ok: false, error: {{code: '{code}', message}}}}, got {reply!r:.300}",
        )

    def join(self, room):
        reply = self.expect_ok("join", {"room": room})
        check(reply.get("room") == room and isinstance(reply.get("messages"), list), f"join ack: {reply!r:.300}")
        return reply

    def send(self, fields):
        message = self.expect_ok("send_message", fields).get("message")
        check_message(message, fields)
        return message

    def history(self, room):
        reply = self.expect_ok("history", {"room": room})
        check(isinstance(reply.get("messages"), list), f"history ack: {reply!r:.300}")
        return reply["messages"]

    def close(self):
        try:
            self.sio.disconnect()
        except Exception:  # closing is best effort: the scenario outcome is what matters
            pass


def check_message(message, sent):
    """A stored message as the contract describes it, matching what was sent."""
    check(isinstance(message, dict), f"message should be an object: {message!r}")
    check(isinstance(message.get("id"), int) and message["id"] > 0, f"message.id should be a positive integer: {message!r}")
    check(isinstance(message.get("ts"), (int, float)) and message["ts"] > 0, f"message.ts should be a positive number: {message!r}")
    for key in ("room", "sender", "client_id"):
        if key in sent:
            check(message.get(key) == sent[key], f"message.{key}: expected {sent[key]!r}, got {message.get(key)!r}")
    # Text is limited "after trimming"; storing it trimmed or as sent are both fine.
    check(message.get("text") in (sent["text"], sent["text"].strip()), f"message.text: expected {sent['text']!r:.80}, got {message.get('text')!r:.80}")


def ids(messages):
    return [m["id"] for m in messages]


def wait_count(items_fn, count, what):
    """Polls until items_fn() has at least `count` items; bounded by WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while len(items_fn()) < count:
        check(time.monotonic() < deadline, f"timed out after {WAIT_S} s waiting for {what}")
        time.sleep(0.02)


class Inbox:
    """Accumulates one client's `message` events across several looks."""

    def __init__(self, client):
        self.client = client
        self.items = []

    def __call__(self):
        self.items.extend(self.client.drain("message"))
        return self.items


# ---------------------------------------------------------------- scenarios


def scenario_exchange(ctx):
    room = random_name("r")
    alice, bob, carol = ctx.client(), ctx.client(), ctx.client()
    check(alice.join(room)["messages"] == [], "a new room should have no messages")
    bob.join(room)
    carol.join(random_name("r-other"))

    from_alice = alice.send({"room": room, "sender": "alice", "text": "hello from alice"})
    from_bob = bob.send({"room": room, "sender": "bob", "text": "hello from bob"})
    check(from_bob["id"] > from_alice["id"], f"ids should increase: {from_alice['id']} then {from_bob['id']}")

    for name, c in (("alice", alice), ("bob", bob)):
        inbox = Inbox(c)
        wait_count(inbox, 2, f"2 messages at {name}")
        time.sleep(QUIET_S)  # let any duplicate arrive before counting
        check(sorted(ids(inbox())) == [from_alice["id"], from_bob["id"]], f"{name} received {inbox()!r:.400}")
        for got in inbox():
            check_message(got, from_alice if got["id"] == from_alice["id"] else from_bob)
    check(carol.drain("message") == [], "carol (another room) received messages")


def scenario_validation(ctx):
    room = random_name("r")
    sender, watcher = ctx.client(), ctx.client()
    sender.join(room)
    watcher.join(room)
    sender.send({"room": room, "sender": "val", "text": "the one good message"})
    before = ids(sender.history(room))
    time.sleep(QUIET_S)
    watcher.drain("message")

    ok = {"room": room, "sender": "val", "text": "fine"}
    bad = [
        ("room empty", {**ok, "room": ""}, "invalid"),
        ("room with a space", {**ok, "room": "bad room"}, "invalid"),
        ("room of 129 chars", {**ok, "room": "r" * 129}, "invalid"),
        ("sender empty", {**ok, "sender": ""}, "invalid"),
        ("sender of 65 chars", {**ok, "sender": "s" * 65}, "invalid"),
        ("sender with a control char", {**ok, "sender": "bad\x07name"}, "invalid"),
        ("text whitespace only", {**ok, "text": " \t\n "}, "invalid"),
        ("text of 4001 chars", {**ok, "text": "t" * (MAX_TEXT + 1)}, "too_large"),
        ("payload a string", "just text", "invalid"),
        ("payload a list", [room, "val", "fine"], "invalid"),
        ("text missing", {"room": room, "sender": "val"}, "invalid"),
        ("text a number", {**ok, "text": 123}, "invalid"),
    ]
    for what, payload, code in bad:
        sender.expect_rejected("send_message", payload, code, what)

    # Without an ack the failure comes back as an `error` event to the sender alone.
    sender.sio.emit("send_message", {**ok, "text": ""})
    err = sender.wait("error")
    check(
        isinstance(err, dict) and err.get("code") == "invalid" and err.get("event") == "send_message" and isinstance(err.get("message"), str),
        f"error event: expected {{code: 'invalid', message, event: 'send_message'}}, got {err!r}",
    )
    time.sleep(QUIET_S)
    check(watcher.drain("message") == [], "watcher received broadcasts for rejected sends")
    check(watcher.drain("error") == [], "watcher received the sender's error")
    check(ids(sender.history(room)) == before, "history changed after rejected sends")
    check(sender.sio.connected, "sender was disconnected by bad input")


def scenario_idempotent(ctx):
    room = random_name("r")
    sender, watcher = ctx.client(), ctx.client()
    sender.join(room)
    watcher.join(room)
    fields = {"room": room, "sender": "idem", "text": "only once", "client_id": random_name("cid")}
    first = sender.send(fields)
    again = sender.send(fields)
    check(again["id"] == first["id"], f"retry returned another message: {first!r} vs {again!r}")
    r = requests.post(ctx.messages_url(room), json={k: fields[k] for k in ("text", "sender", "client_id")}, timeout=WAIT_S)
    check(r.status_code in (200, 201) and r.json().get("message", {}).get("id") == first["id"], f"HTTP retry: {r.status_code} {r.text:.300}")

    inbox = Inbox(watcher)
    wait_count(inbox, 1, "the broadcast at the watcher")
    time.sleep(QUIET_S)
    check(ids(inbox()) == [first["id"]], f"watcher received {inbox()!r:.400}")
    check(ids(sender.history(room)) == [first["id"]], "history should hold the message once")


def scenario_http(ctx):
    room = random_name("r")
    c = ctx.client()
    c.join(room)
    posted = []
    for i in range(3):
        body = {"text": f"via http {i}", "sender": "web"}
        r = requests.post(ctx.messages_url(room), json=body, timeout=WAIT_S)
        check(r.status_code == 201, f"POST: expected 201, got {r.status_code} {r.text:.300}")
        check_message(r.json().get("message"), {**body, "room": room})
        posted.append(r.json()["message"])
    inbox = Inbox(c)
    wait_count(inbox, 3, "3 broadcasts of HTTP posts")
    check(ids(inbox()) == ids(posted), f"socket broadcasts: {inbox()!r:.400}")

    r = requests.get(ctx.messages_url(room), params={"after": posted[0]["id"]}, timeout=WAIT_S)
    check(r.status_code == 200 and ids(r.json().get("messages", [])) == ids(posted[1:]), f"GET after cursor: {r.status_code} {r.text:.300}")

    r = requests.post(ctx.messages_url(room), data='{"text": "x",', headers={"content-type": "application/json"}, timeout=WAIT_S)
    check(r.status_code == 400 and r.json().get("error", {}).get("code") == "invalid", f"POST bad JSON: {r.status_code} {r.text:.300}")
    time.sleep(QUIET_S)
    check(len(inbox()) == 3, "a rejected post was broadcast")


def scenario_page_peer(ctx, room):
    """Says hello in ROOM, where a person has the chat page open, and waits for Alice's
    answer: the official Python client and the browser page talk to each other."""
    bot = ctx.client()
    bot.join(room)
    bot.send({"room": room, "sender": "python-bot", "text": "hello from python-socketio"})
    deadline = time.monotonic() + 20
    while True:
        left = deadline - time.monotonic()
        check(left > 0, "no answer from the page within 20 s")
        message = bot.wait("message", timeout=left)
        if message.get("sender") == "Alice" and message.get("text") == "hello bots":
            return


SCENARIOS = {
    "page-peer": scenario_page_peer,
    "exchange": scenario_exchange,
    "validation": scenario_validation,
    "idempotent": scenario_idempotent,
    "http": scenario_http,
}


class Context:
    """One run's clients, all closed at the end even when the scenario fails."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.clients = []

    def client(self):
        c = ChatClient(self.base_url)
        self.clients.append(c)
        return c

    def messages_url(self, room):
        return f"{self.base_url}/api/rooms/{urllib.parse.quote(room, safe='')}/messages"

    def close(self):
        for c in self.clients:
            c.close()


def main():
    base_url = parse_base_url(sys.argv[1] if len(sys.argv) > 1 else "", USAGE)
    name = sys.argv[2] if len(sys.argv) > 2 else ""
    if name not in SCENARIOS:
        print(f"usage: {USAGE}\nscenarios: {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    ctx = Context(base_url)
    try:
        SCENARIOS[name](ctx, *sys.argv[3:])
    except Exception as err:  # any error is a failed scenario, reported the same way
        print(f"FAIL {name}: {describe(err)}", file=sys.stderr)
        return 1
    finally:
        ctx.close()
    print(f"ok {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
