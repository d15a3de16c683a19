"""Socket.IO in accounts mode, driven by the official python-socketio client (README,
"Accounts"): no credentials is refused as unauthorized, a token and a session cookie
connect, and a payload's sender is never trusted.

Usage: python tests/py/accounts_socket.py http://127.0.0.1:PORT TOKEN PASSWORD
  TOKEN is an API token of user `alice` (display name "Alice A."), PASSWORD her password.
Exit 0 printing `ok accounts`, or 1 with the reason.
"""

import sys

import requests
import socketio

from common import WAIT_S, EventQueues, Failure, check, describe, parse_base_url, random_name

USAGE = "python accounts_socket.py http://127.0.0.1:PORT TOKEN PASSWORD"


def refused(base_url, **options):
    """The message of the connect_error a connection with `options` gets, or None
    when it connects."""
    sio = socketio.Client(reconnection=False)
    errors = []
    sio.on("connect_error", lambda data: errors.append(data))
    try:
        sio.connect(base_url, wait_timeout=WAIT_S, **options)
    except socketio.exceptions.ConnectionError:
        check(errors, "the connection failed without a connect_error from the server")
        data = errors[0]
        return data.get("message") if isinstance(data, dict) else data
    sio.disconnect()
    return None


class Client(EventQueues):
    EVENTS = ("message",)

    def __init__(self, base_url, **options):
        super().__init__(self.EVENTS)
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("message", lambda message: self.queues["message"].put(message))
        self.sio.connect(base_url, wait_timeout=WAIT_S, **options)


def main():
    if len(sys.argv) != 4:
        print(f"usage: {USAGE}", file=sys.stderr)
        return 2
    base_url = parse_base_url(sys.argv[1], USAGE)
    token, password = sys.argv[2], sys.argv[3]
    try:
        for transports in (["polling", "websocket"], ["websocket"], ["polling"]):
            reason = refused(base_url, transports=transports)
            check(reason == "unauthorized", f"{transports}: no credentials gave {reason!r}")
            reason = refused(base_url, transports=transports, auth={"token": "nope"})
            check(reason == "unauthorized", f"{transports}: a bad token gave {reason!r}")

        signed_in = requests.post(
            f"{base_url}/api/session",
            json={"username": "alice", "password": password},
            headers={"Origin": base_url},
            timeout=WAIT_S,
        )
        check(signed_in.status_code == 200, f"sign-in answered {signed_in.status_code}")
        cookie = f"parley_session={signed_in.cookies['parley_session']}"

        room = random_name("py-auth")
        by_token = Client(base_url, auth={"token": token})
        by_cookie = Client(base_url, headers={"Cookie": cookie})
        joined = by_cookie.sio.call("join", {"room": room}, timeout=WAIT_S)
        check(joined.get("ok") is True, f"join: {joined}")
        reply = by_token.sio.call(
            "send_message", {"room": room, "sender": "mallory", "text": "hi"}, timeout=WAIT_S
        )
        check(reply.get("ok") is True, f"send: {reply}")
        delivered = by_cookie.wait("message")
        for message in (reply["message"], delivered):
            check(message.get("user") == "alice", f"message without user alice: {message}")
            check(message.get("sender") == "Alice A.", f"the payload's sender was trusted: {message}")
        by_token.sio.disconnect()
        by_cookie.sio.disconnect()
    except Failure as failure:
        print(f"FAIL accounts: {failure}", file=sys.stderr)
        return 1
    except Exception as error:  # an unexpected client error is a failure with its cause
        print(f"FAIL accounts: {describe(error)}", file=sys.stderr)
        return 1
    print("ok accounts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
