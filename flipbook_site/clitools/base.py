"""The base of the store commands: --server/--key/--output, errors and exit codes, output."""

from __future__ import annotations

import getpass
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from streams.backends.base import BaseEventStore
from streams.exceptions import FlipbookError, Unavailable

# Exit codes: 0 done; 1 the store or server failed (unavailable, unexpected); 2 the request
# was refused (bad input, conflict, not found, not allowed, a non-empty import target);
# 3 a migration's checksums differ.
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_MISMATCH = 3
FAILURE_CODES = {"unavailable", "error", "internal_error"}


class StoreCommand(BaseCommand):
    """A command that talks to the local store (default) or to a server (``--server``)."""

    requires_system_checks: list[str] = []  # a quick tool; `serve` runs the checks
    server_capable = True

    def add_arguments(self, parser: CommandParser) -> None:
        if self.server_capable:
            parser.add_argument(
                "--server",
                default=os.environ.get("FLIPBOOK_URL") or None,
                help="a Flipbook server's URL (default: $FLIPBOOK_URL; none: the local store "
                "of this project's settings)",
            )
            parser.add_argument(
                "--key",
                default=os.environ.get("FLIPBOOK_API_KEY") or None,
                help="the API key for --server (default: $FLIPBOOK_API_KEY)",
            )
        parser.add_argument(
            "--output",
            choices=("table", "json"),
            default="table",
            help="table (for people, the default) or json (one JSON object per line)",
        )

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except FlipbookError as exc:
            code = EXIT_FAILED if isinstance(exc, Unavailable) else EXIT_REFUSED
            raise CommandError(f"{exc.code}: {exc.message}", returncode=code) from None
        except KeyboardInterrupt:
            return None
        except Exception as exc:
            sdk_error = _sdk_error(exc)
            if sdk_error is None:
                raise
            raise sdk_error from None

    @contextmanager
    def client(self, options: dict[str, Any]) -> Iterator[Any]:
        """A Python SDK client of ``--server`` (REST)."""
        from flipbook_client import Client

        with Client(options["server"], options["key"]) as client:
            yield client

    def emit(self, options: dict[str, Any], rows: list[dict[str, Any]], columns: list[str]) -> None:
        """Write ``rows`` as JSON Lines (``--output json``) or as a table of ``columns``."""
        if options["output"] == "json":
            for row in rows:
                self.stdout.write(json.dumps(row, ensure_ascii=False, default=str))
            return
        self.stdout.write(table(rows, columns))


@contextmanager
def target_store(
    command: StoreCommand, options: dict[str, Any], *, prepare: bool = False
) -> Iterator[BaseEventStore | None]:
    """The store a command works on: ``--server`` (through the SDK), ``--store URL``, or
    None for the configured store. ``prepare`` creates a URL store's tables first."""
    from flipbook_site.clitools.server import ServerEventStore
    from flipbook_site.storeurl import open_store

    if options.get("server"):
        with command.client(options) as client:
            yield ServerEventStore(client)
        return
    if options.get("store"):
        location = open_store(options["store"])
        try:
            if prepare:
                location.prepare()
            yield location.store
        finally:
            location.close()
        return
    yield None


def cli_actor() -> str:
    """Who runs a command, as the audit trail and erasure records name them."""
    try:
        return f"command:{getpass.getuser()}"
    except (KeyError, OSError):
        return "command:unknown"


def table(rows: list[dict[str, Any]], columns: list[str], width: int = 60) -> str:
    """A plain text table; cells longer than ``width`` are cut with an ellipsis."""

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return text if len(text) <= width else text[: width - 1] + "…"

    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    for r in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)


class ProgressBar:
    """Progress of a long transfer on stderr: a bar redrawn in place on a terminal, a line
    every few seconds otherwise (logs, pipes). Call it with (done, total or None)."""

    def __init__(self, label: str, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self.start = time.monotonic()
        self.shown = 0.0
        self.done = 0

    def __call__(self, done: int, total: int | None) -> None:
        self.done = done
        now = time.monotonic()
        if self.quiet or now - self.shown < (0.2 if self.tty else 2.0):
            return
        self.shown = now
        self.stream.write(self.text(done, total) + ("\r" if self.tty else "\n"))
        self.stream.flush()

    def text(self, done: int, total: int | None) -> str:
        rate = done / max(time.monotonic() - self.start, 1e-9)
        if total:
            share = min(done / total, 1.0)
            bar = "#" * int(share * 30)
            return f"{self.label} [{bar:<30}] {done}/{total} events, {rate:,.0f}/s"
        return f"{self.label} {done} events, {rate:,.0f}/s"

    def finish(self) -> float:
        """End the bar's line; return the seconds it ran."""
        elapsed = time.monotonic() - self.start
        if not self.quiet:
            self.stream.write(self.text(self.done, None) + f" in {elapsed:.1f} s\n")
            self.stream.flush()
        return elapsed


def _sdk_error(exc: Exception) -> CommandError | None:
    """The CommandError of an SDK error (the server's code and message), else None."""
    try:
        from flipbook_client.errors import FlipbookError as ClientError
    except ImportError:  # pragma: no cover - the SDK is installed with the server
        return None
    if not isinstance(exc, ClientError):
        return None
    code = EXIT_FAILED if exc.code in FAILURE_CODES else EXIT_REFUSED
    return CommandError(f"{exc.code}: {exc.message}", returncode=code)
