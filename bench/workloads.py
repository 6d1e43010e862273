"""The timed workloads and their targets (the least Flipbook/psycopg ratio that passes).

Each workload runs in rounds; the systems take turns round by round (bench/run.py), so a
drift in the machine's load is shared by all of them instead of landing on one."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from bench.events import sample_events
from bench.harness import Measurement, progress, run_writers, time_call
from bench.options import BenchOptions
from bench.systems.base import BenchSystem, BenchWriter

READ_STREAM = "read-stream"
MEMORY_STREAM = "memory-stream"
MEMORY_TARGET_MB = 150.0
MEMORY_LABEL = "peak RSS reading M events"


class WorkloadRun:
    """A workload on one system: ``round(i)`` times one round (a fresh connection per writer,
    warmed up first), ``close()`` releases what the rounds shared."""

    def round(self, index: int) -> Measurement:
        raise NotImplementedError("subclasses of WorkloadRun must provide round()")

    def close(self) -> None:
        """Release what the rounds shared."""


class SingleAppends(WorkloadRun):
    """One-event appends, each to a new stream, from ``writers`` threads."""

    def __init__(self, system: BenchSystem, writers: int, per_writer: int, warmup: int) -> None:
        self.system = system
        self.writers = writers
        self.per_writer = per_writer
        self.warmup = warmup
        self.events = sample_events(max(per_writer, warmup))

    def round(self, index: int) -> Measurement:
        tag = f"single-{self.writers}w-{index}"
        key = self.system.stream_key
        keys = [
            [key(f"{tag}-{i}-{n}") for n in range(self.per_writer)] for i in range(self.writers)
        ]
        warm_keys = [
            [key(f"{tag}-warm-{i}-{n}") for n in range(self.warmup)] for i in range(self.writers)
        ]
        events = self.events

        def warm(writer: BenchWriter, i: int) -> None:
            for k, event in zip(warm_keys[i], events, strict=False):
                writer.append_new(k, (event,))

        def timed(writer: BenchWriter, i: int) -> tuple[int, int]:
            for k, event in zip(keys[i], events, strict=False):
                writer.append_new(k, (event,))
            return self.per_writer, 0

        return run_writers(self.system, self.writers, warm, timed)


class BatchAppends(WorkloadRun):
    """Appends of ``size`` events, each to a new stream, from one writer."""

    def __init__(self, system: BenchSystem, appends: int, size: int, warmup: int) -> None:
        self.system = system
        self.appends = appends
        self.warmup = warmup
        self.events = sample_events(size)

    def round(self, index: int) -> Measurement:
        key = self.system.stream_key
        keys = [key(f"batch-{index}-{n}") for n in range(self.appends)]
        warm_keys = [key(f"batch-{index}-warm-{n}") for n in range(self.warmup)]
        events = self.events

        def warm(writer: BenchWriter, _i: int) -> None:
            for k in warm_keys:
                writer.append_new(k, events)

        def timed(writer: BenchWriter, _i: int) -> tuple[int, int]:
            for k in keys:
                writer.append_new(k, events)
            return len(keys) * len(events), 0

        return run_writers(self.system, 1, warm, timed)


class ContendedAppends(WorkloadRun):
    """``writers`` threads racing for the head of one stream (a new one each round), each
    retrying on conflict until it has stored its share. Checks the stream afterwards."""

    def __init__(self, system: BenchSystem, writers: int, per_writer: int, warmup: int) -> None:
        self.system = system
        self.writers = writers
        self.per_writer = per_writer
        self.warmup = warmup
        self.events = sample_events(max(per_writer, warmup))

    def round(self, index: int) -> Measurement:
        system, events = self.system, self.events
        hot = system.stream_key(f"contended-{index}")
        warm_hot = system.stream_key(f"contended-{index}-warm")
        creator = system.open_writer()
        try:
            creator.append_new(hot, events[:1])
            creator.append_new(warm_hot, events[:1])
        finally:
            creator.close()

        def warm(writer: BenchWriter, _i: int) -> None:
            version = 1
            for event in events[: self.warmup]:
                version, _refused = writer.append_contended(warm_hot, event, version)

        def timed(writer: BenchWriter, _i: int) -> tuple[int, int]:
            version = 1
            refused = 0
            for event in events[: self.per_writer]:
                version, refused_now = writer.append_contended(hot, event, version)
                refused += refused_now
            return self.per_writer, refused

        measurement = run_writers(system, self.writers, warm, timed)
        checker = system.open_writer()
        try:
            stored = checker.read_stream(hot)
        finally:
            checker.close()
        expected = 1 + self.per_writer * self.writers
        if stored != expected:
            raise AssertionError(
                f"{system.name}: the contended stream holds {stored} events, expected {expected}"
            )
        return measurement


class ReadStream(WorkloadRun):
    """Whole reads of the bulk-loaded stream, on one connection read through once untimed."""

    def __init__(self, system: BenchSystem, events: int) -> None:
        self.system = system
        self.key = system.stream_key(READ_STREAM)
        self.reader = system.open_writer()
        found = self.reader.read_stream(self.key)
        if found != events:
            self.reader.close()
            raise AssertionError(f"{system.name}: read {found} events, expected {events}")

    def round(self, index: int) -> Measurement:
        return time_call(lambda: self.reader.read_stream(self.key))

    def close(self) -> None:
        self.reader.close()


def _share(total: int, parts: int) -> int:
    return max(1, total // parts)


@dataclass(frozen=True)
class Workload:
    """A timed workload: its report label (see :func:`workload_label`) and target."""

    key: str
    label: str
    target: float  # least flipbook/psycopg ratio that passes

    def start(self, system: BenchSystem, o: BenchOptions) -> WorkloadRun:
        """Set the workload up on ``system`` (untimed)."""
        rounds, warm = o.rounds, o.warmup_appends
        if self.key == "single_1":
            return SingleAppends(system, 1, _share(o.single_appends, rounds), warm)
        if self.key == "single_n":
            per_writer = _share(o.parallel_appends, o.writers * rounds)
            return SingleAppends(system, o.writers, per_writer, warm)
        if self.key == "batch":
            appends = _share(o.batch_appends, rounds)
            return BatchAppends(system, appends, o.batch_size, max(1, warm // 10))
        if self.key == "contended":
            per_writer = _share(o.contended_appends, o.writers * rounds)
            return ContendedAppends(system, o.writers, per_writer, max(1, warm // 5))
        if self.key == "read":
            return ReadStream(system, o.read_events)
        raise ValueError(f"unknown workload {self.key!r}")


WORKLOADS = (
    Workload("single_1", "1-event appends, 1 writer", 0.8),
    Workload("single_n", "1-event appends, N writers", 0.8),
    Workload("batch", "B-event appends, 1 writer", 0.6),
    Workload("contended", "contended appends, N writers, 1 stream", 1.0),
    Workload("read", "read one stream of R events", 0.8),
)


def workload_label(workload: Workload, options: BenchOptions) -> str:
    """The label with the run's counts in it (N writers, B events, R events)."""
    return (
        workload.label.replace("N writers", f"{options.writers} writers")
        .replace("B-event", f"{options.batch_size}-event")
        .replace("R events", f"{options.read_events:,} events")
    )


