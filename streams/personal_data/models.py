"""The personal-data key store: one data key per subject, the streams it was used on, and
the audit record of every erasure. Kept in Django's database whatever the event store is."""

from __future__ import annotations

import uuid

from django.db import models


class DataKey(models.Model):
    """A subject's data key, wrapped by the key wrapper named in ``wrapper``. Deleting the row
    is the erasure: every field encrypted with it becomes unreadable."""

    key_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subject = models.CharField(max_length=256, unique=True)
    wrapped = models.BinaryField(help_text="The data key, encrypted by the key wrapper.")
    wrapper = models.CharField(max_length=64, help_text="Which key wrapper wrapped it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "flipbook_data_key"
        verbose_name = "personal data key"

    def __str__(self) -> str:
        return f"{self.subject} ({self.key_id})"


class DataKeyStream(models.Model):
    """A stream holding fields encrypted with a key: whose snapshots an erasure drops."""

    key = models.ForeignKey(DataKey, on_delete=models.CASCADE, related_name="streams")
    stream_id = models.CharField(max_length=256)

    class Meta:
        db_table = "flipbook_data_key_stream"
        constraints = [
            models.UniqueConstraint(
                fields=["key", "stream_id"], name="flipbook_data_key_stream_key"
            )
        ]

    def __str__(self) -> str:
        return self.stream_id


class Erasure(models.Model):
    """The audit record of one erasure: who erased which subject, when, and what it destroyed."""

    subject = models.CharField(max_length=256, db_index=True)
    erased_by = models.CharField(max_length=256, help_text="User, API key or command.")
    via = models.CharField(max_length=32, help_text="admin, api, command or service.")
    erased_at = models.DateTimeField(auto_now_add=True, db_index=True)
    keys_destroyed = models.PositiveIntegerField()
    streams = models.PositiveIntegerField(help_text="Streams holding the subject's fields.")
    snapshots_dropped = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "flipbook_erasure"
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return f"{self.subject} erased {self.erased_at:%Y-%m-%d %H:%M} by {self.erased_by}"
