"""New event ids: random version 4 UUIDs from a pool that a forked child must not share."""

from __future__ import annotations

import os
import uuid

from streams.validation import new_event_id


def test_new_event_ids_are_random_version_4_uuids():
    ids = [new_event_id() for _ in range(5000)]  # several refills of the pool
    assert len(set(ids)) == len(ids)
    assert {(i.version, i.variant) for i in ids} == {(4, uuid.RFC_4122)}
    seen_set = seen_clear = 0
    for i in ids:
        seen_set |= i.int
        seen_clear |= ~i.int
    # Every bit but the version and variant bits is sometimes 1 and sometimes 0.
    fixed = (0xF000 << 64) | (0xC000 << 48)
    assert seen_set & seen_clear & ((1 << 128) - 1) == ((1 << 128) - 1) & ~fixed


def test_a_forked_child_does_not_hand_out_its_parents_ids():
    new_event_id()  # the pool now holds ids this process has not handed out yet
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send one id and leave at once
        try:
            os.write(write, new_event_id().bytes)
        finally:
            os._exit(0)
    os.close(write)
    child = uuid.UUID(bytes=os.read(read, 16))
    os.close(read)
    os.waitpid(pid, 0)
    parent = [new_event_id() for _ in range(300)]
    assert child not in parent
