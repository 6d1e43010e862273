"""The replay viewer's data endpoint (windows, diffs, snapshot markers, time, errors), the
snapshots page with its drift check and rebuild, and the admin pages of streams, categories,
API keys, through Django's test client."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from api.models import ApiKey
from console.views import replay as replay_view
from snapshots import services as snapshot_services
from snapshots.categories import reducer_for_category
from snapshots.models import Category
from snapshots.reducers import reducer
from snapshots.state import state_at_version
from streams import services
from streams.models import Stream

pytestmark = pytest.mark.django_db(transaction=True)

SHELF = "tests/replay-shelf"
EVENTS = 300
EVERY = 50
T0 = datetime(2024, 1, 1, tzinfo=UTC)


@reducer(revision="1", initial=dict)
def shelf(state: dict[str, Any], event) -> dict[str, Any]:
    """Items with nested fields, put and taken; a note set and dropped; a counter."""
    p = event.payload
    if event.name == "Put":
        state.setdefault("items", {})[p["sku"]] = {"qty": p["qty"], "seen": {"at": event.version}}
    elif event.name == "Take":
        state.setdefault("items", {}).pop(p["sku"], None)
    elif event.name == "Note":
        state["note"] = p["text"]
    elif event.name == "Unnote":
        state.pop("note", None)
    state["count"] = state.get("count", 0) + 1
    return state


def shelf_event(version: int) -> dict[str, Any]:
    """Event ``version`` of the shelf stream: Put mostly, Take every 7th, Note/Unnote pairs."""
    when = T0 + timedelta(minutes=version)
    if version % 7 == 0:
        return {"name": "Take", "payload": {"sku": f"sku-{(version - 1) % 5}"}, "timestamp": when}
    if version % 11 == 0:
        return {"name": "Note", "payload": {"text": f"note {version}"}, "timestamp": when}
    if version % 11 == 1 and version > 1:
        return {"name": "Unnote", "payload": {}, "timestamp": when}
    return {
        "name": "Put",
        "payload": {"sku": f"sku-{version % 5}", "qty": version},
        "timestamp": when,
    }


@pytest.fixture
def shelf_stream(settings):
    """A 300-event stream of category "shelf" (the Python reducer above) with a snapshot
    every 50 versions, taken through the snapshot service."""
    settings.FLIPBOOK_SNAPSHOT_POLICY = {"ENABLED": False}
    Category.objects.create(
        name="shelf", reducer="python", python_path="tests.console.test_console_replay.shelf"
    )
    for start in range(1, EVENTS + 1, 100):
        services.append_to_stream(
            SHELF,
            [
                {**shelf_event(v), "timestamp": shelf_event(v)["timestamp"].isoformat()}
                for v in range(start, start + 100)
            ],
            category="shelf",
        )
    for version in range(EVERY, EVENTS + 1, EVERY):
        snapshot_services.take_snapshot(SHELF, version)
    return SHELF


@pytest.fixture
def user():
    return get_user_model().objects.create_superuser("replay-admin", "a@example.com", "pw-12345")


@pytest.fixture
def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def replay(client: Client, **params) -> tuple[int, Any]:
    response = client.get("/data/replay", params)
    return response.status_code, response.json()


def apply_diff(before: Any, changes: list[dict]) -> Any:
    """Apply a diff of the replay endpoint to a copy of ``before`` (the test's own reading of
    the diff format): the result must be the next state."""
    state = json.loads(json.dumps(before))
    if any(c["path"] == [] for c in changes):
        return next(c["after"] for c in changes if c["path"] == [])
    # Removals from the end of lists first, so indices stay valid.
    for change in sorted(changes, key=lambda c: c["path"], reverse=True):
        *parents, last = change["path"]
        target = state
        for key in parents:
            target = target[key]
        if change["op"] == "removed":
            del target[last]
        elif isinstance(target, list) and last == len(target):
            target.append(change["after"])
        else:
            target[last] = change["after"]
    return state


# -- the data endpoint ------------------------------------------------------------------------


def test_window_in_the_middle_folds_once_from_the_newest_snapshot(client, shelf_stream):
    status, body = replay(client, stream=SHELF, version=130, window=5)
    assert status == 200, body
    assert (body["version"], body["from"], body["to"]) == (130, 125, 135)
    assert [s["version"] for s in body["steps"]] == list(range(125, 136))
    # One fold to 124 from the snapshot at 100 (24 events), then the 11 window events.
    assert body["folded"] == {"snapshot_version": 100, "events_read": 24 + 11}
    assert body["stream"]["head"] == EVENTS
    # The time each version was reached, carried on from the snapshot's time.
    assert body["steps"][0]["reached_at"] == (T0 + timedelta(minutes=125)).isoformat()
    for step in body["steps"]:
        expected = state_at_version(SHELF, step["version"], use_snapshots=False).payload
        assert step["state"] == expected, step["version"]
        assert step["event"]["version"] == step["version"]
        assert step["event"]["name"] == shelf_event(step["version"])["name"]


def test_window_bounds_at_the_start_and_the_end(client, shelf_stream):
    status, body = replay(client, stream=SHELF, version=1, window=4)
    assert status == 200
    assert (body["from"], body["to"]) == (1, 5)
    first = body["steps"][0]
    assert first["state"] == {"items": {"sku-1": {"qty": 1, "seen": {"at": 1}}}, "count": 1}
    assert {(tuple(c["path"]), c["op"]) for c in first["diff"]} == {
        (("items",), "added"),
        (("count",), "added"),
    }
    assert body["folded"]["snapshot_version"] is None

    status, body = replay(client, stream=SHELF, version=EVENTS, window=4)
    assert status == 200, body
    assert (body["from"], body["to"]) == (EVENTS - 4, EVENTS)
    assert body["steps"][-1]["version"] == EVENTS
    assert body["folded"]["snapshot_version"] == 250

    status, body = replay(client, stream=SHELF)  # no version: the head, default window
    assert body["version"] == EVENTS
    assert (body["from"], body["to"]) == (EVENTS - replay_view.DEFAULT_WINDOW, EVENTS)

    status, body = replay(client, stream=SHELF, version=EVENTS, window=0)
    assert status == 200, body
    assert [s["version"] for s in body["steps"]] == [EVENTS]


def test_every_diff_turns_the_previous_state_into_the_next(client, shelf_stream):
    previous = state_at_version(SHELF, 139, use_snapshots=False).payload
    status, body = replay(client, stream=SHELF, version=150, window=10)
    assert status == 200
    for step in body["steps"]:
        assert apply_diff(previous, step["diff"]) == step["state"], step["version"]
        previous = step["state"]


def test_diffs_name_nested_changed_added_and_removed_keys(client, shelf_stream):
    # v140: Take sku-4 (139 % 5): a nested object removed.
    status, body = replay(client, stream=SHELF, version=140, window=0)
    assert status == 200, body
    (step,) = body["steps"]
    assert step["event"]["name"] == "Take"
    removed = [c for c in step["diff"] if c["op"] == "removed"]
    assert [c["path"] for c in removed] == [["items", "sku-4"]]
    assert removed[0]["before"]["seen"] == {"at": 139}
    assert {"path": ["count"], "op": "changed", "before": 139, "after": 140} in step["diff"]

    # v136: Put sku-1 again: nested keys changed, not the whole item.
    (step,) = replay(client, stream=SHELF, version=136, window=0)[1]["steps"]
    paths = {tuple(c["path"]): c for c in step["diff"]}
    assert paths[("items", "sku-1", "qty")] == {
        "path": ["items", "sku-1", "qty"],
        "op": "changed",
        "before": 131,
        "after": 136,
    }
    assert paths[("items", "sku-1", "seen", "at")]["after"] == 136
    assert ("items", "sku-1") not in paths

    # v144 (Unnote) removes the top-level key v143 (Note) set; v155 removes it again and
    # v165 (Note) adds it back.
    (step,) = replay(client, stream=SHELF, version=144, window=0)[1]["steps"]
    assert {"path": ["note"], "op": "removed", "before": "note 143"} in step["diff"]
    (step,) = replay(client, stream=SHELF, version=165, window=0)[1]["steps"]
    assert {"path": ["note"], "op": "added", "after": "note 165"} in step["diff"]


def test_diff_of_lists_type_changes_and_scalars():
    d = replay_view.diff
    assert d({"a": [1, 2]}, {"a": [1, 3, 4]}) == [
        {"path": ["a", 1], "op": "changed", "before": 2, "after": 3},
        {"path": ["a", 2], "op": "added", "after": 4},
    ]
    assert d([1, 2, 3], [1]) == [
        {"path": [1], "op": "removed", "before": 2},
        {"path": [2], "op": "removed", "before": 3},
    ]
    assert d({"a": 1}, {"a": True}) == [
        {"path": ["a"], "op": "changed", "before": 1, "after": True}
    ]
    assert d({"a": {"b": 1}}, {"a": [1]}) == [
        {"path": ["a"], "op": "changed", "before": {"b": 1}, "after": [1]}
    ]
    assert d(5, 5) == [] and d(None, {}) == [
        {"path": [], "op": "changed", "before": None, "after": {}}
    ]


def test_snapshot_markers_and_their_cap(client, shelf_stream, monkeypatch):
    status, body = replay(client, stream=SHELF, version=10, window=1)
    assert status == 200, body
    markers = body["snapshots"]
    assert markers["total"] == EVENTS // EVERY
    assert markers["aggregated"] is False
    assert [m["version"] for m in markers["markers"]] == list(range(EVERY, EVENTS + 1, EVERY))

    monkeypatch.setattr(replay_view, "MAX_MARKERS", 4)
    status, body = replay(client, stream=SHELF, version=10, window=1)
    assert status == 200, body
    markers = body["snapshots"]
    assert markers["aggregated"] is True and markers["total"] == 6
    assert len(markers["markers"]) <= 4
    assert sum(m["count"] for m in markers["markers"]) == 6
    assert markers["bucket_versions"] == 75
    assert [m["version"] for m in markers["markers"]] == [50, 100, 200, 250]
    assert "one marker per 75 versions" in markers["note"]


def test_windows_fetched_while_stepping_leave_the_overview_out(client, shelf_stream):
    status, body = replay(client, stream=SHELF, version=130, window=2, overview=0)
    assert status == 200, body
    assert "snapshots" not in body and "time" not in body
    assert [s["version"] for s in body["steps"]] == [128, 129, 130, 131, 132]
    assert body["folded"]["snapshot_version"] == 100  # the fold still starts there
    status, body = replay(client, stream=SHELF, window=0, overview=0, at="2024-01-01T01:00Z")
    assert body["at"]["version"] == 60 and "snapshots" not in body


def test_snapshots_of_another_revision_are_not_markers_nor_fold_starts(client, shelf_stream):
    snapshot_services.set_snapshot(SHELF, 120, {"bogus": True})  # revision "client"
    status, body = replay(client, stream=SHELF, version=125, window=0)
    assert status == 200, body
    assert body["folded"]["snapshot_version"] == 100
    assert body["steps"][0]["state"] == state_at_version(SHELF, 125).payload
    assert 120 not in [m["version"] for m in body["snapshots"]["markers"]]


def test_natural_time_maps_to_the_highest_version_reached(client, shelf_stream):
    status, body = replay(client, stream=SHELF, window=2, at="2024-01-01T02:22:30Z")
    assert status == 200, body
    assert body["at"]["version"] == 142  # event v is at T0 + v minutes
    assert body["version"] == 142 and (body["from"], body["to"]) == (140, 144)
    assert body["time"]["first"] == (T0 + timedelta(minutes=1)).isoformat()
    assert body["time"]["last"] == (T0 + timedelta(minutes=EVENTS)).isoformat()
    assert "time-neutral" in body["time"]["rule"]

    status, body = replay(client, stream=SHELF, window=0, at="2023-12-31T00:00:00Z")
    assert status == 200, body
    assert body["at"]["version"] == 0 and body["version"] == 1


def test_time_neutral_and_future_events_follow_the_documented_rule(client):
    stream = "tests/replay-times"
    now = datetime.now(UTC)
    services.append_to_stream(
        stream,
        [
            {"name": "A", "payload": {"a": 1}, "timestamp": "2024-01-01T00:00:00Z"},
            {"name": "B", "payload": {"b": 1}, "timestamp": "2024-01-02T00:00:00Z"},
            {"name": "C", "payload": {"c": 1}, "timestamp": "2031-01-01T00:00:00Z"},
            {"name": "D", "payload": {"d": 1}, "timestamp": "2024-01-03T00:00:00Z"},
            {"name": "E", "payload": {"e": 1}},  # time-neutral: counts at its recorded time
        ],
    )
    at = lambda when: replay(client, stream=stream, window=0, at=when)[1]["at"]["version"]  # noqa: E731
    assert at("2024-01-01T12:00:00Z") == 1
    # D happened on Jan 3 but C (version 3) is dated 2031: it holds back every later version.
    assert at("2024-01-05T00:00:00Z") == 2
    assert at("2031-01-01T00:00:00Z") == 5  # E was recorded before 2031
    status, body = replay(client, stream=stream, window=0)
    assert status == 200, body
    assert body["time"]["last"].startswith("2031-01-01")
    # Away from the head (no snapshots here) the span is read from the events: the same.
    status, body = replay(client, stream=stream, version=1, window=0)
    assert status == 200 and body["time"]["last"].startswith("2031-01-01")
    # Version 4 (Jan 3) was reached only when version 3 (2031) had happened.
    status, body = replay(client, stream=stream, version=4, window=2)
    assert [s["reached_at"][:10] for s in body["steps"]] == [
        "2024-01-02",
        "2031-01-01",
        "2031-01-01",
        "2031-01-01",
    ]
    assert abs(datetime.fromisoformat(body["steps"][0]["event"]["recorded_at"]) - now) < timedelta(
        minutes=5
    )


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "stream"),
        ({"stream": SHELF, "version": "abc"}, "version"),
        ({"stream": SHELF, "version": "-1"}, "version"),
        ({"stream": SHELF, "window": "x"}, "window"),
        ({"stream": SHELF, "window": "101"}, "window"),
        ({"stream": SHELF, "at": "yesterday"}, "at"),
        ({"stream": SHELF, "overview": "2"}, "overview"),
        ({"stream": "bad\x01id"}, "stream"),
    ],
)
def test_bad_input_is_a_400_json_error_naming_the_field(client, shelf_stream, params, field):
    status, body = replay(client, **params)
    assert status == 400, body
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["details"]["field"] == field


def test_unknown_stream_and_versions_beyond_the_head_are_404(client, shelf_stream):
    status, body = replay(client, stream="no/such/stream")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, body = replay(client, stream=SHELF, version=EVENTS + 1)
    assert status == 404 and body["error"]["details"]["current_version"] == EVENTS


def test_a_version_neutral_stream_is_refused_with_a_clear_message(client):
    services.append_to_stream("tests/log", [{"name": "Line", "payload": {}}], kind="neutral")
    status, body = replay(client, stream="tests/log")
    assert status == 400
    assert "version-neutral" in body["error"]["message"]
    page = client.get("/replay/", {"stream": "tests/log"})
    assert page.status_code == 200
    assert "is version-neutral" in page.content.decode()
    assert "js/replay.js" not in page.content.decode()


def test_login_is_required(shelf_stream):
    anonymous = Client()
    response = anonymous.get("/data/replay", {"stream": SHELF})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    response = anonymous.get("/replay/", {"stream": SHELF})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert anonymous.get("/snapshots/", {"stream": SHELF}).status_code == 302
    assert anonymous.get("/data/snapshots/drift", {"stream": SHELF}).status_code == 401


def test_the_replay_page_renders_its_controls_and_designed_problems(client, shelf_stream):
    page = client.get("/replay/", {"stream": SHELF, "version": "42"})
    text = page.content.decode()
    assert page.status_code == 200
    assert 'data-version="42"' in text and f'max="{EVENTS}"' in text
    assert 'id="rp-play"' in text and "js/replay.js" in text
    missing = client.get("/replay/", {"stream": "nope"})
    assert missing.status_code == 404 and "nothing to replay" in missing.content.decode()
    assert "Which stream?" in client.get("/replay/").content.decode()


# -- the snapshots page -----------------------------------------------------------------------


def drift_lines(response) -> list[dict]:
    """The NDJSON lines of a drift answer (an async stream, as the ASGI server reads it)."""
    assert response["Content-Type"] == "application/x-ndjson"

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return [json.loads(line) for line in asyncio.run(collect()).splitlines()]


def test_the_snapshots_page_lists_them_with_source_and_size(client, shelf_stream):
    snapshot_services.set_snapshot(SHELF, 10, {"from": "a client"})
    response = client.get("/snapshots/", {"stream": SHELF})
    text = response.content.decode()
    assert response.status_code == 200
    versions = [int(v) for v in re.findall(r'<tr data-version="(\d+)"', text)]
    assert versions == [300, 250, 200, 150, 100, 50, 10]  # newest first
    assert text.count('<span class="badge">taken</span>') == 6
    assert '<span class="badge">client</span>' in text and "other revision" in text
    assert "bytes" in text  # sizes
    assert "No snapshot policy" in text
    assert 'name="csrfmiddlewaretoken"' in text


def test_the_snapshots_page_empty_missing_and_neutral_states(client):
    services.append_to_stream("tests/plain", [{"name": "A", "payload": {"a": 1}}])
    text = client.get("/snapshots/", {"stream": "tests/plain"}).content.decode()
    assert "No snapshots yet." in text
    response = client.get("/snapshots/", {"stream": "tests/none"})
    assert response.status_code == 404 and "has no snapshots" in response.content.decode()
    services.append_to_stream("tests/log2", [{"name": "L", "payload": {}}], kind="neutral")
    assert (
        "is version-neutral" in client.get("/snapshots/", {"stream": "tests/log2"}).content.decode()
    )
    # No stream named: a picker, not a validator's message.
    missing = client.get("/snapshots/")
    assert missing.status_code == 200
    assert "Which stream?" in missing.content.decode()
    assert "name the stream" not in missing.content.decode()


def test_drift_check_and_rebuild_through_the_snapshot_service(client, user, shelf_stream):
    lines = drift_lines(client.get("/data/snapshots/drift", {"stream": SHELF}))
    assert lines[0] == {"type": "started", "action": "check", "total": EVENTS}
    result = lines[-1]
    assert result["type"] == "result" and result["ok"] is True
    assert result["snapshots_checked"] == 6 and result["events_read"] == EVENTS

    # A snapshot that no longer holds what the events fold to.
    reducer_ = reducer_for_category("shelf")
    snapshot_services.store_state(SHELF, 100, {"tampered": True}, reducer_, T0, T0)
    result = drift_lines(client.get("/data/snapshots/drift", {"stream": SHELF}))[-1]
    assert result["ok"] is False
    assert [(f["version"], f["problem"]) for f in result["findings"]] == [(100, "differs")]
    # Field by field: what the stored snapshot holds against what the events fold to.
    changes = {(tuple(c["path"]), c["op"]) for c in result["findings"][0]["changes"]}
    assert (("tampered",), "removed") in changes
    assert (("count",), "added") in changes
    assert (("items",), "added") in changes

    # The rebuild is a POST that needs the CSRF token.
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post(f"/data/snapshots/drift?stream={SHELF}").status_code == 403
    strict.get("/snapshots/", {"stream": SHELF})
    token = strict.cookies["csrftoken"].value
    response = strict.post(f"/data/snapshots/drift?stream={SHELF}", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    result = drift_lines(response)[-1]
    assert result["action"] == "rebuild" and result["rebuilt"] == 1
    assert snapshot_services.latest_snapshot(SHELF, version=100).payload == (
        state_at_version(SHELF, 100, use_snapshots=False).payload
    )
    assert drift_lines(client.get("/data/snapshots/drift", {"stream": SHELF}))[-1]["ok"] is True


def test_drift_errors_before_the_work_are_plain_json(client):
    response = client.get("/data/snapshots/drift", {"stream": "tests/none"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    response = client.get("/data/snapshots/drift")
    assert response.status_code == 400
    assert client.put("/data/snapshots/drift?stream=x").status_code == 405


# -- the admin --------------------------------------------------------------------------------


def test_stream_change_page_pages_through_events_read_only(client, shelf_stream):
    pk = Stream.objects.get(stream_id=SHELF).pk
    url = f"/admin/streams/stream/{pk}/change/"
    response = client.get(url)
    text = response.content.decode()
    assert response.status_code == 200
    first_page = [int(v) for v in re.findall(r"&amp;version=(\d+)\" title=\"State at", text)]
    assert first_page == list(range(EVENTS, EVENTS - 50, -1))
    older = re.search(r'href="\?events=([^"]+)" id="older-events"', text).group(1)
    text = client.get(url + "?events=" + older.replace("&amp;", "&")).content.decode()
    second = [int(v) for v in re.findall(r"&amp;version=(\d+)\" title=\"State at", text)]
    assert second == list(range(EVENTS - 50, EVENTS - 100, -1))
    text = client.get(url, {"before": "20"}).content.decode()
    jumped = [int(v) for v in re.findall(r"&amp;version=(\d+)\" title=\"State at", text)]
    assert jumped == list(range(20, 0, -1)) and "No older events." in text
    assert "is not a version number" in client.get(url, {"before": "x"}).content.decode()
    assert "Replay</a>" in text and "Snapshots</a>" in text  # console links
    assert 'name="version"' not in text  # events are not editable fields
    assert client.get("/admin/streams/stream/").status_code == 200


def test_category_admin_renders_reducer_and_policy(client, shelf_stream):
    pk = Category.objects.get(name="shelf").pk
    text = client.get(f"/admin/snapshots/category/{pk}/change/").content.decode()
    assert "python:tests.console.test_console_replay.shelf:1" in text  # the reducer revision
    assert 'name="snapshot_every"' in text
    assert client.get("/admin/snapshots/category/").status_code == 200
    assert client.get("/admin/snapshots/snapshot/").status_code == 200
    response = client.post(
        "/admin/snapshots/category/add/",
        {"name": "broken", "reducer": "declarative", "rules": '{"A": [{"op": "explode"}]}'},
    )
    assert response.status_code == 200  # the form again, with the rule's error
    assert "must be one of" in response.content.decode()
    assert not Category.objects.filter(name="broken").exists()


def test_issuing_an_api_key_shows_the_secret_once(client):
    response = client.post(
        "/admin/api/apikey/add/",
        {"name": "ci", "scope": "write", "stream_prefix": "orders/", "active": "on"},
    )
    assert response.status_code == 200, response.content[:500]
    assert "no-store" in response["Cache-Control"]
    secret = re.search(r'value="(fbk_[^"]+)"', response.content.decode()).group(1)
    key = ApiKey.objects.get(name="ci")
    assert secret.startswith(f"fbk_{key.key_id}_")
    assert key.matches(secret.split("_", 2)[2])
    assert (key.scope, key.stream_prefix, key.active) == ("write", "orders/", True)
    # Never again: not on the change page, not in the list, not in a message.
    for url in (f"/admin/api/apikey/{key.pk}/change/", "/admin/api/apikey/", "/admin/"):
        assert secret not in client.get(url).content.decode()
    assert client.get(f"/admin/api/apikey/{key.pk}/change/").status_code == 200


def test_the_replay_benchmark_runs_and_prints_its_ratios():
    """``python -m bench.console_replay --quick --sqlite`` end to end, in a child process with
    its own settings; its figures are not asserted (timings never are)."""
    child = subprocess.run(
        [sys.executable, "-m", "bench.console_replay", "--quick", "--sqlite"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert "worst ratio (replay / raw window read):" in child.stdout
    row = r"^ +{} +[\d,]+\.\.[\d,]+( +[\d.]+){{4}}( +[\d.]+x){{3}} +[-\d,]+ +[\d,]+$"
    for cursor in ("1", "1,500", "3,000"):  # one row per cursor: ms, ratios, the fold
        assert re.search(row.format(cursor), child.stdout, re.M), child.stdout
