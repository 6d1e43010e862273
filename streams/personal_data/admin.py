"""Django admin of the personal-data keys (no key material shown) with an "erase" action,
and of the erasure audit records (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from streams.exceptions import FlipbookError
from streams.personal_data.models import DataKey, Erasure
from streams.personal_data.protection import erase_subject


@admin.register(DataKey)
class DataKeyAdmin(admin.ModelAdmin):
    list_display = ["subject", "key_id", "wrapper", "created_at", "stream_count"]
    search_fields = ["subject"]
    fields = ("subject", "key_id", "wrapper", "created_at")
    readonly_fields = ("subject", "key_id", "wrapper", "created_at")
    actions = ["erase_subjects"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting a key is an erasure: only the action, which keeps the audit record.
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("erase_subjects", None)
        return actions

    @admin.display(description="streams")
    def stream_count(self, obj: DataKey) -> int:
        return obj.streams.count()

    @admin.action(description="Erase the selected subjects (destroys their keys for good)")
    def erase_subjects(self, request: HttpRequest, queryset: QuerySet[DataKey]) -> None:
        who = request.user.get_username() or "admin"
        for subject in sorted(set(queryset.values_list("subject", flat=True))):
            try:
                result = erase_subject(subject, erased_by=who, via="admin")
            except FlipbookError as exc:
                self.message_user(request, f"{subject}: {exc.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"Erased {subject}: {result.keys_destroyed} key(s) destroyed, "
                f"{result.snapshots_dropped} snapshot(s) of {result.streams} stream(s) dropped.",
                messages.SUCCESS,
            )


@admin.register(Erasure)
class ErasureAdmin(admin.ModelAdmin):
    list_display = (
        "subject",
        "erased_at",
        "erased_by",
        "via",
        "keys_destroyed",
        "streams",
        "snapshots_dropped",
    )
    list_filter = ("via",)
    search_fields = ("subject", "erased_by")
    readonly_fields = list_display

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
