"""Django admin for the database snapshot store: browse snapshots, check and rebuild them."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import admin
from django.utils.html import format_html

from snapshots.admin_actions import run_check
from snapshots.models import Snapshot


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = (
        "stream_id",
        "version",
        "revision",
        "label",
        "timestamp",
        "created_at",
        "expires_at",
        "console",
    )
    list_filter = ("revision", "label")
    search_fields = ("stream_id",)
    ordering = ("stream_id", "-version")
    show_full_result_count = False
    readonly_fields = (
        "stream_id",
        "version",
        "revision",
        "timestamp",
        "recorded_at",
        "created_at",
        "payload",
    )
    fields = (*readonly_fields, "label", "expires_at")
    actions = ["check_streams", "rebuild_streams"]

    @admin.display(description="console")
    def console(self, obj: Snapshot) -> str:
        stream = quote(obj.stream_id, safe="")
        return format_html(
            '<a href="/snapshots/?stream={}">all snapshots</a> · '
            '<a href="/replay/?stream={}&amp;version={}">replay</a>',
            stream,
            stream,
            obj.version,
        )

    def has_add_permission(self, request) -> bool:
        return False  # snapshots are made from events (or set through the API)

    @admin.action(description="Check the snapshots of the selected snapshots' streams")
    def check_streams(self, request, queryset):
        ids = sorted(set(queryset.values_list("stream_id", flat=True)))
        run_check(self, request, ids, rebuild=False)

    @admin.action(description="Rebuild drifted snapshots of the selected snapshots' streams")
    def rebuild_streams(self, request, queryset):
        ids = sorted(set(queryset.values_list("stream_id", flat=True)))
        run_check(self, request, ids, rebuild=True)
