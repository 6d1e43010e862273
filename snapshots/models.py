"""The tables of the snapshot layer: the database snapshot store's (snapshots/backends/database.py)
and the categories that pick each stream's reducer and snapshot policy (edited in the admin)."""

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

        from snapshots.reducers import build_reducer
        from streams.exceptions import ValidationError

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
        from snapshots.reducers import build_reducer

        try:
            return build_reducer(
                self.reducer, rules=self.rules, python_path=self.python_path, category=self.name
            ).revision
        except Exception:  # a broken configuration shows as blank in the admin
            return ""
