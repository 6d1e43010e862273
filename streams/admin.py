"""Django admin for stream metadata; events are shown read-only (they are immutable)."""

from __future__ import annotations

from django.contrib import admin

from streams.models import Category, Event, Stream


class EventInline(admin.TabularInline):
    model = Event
    fields = ("version", "position", "name", "timestamp", "recorded_at", "event_id")
    readonly_fields = fields
    ordering = ("-position",)
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        # A long stream would render every event; the timeline is the place to browse them.
        qs = super().get_queryset(request)
        ids = list(qs.values_list("position", flat=True)[:50])
        return qs.filter(position__in=ids)


@admin.register(Stream)
class StreamAdmin(admin.ModelAdmin):
    list_display = ("stream_id", "kind", "category", "version", "event_count", "updated_at")
    list_filter = ("kind", "category")
    search_fields = ("stream_id",)
    show_full_result_count = False
    readonly_fields = ("stream_id", "kind", "version", "event_count", "created_at", "updated_at")
    fields = (*readonly_fields, "category", "metadata")
    inlines = [EventInline]

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
