"""Full-text search driven by the official python-socketio client and `requests`
against `parley --auth accounts` (TEAM-CHAT.md, "Search"): case-insensitive words with
the last as a prefix, Cyrillic and CJK, highlights as written; a closed room the
searcher is not in is left out and asking for it is forbidden; an edit is found by its
new text only and a deleted message not at all; GET /api/search with Unicode in the
query answers as the event does, and 401 without credentials. A message becomes
searchable shortly after its ack, so the first look for one polls (bounded).

Usage: python tests/py/search.py http://127.0.0.1:PORT TOKENS
  TOKENS is a JSON object {username: API token} with alice (admin), bob, carol, dave.
Exit 0 printing `ok search`, or 1 with the reason.
"""

import random
import string
import sys
import time

import requests

from common import WAIT_S, TeamClient, assert_same, check, random_name, run_team_script

USAGE = "python search.py http://127.0.0.1:PORT TOKENS"
INDEX_S = 8.0  # how long a message may take to become searchable here


class Client(TeamClient):
    """A signed-in socket of one user."""

    def search(self, q, **extra):
        reply = self.ok("search", {"q": q, **extra})
        results = reply.get("results")
        check(isinstance(results, list), f"{self.user}: search {q!r}: {reply}")
        for result in results:
            check(sorted(result) == ["highlights", "message"], f"search {q!r}: a result's fields: {result}")
        return results

    def search_until(self, q, expected, **extra):
        """Polls (bounded) until `q` finds exactly the `expected` messages, newest
        first; returns the results."""
        want = sorted((m["id"] for m in expected), reverse=True)
        deadline = time.monotonic() + INDEX_S
        while True:
            results = self.search(q, **extra)
            if [r["message"]["id"] for r in results] == want:
                return results
            check(time.monotonic() < deadline, f"{self.user}: search {q!r} {extra}: still {results} after {INDEX_S} s")
            time.sleep(0.05)

    def finds(self, q, expected, highlights=None, **extra):
        """Asserts `q` finds exactly `expected` (newest first), as they are now, with
        `highlights[i]` for `expected[i]` (as sets) when given."""
        results = self.search(q, **extra)
        want = sorted(expected, key=lambda m: m["id"], reverse=True)
        assert_same([r["message"] for r in results], want, f"{self.user}: search {q!r} {extra}")
        if highlights is not None:
            marked = {m["id"]: sorted(h) for m, h in zip(expected, highlights)}
            for result in results:
                assert_same(sorted(result["highlights"]), marked[result["message"]["id"]], f"search {q!r}: the highlights")
        return results


def marker():
    return "zq" + "".join(random.choices(string.ascii_lowercase, k=8))


def scenario(base_url, tokens, sign_in):
    def get(params, user=None):
        headers = {"Authorization": f"Bearer {tokens[user]}"} if user else {}
        return requests.get(f"{base_url}/api/search", params=params, headers=headers, timeout=WAIT_S)

    alice, bob, carol, dave = (sign_in(user) for user in ("alice", "bob", "carol", "dave"))
    room = random_name("py-search")
    crew = random_name("py-crew")
    mark = marker()
    for client in (bob, carol):
        client.ok("join", {"room": room})
    bob.ok("create_room", {"room": crew, "kind": "closed", "members": ["carol"]})
    cluster = bob.send(room, f"Kubernetes CLUSTER upgrade {mark}")
    russian = carol.send(room, f"Привет мир {mark}")
    tokyo = bob.send(room, f"東京タワーに行きました {mark}")
    secret = carol.send(crew, f"crew secret {mark}")
    carol.search_until(mark, [cluster, russian, tokyo, secret])

    # Words: case, every word, the last as a prefix; Cyrillic and CJK.
    bob.finds("kubernetes clu", [cluster], [["Kubernetes", "CLUSTER"]])
    bob.finds(f"KUBERNETES {mark.upper()}", [cluster])
    bob.finds("kubernetes tokyo", [])
    bob.finds("ПРИВ", [russian], [["Привет"]])
    bob.finds("мир", [russian], [["мир"]], room=room)
    bob.finds("タワ", [tokyo], [["タワ"]])
    bob.finds("京タ 行き", [tokyo], [["京タ", "行き"]])

    # Only rooms I can read.
    dave.finds(mark, [cluster, russian, tokyo])
    dave.refused("search", {"q": mark, "room": crew}, "forbidden", ["crew secret"])
    alice.finds(f"secret {mark}", [secret])
    bob.finds("secret", [secret], room=crew)

    # Edits and deletes.
    edited = bob.ok("edit_message", {"room": room, "id": cluster["id"], "text": f"Kubernetes rollback {mark}"})["message"]
    carol.search_until("rollback", [edited])
    carol.finds("cluster", [])
    carol.finds("kubernetes", [edited], [["Kubernetes"]])
    carol.ok("delete_message", {"room": room, "id": russian["id"]})
    carol.search_until("мир", [])
    carol.finds(mark, [edited, tokyo, secret])

    # GET /api/search: Unicode in the query string, as the event answers.
    for params in ({"q": "東京 タワ"}, {"q": "KUBERNETES", "room": room}, {"q": mark, "limit": 2}):
        reply = get(params, "carol")
        check(reply.status_code == 200, f"GET /api/search {params}: {reply.status_code} {reply.text}")
        extra = {k: v for k, v in params.items() if k != "q"}
        assert_same(reply.json(), {"results": carol.search(params["q"], **extra)}, f"GET /api/search {params}")
    forbidden = get({"q": mark, "room": crew}, "dave")
    check(forbidden.status_code == 403, f"GET room=<closed room> as dave: {forbidden.status_code} {forbidden.text}")
    anonymous = get({"q": mark})
    check(anonymous.status_code == 401, f"GET /api/search without credentials: {anonymous.status_code} {anonymous.text}")
    check(mark not in anonymous.text, f"the refusal leaks results: {anonymous.text}")


def main():
    return run_team_script("search", USAGE, Client, scenario)


if __name__ == "__main__":
    sys.exit(main())
