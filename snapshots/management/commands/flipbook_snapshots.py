"""Check snapshots against the events (drift), rebuild drifted ones, or purge expired ones."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from snapshots.backends import get_snapshot_store
from snapshots.services import DriftProgress, check_snapshots
from streams.exceptions import FlipbookError


class Command(BaseCommand):
    help = (
        "check: recompute the states of stored snapshots from the events and report those that "
        "differ or were made by another reducer revision (exit status 1 when any do). "
        "rebuild: the same, then store the recomputed states in their place. "
        "purge: delete expired snapshots that still take space."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["check", "rebuild", "purge"])
        parser.add_argument(
            "--stream",
            action="append",
            dest="streams",
            metavar="ID",
            help="Only this stream (repeatable). Default: every stream with snapshots.",
        )
        parser.add_argument(
            "--progress-every",
            type=float,
            default=2.0,
            metavar="SECONDS",
            help="Print progress at most this often (0: after every stream).",
        )

    def handle(self, *args, action: str, streams, progress_every: float, **options) -> None:
        if action == "purge":
            try:
                purged = get_snapshot_store().purge_expired()
            except FlipbookError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(self.style.SUCCESS(f"Purged {purged} expired snapshot(s)."))
            return
        started = time.monotonic()
        last = [0.0]

        def progress(p: DriftProgress) -> None:
            now = time.monotonic()
            if now - last[0] < progress_every:
                return
            last[0] = now
            total = f"/{p.streams_total}" if p.streams_total is not None else ""
            rate = p.events_read / max(now - started, 1e-9)
            self.stdout.write(
                f"[{p.streams_done}{total} streams] {p.events_read:,} events read "
                f"({rate:,.0f}/s), {p.findings} finding(s); at {p.stream_id!r}"
            )
            self.stdout.flush()

        rebuild = action == "rebuild"
        try:
            report = check_snapshots(streams, rebuild=rebuild, progress=progress)
        except FlipbookError as exc:
            raise CommandError(exc.message) from exc
        for f in report.findings:
            version = "-" if f.version is None else f.version
            action_text = f" -> {f.action}" if f.action else ""
            self.stdout.write(
                f"{f.problem}: {f.stream_id!r} v{version} [{f.revision}] {f.detail}{action_text}"
            )
        summary = (
            f"{report.snapshots_checked} snapshot(s) of {report.streams_checked} stream(s) "
            f"checked, {report.events_read:,} events read in {report.seconds:.1f} s"
        )
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"{summary}: no drift."))
        elif rebuild:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{summary}: {len(report.findings)} finding(s); rebuilt {report.rebuilt}, "
                    f"deleted {report.deleted}."
                )
            )
            unresolved = [f for f in report.findings if not f.action]
            if unresolved:
                raise CommandError(f"{len(unresolved)} finding(s) could not be rebuilt")
        else:
            self.stdout.write(self.style.WARNING(f"{summary}: {len(report.findings)} finding(s)."))
            raise CommandError("snapshots drifted; run `manage.py flipbook_snapshots rebuild`")
