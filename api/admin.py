"""Admin for API keys: the full key is shown once, on a page of its own right after it is
issued (never stored, never put in a message cookie), then only its id and hash remain."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from api.audit import record_user_action
from api.models import ApiKey, AuditRecord
from streams import lifecycle
from streams.exceptions import FlipbookError
from streams.models import StreamRetention

ISSUED = "_flipbook_issued_key"  # request attribute carrying the secret to response_add


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "key_id", "scope", "stream_prefix", "active", "created_at")
    list_filter = ("scope", "active")
    search_fields = ("name", "key_id", "stream_prefix")
    readonly_fields = ("key_id", "created_at")

    def save_model(self, request, obj, form, change) -> None:
        if change:
            revoked = "active" in form.changed_data and not obj.active
            super().save_model(request, obj, form, change)
            if revoked:
                record_user_action(request, "admin", "key.revoke", _key_target(obj))
            return
        key, raw = ApiKey.issue(obj.name, obj.scope, obj.stream_prefix)
        if not obj.active:
            ApiKey.objects.filter(pk=key.pk).update(active=False)
        obj.pk, obj.key_id, obj.secret_hash = key.pk, key.key_id, key.secret_hash
        obj.created_at = key.created_at
        obj._state.adding, obj._state.db = False, key._state.db
        setattr(request, ISSUED, raw)
        record_user_action(
            request,
            "admin",
            "key.create",
            _key_target(obj),
            scope=obj.scope,
            stream_prefix=obj.stream_prefix,
        )

    def delete_model(self, request, obj) -> None:
        target = _key_target(obj)
        super().delete_model(request, obj)
        record_user_action(request, "admin", "key.revoke", target, deleted=True)

    def delete_queryset(self, request, queryset) -> None:
        targets = [_key_target(key) for key in queryset]
        super().delete_queryset(request, queryset)
        for target in targets:
            record_user_action(request, "admin", "key.revoke", target, deleted=True)

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


def _key_target(key: ApiKey) -> str:
    return f"{key.name} ({key.key_id})"


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):
    """The audit trail, read-only: records are written by the actions themselves."""

    list_display = ("at", "actor", "interface", "action", "target", "ip")
    list_filter = ("interface", "action")
    search_fields = ("actor", "target", "action")
    date_hierarchy = "at"
    readonly_fields = ("at", "actor", "interface", "action", "target", "ip", "details_text")
    fields = readonly_fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class StreamRetentionForm(forms.ModelForm):
    """A stream's own retention policy, checked by the store service before it is saved."""

    class Meta:
        model = StreamRetention
        fields = ["stream_id", "max_age", "max_count"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        stream_id = self.instance.stream_id if self.instance.pk else data.get("stream_id")
        try:
            lifecycle.check_stream_retention(
                stream_id or "", data.get("max_age"), data.get("max_count")
            )
        except FlipbookError as exc:
            raise forms.ValidationError(exc.message) from exc
        return data


@admin.register(StreamRetention)
class StreamRetentionAdmin(admin.ModelAdmin):
    """Streams' own retention policies (docs/concepts/lifecycle.md): saved and removed through
    the store service, each change in the audit trail."""

    form = StreamRetentionForm
    list_display = ("stream_id", "max_age", "max_count", "updated_at")
    search_fields = ("stream_id",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A policy belongs to its stream: change its numbers, not whose it is.
        return ("stream_id", "updated_at") if obj is not None else ("updated_at",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        policy = lifecycle.set_stream_retention(
            obj.stream_id, max_age=obj.max_age, max_count=obj.max_count
        )
        obj.pk = StreamRetention.objects.values_list("pk", flat=True).get(stream_id=obj.stream_id)
        record_user_action(
            request,
            "admin",
            "stream.retention_set",
            policy.stream_id,
            max_age=policy.max_age,
            max_count=policy.max_count,
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        lifecycle.clear_stream_retention(obj.stream_id)
        record_user_action(request, "admin", "stream.retention_clear", obj.stream_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
