"""Django admin for durable subscriptions and parked events (read-only but for max_attempts;
checkpoints move through the API)."""

from __future__ import annotations

from django.contrib import admin

from subscriptions.models import ParkedEvent, Subscription


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
    """Durable subscriptions: lag, status and heartbeat come from the subscription service
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
        from subscriptions import services as subscriptions

        # Computed once per row of a page (the row object lives for one request).
        cache = obj.__dict__
        if "_flipbook_info" not in cache:
            cache["_flipbook_info"] = subscriptions.get_subscription(obj.name)
        return cache["_flipbook_info"]

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
