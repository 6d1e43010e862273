"""Tables of durable subscriptions: a subscription's filter and checkpoint, and its parked
events."""

from __future__ import annotations

from django.db import models


class Subscription(models.Model):
    """A durable subscription: a named consumer's filter and checkpoint on the all-feed.

    The service in subscriptions/ changes these rows only with conditional UPDATEs
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
    paused = models.BooleanField(
        default=False,
        help_text="A paused subscription delivers nothing (pull, push or stream) until resumed.",
    )
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
