"""Tables of the database event store. Append and read use set-based SQL in
streams/backends/database.py; these models exist for migrations, the admin and the console."""

from __future__ import annotations

from django.db import models


class Stream(models.Model):
    """The head of a stream ("version 0"): one row per state id, updated by every append."""

    KIND_CHOICES = [("versioned", "versioned"), ("neutral", "version-neutral")]

    stream_id = models.CharField(max_length=256, unique=True)
    kind = models.CharField(max_length=16, choices=KIND_CHOICES, default="versioned")
    category = models.CharField(max_length=128, null=True, blank=True)
    version = models.BigIntegerField(default=0, help_text="Current version (0 on neutral streams).")
    event_count = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(help_text="When its first event was recorded.")
    updated_at = models.DateTimeField(help_text="When its last event was recorded.")
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "flipbook_stream"
        indexes = [
            models.Index(fields=["category", "stream_id"], name="flipbook_stream_cat_id"),
            models.Index(fields=["-updated_at"], name="flipbook_stream_updated"),
        ]

    def __str__(self) -> str:
        return self.stream_id


class Event(models.Model):
    """One stored event. ``position`` is the global order of the all-feed."""

    position = models.BigAutoField(primary_key=True)
    stream = models.ForeignKey(Stream, on_delete=models.PROTECT, db_column="stream_pk")
    version = models.BigIntegerField(null=True, blank=True)
    timestamp = models.DateTimeField(null=True, blank=True, help_text="Natural time.")
    name = models.CharField(max_length=128)
    payload = models.JSONField(null=True)
    metadata = models.JSONField(default=dict)
    event_id = models.UUIDField(unique=True)
    recorded_at = models.DateTimeField()

    class Meta:
        db_table = "flipbook_event"
        constraints = [
            models.UniqueConstraint(fields=["stream", "version"], name="flipbook_event_version"),
        ]
        indexes = [
            models.Index(fields=["stream", "timestamp"], name="flipbook_event_time"),
            models.Index(fields=["stream", "position"], name="flipbook_event_stream_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.stream_id}@{self.version}: {self.name}"
