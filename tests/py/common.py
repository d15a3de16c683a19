"""Helpers shared by the Python end-to-end scripts (protocol.py, chat.py, and the team
scripts edits.py, rooms.py, search.py, files.py): failures with readable reasons,
comparisons, the queues a client's events land in, the loopback-only URL check, a
signed-in socket with its acks, and the command line that runs a script and reports."""

import json
import queue
import random
import re
import string
import sys
import time

import socketio

WAIT_S = 5.0  # upper bound for any single wait
QUIET_S = 0.3  # how long "nothing (more) arrives" is observed


class Failure(Exception):
    """A scenario's assertion failed; the message says what was expected."""


def check(condition, message):
    if not condition:
        raise Failure(message)


class EventQueues:
    """What the server sent a client: a queue per event, filled from the client's
    threads and read by the scenario with a bound."""

    def __init__(self, events):
        self.queues = {name: queue.Queue() for name in events}

    def wait(self, event, timeout=WAIT_S):
        try:
            return self.queues[event].get(timeout=timeout)
        except queue.Empty:
            raise Failure(f"timed out after {timeout} s waiting for event '{event}'") from None

    def drain(self, event):
        """Everything queued for `event` so far, without waiting."""
        items = []
        while not self.queues[event].empty():
            items.append(self.queues[event].get_nowait())
        return items


def _norm(value):
    # The client hands us tuples for argument lists; compare as lists.
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value


def assert_same(actual, expected, what):
    check(_norm(actual) == _norm(expected), f"{what}: expected {expected!r:.300}, got {actual!r:.300}")


def random_name(prefix):
    return prefix + "-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=8))


def parse_base_url(arg, usage):
    """Accepts only loopback targets: these scripts never talk to anything else."""
    base_url = (arg or "").rstrip("/")
    if not re.fullmatch(r"https?://127\.0\.0\.1:\d+", base_url):
        print(f"usage: {usage}", file=sys.stderr)
        sys.exit(2)
    return base_url


def describe(err):
    return str(err) if isinstance(err, Failure) else f"{type(err).__name__}: {err}"


class TeamClient(EventQueues):
    """A signed-in socket of one user, its server `EVENTS` queued."""

    EVENTS = ()

    def __init__(self, base_url, user, token):
        super().__init__(self.EVENTS)
        self.user = user
        self.sio = socketio.Client(reconnection=False)
        for event in self.EVENTS:
            self.sio.on(event, self._queue(event))
        self.sio.connect(base_url, auth={"token": token}, wait_timeout=WAIT_S)

    def _queue(self, event):
        return lambda payload: self.queues[event].put(payload)

    def call(self, event, payload):
        return self.sio.call(event, payload, timeout=WAIT_S)

    def ok(self, event, payload):
        reply = self.call(event, payload)
        check(isinstance(reply, dict) and reply.get("ok") is True, f"{self.user}: {event} {payload}: {reply}")
        return reply

    def refused(self, event, payload, code, secrets=()):
        reply = self.call(event, payload)
        what = f"{self.user}: {event} {payload}"
        check(
            isinstance(reply, dict) and reply.get("ok") is False and reply.get("error", {}).get("code") == code,
            f"{what} should be refused as {code}: {reply}",
        )
        check(sorted(reply) == ["error", "ok"], f"{what}: the refusal carries more than the error: {reply}")
        for secret in secrets:
            check(secret not in json.dumps(reply, ensure_ascii=False), f"{what}: the refusal leaks {secret!r}")

    def wait_for(self, event, predicate, what):
        """The first queued `event` matching `predicate`, waiting at most WAIT_S."""
        deadline = time.monotonic() + WAIT_S
        while True:
            left = deadline - time.monotonic()
            check(left > 0, f"{self.user}: no {what} within {WAIT_S} s")
            payload = self.wait(event, timeout=left)
            if predicate(payload):
                return payload

    def send(self, room, text):
        return self.ok("send_message", {"room": room, "text": text})["message"]


def report(name, scenario, sockets):
    """Runs `scenario()`, prints `ok NAME` or `FAIL NAME: reason`, disconnects the
    `sockets` (a list the scenario may fill) and returns the exit code."""
    try:
        scenario()
    except Failure as failure:
        print(f"FAIL {name}: {failure}", file=sys.stderr)
        return 1
    except Exception as error:  # an unexpected client error is a failure with its cause
        print(f"FAIL {name}: {describe(error)}", file=sys.stderr)
        return 1
    finally:
        for sio in sockets:
            sio.disconnect()
    print(f"ok {name}")
    return 0


def run_team_script(name, usage, client_class, scenario):
    """The command line of a team script, `URL TOKENS` (TOKENS a JSON object {username:
    API token}): calls `scenario(base_url, tokens, sign_in)`, where `sign_in(user)` is a
    new `client_class` of that user, and reports as `report` does."""
    if len(sys.argv) != 3:
        print(f"usage: {usage}", file=sys.stderr)
        return 2
    base_url = parse_base_url(sys.argv[1], usage)
    tokens = json.loads(sys.argv[2])
    sockets = []

    def sign_in(user):
        client = client_class(base_url, user, tokens[user])
        sockets.append(client.sio)
        return client

    return report(name, lambda: scenario(base_url, tokens, sign_in), sockets)
