"""Admin for API keys: the full key is shown once, on creation."""

from __future__ import annotations

from django.contrib import admin, messages

from api.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "key_id", "scope", "stream_prefix", "active", "created_at")
    list_filter = ("scope", "active")
    search_fields = ("name", "key_id", "stream_prefix")
    readonly_fields = ("key_id", "created_at")

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = ApiKey.issue(obj.name, obj.scope, obj.stream_prefix)
        obj.pk, obj.key_id = key.pk, key.key_id
        messages.warning(request, f"Copy this key now, it will not be shown again: {raw}")
