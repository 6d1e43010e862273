"""`python -m bench.serve`: `flipbook serve` against a minimal reference server, same load.

For each process count (1 and 2), on fresh PostgreSQL databases of one server:
- `serve --workers N` (Redis bus) and the reference (bench/serve/reference.py: plain ASGI on
  uvicorn + a psycopg pool, one INSERT per append, no auth or feed) with N processes;
- rounds that interleave the systems, each run as long as the others: REST one-event appends
  to new streams (wrk, 16 connections), gRPC one-event appends (bench/serve/grpcload, the Go
  SDK, 16 calls in flight), REST reads of a 100-event stream (wrk);
- in each round, a mixed run: the REST and the gRPC load at once, each against its own solo
  figure of that round;
then 100-event commits over REST and gRPC against the embedded store service (bench.api).
Prints requests/s, p50, p99 and errors, medians over the rounds with their range, and the
ratio to the reference with the targets. With Go and ../shared/anchors/go-append present, the
Go ceiling (net/http + pgx) is measured too, as a row for scale (no target). For gRPC, three rows
for scale (bench/serve/grpc_reference.py): the gRPC reference (grpc.aio + the REST reference's
INSERT on a psycopg pool, N processes), the lean gRPC reference (the same on autocommit
connections without a pool) and, at one process, the gRPC floor (grpc.aio answering Append
with a constant).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.api import free_port, prepare_server_database, progress
from bench.database import ServerUrl, drop_database, recreate_database

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/flipbook_bench_serve"
REDIS_URL = os.environ.get("FLIPBOOK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ANCHOR = ROOT.parent / "shared" / "anchors" / "go-append"
CONNECTIONS = 16
# Targets of issue 16, as ratios to the reference at the same process count.
TARGETS = {"rest_append": 0.5, "grpc_append": 0.6}
P99_LIMIT = 3.0
MIXED_TARGET = 0.5
COMMIT_EVENTS, COMMIT_CLIENTS = 100, 8


@dataclass(frozen=True)
class Run:
    """One load run: requests done, latencies, errors."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_share: float | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @classmethod
    def parse(cls, output: str) -> Run:
        data = json.loads(output.strip().splitlines()[-1])
        return cls(
            requests=data["requests"],
            seconds=data["duration_us"] / 1e6,
            p50_ms=data["p50_us"] / 1000,
            p99_ms=data["p99_us"] / 1000,
            errors=data["errors"],
            cpu_share=data.get("cpu_share"),
        )


@dataclass
class Series:
    """Runs of one workload on one system."""

    runs: list[Run] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)

    def span(self, attr: str) -> str:
        values = [getattr(r, attr) for r in self.runs]
        return f"{min(values):,.0f}–{max(values):,.0f}"

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.runs)


# -- load generators ---------------------------------------------------------------------------


def wrk(script: str, port: int, seconds: float, connections: int = CONNECTIONS, **env: str) -> Run:
    done = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(HERE / script),
            f"http://127.0.0.1:{port}",
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return Run.parse(done.stdout)


