"""Tables of the database event store. Append and read use set-based SQL in
streams/backends/database.py; these models exist for migrations, the admin and the console."""

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
            )
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


class Category(models.Model):
    """How the streams of one category are reduced and snapshotted (edited in the admin)."""

    REDUCER_CHOICES = [
        ("merge", "merge: deep-merge object payloads into the state"),
        ("list", "list: the state is the list of payloads"),
        ("declarative", "declarative: the rules below, per event name"),
        ("python", "python: a Python function"),
    ]

    name = models.CharField(max_length=128, unique=True, help_text="The category's name.")
    reducer = models.CharField(max_length=16, choices=REDUCER_CHOICES, default="merge")
    rules = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "Declarative reducer only: event name -> list of rules, e.g. "
            '{"Deposited": [{"op": "increment", "path": "balance", "from": "amount"}]}. '
            "Ops: set, increment, decrement, append, remove, merge; 'path' is a dotted path "
            "in the state, 'from' a dotted path in the payload ('$' = all of it, '@name', "
            "'@timestamp', '@metadata.x' = event fields), or 'value' a literal."
        ),
    )
    python_path = models.CharField(
        max_length=255,
        blank=True,
        help_text=(
            "Python reducer only: dotted path of a (state, event) -> state function. Blank: "
            "the function registered for this category (FLIPBOOK_REDUCERS or @reducer)."
        ),
    )
    snapshot_every = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Snapshot policy: store a snapshot every N events (blank: no snapshots).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "flipbook_category"
        verbose_name_plural = "categories"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ImproperlyConfigured
        from django.core.exceptions import ValidationError as FormError

        from streams.exceptions import ValidationError
        from streams.reducers import build_reducer

        if self.snapshot_every is not None and self.snapshot_every < 1:
            raise FormError({"snapshot_every": "Must be at least 1 (or blank for none)."})
        try:
            build_reducer(
                self.reducer, rules=self.rules, python_path=self.python_path, category=self.name
            )
        except ValidationError as exc:
            field = "rules" if exc.field == "rules" else "reducer"
            raise FormError({field: exc.message}) from exc
        except ImproperlyConfigured as exc:
            raise FormError({"python_path": str(exc)}) from exc

    @property
    def revision(self) -> str:
        """The reducer revision snapshots of this category are made under ("" if broken)."""
        from streams.reducers import build_reducer

        try:
            return build_reducer(
                self.reducer, rules=self.rules, python_path=self.python_path, category=self.name
            ).revision
        except Exception:  # a broken configuration shows as blank in the admin
            return ""


class Subscription(models.Model):
    """A durable subscription: a named consumer's filter and checkpoint on the all-feed.

    The service in streams/subscriptions.py changes these rows only with conditional UPDATEs
    (compare-and-set on the checkpoint), so racing acks, nacks and resets never lose a move."""

    PUSH_CHOICES = [("", "pull"), ("webhook", "HTTP webhook"), ("grpc", "gRPC EventHandler")]

    name = models.CharField(max_length=100, unique=True)
    filter_category = models.CharField(max_length=128, null=True, blank=True)
    filter_stream_id = models.CharField(max_length=256, null=True, blank=True)
    filter_names = models.JSONField(default=list, blank=True)
    checkpoint = models.BigIntegerField(
        default=0,
        help_text="Every matching event at or below this position is acknowledged or parked.",
    )
    max_attempts = models.PositiveIntegerField(default=5)
    # The one event after the checkpoint that failed (nack) and is being retried.
    retry_position = models.BigIntegerField(null=True, blank=True)
    retry_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    push_kind = models.CharField(max_length=16, choices=PUSH_CHOICES, blank=True, default="")
    push_target = models.CharField(max_length=1000, blank=True, default="")
    # Push worker bookkeeping: the lease one worker holds, and the backoff after a failure.
    push_lease_owner = models.CharField(max_length=100, blank=True, default="")
    push_lease_until = models.DateTimeField(null=True, blank=True)
    push_next_attempt_at = models.DateTimeField(null=True, blank=True)
    push_failures = models.PositiveIntegerField(
        default=0, help_text="Push deliveries in a row that reached no handler (backoff)."
    )
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "flipbook_subscription"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ParkedEvent(models.Model):
    """An event a subscription gave up on after ``max_attempts`` failures, with the error.
    ``status`` is "parked"; "retry" once an operator asked for one more delivery; "sent" once
    a pull consumer got that delivery (only then does its cumulative ack settle it)."""

    STATUS_CHOICES = [
        ("parked", "parked"),
        ("retry", "retry requested"),
        ("sent", "retry sent, not acknowledged"),
    ]

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="parked_events"
    )
    position = models.BigIntegerField()
    stream_id = models.CharField(max_length=256)
    version = models.BigIntegerField(null=True, blank=True)
    name = models.CharField(max_length=128)
    event_id = models.UUIDField()
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=8, choices=STATUS_CHOICES, default="parked")
    parked_at = models.DateTimeField()

    class Meta:
        db_table = "flipbook_parked_event"
        ordering = ["subscription", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "position"], name="flipbook_parked_sub_pos"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id}@{self.position}: {self.name}"
