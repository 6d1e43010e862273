"""Timing: writer threads released together by a barrier, timed with time.perf_counter."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.systems.base import BenchSystem, BenchWriter

_STARTED = time.perf_counter()


def progress(message: str) -> None:
    """Print a progress line on stderr (stdout carries only the report)."""
    print(f"[{time.perf_counter() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Measurement:
    """Events stored or read in ``seconds``; ``refused`` counts conflicting attempts."""

    events: int
    seconds: float
    refused: int = 0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def __add__(self, other: Measurement) -> Measurement:
        return Measurement(
            self.events + other.events, self.seconds + other.seconds, self.refused + other.refused
        )


# (writer, thread index) -> None, and -> (events done, attempts refused)
WarmUp = Callable[[BenchWriter, int], None]
TimedWork = Callable[[BenchWriter, int], tuple[int, int]]


def run_writers(system: BenchSystem, writers: int, warm: WarmUp, timed: TimedWork) -> Measurement:
    """Run ``writers`` threads, each on its own writer (connection): warm up, wait for all,
    then do the timed work. The time runs from the first thread's start to the last one's end
    of timed work; opening, warming up and closing are not timed."""
    barrier = threading.Barrier(writers)
    starts = [0.0] * writers
    ends = [0.0] * writers
    done = [(0, 0)] * writers
    errors: list[BaseException] = []

    def body(index: int) -> None:
        writer = None
        try:
            writer = system.open_writer()
            warm(writer, index)
            barrier.wait()
            starts[index] = time.perf_counter()
            done[index] = timed(writer, index)
            ends[index] = time.perf_counter()
        except threading.BrokenBarrierError:
            pass  # another writer failed; its error is reported
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            if writer is not None:
                writer.close()

    threads = [
        threading.Thread(target=body, args=(i,), name=f"bench-{system.name}-{i}")
        for i in range(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return Measurement(
        events=sum(events for events, _ in done),
        seconds=max(ends) - min(starts),
        refused=sum(refused for _, refused in done),
    )


def time_call(func: Callable[[], int]) -> Measurement:
    """Time one call of ``func``, which returns how many events it handled."""
    start = time.perf_counter()
    events = func()
    return Measurement(events=events, seconds=time.perf_counter() - start)
