"""BenchSystem and BenchWriter: what every system under test provides to the workloads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bench.database import ServerUrl, connect
from bench.events import SampleEvent

BULK_CHUNK = 100_000


class BenchWriter:
    """One writer thread's handle on a system (its own connection). Made and closed in the
    thread that uses it."""

    def append_new(self, key: Any, events: Sequence[SampleEvent]) -> None:
        """Append ``events`` as the first events of the new stream ``key`` (versions 1..n)."""
        raise NotImplementedError("subclasses of BenchWriter must provide append_new()")

    def append_contended(self, key: Any, event: SampleEvent, known_version: int) -> tuple[int, int]:
        """Append ``event`` after the stream's head while other writers race for it, retrying
        on conflict. Returns (the stored version, how many attempts were refused)."""
        raise NotImplementedError("subclasses of BenchWriter must provide append_contended()")

    def read_stream(self, key: Any) -> int:
        """Read a whole stream the system's usual way; return how many events it holds."""
        raise NotImplementedError("subclasses of BenchWriter must provide read_stream()")

    def read_stream_bounded(self, key: Any) -> int:
        """Read a whole stream in bounded memory; return how many events it holds."""
        raise NotImplementedError("subclasses of BenchWriter must provide read_stream_bounded()")

    def close(self) -> None:
        """Release what the writer holds (its connection)."""


class BenchSystem:
    """A store under test: its tables on the benchmark database, writers, bulk loading."""

    name = "?"
    #: what the system does, for the report
    description = ""
    #: tables to VACUUM (ANALYZE) after a bulk load
    tables: tuple[str, ...] = ()

    def __init__(self, url: ServerUrl) -> None:
        self.url = url

    def create_tables(self) -> None:
        """Create the system's tables (once per run, on the fresh database)."""

    def stream_key(self, name: str) -> Any:
        """The system's key of the stream called ``name`` (computed before timing)."""
        return name

    def open_writer(self) -> BenchWriter:
        raise NotImplementedError("subclasses of BenchSystem must provide open_writer()")

    def bulk_load_sql(self) -> tuple[str | None, str, str | None]:
        """SQL that stores a stream's events server-side: a statement run first, one that
        stores events ``%(lo)s..%(hi)s`` (run per chunk), and one run after the last chunk.
        Each takes the parameters ``key`` (from :meth:`stream_key`), ``lo``, ``hi``, ``count``."""
        raise NotImplementedError("subclasses of BenchSystem must provide bulk_load_sql()")

    def bulk_load(self, key: Any, count: int, progress: Callable[[int], None]) -> None:
        """Store ``count`` sample events in the new stream ``key`` with INSERT ... SELECT
        generate_series, in chunks (a transaction each), reporting progress per chunk."""
        first, chunk, last = self.bulk_load_sql()
        params: dict[str, Any] = {"key": key, "lo": 0, "hi": 0, "count": count}
        with connect(self.url) as conn:
            if first is not None:
                conn.execute(first, params)
            done = 0
            while done < count:
                params.update(lo=done + 1, hi=min(done + BULK_CHUNK, count))
                conn.execute(chunk, params)
                done = params["hi"]
                progress(done)
            if last is not None:
                conn.execute(last, params)

    def close(self) -> None:
        """Release shared resources (pools)."""
