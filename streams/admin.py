"""Django admin for stream heads, read-only; events are shown (they are immutable) a page at a
time through the store service."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from django.contrib import admin, messages
from django.utils.html import format_html

from streams import lifecycle, services
from streams.exceptions import FlipbookError
from streams.models import Stream
from streams.records import NEUTRAL

EVENTS_PER_PAGE = 50


def _console_link(page: str, stream_id: str, label: str) -> str:
    return format_html('<a href="/{}/?stream={}">{}</a>', page, quote(stream_id, safe=""), label)


def _preview(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def events_page(stream_id: str, kind: str, params: Any) -> dict[str, Any]:
    """One page of a stream's events, newest first, for the change page: ``events`` (a
    cursor) continues to older ones, ``before`` (a version) jumps. Read through the store
    service; a bad cursor or version is reported on the page, not raised."""
    cursor = params.get("events") or None
    before = params.get("before") or None
    page: dict[str, Any] = {"per_page": EVENTS_PER_PAGE, "before": before or "", "rows": []}
    try:
        to_version = None
        if before is not None and kind != NEUTRAL:
            try:
                to_version = max(1, int(before))
            except ValueError:
                raise FlipbookError(f"before: {before[:40]!r} is not a version number") from None
        found = services.read_stream(
            stream_id,
            to_version=to_version,
            direction="backwards",
            limit=EVENTS_PER_PAGE,
            cursor=cursor,
        )
    except FlipbookError as exc:
        page["error"] = exc.message
        return page
    page["rows"] = [
        {"event": e, "payload": _preview(e.payload), "natural": e.timestamp} for e in found.items
    ]
    page["next_cursor"] = found.next_cursor
    page["paged"] = bool(cursor or before)
    return page


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = (
        "stream_id",
        "kind",
        "category",
        "version",
        "event_count",
        "updated_at",
        "deleted",
    )
    list_filter = ("kind", "category", "deleted")
    actions = ["delete_soft", "delete_hard"]
    search_fields = ("stream_id",)
    show_full_result_count = False
    # Read-only: the head row is the store's own (written with every append, and not used at
    # all on DynamoDB); a category or metadata change must go through the store service.
    readonly_fields = (
        "stream_id",
        "kind",
        "category",
        "version",
        "event_count",
        "created_at",
        "updated_at",
        "metadata",
        "deleted",
        "truncate_before",
    )
    fields = (*readonly_fields, "console")
    change_form_template = "admin/streams/stream/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "console")

    @admin.display(description="in the console")
    def console(self, obj: Stream) -> str:
        links = [_console_link("timeline", obj.stream_id, "Timeline")]
        if obj.kind != NEUTRAL:
            links += [
                _console_link("replay", obj.stream_id, "Replay"),
                _console_link("snapshots", obj.stream_id, "Snapshots"),
            ]
        return format_html(" · ".join(["{}"] * len(links)), *links)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if obj is not None:
            extra["events_page"] = events_page(obj.stream_id, obj.kind, request.GET)
        return super().change_view(request, object_id, form_url, extra)

    def has_add_permission(self, request) -> bool:
        return False  # streams begin with their first append

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # rows go only through the store service (the actions below)

    # -- lifecycle actions (docs/concepts/lifecycle.md), through the store service ------------

    def has_lifecycle_permission(self, request) -> bool:
        """Superusers, and staff given "streams.delete_stream"."""
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm("streams.delete_stream"))

    @admin.action(
        description="Delete (soft): reads answer 404 until the next append",
        permissions=["lifecycle"],
    )
    def delete_soft(self, request, queryset) -> None:
        self._delete(request, queryset, hard=False)

    @admin.action(description="Delete (hard): a tombstone, for ever", permissions=["lifecycle"])
    def delete_hard(self, request, queryset) -> None:
        self._delete(request, queryset, hard=True)

    def _delete(self, request, queryset, *, hard: bool) -> None:
        done = 0
        for stream_id in queryset.values_list("stream_id", flat=True)[:200]:
            try:
                lifecycle.delete_stream(stream_id, hard=hard)
            except FlipbookError as exc:
                self.message_user(request, f"{stream_id}: {exc.message}", messages.WARNING)
            else:
                done += 1
        mode = "hard" if hard else "soft"
        self.message_user(request, f"{mode}-deleted {done} stream(s).", messages.SUCCESS)
