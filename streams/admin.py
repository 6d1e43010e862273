"""Django admin for stream metadata; events are shown read-only (they are immutable), a page
at a time through the store service."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from django.contrib import admin
from django.utils.html import format_html

from streams import services
from streams.exceptions import FlipbookError
from streams.models import Category, ParkedEvent, Stream, Subscription
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
    list_display = ("stream_id", "kind", "category", "version", "event_count", "updated_at")
    list_filter = ("kind", "category")
    search_fields = ("stream_id",)
    show_full_result_count = False
    readonly_fields = ("stream_id", "kind", "version", "event_count", "created_at", "updated_at")
    fields = (*readonly_fields, "category", "metadata", "console")
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

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the log is immutable


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    """Categories: the reducer (built-in merge/list/declarative, or Python) and the snapshot
    policy of their streams."""

    list_display = ("name", "reducer", "revision", "snapshot_every", "updated_at")
    list_filter = ("reducer",)
    search_fields = ("name",)
    readonly_fields = ("revision", "updated_at")
    fields = ("name", "reducer", "rules", "python_path", "snapshot_every", *readonly_fields)
    actions = ["check_snapshots", "rebuild_snapshots"]

    @admin.display(description="reducer revision")
    def revision(self, obj: Category) -> str:
        return obj.revision

    def _stream_ids(self, queryset) -> list[str]:
        from streams import services

        ids: list[str] = []
        for category in queryset.values_list("name", flat=True):
            cursor = None
            while len(ids) <= 200:  # the action checks at most 200 streams
                page = services.list_streams(category=category, limit=100, cursor=cursor)
                ids += [s.stream_id for s in page.items]
                cursor = page.next_cursor
                if cursor is None:
                    break
        return ids

    @admin.action(description="Check the snapshots of the selected categories' streams")
    def check_snapshots(self, request, queryset):
        from snapshots.admin_actions import run_check

        run_check(self, request, self._stream_ids(queryset), rebuild=False)

    @admin.action(description="Rebuild drifted snapshots of the selected categories' streams")
    def rebuild_snapshots(self, request, queryset):
        from snapshots.admin_actions import run_check

        run_check(self, request, self._stream_ids(queryset), rebuild=True)


class ParkedEventInline(admin.TabularInline):
    model = ParkedEvent
    fields = ("position", "stream_id", "version", "name", "status", "attempts", "error")
    readonly_fields = fields
    ordering = ("position",)
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        ids = list(qs.order_by("position").values_list("id", flat=True)[:50])
        return qs.filter(id__in=ids)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Durable subscriptions: lag, status and heartbeat come from streams/subscriptions.py
    (read-only here); checkpoints move through the API (ack, reset, parked events)."""

    list_display = (
        "name",
        "checkpoint",
        "lag",
        "status",
        "last_heartbeat",
        "parked",
        "push_kind",
        "created_at",
    )
    list_filter = ("push_kind",)
    search_fields = ("name",)
    readonly_fields = (
        "name",
        "filter_category",
        "filter_stream_id",
        "filter_names",
        "checkpoint",
        "lag",
        "status",
        "last_heartbeat",
        "parked",
        "retry_position",
        "retry_attempts",
        "last_error",
        "push_failures",
        "push_next_attempt_at",
        "push_lease_owner",
        "push_lease_until",
        "created_at",
        "push_kind",
        "push_target",
    )
    fields = (*readonly_fields[:4], "max_attempts", *readonly_fields[4:])
    inlines = [ParkedEventInline]

    def has_add_permission(self, request) -> bool:
        return False  # created through the API, which validates the filter and the start

    def _info(self, obj: Subscription):
        from streams import subscriptions

        # Computed once per row of a page (the row object lives for one request).
        if not hasattr(obj, "_flipbook_info"):
            obj._flipbook_info = subscriptions.get_subscription(obj.name)
        return obj._flipbook_info

    @admin.display(description="lag")
    def lag(self, obj: Subscription) -> str:
        info = self._info(obj)
        return f"{info.lag}+" if info.lag_capped else str(info.lag)

    @admin.display(description="status")
    def status(self, obj: Subscription) -> str:
        return self._info(obj).status

    @admin.display(description="parked")
    def parked(self, obj: Subscription) -> int:
        return self._info(obj).parked


@admin.register(ParkedEvent)
class ParkedEventAdmin(admin.ModelAdmin):
    """Parked events (read-only); retry, skip or replay them through the API."""

    list_display = ("subscription", "position", "stream_id", "name", "status", "attempts")
    list_filter = ("status",)
    search_fields = ("subscription__name", "stream_id")
    readonly_fields = (
        "subscription",
        "position",
        "stream_id",
        "version",
        "name",
        "event_id",
        "error",
        "attempts",
        "status",
        "parked_at",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
