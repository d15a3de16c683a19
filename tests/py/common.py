"""Helpers shared by the Python end-to-end scripts (protocol.py, chat.py): failures
with readable reasons, comparisons, the queues a client's events land in, and the
loopback-only URL check."""

import queue
import random
import re
import string
import sys

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
