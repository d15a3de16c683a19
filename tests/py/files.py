"""A file sent over HTTP reaches a member listening with the official python-socketio
client, and comes back byte for byte (TEAM-CHAT.md, "Files"; issue 15): bob sends a
multipart form with a caption and a client_id to ROOM, carol's socket gets the
`message` event carrying `files`, and carol downloads the file with her token.

Usage: python tests/py/files.py http://127.0.0.1:PORT TOKENS ROOM
  TOKENS is a JSON object {username: API token} with bob and carol in it.
Exit 0 printing `ok files`, or 1 with the reason.
"""

import json
import sys

import requests
import socketio

from common import WAIT_S, EventQueues, check, parse_base_url, random_name, report

USAGE = "python files.py http://127.0.0.1:PORT TOKENS ROOM"


def main():
    if len(sys.argv) != 4:
        print(f"usage: {USAGE}", file=sys.stderr)
        return 2
    base_url = parse_base_url(sys.argv[1], USAGE)
    tokens = json.loads(sys.argv[2])
    room = sys.argv[3]
    events = EventQueues(["message"])
    carol = socketio.Client(reconnection=False)
    carol.on("message", lambda message: events.queues["message"].put(message))

    def scenario():
        carol.connect(base_url, auth={"token": tokens["carol"]}, wait_timeout=WAIT_S)
        joined = carol.call("join", {"room": room}, timeout=WAIT_S)
        check(joined.get("ok") is True, f"carol joins {room}: {joined}")

        content = bytes(range(256)) * 3
        client_id = random_name("py")
        sent = requests.post(
            f"{base_url}/api/rooms/{room}/files",
            headers={"Authorization": f"Bearer {tokens['bob']}"},
            files={"file": ("Ünïcode data.bin", content, "application/octet-stream")},
            data={"text": "from python", "client_id": client_id},
            timeout=WAIT_S,
        )
        check(sent.status_code == 201, f"the upload: {sent.status_code} {sent.text}")
        message = sent.json()["message"]

        heard = events.wait("message")
        check(heard == message, f"carol hears the message as sent: {heard} vs {message}")
        check(heard["text"] == "from python" and heard["client_id"] == client_id, f"caption and client_id: {heard}")
        check(heard["user"] == "bob", f"the sender is bob: {heard}")
        [file] = heard["files"]
        check(
            {k: file[k] for k in ("name", "size", "mime")}
            == {"name": "Ünïcode data.bin", "size": len(content), "mime": "application/octet-stream"},
            f"the file as carol sees it: {file}",
        )
        check("width" not in file and "height" not in file, f"no image size for bytes: {file}")

        got = requests.get(
            f"{base_url}/files/{file['id']}/{requests.utils.quote(file['name'])}",
            headers={"Authorization": f"Bearer {tokens['carol']}"},
            timeout=WAIT_S,
        )
        check(got.status_code == 200, f"carol's download: {got.status_code} {got.text[:200]}")
        check(got.content == content, f"the download is the upload, byte for byte ({len(got.content)} bytes)")
        check(got.headers.get("X-Content-Type-Options") == "nosniff", f"nosniff: {got.headers}")
        check(got.headers.get("Content-Disposition", "").startswith("attachment"), f"an attachment: {got.headers}")

    return report("files", scenario, [carol])


if __name__ == "__main__":
    sys.exit(main())
