"""Django admin for the snapshot layer: browse snapshots, check and rebuild them; categories
(their reducer and snapshot policy)."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import admin
from django.utils.html import format_html

from snapshots.admin_actions import run_check
from snapshots.models import Category, Snapshot


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
        run_check(self, request, self._stream_ids(queryset), rebuild=False)

    @admin.action(description="Rebuild drifted snapshots of the selected categories' streams")
    def rebuild_snapshots(self, request, queryset):
        run_check(self, request, self._stream_ids(queryset), rebuild=True)
