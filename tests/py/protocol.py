"""End-to-end protocol scenarios driven by the official python-socketio client (5.x).

Target: the `protocol_conformance` example (`cargo run --release --example
protocol_conformance -- --port P`; README "Protocol conformance"), which echoes
`auth`, answers `message` with `message-back`, acks `message-with-ack`, asks the client
for acks (`request-server-ack`), manages rooms (`join-room`, `to-room`) and disconnects
on `disconnect-me`.

Usage: python tests/py/protocol.py http://127.0.0.1:PORT
Every scenario runs once per transport configuration (default = polling then upgrade,
websocket only, polling only), printing `passed [CONFIG] NAME` when it passes. Exit 0
printing `ok N scenarios`, or exit 1 naming the scenario that failed and why.
"""

import re
import socket
import sys
import time

import socketio

from common import QUIET_S, WAIT_S, EventQueues, Failure, assert_same, check, describe, parse_base_url, random_name

AUTH = {"token": "abc"}

# The events the server can send us; each one is queued so a test can wait for it.
SERVER_EVENTS = ("auth", "message-back", "server-ack-request", "server-ack-result", "room-message")

CONFIGS = [
    ("default", None),
    ("websocket", ["websocket"]),
    ("polling", ["polling"]),
]


class Client(EventQueues):
    """One python-socketio client plus queues of everything the server sent it."""

    def __init__(self, base_url, transports, namespace="/"):
        self.base_url = base_url
        self.transports = transports
        self.namespace = namespace
        # Fast, deterministic reconnection so the reconnect scenario stays short.
        self.sio = socketio.Client(
            reconnection=True,
            reconnection_delay=0.1,
            reconnection_delay_max=0.5,
            randomization_factor=0,
        )
        super().__init__(SERVER_EVENTS + ("connect", "disconnect", "connect_error"))
        # What we answer when the server asks us for an ack (set by a test).
        self.ack_reply = None
        self._register()

    def _register(self):
        ns = self.namespace
        for name in SERVER_EVENTS:
            self.sio.on(name, self._recorder(name), namespace=ns)
        self.sio.on("connect", lambda: self.queues["connect"].put(()), namespace=ns)
        self.sio.on("disconnect", lambda *reason: self.queues["disconnect"].put(reason), namespace=ns)
        self.sio.on("connect_error", lambda *data: self.queues["connect_error"].put(data), namespace=ns)

    def _recorder(self, name):
        def handler(*args):
            self.queues[name].put(list(args))
            # python-socketio sends a handler's return value as the ack.
            if name == "server-ack-request":
                return self.ack_reply
            return None

        return handler

    def connect(self, auth=AUTH):
        """Connects and waits for the server's `auth` echo (and the upgrade if default)."""
        self.sio.connect(
            self.base_url,
            auth=auth,
            transports=self.transports,
            namespaces=[self.namespace],
            wait_timeout=WAIT_S,
        )
        self.wait("connect")
        assert_same(self.wait("auth"), [auth], f"auth echo on {self.namespace}")
        self.check_transport()
        return self

    def check_transport(self):
        # python-engineio upgrades inside connect(), but allow a moment anyway.
        wanted = self.transports[0] if self.transports else "websocket"
        deadline = time.monotonic() + WAIT_S
        while self.sio.transport() != wanted and time.monotonic() < deadline:
            time.sleep(0.02)
        check(self.sio.transport() == wanted, f"transport is {self.sio.transport()}, expected {wanted}")

    def emit(self, event, *args):
        self.sio.emit(event, args if len(args) != 1 else args[0], namespace=self.namespace)

    def call(self, event, *args):
        """Emits with an ack; returns the ack's arguments as a list."""
        data = args if len(args) != 1 else args[0]
        try:
            reply = self.sio.call(event, data, namespace=self.namespace, timeout=WAIT_S)
        except socketio.exceptions.TimeoutError:
            raise Failure(f"timed out after {WAIT_S} s waiting for ack of '{event}'") from None
        # call() unwraps a single ack argument and returns a tuple for several.
        return list(reply) if isinstance(reply, tuple) else [reply]

    def echo(self, args, what):
        self.emit("message", *args)
        assert_same(self.wait("message-back"), list(args), what)

    def drop_transport(self):
        """Breaks the connection under the client, the way a network failure would,
        so that the client's own automatic reconnection has to kick in.
        (eio.disconnect() would not do: the client treats it as a deliberate close.)"""
        eio = self.sio.eio
        if eio.current_transport == "websocket":
            # Kill the TCP connection under the WebSocket: recv() fails → reconnect.
            eio.ws.sock.shutdown(socket.SHUT_RDWR)
        else:
            # Long-polling has no connection to kill; point the client at a session id
            # the server does not know, as after a server restart. The next POST/GET
            # gets a 400 and the client reconnects. Emitting forces that POST now.
            eio.base_url = re.sub(r"sid=[^&]*", "sid=lost-session", eio.base_url)
            self.sio.emit("message", "lost", namespace=self.namespace)

    def close(self):
        try:
            self.sio.disconnect()
        except Exception:  # closing is best effort: the scenario outcome is what matters
            pass


class Session:
    """One scenario's clients, all closed at the end even when it fails."""

    def __init__(self, base_url, transports):
        self.base_url = base_url
        self.transports = transports
        self.clients = []

    def client(self, namespace="/"):
        c = Client(self.base_url, self.transports, namespace)
        self.clients.append(c)
        return c

    def connect(self, namespace="/", auth=AUTH):
        return self.client(namespace).connect(auth)

    def close(self):
        for c in self.clients:
            c.close()


