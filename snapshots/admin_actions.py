"""The drift check as an admin action (shared by the snapshot and category admins)."""

from __future__ import annotations

from django.contrib import messages

from snapshots.services import check_snapshots
from streams.exceptions import FlipbookError

ADMIN_LIMIT = 200  # streams per admin request; the management command has no limit


def run_check(model_admin, request, stream_ids: list[str], *, rebuild: bool) -> None:
    """Check (or rebuild) the snapshots of up to ADMIN_LIMIT streams and report in messages."""
    more = len(stream_ids) > ADMIN_LIMIT
    stream_ids = stream_ids[:ADMIN_LIMIT]
    try:
        report = check_snapshots(stream_ids, rebuild=rebuild)
    except FlipbookError as exc:
        model_admin.message_user(request, f"Snapshot check failed: {exc.message}", messages.ERROR)
        return
    summary = (
        f"Checked {report.snapshots_checked} snapshot(s) of {report.streams_checked} "
        f"stream(s), {report.events_read} event(s) read in {report.seconds:.1f} s: "
    )
    if report.ok:
        model_admin.message_user(request, summary + "no drift.", messages.SUCCESS)
    else:
        done = f" Rebuilt {report.rebuilt}, deleted {report.deleted}." if rebuild else ""
        model_admin.message_user(
            request,
            summary + f"{len(report.findings)} finding(s).{done}",
            messages.WARNING,
        )
        for finding in report.findings[:20]:
            model_admin.message_user(
                request,
                f"{finding.stream_id} v{finding.version} [{finding.revision}]: "
                f"{finding.problem} ({finding.detail}) {finding.action}".strip(),
                messages.WARNING,
            )
    if more:
        model_admin.message_user(
            request,
            f"Only the first {ADMIN_LIMIT} streams were checked; run "
            "`manage.py flipbook_snapshots check` for all of them.",
            messages.INFO,
        )
