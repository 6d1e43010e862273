"""The timed workloads, each run the same way on every system, and their targets (the
least Flipbook/psycopg ratio that passes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.events import sample_events
from bench.harness import Measurement, progress, run_writers, time_call
from bench.options import BenchOptions
from bench.systems.base import BenchSystem, BenchWriter

READ_STREAM = "read-stream"
MEMORY_STREAM = "memory-stream"
MEMORY_TARGET_MB = 150.0


def single_appends(system: BenchSystem, writers: int, total: int, warmup: int) -> Measurement:
    """One-event appends, each to a new stream, from ``writers`` threads."""
    per_writer = max(1, total // writers)
    events = sample_events(max(per_writer, warmup))
    tag = f"single-{writers}w"
    keys = [
        [system.stream_key(f"{tag}-{i}-{n}") for n in range(per_writer)] for i in range(writers)
    ]
    warm_keys = [
        [system.stream_key(f"{tag}-warm-{i}-{n}") for n in range(warmup)] for i in range(writers)
    ]

    def warm(writer: BenchWriter, i: int) -> None:
        for key, event in zip(warm_keys[i], events, strict=False):
            writer.append_new(key, (event,))

    def timed(writer: BenchWriter, i: int) -> tuple[int, int]:
        for key, event in zip(keys[i], events, strict=False):
            writer.append_new(key, (event,))
        return per_writer, 0

    return run_writers(system, writers, warm, timed)


def batch_appends(system: BenchSystem, appends: int, size: int, warmup: int) -> Measurement:
    """Appends of ``size`` events, each to a new stream, from one writer."""
    events = sample_events(size)
    keys = [system.stream_key(f"batch-{n}") for n in range(appends)]
    warm_keys = [system.stream_key(f"batch-warm-{n}") for n in range(warmup)]

    def warm(writer: BenchWriter, _i: int) -> None:
        for key in warm_keys:
            writer.append_new(key, events)

    def timed(writer: BenchWriter, _i: int) -> tuple[int, int]:
        for key in keys:
            writer.append_new(key, events)
        return appends * size, 0

    return run_writers(system, 1, warm, timed)


def contended_appends(system: BenchSystem, writers: int, total: int, warmup: int) -> Measurement:
    """One-event appends of ``writers`` threads racing for the head of one stream, each
    retrying on conflict until it has stored its share. Checks the stream afterwards."""
    per_writer = max(1, total // writers)
    events = sample_events(max(per_writer, warmup))
    hot = system.stream_key("contended")
    warm_hot = system.stream_key("contended-warm")
    creator = system.open_writer()
    try:
        creator.append_new(hot, events[:1])
        creator.append_new(warm_hot, events[:1])
    finally:
        creator.close()

    def warm(writer: BenchWriter, _i: int) -> None:
        version = 1
        for event in events[:warmup]:
            version, _refused = writer.append_contended(warm_hot, event, version)

    def timed(writer: BenchWriter, _i: int) -> tuple[int, int]:
        version = 1
        refused = 0
        for event in events[:per_writer]:
            version, refused_now = writer.append_contended(hot, event, version)
            refused += refused_now
        return per_writer, refused

    measurement = run_writers(system, writers, warm, timed)
    checker = system.open_writer()
    try:
        stored = checker.read_stream(hot)
    finally:
        checker.close()
    if stored != 1 + per_writer * writers:
        raise AssertionError(
            f"{system.name}: the contended stream holds {stored} events, "
            f"expected {1 + per_writer * writers}"
        )
    return measurement


def read_stream(system: BenchSystem, events: int, repeats: int) -> Measurement:
    """Read the bulk-loaded stream of ``events`` events whole: once to warm up, then
    ``repeats`` timed reads; returns the one of median time."""
    key = system.stream_key(READ_STREAM)
    reader = system.open_writer()
    try:
        found = reader.read_stream(key)
        if found != events:
            raise AssertionError(f"{system.name}: read {found} events, expected {events}")
        runs = sorted(
            (time_call(lambda: reader.read_stream(key)) for _ in range(repeats)),
            key=lambda m: m.seconds,
        )
    finally:
        reader.close()
    return runs[len(runs) // 2]


def load_stream(system: BenchSystem, name: str, events: int) -> None:
    """Bulk-load the stream ``name`` with ``events`` sample events, showing progress."""
    step = max(1, events // 10)
    shown = [0]

    def report(done: int) -> None:
        if done - shown[0] >= step or done == events:
            shown[0] = done
            progress(f"  {system.name}: loading {name}: {done:,}/{events:,} events")

    system.bulk_load(system.stream_key(name), events, report)


@dataclass(frozen=True)
class Workload:
    """A timed workload: its report label, its target and how to run it on a system."""

    key: str
    label: str
    target: float  # least flipbook/psycopg ratio that passes
    run: Callable[[BenchSystem, BenchOptions], Measurement]


WORKLOADS = (
    Workload(
        "single_1",
        "1-event appends, 1 writer",
        0.8,
        lambda s, o: single_appends(s, 1, o.single_appends, o.warmup_appends),
    ),
    Workload(
        "single_n",
        "1-event appends, N writers",
        0.8,
        lambda s, o: single_appends(s, o.writers, o.parallel_appends, o.warmup_appends),
    ),
    Workload(
        "batch",
        "B-event appends, 1 writer",
        0.6,
        lambda s, o: batch_appends(
            s, o.batch_appends, o.batch_size, max(1, o.warmup_appends // 10)
        ),
    ),
    Workload(
        "contended",
        "contended appends, N writers, 1 stream",
        1.0,
        lambda s, o: contended_appends(
            s, o.writers, o.contended_appends, max(1, o.warmup_appends // 10)
        ),
    ),
    Workload(
        "read",
        "read one stream of R events",
        0.8,
        lambda s, o: read_stream(s, o.read_events, o.read_repeats),
    ),
)
MEMORY_LABEL = "peak RSS reading M events"


def workload_label(workload: Workload, options: BenchOptions) -> str:
    """The label with the run's counts in it (N writers, B events, R events)."""
    return (
        workload.label.replace("N writers", f"{options.writers} writers")
        .replace("B-event", f"{options.batch_size}-event")
        .replace("R events", f"{options.read_events:,} events")
    )
