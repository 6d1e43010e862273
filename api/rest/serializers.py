"""Request and response shapes of REST v1, for the OpenAPI schema.

The store service validates every request itself (one set of rules for REST and gRPC), and
responses are built from the records' ``as_dict()``; these serializers describe both exactly
so the served schema is the contract (the schemathesis test holds the views to it)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from streams.conf import flipbook_settings
from streams.validation import MAX_CATEGORY, MAX_NAME, MAX_STREAM_ID, MAX_VERSION

KINDS = ("versioned", "neutral")
# Ids, names and categories: printable text, no control characters (streams/validation.py).
NO_CONTROL_CHARACTERS = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$"
# Request bodies take no other fields than these components name (api/rest/schema.py).
REQUEST_COMPONENTS: tuple[str, ...] = (
    "NewEvent",
    "Append",
    "StreamAppend",
    "Commit",
    "SetSnapshot",
)
# Snapshot labels and revisions (snapshots/services.py): text without control characters.
MAX_SNAPSHOT_LABEL = 200
MAX_SNAPSHOT_REVISION = 200


def printable(max_length: int, **kwargs) -> serializers.CharField:
    """A non-empty text field without control characters, as the store validates it."""
    return serializers.CharField(
        min_length=1,
        max_length=max_length,
        validators=[RegexValidator(NO_CONTROL_CHARACTERS)],
        **kwargs,
    )


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "enum": ["any", "exists"]},
        ],
        "default": "any",
        "description": (
            "N: the stream must be exactly at version N (0: must not exist yet); "
            '"any": no check; "exists": the stream must have events. Events carrying '
            "explicit versions imply it."
        ),
    }
)
class ExpectedVersionField(serializers.Field):
    pass


@extend_schema_field(
    {
        "type": "number",
        "minimum": 0,
        "exclusiveMinimum": True,
        "maximum": 10**9,
        "nullable": True,
        "description": "Seconds to keep the snapshot; null or absent: the store's default.",
    }
)
class TtlField(serializers.FloatField):
    pass


def _stream_id(**kwargs) -> serializers.CharField:
    return printable(
        MAX_STREAM_ID,
        help_text="The state id: any printable text, slashes included, 1–256 characters.",
        **kwargs,
    )


# -- requests -------------------------------------------------------------------------------


class NewEventSerializer(serializers.Serializer):
    name = printable(MAX_NAME, help_text="What happened, e.g. Deposited.")
    payload = serializers.JSONField(
        required=False, allow_null=True, help_text="Any JSON value (limit 1 MiB by default)."
    )
    metadata = serializers.DictField(
        required=False,
        allow_null=True,
        help_text="A JSON object: correlation id, causation id, actor...",
    )
    timestamp = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="The natural time of the event (ISO 8601); null or absent: time-neutral.",
    )
    id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="Send one to make the commit idempotent; generated otherwise.",
    )
    version = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text="An explicit version; give all events one, continuing the stream, or none.",
    )


class AppendSerializer(serializers.Serializer):
    expected_version = ExpectedVersionField(required=False)
    category = printable(
        MAX_CATEGORY,
        required=False,
        allow_null=True,
        help_text="Set on the stream's first append; a later append must agree or omit it.",
    )
    kind = serializers.ChoiceField(
        choices=KINDS,
        required=False,
        allow_null=True,
        help_text="Declared on the first append (default versioned); must agree later.",
    )
    events = serializers.ListField(
        child=NewEventSerializer(),
        min_length=1,
        max_length=flipbook_settings.LIMITS["MAX_EVENTS_PER_COMMIT"],
    )


class StreamAppendSerializer(AppendSerializer):
    stream_id = _stream_id()


class CommitSerializer(serializers.Serializer):
    streams = serializers.ListField(
        child=StreamAppendSerializer(),
        min_length=1,
        max_length=flipbook_settings.LIMITS["MAX_STREAMS_PER_COMMIT"],
        help_text="Each stream at most once; all or nothing.",
    )


class SetSnapshotSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1,
        max_value=MAX_VERSION,
        help_text="The stream version the state is of: 1 to the stream's current version.",
    )
    payload = serializers.JSONField(
        allow_null=True, help_text="The state: any JSON value (limit 16 MiB by default)."
    )
    # A field named "label" shadows Field.label, which the DRF stubs type as text.
    label = serializers.CharField(  # type: ignore[assignment]
        required=False,
        allow_blank=True,
        max_length=MAX_SNAPSHOT_LABEL,
        validators=[RegexValidator(NO_CONTROL_CHARACTERS)],
        help_text="A free label, e.g. nightly (default empty).",
    )
    revision = printable(
        MAX_SNAPSHOT_REVISION,
        required=False,
        help_text=(
            'What made the state (default "client"). States are served from a snapshot only '
            "when this equals the stream's reducer revision."
        ),
    )
    timestamp = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="The natural time of the state (ISO 8601); null or absent: unknown.",
    )
    ttl = TtlField(required=False, allow_null=True)


# -- responses ------------------------------------------------------------------------------


class EventSerializer(serializers.Serializer):
    stream_id = _stream_id()
    version = serializers.IntegerField(
        allow_null=True, help_text="null on version-neutral streams."
    )
    timestamp = serializers.DateTimeField(allow_null=True, help_text="null: time-neutral.")
    name = serializers.CharField()
    payload = serializers.JSONField(allow_null=True)
    metadata = serializers.DictField()
    id = serializers.UUIDField()
    position = serializers.IntegerField(help_text="The store-wide order (the all-feed).")
    recorded_at = serializers.DateTimeField(help_text="When the store committed it.")


class AppendResultSerializer(serializers.Serializer):
    stream_id = _stream_id()
    version = serializers.IntegerField(
        allow_null=True, help_text="The stream's version after the append; null if neutral."
    )
    duplicate = serializers.BooleanField(
        help_text="True when this re-sent an identical stored commit (nothing new stored)."
    )
    events = EventSerializer(many=True)


class CommitResultSerializer(serializers.Serializer):
    duplicate = serializers.BooleanField()
    last_position = serializers.IntegerField()
    streams = AppendResultSerializer(many=True)


class StreamSerializer(serializers.Serializer):
    stream_id = _stream_id()
    kind = serializers.ChoiceField(choices=KINDS)
    category = serializers.CharField(allow_null=True)
    version = serializers.IntegerField(allow_null=True, help_text="null if version-neutral.")
    event_count = serializers.IntegerField()
    first_recorded_at = serializers.DateTimeField()
    last_recorded_at = serializers.DateTimeField()
    last_position = serializers.IntegerField()
    metadata = serializers.DictField()
    truncate_before = serializers.IntegerField(
        required=False,
        help_text="Only on truncated or deleted streams: the first version (position on "
        "version-neutral streams) that remains.",
    )


class StreamPageSerializer(serializers.Serializer):
    streams = StreamSerializer(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as ?cursor= for the next page; null: no more now."
    )


class EventPageSerializer(serializers.Serializer):
    stream_id = _stream_id()
    events = EventSerializer(many=True)
    next_cursor = serializers.CharField(
        allow_null=True,
        help_text="Pass as ?cursor= with the same query for the next page; null: no more now.",
    )


class FeedPageSerializer(serializers.Serializer):
    events = EventSerializer(many=True)
    next_after = serializers.IntegerField(
        help_text="Pass as ?after= to continue; it moves past filtered-out events too."
    )


class SnapshotInfoSerializer(serializers.Serializer):
    stream_id = _stream_id()
    version = serializers.IntegerField()
    revision = serializers.CharField(help_text='The reducer revision that made it, or "client".')
    timestamp = serializers.DateTimeField(
        allow_null=True, help_text="The natural time of the state; null: unknown."
    )
    label = serializers.CharField(allow_blank=True)  # type: ignore[assignment]  # as above
    recorded_at = serializers.DateTimeField(
        allow_null=True,
        help_text="The newest store time of its events; null on snapshots set by clients.",
    )
    created_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True, help_text="null: never expires.")


class SnapshotSerializer(SnapshotInfoSerializer):
    payload = serializers.JSONField(allow_null=True, help_text="The state, any JSON value.")


class SnapshotListSerializer(serializers.Serializer):
    snapshots = SnapshotInfoSerializer(
        many=True, help_text="Ordered by version, then revision; without payloads."
    )


class StateSerializer(serializers.Serializer):
    stream_id = _stream_id()
    version = serializers.IntegerField(
        allow_null=True,
        help_text="The version of the last event folded in (0: none); null if neutral.",
    )
    state = serializers.JSONField(allow_null=True, help_text="The reduced state.")
    category = serializers.CharField(allow_null=True)
    reducer = serializers.CharField(help_text="The kind of reducer: merge, declarative...")
    revision = serializers.CharField(help_text="The reducer revision that folded it.")
    snapshot = SnapshotInfoSerializer(
        allow_null=True, help_text="The snapshot the fold started from; null: the first event."
    )
    events_read = serializers.IntegerField(help_text="Events read after the snapshot.")
    events_applied = serializers.IntegerField(help_text="Events folded in.")
    timestamp = serializers.DateTimeField(
        allow_null=True, help_text="The newest natural time among the folded events."
    )
    recorded_at = serializers.DateTimeField(
        allow_null=True, help_text="The newest store time among the folded events."
    )
    at = serializers.DateTimeField(allow_null=True, help_text="The `at` asked for, if any.")
    known_at = serializers.DateTimeField(
        allow_null=True, help_text="The `known_at` asked for, if any."
    )


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="validation_error, not_found, version_conflict, id_conflict, too_large, "
        "reducer_error, unauthenticated, permission_denied, unavailable, internal_error, "
        "method_not_allowed, not_acceptable, unsupported_media_type, throttled."
    )
    message = serializers.CharField(help_text="What went wrong and how to fix it.")
    details = serializers.DictField(
        help_text="e.g. field; current_version and expected_version of a version_conflict."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# -- durable subscriptions (api/rest/subscriptions.py) ------------------------------------------

SUBSCRIPTION_NAME_PATTERN = r"^[A-Za-z0-9._-]{1,100}$"
SUBSCRIPTION_STATUSES = ("live", "behind", "stalled", "idle", "paused")
# Request bodies of subscriptions take no other fields either.
REQUEST_COMPONENTS += (
    "CreateSubscription",
    "SubscriptionFilter",
    "PushEndpoint",
    "Ack",
    "Nack",
    "Reset",
)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": ["beginning", "end"]},
            {
                "type": "object",
                "properties": {"after": {"type": "integer", "minimum": 0, "maximum": MAX_VERSION}},
                "required": ["after"],
                "additionalProperties": False,
            },
        ],
        "description": '"beginning" (every event), "end" (only new ones) or {"after": N}.',
    }
)
class StartField(serializers.Field):
    pass


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": ["beginning", "end"]},
            {
                "type": "object",
                "properties": {"after": {"type": "integer", "minimum": 0, "maximum": MAX_VERSION}},
                "required": ["after"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {"at": {"type": "string", "format": "date-time"}},
                "required": ["at"],
                "additionalProperties": False,
            },
        ],
        "description": '"beginning", "end", {"after": N} or {"at": "<ISO 8601 time>"} (just '
        "before the first event recorded after that time).",
    }
)
class ResetTargetField(serializers.Field):
    pass


class SubscriptionFilterSerializer(serializers.Serializer):
    category = printable(MAX_CATEGORY, required=False, allow_null=True)
    stream_id = _stream_id(required=False, allow_null=True)
    names = serializers.ListField(
        child=printable(MAX_NAME), required=False, max_length=100, help_text="Only these names."
    )


class PushEndpointSerializer(serializers.Serializer):
    kind = serializers.RegexField(r"^(webhook|grpc)$", help_text='"webhook" or "grpc".')
    url = serializers.CharField(
        required=False, max_length=1000, help_text='kind "webhook": the http(s) URL to POST to.'
    )
    target = serializers.CharField(
        required=False, max_length=300, help_text='kind "grpc": host:port of an EventHandler.'
    )


class CreateSubscriptionSerializer(serializers.Serializer):
    name = serializers.RegexField(
        SUBSCRIPTION_NAME_PATTERN, help_text="1-100 letters, digits, '-', '_', '.'."
    )
    filter = SubscriptionFilterSerializer(
        required=False,
        allow_null=True,
        help_text="category or stream_id (not both; neither: the whole feed), names.",
    )
    start = StartField(required=False)
    max_attempts = serializers.IntegerField(
        required=False, min_value=1, max_value=1000, help_text="Failures before parking (5)."
    )
    push = PushEndpointSerializer(
        required=False, allow_null=True, help_text="Omit for a pull subscription."
    )


class SubscriptionSerializer(serializers.Serializer):
    name = serializers.CharField()
    filter = SubscriptionFilterSerializer()
    checkpoint = serializers.IntegerField(
        help_text="Every matching event at or below it is acknowledged or parked."
    )
    head_position = serializers.IntegerField(
        help_text="The feed position the lag was counted up to (the settled head unless "
        "lag_capped)."
    )
    lag = serializers.IntegerField(
        help_text="Matching events after the checkpoint, plus retries asked for; exact "
        "unless lag_capped."
    )
    lag_capped = serializers.BooleanField(help_text="lag is a lower bound (the count stopped).")
    status = serializers.ChoiceField(
        choices=SUBSCRIPTION_STATUSES,
        help_text="live: nothing to deliver, consumer seen; behind: events to deliver, consumer "
        "seen; stalled: events to deliver, no consumer heartbeat for the threshold; idle: "
        "nothing to deliver, no consumer seen; paused: an operator paused it (nothing is "
        "delivered until it is resumed).",
    )
    last_heartbeat = serializers.DateTimeField(allow_null=True)
    parked = serializers.IntegerField(help_text="Parked events (retries asked for included).")
    max_attempts = serializers.IntegerField()
    push = PushEndpointSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    retry_position = serializers.IntegerField(
        allow_null=True, help_text="The event after the checkpoint being retried."
    )
    retry_attempts = serializers.IntegerField()
    last_error = serializers.CharField(allow_blank=True)
    paused = serializers.BooleanField(help_text="Paused: nothing is delivered until resumed.")


class SubscriptionPageSerializer(serializers.Serializer):
    items = SubscriptionSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class SubscriptionBatchSerializer(serializers.Serializer):
    events = EventSerializer(
        many=True, help_text="Retries asked for first, then in position order."
    )
    checkpoint = serializers.IntegerField()


class AckSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=1, max_value=MAX_VERSION)


class NackSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=1, max_value=MAX_VERSION)
    error = serializers.CharField(
        required=False, allow_blank=True, help_text="Why it failed (kept up to 2000 chars)."
    )


class NackResultSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    attempts = serializers.IntegerField()
    parked = serializers.BooleanField()
    checkpoint = serializers.IntegerField()


class ResetSerializer(serializers.Serializer):
    to = ResetTargetField()


class ParkedEventSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    stream_id = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    event_id = serializers.UUIDField()
    error = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    parked_at = serializers.DateTimeField()
    status = serializers.ChoiceField(
        choices=("parked", "retry", "sent"),
        help_text="parked; retry: a retry was asked for; sent: the retry was delivered to a "
        "pull consumer and waits for its ack.",
    )


class ParkedEventPageSerializer(serializers.Serializer):
    items = ParkedEventSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
