"""Admin for API keys: the full key is shown once, on a page of its own right after it is
issued (never stored, never put in a message cookie), then only its id and hash remain."""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse

from api.models import ApiKey

ISSUED = "_flipbook_issued_key"  # request attribute carrying the secret to response_add


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
        if not obj.active:
            ApiKey.objects.filter(pk=key.pk).update(active=False)
        obj.pk, obj.key_id, obj.secret_hash = key.pk, key.key_id, key.secret_hash
        obj.created_at = key.created_at
        obj._state.adding, obj._state.db = False, key._state.db
        setattr(request, ISSUED, raw)

    def response_add(self, request, obj, post_url_continue=None):
        raw = getattr(request, ISSUED, None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Copy the new API key",
            "key": obj,
            "secret": raw,
        }
        response = TemplateResponse(request, "admin/api/apikey/issued.html", context)
        response["Cache-Control"] = "no-store"  # the page must not be kept by the browser
        return response
