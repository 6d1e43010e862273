"""The table of the database snapshot store (snapshots/backends/database.py)."""

from __future__ import annotations

from django.db import models


class Snapshot(models.Model):
    """One stored snapshot. The payload is kept as JSON text, so a state reads back exactly
    as it was written on every database (PostgreSQL's jsonb would turn 1e300 into an integer)."""

    stream_id = models.CharField(max_length=256)
    version = models.BigIntegerField()
    revision = models.CharField(max_length=200, help_text="The reducer revision that made it.")
    timestamp = models.DateTimeField(null=True, blank=True, help_text="Natural time of the state.")
    recorded_at = models.DateTimeField(
        null=True, blank=True, help_text="Newest store time of the events folded into it."
    )
    label = models.CharField(max_length=200, blank=True, default="")
    payload = models.TextField(help_text="The reduced state, as JSON text.")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "flipbook_snapshot"
        constraints = [
            models.UniqueConstraint(
                fields=["stream_id", "revision", "version"], name="flipbook_snapshot_key"
            ),
        ]
        indexes = [
            models.Index(fields=["stream_id", "version"], name="flipbook_snapshot_version"),
            models.Index(fields=["expires_at"], name="flipbook_snapshot_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.stream_id}@{self.version} ({self.revision})"
