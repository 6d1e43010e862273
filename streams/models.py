"""Tables of the database event store. Append and read use set-based SQL in
streams/backends/database/; these models exist for migrations, the admin and the console."""

from __future__ import annotations

from django.db import models


class Stream(models.Model):
    """The head of a stream ("version 0"): one row per state id, updated by every append."""

    KIND_CHOICES = [("versioned", "versioned"), ("neutral", "version-neutral")]

    stream_id = models.CharField(max_length=256)
    kind = models.CharField(max_length=16, choices=KIND_CHOICES, default="versioned")
    category = models.CharField(max_length=128, null=True, blank=True)
    version = models.BigIntegerField(default=0, help_text="Current version (0 on neutral streams).")
    event_count = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(help_text="When its first event was recorded.")
    updated_at = models.DateTimeField(help_text="When its last event was recorded.")
    metadata = models.JSONField(default=dict, blank=True)
    DELETED_CHOICES = [(0, "live"), (1, "soft-deleted"), (2, "hard-deleted (tombstone)")]
    deleted = models.SmallIntegerField(default=0, db_default=0, choices=DELETED_CHOICES)
    truncate_before = models.BigIntegerField(
        default=0,
        db_default=0,
        help_text="First ordinal that remains (a version; a position on neutral streams).",
    )

    class Meta:
        db_table = "flipbook_stream"
        # The unique index on stream_id (in the "C" collation on PostgreSQL, set by the
        # migration) serves lookups, ordering and prefix search; no index on updated_at, so
        # an append updates the head row in place (a HOT update).
        constraints = [models.UniqueConstraint(fields=["stream_id"], name="flipbook_stream_id_key")]
        indexes = [
            models.Index(
                fields=["category", "stream_id"],
                name="flipbook_stream_cat_id",
                condition=models.Q(category__isnull=False),
            ),
            # The scavenger's candidates: few streams, so a small partial index.
            models.Index(
                fields=["stream_id"],
                name="flipbook_stream_lifecycle",
                condition=models.Q(deleted__gt=0) | models.Q(truncate_before__gt=0),
            ),
        ]

    def __str__(self) -> str:
        return self.stream_id


class Event(models.Model):
    """One stored event. ``position`` is the global order of the all-feed."""

    position = models.BigAutoField(primary_key=True)
    # No database FK: the head row is written by the same statement as its events, and a
    # per-row FK check at commit costs about a sixth of a 100-event append.
    stream = models.ForeignKey(
        Stream,
        on_delete=models.DO_NOTHING,
        db_column="stream_pk",
        db_constraint=False,
        db_index=False,
    )
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
        # Partial indexes: an event only pays for the index its reads need. Versioned
        # streams read by (stream, version), the unique constraint; time-neutral events are
        # never in a time range; only version-neutral streams read by position.
        indexes = [
            models.Index(
                fields=["stream", "timestamp"],
                name="flipbook_event_time",
                condition=models.Q(timestamp__isnull=False),
            ),
            models.Index(
                fields=["stream", "position"],
                name="flipbook_event_stream_pos",
                condition=models.Q(version__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stream_id}@{self.version}: {self.name}"


class StreamRetention(models.Model):
    """A stream's own retention policy (like KurrentDB's $maxAge/$maxCount stream metadata):
    it replaces the policy FLIPBOOK_RETENTION gives the stream's category. Kept in Django's
    database whatever the event store is, beside the personal-data keys."""

    stream_id = models.CharField(max_length=256, unique=True)
    max_age = models.BigIntegerField(
        null=True, blank=True, help_text="Seconds an event is kept after it was recorded."
    )
    max_count = models.BigIntegerField(
        null=True, blank=True, help_text="How many of the newest events are kept."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "flipbook_stream_retention"
        verbose_name = "stream retention policy"
        verbose_name_plural = "stream retention policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_age__isnull=False) | models.Q(max_count__isnull=False),
                name="flipbook_stream_retention_some",
            ),
            models.CheckConstraint(
                condition=models.Q(max_age__isnull=True) | models.Q(max_age__gte=1),
                name="flipbook_stream_retention_age",
            ),
            models.CheckConstraint(
                condition=models.Q(max_count__isnull=True) | models.Q(max_count__gte=1),
                name="flipbook_stream_retention_count",
            ),
        ]

    def __str__(self) -> str:
        return self.stream_id
