"""The printed report: events/s of every system per workload, ratios against the psycopg
baseline, the targets with PASS/MISS, and the peak-memory check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.harness import Measurement
from bench.options import BenchOptions
from bench.workloads import MEMORY_LABEL, MEMORY_TARGET_MB, WORKLOADS, workload_label


@dataclass(frozen=True)
class MemoryResult:
    """What bench/memory.py reported for one system."""

    events: int
    seconds: float
    rss_before_mb: float
    peak_rss_mb: float


def _rate(m: Measurement | None) -> str:
    return "-" if m is None else f"{m.rate:,.0f}"


def _ratio(a: Measurement | None, b: Measurement | None) -> float | None:
    if a is None or b is None or b.rate == 0:
        return None
    return a.rate / b.rate


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return [line(header), rule, *(line(r) for r in rows)]


def memory_label(options: BenchOptions) -> str:
    return MEMORY_LABEL.replace("M events", f"{options.memory_events:,} events")


def render(
    options: BenchOptions,
    header: Sequence[str],
    results: Mapping[str, Mapping[str, Measurement]],
    memory: Mapping[str, MemoryResult],
) -> str:
    """The whole report. ``results`` maps workload key -> system name -> measurement."""
    out = [*header, ""]
    rows = []
    passed = total = 0
    for w in WORKLOADS:
        by_system = results.get(w.key, {})
        fb, pg, es = (by_system.get(n) for n in ("flipbook", "psycopg", "eventsourcing"))
        fb_pg, es_pg = _ratio(fb, pg), _ratio(es, pg)
        verdict = "-"
        if fb_pg is not None:
            total += 1
            ok = fb_pg >= w.target
            passed += ok
            verdict = "PASS" if ok else "MISS"
        events = next((m.events for m in (fb, pg, es) if m is not None), 0)
        rows.append(
            [
                workload_label(w, options),
                f"{events:,}",
                _rate(fb),
                _rate(pg),
                _rate(es),
                "-" if fb_pg is None else f"{fb_pg:.2f}",
                "-" if es_pg is None else f"{es_pg:.2f}",
                f">= {w.target:.2f}",
                verdict,
            ]
        )
    out.append("Throughput (events/s; higher is better; ratios are against psycopg)")
    out += _table(
        [
            "workload",
            "events",
            "flipbook",
            "psycopg",
            "eventsourcing",
            "fb/pg",
            "es/pg",
            "target fb/pg",
            "flipbook",
        ],
        rows,
    )

    out += ["", "Memory (peak RSS of a process that only reads the stream; MB)"]
    mem_rows = []
    for name in ("flipbook", "psycopg", "eventsourcing"):
        m = memory.get(name)
        if m is None:
            continue
        verdict, target = "-", "-"
        if name == "flipbook":
            total += 1
            ok = m.peak_rss_mb < MEMORY_TARGET_MB
            passed += ok
            verdict = "PASS" if ok else "MISS"
            target = f"< {MEMORY_TARGET_MB:.0f}"
        mem_rows.append(
            [
                f"{memory_label(options)}: {name}",
                f"{m.events:,}",
                f"{m.events / m.seconds:,.0f}" if m.seconds else "-",
                f"{m.rss_before_mb:.1f}",
                f"{m.peak_rss_mb:.1f}",
                f"{m.peak_rss_mb - m.rss_before_mb:+.1f}",
                target,
                verdict,
            ]
        )
    out += _table(
        ["reader", "events", "events/s", "RSS before", "peak RSS", "growth", "target", "result"],
        mem_rows,
    )
    if not options.memory_baselines:
        out.append("(the psycopg and eventsourcing readers are measured with --memory-baselines)")

    out += ["", "Details (summed over rounds; refused: attempts refused by a conflict)"]
    detail_rows = []
    for w in WORKLOADS:
        for name, m in results.get(w.key, {}).items():
            detail_rows.append(
                [
                    workload_label(w, options),
                    name,
                    f"{m.events:,}",
                    f"{m.seconds:.3f}",
                    f"{m.rate:,.0f}",
                    f"{m.refused:,}",
                ]
            )
    out += _table(
        ["workload", "system", "events", "seconds", "events/s", "refused"], detail_rows, 2
    )
    out += ["", f"Targets met: {passed}/{total}"]
    return "\n".join(out)
