"""The Python SDK's retention, scavenge and erase calls on both transports, against a real
`flipbook serve`."""

from __future__ import annotations

import uuid

import pytest

from flipbook_client import Client, NotFound, StreamDeleted, ValidationError


def new_id() -> str:
    return f"/sdk-ret/{uuid.uuid4().hex}"


def test_set_read_clear_a_policy_and_scavenge_applies_it(client: Client):
    sid = new_id()
    client.append(sid, [{"name": "A"}] * 5)
    assert client.stream_retention(sid).source == "none"
    policy = client.set_stream_retention(sid, max_count=2)
    assert (policy.source, policy.max_count, policy.max_age) == ("stream", 2, None)
    assert policy.updated_at is not None
    assert client.stream_retention(sid) == policy
    removed = 0
    while True:
        report = client.scavenge(limit=1)
        removed += report.removed_events
        if report.complete:
            break
        assert report.removed_events == 1
    assert removed >= 3  # other tests' deleted streams may be scavenged too
    assert [e.version for e in client.read(sid, from_version=1)] == [4, 5]
    cleared = client.clear_stream_retention(sid)
    assert cleared.source == "none"
    with pytest.raises(NotFound):
        client.clear_stream_retention(sid)


def test_bad_policies_are_refused(client: Client):
    sid = new_id()
    for bad in ({}, {"max_count": 0}, {"max_age": -3}):
        with pytest.raises(ValidationError):
            client.set_stream_retention(sid, **bad)
    with pytest.raises(ValidationError):
        client.scavenge(limit=10**9)
    client.append(sid, [{"name": "A"}])
    client.delete_stream(sid, hard=True)
    with pytest.raises(StreamDeleted):
        client.set_stream_retention(sid, max_age=60)


def test_erase_a_subject_the_client_marked(client: Client):
    sid, subject = new_id(), f"person-{uuid.uuid4().hex[:8]}"
    marked = {"personal_data": {"subject": subject, "fields": ["$.email"]}}
    client.append(
        sid, [{"name": "Joined", "payload": {"email": "p@example.com", "n": 1}, "metadata": marked}]
    )
    assert next(iter(client.read(sid))).payload["email"] == "p@example.com"
    erasure = client.erase(subject)
    assert (erasure.subject, erasure.keys_destroyed, erasure.streams) == (subject, 1, 1)
    assert erasure.erased_by.startswith("key:") and erasure.audit_id > 0
    assert erasure.erased_at is not None
    payload = next(iter(client.read(sid))).payload
    assert payload == {"email": {"erased": True}, "n": 1}
    with pytest.raises(NotFound):
        client.erase(subject)