# ---------------------------------------------------------------- scenarios


def scenario_connect_auth(s):
    s.connect("/", auth={"token": "abc"})


def scenario_connect_auth_custom_namespace(s):
    s.connect("/custom", auth={"token": "abc", "user": {"id": 7, "tags": ["x", "y"]}})


def scenario_message_echo(s):
    c = s.connect()
    c.echo(["hello"], "single string")
    c.echo([1, 2.5, -3, 0], "numbers")
    c.echo([{"a": 1, "b": {"c": [1, "two", None, True]}}], "nested object")
    c.echo(["mixed", 42, {"k": "v"}, [1, [2, [3]]], False, None], "several args")
    c.echo(["héllo wörld — 你好 🎉", "a\x1eb"], "unicode and record separator")
    c.echo(["x" * 200_000], "200 kB string")


def scenario_message_binary(s):
    c = s.connect()
    data = bytes([0, 1, 2, 3, 254, 255])
    c.echo([data], "top-level binary")
    c.echo([{"data": data, "name": "file"}], "binary inside object")
    c.echo(["text", {"nested": {"list": [b"ab", 5]}}, b"\x00"], "several attachments")
    c.echo([bytes([7]) * 100_000], "100 kB binary")


def scenario_message_echo_custom_namespace(s):
    c = s.connect("/custom")
    c.echo(["on custom", {"n": 1}], "custom namespace echo")
    c.echo([{"blob": b"xyz"}], "custom namespace binary")


def scenario_ack_from_server(s):
    c = s.connect()
    assert_same(c.call("message-with-ack", "a", 1, {"b": [2]}), ["a", 1, {"b": [2]}], "ack args")
    data = bytes([9, 8, 7])
    assert_same(c.call("message-with-ack", data, {"bin": data}), [data, {"bin": data}], "binary ack")


def scenario_ack_to_server(s):
    c = s.connect()
    for asked, answer in (("question", {"answer": 42}), (b"ask", bytes([1, 2, 3]))):
        c.ack_reply = answer
        c.emit("request-server-ack", asked)
        assert_same(c.wait("server-ack-request"), [asked], "server-ack-request payload")
        assert_same(c.wait("server-ack-result"), [answer], "server-ack-result")


def scenario_rooms(s):
    room_a, room_b = random_name("a"), random_name("b")
    sender, peer, outsider = s.connect(), s.connect(), s.connect()
    for c, room in ((sender, room_a), (peer, room_a), (outsider, room_b)):
        assert_same(c.call("join-room", room), [True], f"join-room {room}")
    data = {"text": "to a", "bin": b"\x01\x02"}
    assert_same(sender.call("to-room", {"room": room_a, "data": data}), [True], "to-room ack")
    assert_same(peer.wait("room-message"), [data], "room-message at peer")
    time.sleep(QUIET_S)
    check(not sender.drain("room-message"), "sender received its own room-message")
    check(not outsider.drain("room-message"), "socket in another room received a room-message")


def scenario_invalid_namespace(s):
    c = s.client("/random")
    try:
        c.sio.connect(s.base_url, transports=s.transports, namespaces=["/random"], wait_timeout=WAIT_S)
    except socketio.exceptions.ConnectionError:
        pass  # expected: the namespace was refused
    else:
        raise Failure("connect to /random succeeded")
    data = c.wait("connect_error")
    message = data[0].get("message") if data and isinstance(data[0], dict) else data
    check(message == "Invalid namespace", f"connect_error data: {data!r}")


def scenario_reconnect(s):
    c = s.connect()
    c.echo(["before"], "echo before reconnect")
    c.drop_transport()
    c.wait("disconnect")
    c.wait("connect")
    assert_same(c.wait("auth"), [AUTH], "auth echo after reconnect")
    c.check_transport()
    c.drain("message-back")  # the polling variant's throwaway emit may echo or not
    c.echo(["after", b"ok"], "echo after reconnect")


def scenario_server_disconnect(s):
    c = s.connect()
    c.emit("disconnect-me")
    reason = c.wait("disconnect")
    check(reason == (c.sio.reason.SERVER_DISCONNECT,), f"disconnect reason: {reason!r}")
    time.sleep(QUIET_S)
    check(not c.drain("connect"), "client reconnected after a server-side disconnect")


SCENARIOS = [(name[len("scenario_"):].replace("_", "-"), fn) for name, fn in globals().items() if name.startswith("scenario_")]


def main():
    base_url = parse_base_url(sys.argv[1] if len(sys.argv) > 1 else "", "python protocol.py http://127.0.0.1:PORT")
    passed = 0
    for config_name, transports in CONFIGS:
        for name, scenario in SCENARIOS:
            session = Session(base_url, transports)
            try:
                scenario(session)
            except Exception as err:  # any error is a failed scenario, reported the same way
                print(f"FAIL [{config_name}] {name}: {describe(err)}", file=sys.stderr)
                print(f"({passed} scenarios passed before this one)", file=sys.stderr)
                return 1
            finally:
                session.close()
            passed += 1
            print(f"passed [{config_name}] {name}")
    print(f"ok {passed} scenarios")
    return 0


if __name__ == "__main__":
    sys.exit(main())