def load_stream(system: BenchSystem, name: str, events: int) -> None:
    """Bulk-load the stream ``name`` with ``events`` sample events, showing progress."""
    step = max(1, events // 10)
    shown = [0]

    def report(done: int) -> None:
        if done - shown[0] >= step or done == events:
            shown[0] = done
            progress(f"  {system.name}: loading {name}: {done:,}/{events:,} events")

    system.bulk_load(system.stream_key(name), events, report)


def run_workload(
    workload: Workload,
    systems: list[BenchSystem],
    options: BenchOptions,
    *,
    active: Callable[[BenchSystem], AbstractContextManager[object]] | None = None,
    before_round: Callable[[], None] | None = None,
    width: int = 9,
) -> dict[str, Measurement]:
    """Set ``workload`` up on each system, then run ``options.rounds`` rounds in which the
    systems take turns (in a rotating order); return each system's summed rounds. ``active``
    gives the context a system runs in (its store settings), ``before_round`` is called
    before each system's round (e.g. to sample the database's other activity)."""
    context = active or (lambda system: nullcontext())
    runs: dict[str, WorkloadRun] = {}
    try:
        for system in systems:
            with context(system):
                runs[system.name] = workload.start(system, options)
        totals: dict[str, Measurement] = {}
        for index in range(options.rounds):
            shift = index % len(systems)
            for system in systems[shift:] + systems[:shift]:
                if before_round is not None:
                    before_round()
                with context(system):
                    m = runs[system.name].round(index)
                totals[system.name] = totals[system.name] + m if system.name in totals else m
                progress(
                    f"  round {index + 1}/{options.rounds} {system.name:<{width}} "
                    f"{m.rate:>10,.0f} events/s ({m.events:,} in {m.seconds:.2f} s)"
                )
    finally:
        for run in runs.values():
            run.close()
    return {system.name: totals[system.name] for system in systems}
