"""Bitemporal reads: the state service's "as known at" variant (store time) beside "as of"
(natural time), through the service and the replay and timeline data endpoints; the time
slider's even stops and axis; out-of-range stops."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from snapshots.state import state_at_time, state_known_at, version_known_at
from streams import services

pytestmark = pytest.mark.django_db(transaction=True)
STREAM = "tests/ledger-1"


@pytest.fixture
def client() -> Client:
    c = Client()
    c.force_login(get_user_model().objects.create_user("bt", password="pw"))
    return c


@pytest.fixture
def ledger() -> list:
    """Three events committed one by one: v1 and v2 in order, then v3, which happened before
    v2 but was recorded last (a late arrival)."""
    stamps = ["2026-03-01T10:00:00Z", "2026-03-05T10:00:00Z", "2026-03-02T10:00:00Z"]
    for i, stamp in enumerate(stamps):
        services.append_to_stream(
            STREAM, [{"name": "Posted", "payload": {"n": i + 1}, "timestamp": stamp}]
        )
        time.sleep(0.01)  # distinct store times
    return services.read_stream(STREAM).items


def test_known_at_counts_store_time_as_of_counts_natural_time(ledger):
    v1, v2, v3 = ledger
    assert version_known_at(STREAM, v2.recorded_at) == 2
    assert version_known_at(STREAM, v1.recorded_at) == 1
    assert version_known_at(STREAM, datetime(2000, 1, 1, tzinfo=UTC)) == 0
    assert version_known_at(STREAM, v3.recorded_at) == 3
    # As known when v2 was recorded: v1 and v2, the late v3 not yet.
    known = state_known_at(STREAM, v2.recorded_at)
    assert (known.version, known.events_applied) == (2, 2)
    # As of March 3rd (natural time): v1 and the late v3, not v2 (March 5th).
    as_of = state_at_time(STREAM, "2026-03-03T00:00:00Z")
    assert as_of.events_applied == 2 and as_of.version == 3
    assert state_known_at(STREAM, v3.recorded_at).events_applied == 3


def test_replay_data_basis_switches_the_axis(client, ledger):
    _v1, v2, _v3 = ledger
    natural = client.get("/data/replay", {"stream": STREAM, "at": "2026-03-03T00:00:00Z"}).json()
    assert natural["at"]["at"] == "2026-03-03T00:00:00+00:00"
    assert (natural["at"]["version"], natural["at"]["basis"]) == (1, "natural")
    # By its definition the state as of then also holds the late v3 (dated March 2nd).
    defined = client.get(
        "/data/replay/state-at", {"stream": STREAM, "at": "2026-03-03T00:00:00Z"}
    ).json()
    assert defined["events_applied"] == 2 and defined["last_version"] == 3
    assert defined["state"] == {"n": 3}
    known = client.get(
        "/data/replay/state-at",
        {"stream": STREAM, "at": v2.recorded_at.isoformat(), "basis": "recorded"},
    ).json()
    assert (known["events_applied"], known["last_version"]) == (2, 2)
    for bad in ({"at": ""}, {"at": "soon"}, {"at": "2026-03-03T00:00:00Z", "basis": "x"}):
        assert client.get("/data/replay/state-at", {"stream": STREAM, **bad}).status_code == 400
    known = client.get(
        "/data/replay", {"stream": STREAM, "at": v2.recorded_at.isoformat(), "basis": "recorded"}
    ).json()
    assert known["at"]["version"] == 2 and known["at"]["basis"] == "recorded"
    assert known["version"] == 2


def test_time_slider_stops_are_events_with_their_true_dates(client, ledger):
    answer = client.get("/data/replay", {"stream": STREAM}).json()
    axis = answer["time"]["axis"]
    assert [stop["version"] for stop in axis] == [1, 2, 3]
    assert axis[1]["natural"] == "2026-03-05T10:00:00+00:00"
    assert axis[2]["recorded"] == ledger[2].recorded_at.isoformat()
    # Stop 3 is event 3's time: as of March 2nd, only v1 was all there.
    stop = client.get("/data/replay", {"stream": STREAM, "at_event": 3}).json()
    assert stop["at"]["at"] == "2026-03-02T10:00:00+00:00" and stop["at"]["version"] == 1
    known = client.get(
        "/data/replay", {"stream": STREAM, "at_event": 2, "basis": "recorded"}
    ).json()
    assert known["at"]["version"] == 2


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"at_event": 4}, 400, "at_event"),
        ({"at_event": 0}, 400, "at_event"),
        ({"basis": "sideways"}, 400, "basis"),
        ({"version": 99}, 404, None),
    ],
)
def test_out_of_range_stops_are_clear_errors(client, ledger, params, status, field):
    response = client.get("/data/replay", {"stream": STREAM, **params})
    assert response.status_code == status
    body = response.json()["error"]
    if field:
        assert field in str(body)
    else:
        assert "version 3" in body["message"]


def test_timeline_window_as_known_at(client, ledger):
    _v1, v2, _v3 = ledger
    known = client.get(
        "/data/events",
        {"stream": STREAM, "time": "recorded", "until": v2.recorded_at.isoformat()},
    ).json()
    assert [e["version"] for e in known["events"]] == [2, 1]
    as_of = client.get("/data/events", {"stream": STREAM, "until": "2026-03-03T00:00:00Z"}).json()
    assert [e["version"] for e in as_of["events"]] == [3, 1]
    bad = client.get("/data/events", {"stream": STREAM, "time": "later"})
    assert bad.status_code == 400
