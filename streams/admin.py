"""Django admin for stream metadata; events are shown read-only (they are immutable)."""

from __future__ import annotations

from django.contrib import admin

from streams.models import Event, Stream


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
