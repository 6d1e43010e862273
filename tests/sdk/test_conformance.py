"""The conformance vectors of clients/conformance/ (shared by every Flipbook client), run by
the Python client over both transports against a real `manage.py serve`."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from flipbook_client import Client, FlipbookError, VersionConflict

VECTORS = Path(__file__).resolve().parents[2] / "clients" / "conformance" / "vectors"
VECTOR_FILES = sorted(VECTORS.glob("*.json"))
_UUID_PLACEHOLDER = re.compile(r"\{uuid:([A-Za-z0-9_-]+)\}")


class Placeholders:
    """Replaces ``{run}`` with this run's prefix and ``{uuid:label}`` with one UUID per label."""

    def __init__(self) -> None:
        self.run = "r" + uuid.uuid4().hex[:12]
        self.uuids: dict[str, str] = {}

    def _uuid(self, match: re.Match[str]) -> str:
        return self.uuids.setdefault(match.group(1), str(uuid.uuid4()))

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            return _UUID_PLACEHOLDER.sub(self._uuid, value.replace("{run}", self.run))
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


def _expected_version(value: Any) -> int | str:
    if value == "no_stream":
        return 0
    if value is None:
        return "any"
    return value


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for event in events:
        event = dict(event)
        if "timestamp" in event:
            event["timestamp"] = _time(event["timestamp"])
        out.append(event)
    return out


def run_step(client: Client, step: dict[str, Any]) -> dict[str, Any]:
    """Run one step's op and return its results by the names of the format's expect keys."""
    op = step["op"]
    if op == "append":
        result = client.append(
            step["stream"],
            _events(step["events"]),
            expected_version=_expected_version(step.get("expected_version")),
            category=step.get("category"),
            kind=step.get("kind"),
        )
        return {
            "first_version": result.events[0].version if result.events else None,
            "last_version": result.version,
            "duplicate": result.duplicate,
            "count": len(result.events),
        }
    if op == "commit":
        result = client.commit(
            [
                {
                    "stream_id": a["stream"],
                    "expected_version": _expected_version(a.get("expected_version")),
                    "events": _events(a["events"]),
                    "category": a.get("category"),
                }
                for a in step["appends"]
            ]
        )
        return {
            "duplicate": result.duplicate,
            "count": len(result.events),
            "streams": [{"stream": s.stream_id, "last_version": s.version} for s in result.streams],
        }
    if op == "read":
        events = list(
            client.read(
                step["stream"],
                from_version=step.get("from_version"),
                to_version=step.get("to_version"),
                since=_time(step.get("since")),
                until=_time(step.get("until")),
                direction=step.get("direction", "forwards"),
                batch=step.get("page_size", 1000),
            )
        )
        return {
            "versions": [e.version for e in events],
            "names": [e.name for e in events],
            "payloads": [e.payload for e in events],
            "ids": [e.id for e in events],
            "count": len(events),
        }
    if op == "latest":
        event = client.latest(step["stream"])
        return {"version": event.version, "name": event.name, "payload": event.payload}
    if op == "stream_info":
        info = client.stream(step["stream"])
        return {
            "version": info.version,
            "kind": info.kind,
            "category": info.category,
            "event_count": info.event_count,
        }
    if op == "read_all":
        events = []
        after = 0
        page_size = step.get("page_size", 1000)
        while True:
            page = client.read_all(
                after=after,
                limit=page_size,
                categories=step["categories"],
                names=step.get("names", ()),
            )
            events.extend(page.events)
            if len(page.events) < page_size or page.next_after <= after:
                break
            after = page.next_after
        positions = [e.position for e in events]
        assert positions == sorted(set(positions)), f"positions not increasing: {positions}"
        return {
            "streams": [e.stream_id for e in events],
            "names": [e.name for e in events],
            "count": len(events),
        }
    if op == "state":
        state = client.state(step["stream"], version=step.get("version"), at=_time(step.get("at")))
        return {"version": state.version, "state": state.state}
    if op == "snapshot_set":
        snapshot = client.snapshots.set(
            step["stream"], step["version"], step["payload"], label=step.get("label", "")
        )
        return {"version": snapshot.version}
    if op == "snapshot_get":
        snapshot = client.snapshots.get(step["stream"], version=step.get("max_version"))
        return {"version": snapshot.version, "payload": snapshot.payload}
    raise AssertionError(f"unknown op {op!r}")


def check_step(client: Client, step: dict[str, Any], where: str) -> None:
    expect_error = step.get("expect_error")
    if expect_error is not None:
        with pytest.raises(FlipbookError) as raised:
            run_step(client, step)
        error = raised.value
        assert error.code == expect_error["code"], f"{where}: {error!r}"
        if "current_version" in expect_error:
            assert isinstance(error, VersionConflict), where
            assert error.current_version == expect_error["current_version"], where
        if "field" in expect_error:
            assert error.details.get("field") == expect_error["field"], f"{where}: {error!r}"
        return
    results = run_step(client, step)
    for key, expected in (step.get("expect") or {}).items():
        assert key in results, f"{where}: {step['op']} has no result {key!r}"
        assert results[key] == expected, f"{where}: {key} is {results[key]!r}, not {expected!r}"


def test_vectors_are_found():
    assert len(VECTOR_FILES) >= 10, f"conformance vectors missing under {VECTORS}"


@pytest.mark.parametrize("path", VECTOR_FILES, ids=[p.stem for p in VECTOR_FILES])
def test_conformance_vector(client: Client, path: Path):
    vector = json.loads(path.read_text(encoding="utf-8"))
    placeholders = Placeholders()
    assert vector["steps"], f"{path.name} has no steps"
    for index, step in enumerate(vector["steps"]):
        check_step(client, placeholders.fill(step), f"{path.name} step {index} ({step['op']})")
