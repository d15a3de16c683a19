"""Parley over HTTPS and WSS with the official python-socketio client (README, "HTTPS"),
against a server started with --tls-self-signed.

Usage: python tests/py/tls.py https://127.0.0.1:PORT <scenario> [args...]
  insecure                  certificate checking off (verify=False): a WebSocket client
                            and a polling client exchange messages (open mode)
  trusted CERT FINGERPRINT  the generated certificate (PEM file CERT) as the trusted CA,
                            checking on: the server presents the certificate whose SHA-256
                            fingerprint is FINGERPRINT, and the same exchange works
  accounts CERT TOKEN PASSWORD
                            accounts mode, CERT trusted: `alice`'s API token connects over
                            each transport; signing in over HTTPS gives a Secure cookie
Exit 0 printing `ok <scenario>: detail`, or 1 with the reason.
"""

import hashlib
import socket
import ssl
import sys
from urllib.parse import urlsplit

import requests
import socketio
import urllib3

from common import WAIT_S, EventQueues, check, describe, parse_base_url, random_name

USAGE = "python tls.py https://127.0.0.1:PORT insecure|trusted|accounts [args...]"
TRANSPORTS = (["websocket"], ["polling"])


class Client(EventQueues):
    EVENTS = ("message",)

    def __init__(self, base_url, session_options, transports, **options):
        super().__init__(self.EVENTS)
        self.sio = socketio.Client(reconnection=False, **session_options)
        self.sio.on("message", lambda message: self.queues["message"].put(message))
        self.sio.connect(base_url, transports=transports, wait_timeout=WAIT_S, **options)
        self.transport = self.sio.transport()


def verifying(cert):
    """Client options that trust `cert` (and only it) and check the certificate; False:
    that check nothing."""
    session = requests.Session()
    session.verify = cert
    # Otherwise REQUESTS_CA_BUNDLE, where set, takes the place of the session's setting.
    session.trust_env = False
    return {"http_session": session}


def exchange(base_url, session_options, **options):
    """A client per transport joins one room; each sends, every client receives every
    message once. Returns the transports used."""
    room = random_name("py-tls")
    clients = [Client(base_url, session_options, transports, **options) for transports in TRANSPORTS]
    for client in clients:
        joined = client.sio.call("join", {"room": room}, timeout=WAIT_S)
        check(joined.get("ok") is True, f"join over {client.transport}: {joined}")
    sent = []
    for index, client in enumerate(clients):
        text = f"python over TLS #{index} {client.transport}"
        reply = client.sio.call(
            "send_message", {"room": room, "text": text, "sender": f"py-{index}"}, timeout=WAIT_S
        )
        check(reply.get("ok") is True, f"send over {client.transport}: {reply}")
        sent.append(text)
    for client in clients:
        received = [client.wait("message")["text"] for _ in sent]
        check(sorted(received) == sorted(sent), f"{client.transport} received {received}")
        client.sio.disconnect()
    return [client.transport for client in clients]


def presented_fingerprint(base_url, cert):
    """The SHA-256 fingerprint (AB:CD:…) of the certificate the server presents,
    verified against `cert`."""
    parts = urlsplit(base_url)
    context = ssl.create_default_context(cafile=cert)
    with socket.create_connection((parts.hostname, parts.port), timeout=WAIT_S) as raw:
        with context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
            der = tls.getpeercert(binary_form=True)
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def insecure(base_url):
    # Turning the check off is the point here, not a mistake to warn about.
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    used = exchange(base_url, verifying(False))
    check(used == ["websocket", "polling"], f"transports used: {used}")
    return f"messages exchanged over {', '.join(used)} with certificate checking off"


def trusted(base_url, cert, fingerprint):
    presented = presented_fingerprint(base_url, cert)
    check(presented == fingerprint, f"the server presented {presented}, expected {fingerprint}")
    used = exchange(base_url, verifying(cert))
    check(used == ["websocket", "polling"], f"transports used: {used}")
    return f"certificate {fingerprint[:11]}… verified; messages exchanged over {', '.join(used)}"


def accounts(base_url, cert, token, password):
    room = random_name("py-tls-acct")
    for transports in TRANSPORTS:
        client = Client(base_url, verifying(cert), transports, auth={"token": token})
        joined = client.sio.call("join", {"room": room}, timeout=WAIT_S)
        check(joined.get("ok") is True, f"join: {joined}")
        reply = client.sio.call("send_message", {"room": room, "text": "py token"}, timeout=WAIT_S)
        check(reply.get("ok") is True and reply["message"].get("user") == "alice", f"send: {reply}")
        delivered = client.wait("message")
        check(delivered.get("id") == reply["message"]["id"], f"delivered {delivered}")
        client.sio.disconnect()
    signed_in = requests.post(
        f"{base_url}/api/session",
        json={"username": "alice", "password": password},
        headers={"Origin": base_url},
        timeout=WAIT_S,
        verify=cert,
    )
    check(signed_in.status_code == 200, f"sign-in answered {signed_in.status_code}")
    flags = [part.strip() for part in signed_in.headers.get("Set-Cookie", "").split(";")]
    check("Secure" in flags and "HttpOnly" in flags, f"the session cookie's flags: {flags}")
    return "a token connects over WSS and HTTPS polling; the session cookie is Secure"


SCENARIOS = {"insecure": insecure, "trusted": trusted, "accounts": accounts}


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in SCENARIOS:
        print(f"usage: {USAGE}", file=sys.stderr)
        return 2
    base_url = parse_base_url(sys.argv[1], USAGE)
    name = sys.argv[2]
    try:
        detail = SCENARIOS[name](base_url, *sys.argv[3:])
    except Exception as err:  # every failure is reported with its reason
        print(f"FAIL {name}: {describe(err)}", file=sys.stderr)
        return 1
    print(f"ok {name}: {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