def grpcload(
    binary: Path,
    port: int,
    key: str,
    seconds: float,
    prefix: str,
    calls: int = CONNECTIONS,
    events: int = 1,
) -> subprocess.Popen:
    # One connection per call in flight, as wrk's: with `serve --workers N` the kernel spreads
    # connections over the workers (SO_REUSEPORT), and four connections often fell 3 to 1.
    return subprocess.Popen(
        [
            str(binary),
            f"-target=127.0.0.1:{port}",
            f"-key={key}",
            f"-c={calls}",
            f"-connections={calls}",
            f"-events={events}",
            f"-d={seconds:g}s",
            f"-prefix={prefix}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> Run:
    out, _ = process.communicate(timeout=120)
    if process.returncode != 0:
        raise RuntimeError(f"grpcload failed ({process.returncode})")
    return Run.parse(out)


def build_go(source: Path, target: Path) -> Path:
    """``go build`` a load generator or the anchor into var/ (skipped when up to date)."""
    newest = max(p.stat().st_mtime for p in source.rglob("*") if p.is_file())
    if not target.exists() or target.stat().st_mtime < newest:
        progress(f"building {source.relative_to(source.parents[1])} with Go")
        env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": ""}
        subprocess.run(["go", "build", "-o", str(target), "."], cwd=source, env=env, check=True)
    return target


# -- servers -----------------------------------------------------------------------------------


def wait_http(port: int, process: subprocess.Popen, path: str = "/healthz") -> None:
    import http.client

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a server exited while starting ({process.returncode})")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("a server did not start within 90 s")


def start_serve(env: dict, workers: int, http_port: int, grpc_port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "serve",
            "--workers",
            str(workers),
            "--http-port",
            str(http_port),
            "--grpc-port",
            str(grpc_port),
        ],
        cwd=ROOT,
        env={**env, "FLIPBOOK_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
    )
    wait_http(http_port, process)
    time.sleep(2 if workers > 1 else 0)  # every worker up, not just the first
    return process


def start_reference(url: ServerUrl, workers: int, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.serve.reference",
            "--dsn",
            url.conninfo,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    wait_http(port, process)
    return process


def start_anchor(binary: Path, url: ServerUrl, port: int) -> subprocess.Popen:
    env = {**os.environ, "BASELINE_DSN": url.url, "ADDR": f"127.0.0.1:{port}"}
    process = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL)
    wait_http(port, process, "/")
    return process


def start_grpc_reference(
    port: int, url: ServerUrl | None, processes: int, *, lean: bool = False
) -> list[subprocess.Popen]:
    """``processes`` gRPC reference servers on ``port`` (SO_REUSEPORT); the floor without url."""
    command = [sys.executable, "-m", "bench.serve.grpc_reference", "--port", str(port)]
    if url is not None:
        command += ["--dsn", url.url, *(["--lean"] if lean else [])]
    started = []
    for _ in range(processes):
        process = subprocess.Popen(command, cwd=ROOT)
        started.append(process)
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError("a gRPC reference server exited")
            # Each process binds the port once ready: wait for this one's listening socket.
            if _listening(port) >= len(started):
                break
            if time.monotonic() > deadline:
                for p in started:
                    stop(p)
                raise RuntimeError("a gRPC reference server did not start")
            time.sleep(0.1)
    return started


def _listening(port: int) -> int:
    """Listening sockets on ``port`` (one per SO_REUSEPORT process)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    count += 1
    return count


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def seed_stream(port: int, stream_id: str, key: str | None) -> None:
    """A 100-event stream to read."""
    import http.client

    body = json.dumps(
        {
            "expected_version": 0,
            "events": [
                {"name": "Deposited", "payload": {"amount": i, "currency": "EUR"}}
                for i in range(100)
            ],
        }
    )
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", f"/api/v1/streams/{stream_id}/events", body, headers)
    response = conn.getresponse()
    response.read()
    if response.status != 201:
        raise RuntimeError(f"seeding the read stream answered {response.status}")


# -- the benchmark -----------------------------------------------------------------------------


def measure(args, workers: int, grpc_binary: Path, anchor: Path | None) -> dict[str, Series]:
    url = ServerUrl(args.database_url)
    ref_url = url.with_dbname(url.dbname + "_reference")
    progress(f"[{workers} process(es)] recreating {url.dbname!r} and {ref_url.dbname!r}")
    env, key = prepare_server_database(
        url,
        FLIPBOOK_REDIS_URL=REDIS_URL,
        FLIPBOOK_BUS_PREFIX=f"fbbench{uuid.uuid4().hex[:8]}",
        FLIPBOOK_PUSH_IN_SERVE="false",
    )
    recreate_database(ref_url)
    http_port, grpc_port, ref_port, anchor_port, floor_port, gref_port, lean_port = (
        free_port() for _ in range(7)
    )
    progress(f"[{workers}] starting serve --workers {workers} and the reference")
    serve = start_serve(env, workers, http_port, grpc_port)
    reference = start_reference(ref_url, workers, ref_port)
    anchor_process = start_anchor(anchor, ref_url, anchor_port) if anchor else None
    grpc_reference = start_grpc_reference(gref_port, ref_url, workers)
    grpc_reference += start_grpc_reference(lean_port, ref_url, workers, lean=True)
    floor = start_grpc_reference(floor_port, None, 1) if workers == 1 else []
    auth = f"Bearer {key}"
    run_id = uuid.uuid4().hex[:6]
    seed_stream(http_port, "read-100", key)
    seed_stream(ref_port, "read-100", None)
    series: dict[str, Series] = {}

    def record(name: str, run: Run) -> None:
        series.setdefault(name, Series()).runs.append(run)
        progress(
            f"[{workers}] {name:<22} {run.rate:8,.0f} req/s  p50 {run.p50_ms:6.1f} ms  "
            f"p99 {run.p99_ms:6.1f} ms  errors {run.errors}"
        )

    seconds = args.seconds
    try:
        for r in range(args.rounds):
            progress(f"[{workers}] round {r + 1} of {args.rounds}")
            prefix = f"{run_id}-{r}"
            record("ref_append", wrk("append.lua", ref_port, seconds, WRK_PREFIX=prefix))
            record(
                "rest_append",
                wrk("append.lua", http_port, seconds, WRK_PREFIX=prefix, WRK_AUTHORIZATION=auth),
            )
            record(
                "grpc_append",
                finish(grpcload(grpc_binary, grpc_port, key, seconds, f"g{prefix}")),
            )
            read_path = "/api/v1/streams/read-100/events"
            record("ref_read", wrk("read.lua", ref_port, seconds, WRK_PATH=read_path))
            record(
                "rest_read",
                wrk(
                    "read.lua",
                    http_port,
                    seconds,
                    WRK_PATH=read_path + "?limit=100",
                    WRK_AUTHORIZATION=auth,
                ),
            )
            record(
                "grpc_ref_append",
                finish(grpcload(grpc_binary, gref_port, "-", seconds, f"gr{prefix}")),
            )
            record(
                "grpc_lean_append",
                finish(grpcload(grpc_binary, lean_port, "-", seconds, f"gl{prefix}")),
            )
            if floor:
                record("grpc_floor", finish(grpcload(grpc_binary, floor_port, "-", seconds, "f")))
            if anchor_process is not None:
                record(
                    "anchor_append",
                    wrk("append.lua", anchor_port, seconds, WRK_PREFIX=f"go{prefix}"),
                )
            # Each round's mixed run is set against that round's solo runs: the machine's
            # speed drifts between rounds more than the ratio does.
            loader = grpcload(grpc_binary, grpc_port, key, seconds, f"gm{prefix}")
            record(
                "mixed_rest",
                wrk(
                    "append.lua",
                    http_port,
                    seconds,
                    WRK_PREFIX=f"m{prefix}",
                    WRK_AUTHORIZATION=auth,
                ),
            )
            record("mixed_grpc", finish(loader))
    finally:
        for process in (serve, reference, anchor_process, *grpc_reference, *floor):
            if process is not None:
                stop(process)
        drop_database(ref_url)
    return series


def _median_ratio(mixed: Series, solo: Series) -> float:
    """The median over rounds of a mixed run's rate to the same round's solo rate."""
    return statistics.median(
        m.rate / s.rate for m, s in zip(mixed.runs, solo.runs, strict=True) if s.rate
    )


def commits_against_embedded(args, workers: int, grpc_binary: Path) -> dict[str, float]:
    """100-event commits, 8 at a time: the embedded store service (bench.api's 8 threads in
    this process) against `serve --workers N` driven by the load generators of the one-event
    runs (grpcload, wrk), which leave the CPUs to the server (the Python SDK's clients took
    more of them than the server did). Events/s, medians over the rounds."""
    from bench import api

    url = ServerUrl(args.database_url)
    env, key = prepare_server_database(
        url,
        FLIPBOOK_REDIS_URL=REDIS_URL,
        FLIPBOOK_BUS_PREFIX=f"fbbench{uuid.uuid4().hex[:8]}",
        FLIPBOOK_PUSH_IN_SERVE="false",
    )
    os.environ.update({"DJANGO_SETTINGS_MODULE": "flipbook_site.settings"})
    os.environ["FLIPBOOK_DATABASE_URL"] = url.url
    import django

    django.setup()
    ports = (free_port(), free_port())
    server = start_serve(env, workers, *ports)
    rates: dict[str, list[float]] = {"embedded": [], "grpc": [], "rest": []}
    errors = 0
    client_cpu = 0.0
    try:
        for round_ in range(args.rounds):
            embedded = api.run_workload(
                "embedded", COMMIT_EVENTS, COMMIT_CLIENTS, args.batches, ports, key
            )
            rates["embedded"].append(embedded)
            run = finish(
                grpcload(
                    grpc_binary,
                    ports[1],
                    key,
                    args.seconds,
                    f"c{round_}{uuid.uuid4().hex[:6]}",
                    calls=COMMIT_CLIENTS,
                    events=COMMIT_EVENTS,
                )
            )
            rates["grpc"].append(run.rate * COMMIT_EVENTS)
            errors += run.errors
            client_cpu = max(client_cpu, run.cpu_share or 0.0)
            run = wrk(
                "append.lua",
                ports[0],
                args.seconds,
                connections=COMMIT_CLIENTS,
                WRK_PREFIX=f"c{round_}{uuid.uuid4().hex[:6]}",
                WRK_AUTHORIZATION=f"Bearer {key}",
                WRK_EVENTS=str(COMMIT_EVENTS),
            )
            rates["rest"].append(run.rate * COMMIT_EVENTS)
            errors += run.errors
            progress(
                f"[{workers}] 100-event commits, round {round_ + 1}: embedded "
                f"{rates['embedded'][-1]:,.0f}, gRPC {rates['grpc'][-1]:,.0f}, "
                f"REST {rates['rest'][-1]:,.0f} events/s"
            )
    finally:
        stop(server)
    medians = {system: statistics.median(values) for system, values in rates.items()}
    return {**medians, "errors": errors, "client_cpu": client_cpu}


def report(args, results: dict[int, dict[str, Series]], commits: dict[str, float]) -> None:
    print(
        f"\nServer benchmark: {os.cpu_count()} CPUs, one PostgreSQL, wrk {CONNECTIONS} "
        f"connections / grpcload {CONNECTIONS} calls in flight, {args.rounds} rounds of "
        f"{args.seconds:g} s; medians (range over rounds)"
    )
    header = (
        f"{'workload':<26}{'procs':>5}{'reference/s':>20}{'serve/s':>20}{'ratio':>7}"
        f"{'p99 ref ms':>11}{'p99 ms':>8}{'p99 x':>6}{'errors':>7}  target"
    )
    print(header)
    print("-" * len(header))
    rows = [
        ("REST one-event append", "ref_append", "rest_append"),
        ("gRPC one-event append", "ref_append", "grpc_append"),
        ("REST read, 100 events", "ref_read", "rest_read"),
    ]
    for workers, series in results.items():
        for label, ref_name, name in rows:
            ref, mine = series[ref_name], series[name]
            ratio = mine.median("rate") / ref.median("rate")
            p99x = mine.median("p99_ms") / ref.median("p99_ms")
            target = TARGETS.get(name)
            verdict = "-"
            if target is not None:
                ok = ratio >= target and p99x <= P99_LIMIT and mine.errors == 0
                verdict = (
                    f">= {target}, p99 <= {P99_LIMIT:g}x, 0 errors: {'PASS' if ok else 'MISS'}"
                )
            print(
                f"{label:<26}{workers:>5}"
                f"{ref.median('rate'):>9,.0f} ({ref.span('rate'):>9})"
                f"{mine.median('rate'):>9,.0f} ({mine.span('rate'):>9})"
                f"{ratio:>7.2f}{ref.median('p99_ms'):>11.1f}{mine.median('p99_ms'):>8.1f}"
                f"{p99x:>6.1f}{mine.errors:>7}  {verdict}"
            )
        if "anchor_append" in series:
            anchor = series["anchor_append"]
            print(
                f"{'Go ceiling (go-append)':<26}{'-':>5}{'':>20}"
                f"{anchor.median('rate'):>9,.0f} ({anchor.span('rate'):>9})"
                f"{anchor.median('rate') / series['ref_append'].median('rate'):>7.2f}"
                f"{'':>11}{anchor.median('p99_ms'):>8.1f}"
            )
        for name, label in (
            ("grpc_ref_append", "gRPC reference (+INSERT)"),
            ("grpc_lean_append", "lean gRPC reference"),
            ("grpc_floor", "gRPC floor (grpc.aio)"),
        ):
            if name not in series:
                continue
            scale = series[name]
            grpc_share = series["grpc_append"].median("rate") / scale.median("rate")
            print(
                f"{label:<26}{workers:>5}{'':>20}"
                f"{scale.median('rate'):>9,.0f} ({scale.span('rate'):>9})"
                f"{scale.median('rate') / series['ref_append'].median('rate'):>7.2f}"
                f"{'':>11}{scale.median('p99_ms'):>8.1f}"
                f"  serve's gRPC: {grpc_share:.2f} of it"
            )
        rest_solo, grpc_solo = series["rest_append"], series["grpc_append"]
        mixed_rest = _median_ratio(series["mixed_rest"], rest_solo)
        mixed_grpc = _median_ratio(series["mixed_grpc"], grpc_solo)
        ok = mixed_rest >= MIXED_TARGET and mixed_grpc >= MIXED_TARGET
        rest_rate, grpc_rate = (series[n].median("rate") for n in ("mixed_rest", "mixed_grpc"))
        print(
            f"{'mixed: REST / gRPC':<26}{workers:>5}{rest_rate:>9,.0f} / {grpc_rate:,.0f}"
            f" req/s = {mixed_rest:.2f} / {mixed_grpc:.2f} of solo"
            f"  (>= {MIXED_TARGET} each: {'PASS' if ok else 'MISS'})"
        )
        cpu = [r.cpu_share for r in series["grpc_append"].runs if r.cpu_share is not None]
        if cpu:
            print(f"{'':<31}grpcload used {max(cpu):.2f} of a CPU at most (not the bottleneck)")
    if commits:
        emb = commits["embedded"]
        print(
            f"\n100-event commits, {COMMIT_CLIENTS} at a time: embedded {emb:,.0f} events/s; "
            f"gRPC {commits['grpc']:,.0f} ({commits['grpc'] / emb:.2f}, target >= 0.6: "
            f"{'PASS' if commits['grpc'] / emb >= 0.6 else 'MISS'}); "
            f"REST {commits['rest']:,.0f} ({commits['rest'] / emb:.2f}, target >= 0.4: "
            f"{'PASS' if commits['rest'] / emb >= 0.4 else 'MISS'}); "
            f"errors {commits['errors']:.0f}; grpcload used {commits['client_cpu']:.2f} of a CPU"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("FLIPBOOK_BENCH_SERVE_DATABASE_URL", DEFAULT_URL)
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--workers", default="1,2", help="process counts, comma-separated")
    parser.add_argument("--batches", type=int, default=20, help="100-event commits per client")
    parser.add_argument("--no-anchor", action="store_true", help="skip the Go ceiling")
    parser.add_argument("--quick", action="store_true", help="tiny runs, for a smoke test")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds, args.batches = 1, 1.0, 1
    if shutil.which("wrk") is None:
        parser.error("wrk is missing: `make bench-tools` installs it (Debian's package)")
    if shutil.which("go") is None:
        parser.error("Go is missing: the gRPC load generator is built with it")
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    grpc_binary = build_go(HERE / "grpcload", var / "grpcload")
    anchor = None
    if not args.no_anchor and not args.quick and (ANCHOR / "main.go").exists():
        anchor = build_go(ANCHOR, var / "go-append")
    results = {}
    for workers in (int(w) for w in args.workers.split(",")):
        results[workers] = measure(args, workers, grpc_binary, anchor if workers == 1 else None)
    commits = commits_against_embedded(args, max(results), grpc_binary)
    report(args, results, commits)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
