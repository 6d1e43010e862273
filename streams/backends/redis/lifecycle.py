"""Delete, truncate and scavenge on the Redis event store (docs/concepts/lifecycle.md).

Each is one Lua script (streams/backends/redis/scripts.py), atomic with the commit script:
an append lands wholly before a delete or truncation, or wholly after it. The head hash
keeps ``del`` and ``tb``; ``{p}:lc`` lists the streams a scavenge looks at."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from streams.backends.base import stream_deleted
from streams.exceptions import NotFound, ValidationError
from streams.records import NEUTRAL, StreamInfo

if TYPE_CHECKING:
    pass


class RedisLifecycle:
    """Mixed into RedisEventStore (it provides the client, scripts, keys and ``head``)."""

    base: str
    global_keys: list[str]

    if TYPE_CHECKING:

        @property
        def client(self) -> Any: ...

        def _script(self, name: str) -> Any: ...

        def _translate(self, *, writing: bool = False) -> AbstractContextManager[None]: ...

        def _stream_key(self, stream_id: str) -> str: ...

        def _head_key(self, stream_id: str) -> str: ...

        def _times_key(self, stream_id: str) -> str: ...

        def head(self, stream_id: str) -> StreamInfo | None: ...

    @property
    def _lifecycle_key(self) -> str:
        return self.base + "lc"

    def _lifecycle(self, stream_id: str, op: str, before: int = 0) -> list[Any]:
        g = self.global_keys  # meta, feed, ids, streams, recent, cats, epm
        keys = [self._head_key(stream_id), self._stream_key(stream_id), g[0], g[3], g[4], g[5]]
        with self._translate(writing=True):
            reply: list[Any] = self._script("lifecycle")(
                keys=[*keys, self._lifecycle_key], args=[self.base, stream_id, op, before]
            )
        status = reply[0]
        if status == b"missing":
            raise NotFound(f"stream {stream_id!r} does not exist", stream_id=stream_id)
        if status == b"hard":
            raise stream_deleted(stream_id)
        if status == b"soft":
            raise NotFound(f"stream {stream_id!r} is deleted already", stream_id=stream_id)
        return reply

    def delete_stream(self, stream_id: str, *, hard: bool) -> StreamInfo:
        head = self.head(stream_id)
        reply = self._lifecycle(stream_id, "hard" if hard else "soft")
        _, kind, category, version, count, tb, last = reply
        assert head is not None  # the script found it
        neutral = kind == NEUTRAL.encode()
        return StreamInfo(
            stream_id=stream_id,
            kind=head.kind,
            category=category.decode() or None,
            version=None if neutral else int(version),
            event_count=int(count),
            first_recorded_at=head.first_recorded_at,
            last_recorded_at=head.last_recorded_at,
            last_position=int(last),
            truncate_before=int(tb),
        )

    def truncate_stream(self, stream_id: str, before: int) -> StreamInfo:
        reply = self._lifecycle(stream_id, "truncate", before)
        if reply[0] == b"past":
            what = "position" if self._is_neutral(stream_id) else "version"
            raise ValidationError(
                "before",
                f"stream {stream_id!r} can be truncated before {what} {int(reply[1])} at most "
                f"(one past its last {what})",
            )
        head = self.head(stream_id)
        assert head is not None
        return head

    def _is_neutral(self, stream_id: str) -> bool:
        with self._translate():
            kind = self.client.hget(self._head_key(stream_id), "kind")
        return bool(kind == NEUTRAL.encode())

    def scavenge_stream(self, stream_id: str, limit: int) -> int:
        keys = [
            self._head_key(stream_id),
            self._stream_key(stream_id),
            self._times_key(stream_id),
            self.global_keys[1],
            self.global_keys[2],
        ]
        with self._translate(writing=True):
            return int(self._script("scavenge")(keys=keys, args=[limit]))

    def scavenge_candidates(self, *, after: str | None, limit: int) -> list[str]:
        lo = b"-" if after is None else b"(" + after.encode()
        with self._translate():
            ids = self.client.zrangebylex(self._lifecycle_key, lo, b"+", start=0, num=limit)
        return [i.decode() for i in ids]
