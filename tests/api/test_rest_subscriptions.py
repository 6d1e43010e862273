"""REST v1 durable subscriptions: the contract of README "Durable subscriptions" over HTTP."""
# ruff: noqa: F811  (pytest fixtures imported from rest_helpers are used as arguments)

from __future__ import annotations

import json
import threading

from django.db import connections

from subscriptions.notifier import notifier
from tests.api.rest_helpers import BASE, Api, api, error_of, events, keys  # noqa: F401
from tests.waiting import wait_until

SUBS = f"{BASE}/subscriptions/"


def body(response) -> dict:
    return json.loads(response.content)


def positions(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [e["position"] for e in body(response)["events"]]


def test_pull_flow(api):
    written = body(api.append("wallet-1", events("Opened", "Deposited"), category="wallet"))
    first = [e["position"] for e in written["events"]]
    created = api.post(SUBS, {"name": "ledger", "filter": {"category": "wallet"}})
    assert created.status_code == 201, created.content
    info = body(created)
    assert info["filter"] == {"category": "wallet", "stream_id": None, "names": []}
    assert (info["checkpoint"], info["lag"], info["status"], info["push"]) == (0, 2, "behind", None)
    again = api.post(SUBS, {"name": "ledger"})
    assert again.status_code == 409 and error_of(again)["code"] == "already_exists"

    batch = api.post(f"{SUBS}ledger/next?max=10")
    assert positions(batch) == first
    assert body(batch)["events"][0]["name"] == "Opened"
    assert positions(api.post(f"{SUBS}ledger/next")) == first  # not acknowledged: again
    acked = api.post(f"{SUBS}ledger/ack", {"position": first[0]})
    assert acked.status_code == 200 and body(acked)["checkpoint"] == first[0]
    assert positions(api.post(f"{SUBS}ledger/next")) == first[1:]
    beyond = api.post(f"{SUBS}ledger/ack", {"position": first[1] + 10**6})
    assert beyond.status_code == 400 and error_of(beyond)["details"]["field"] == "position"

    listed = body(api.get(SUBS))
    assert [s["name"] for s in listed["items"]] == ["ledger"] and listed["next_cursor"] is None
    got = body(api.get(f"{SUBS}ledger"))
    assert (got["checkpoint"], got["lag"], got["head_position"]) == (first[0], 1, first[1])

    assert api.request("DELETE", f"{SUBS}ledger").status_code == 204
    missing = api.get(f"{SUBS}ledger")
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"


def test_nack_park_retry_skip_replay(api):
    first = [e["position"] for e in body(api.append("s", events("E1", "E2", "E3")))["events"]]
    api.post(SUBS, {"name": "p", "max_attempts": 2})
    one = body(api.post(f"{SUBS}p/nack", {"position": first[1], "error": "boom"}))
    assert one == {"position": first[1], "attempts": 1, "parked": False, "checkpoint": first[0]}
    assert positions(api.post(f"{SUBS}p/next?max=1")) == [first[1]]
    two = body(api.post(f"{SUBS}p/nack", {"position": first[1], "error": "boom again"}))
    assert (two["attempts"], two["parked"], two["checkpoint"]) == (2, True, first[1])
    parked = body(api.get(f"{SUBS}p/parked"))["items"]
    assert [(p["position"], p["name"], p["error"], p["status"]) for p in parked] == [
        (first[1], "E2", "boom again", "parked")
    ]
    assert body(api.get(f"{SUBS}p"))["parked"] == 1
    retried = api.post(f"{SUBS}p/parked/{first[1]}/retry")
    assert retried.status_code == 200 and body(retried)["status"] == "retry"
    assert positions(api.post(f"{SUBS}p/next"))[:2] == [first[1], first[2]]
    api.post(f"{SUBS}p/ack", {"position": first[2]})
    assert body(api.get(f"{SUBS}p/parked"))["items"] == []
    assert api.post(f"{SUBS}p/parked/{first[1]}/skip").status_code == 404
    api.post(f"{SUBS}p/reset", {"to": "beginning"})
    api.post(f"{SUBS}p/nack", {"position": first[0], "error": "x"})
    api.post(f"{SUBS}p/nack", {"position": first[0], "error": "x"})
    replay = api.post(f"{SUBS}p/parked/{first[0]}/replay")
    assert replay.status_code == 200 and body(replay)["checkpoint"] == first[0] - 1
    assert positions(api.post(f"{SUBS}p/next")) == first
    api.post(f"{SUBS}p/nack", {"position": first[0], "error": "x"})
    api.post(f"{SUBS}p/nack", {"position": first[0], "error": "x"})
    skipped = api.post(f"{SUBS}p/parked/{first[0]}/skip")
    assert skipped.status_code == 200 and body(skipped)["parked"] == 0


def test_reset_and_starts(api):
    first = [e["position"] for e in body(api.append("s", events("E1", "E2")))["events"]]
    assert body(api.post(SUBS, {"name": "new", "start": "end"}))["checkpoint"] >= first[1]
    made = api.post(SUBS, {"name": "mid", "start": {"after": first[0]}})
    assert body(made)["checkpoint"] == first[0]
    reset = api.post(f"{SUBS}new/reset", {"to": "beginning"})
    assert reset.status_code == 200 and body(reset)["checkpoint"] == 0
    bad = api.post(f"{SUBS}new/reset", {"to": "tomorrow"})
    assert bad.status_code == 400 and error_of(bad)["details"]["field"] == "to"


def test_bad_requests_name_the_field(api):
    cases = [
        ({"name": "bad name"}, "name"),
        ({"name": "ok", "filter": {"category": "a", "stream_id": "b"}}, "filter"),
        ({"name": "ok", "push": {"kind": "webhook", "url": "file:///etc/passwd"}}, "push.url"),
        ({"name": "ok", "colour": "red"}, "colour"),
    ]
    for request, field in cases:
        response = api.post(SUBS, request)
        assert response.status_code == 400, request
        assert error_of(response)["details"]["field"] == field
    api.post(SUBS, {"name": "ok"})
    for query, field in (("max=0", "max"), ("wait=31", "wait"), ("wait=abc", "wait")):
        response = api.post(f"{SUBS}ok/next?{query}")
        assert response.status_code == 400, query
        assert error_of(response)["details"]["field"] == field
    assert api.post(f"{SUBS}nope/next").status_code == 404


def test_scopes(keys):
    writer, reader = Api(keys["write"]), Api(keys["read"])
    assert reader.post(SUBS, {"name": "r"}).status_code == 403
    assert writer.post(SUBS, {"name": "r"}).status_code == 201
    assert reader.post(f"{SUBS}r/next").status_code == 200
    assert reader.get(f"{SUBS}r").status_code == 200
    assert reader.post(f"{SUBS}r/reset", {"to": "end"}).status_code == 403
    assert reader.request("DELETE", f"{SUBS}r").status_code == 403
    prefixed = Api(keys["prefix"])
    refused = prefixed.post(f"{SUBS}r/next")
    assert refused.status_code == 403 and error_of(refused)["code"] == "permission_denied"
    assert Api(None).get(SUBS).status_code == 401


def test_long_poll_answers_when_an_event_arrives(api):
    api.post(SUBS, {"name": "waiting", "start": "end"})
    written: list[int] = []
    errors: list[BaseException] = []

    def write_later() -> None:
        try:
            # Once the long-poll waits on the notifier: the commit is what wakes it.
            wait_until(lambda: notifier.waiting >= 1, timeout=20, message="the poll never waited")
            result = api.append("late", events("Arrived"))
            written.extend(e["position"] for e in body(result)["events"])
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    writer = threading.Thread(target=write_later)
    writer.start()
    response = api.post(f"{SUBS}waiting/next?wait=20")
    writer.join()
    assert not errors, errors
    assert written and positions(response) == written


def test_long_poll_answers_empty_after_the_wait(api):
    api.post(SUBS, {"name": "quiet", "start": "end"})
    response = api.post(f"{SUBS}quiet/next?wait=0.3")
    assert response.status_code == 200
    assert body(response)["events"] == []
