"""The Python SDK's delete_stream and truncate_stream on both transports, against a real
`flipbook serve`."""

from __future__ import annotations

import uuid

import pytest

from flipbook_client import Client, NotFound, StreamDeleted, ValidationError


def new_id() -> str:
    return f"/sdk-life/{uuid.uuid4().hex}"


def test_soft_delete_then_append_starts_the_stream_again(client: Client):
    sid = new_id()
    client.append(sid, [{"name": "A"}, {"name": "B"}])
    head = client.delete_stream(sid)
    assert head.version == 2
    with pytest.raises(NotFound):
        client.stream(sid)
    with pytest.raises(NotFound):
        client.delete_stream(sid)
    result = client.append(sid, [{"name": "C"}], expected_version=2)
    assert [e.version for e in result.events] == [3]
    assert [e.version for e in client.read(sid)] == [3]


def test_hard_delete_raises_stream_deleted(client: Client):
    sid = new_id()
    client.append(sid, [{"name": "A"}])
    client.delete_stream(sid, hard=True)
    for call in (lambda: client.stream(sid), lambda: client.append(sid, [{"name": "B"}])):
        with pytest.raises(StreamDeleted) as raised:
            call()
        assert raised.value.code == "stream_deleted"
    with pytest.raises(NotFound):
        client.delete_stream(new_id())


def test_truncate(client: Client):
    sid = new_id()
    client.append(sid, [{"name": "A"}] * 4)
    head = client.truncate_stream(sid, 3)
    assert (head.version, head.event_count) == (4, 2)
    assert [e.version for e in client.read(sid, from_version=1)] == [3, 4]
    with pytest.raises(ValidationError):
        client.truncate_stream(sid, 9)
