"""Constants of the DynamoDB table layout, the client, driver errors turned into Flipbook's
at this boundary, and the conversions between items and Flipbook's records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from streams.exceptions import TooLarge, Unavailable, ValidationError
from streams.records import (
    NEUTRAL,
    DeletedState,
    RecordedEvent,
    StreamInfo,
)

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_dynamodb import DynamoDBClient

# An item, key or request in DynamoDB's attribute-value JSON ({"S": ...}, {"N": ...}, ...).
Item = dict[str, Any]

MAX_TRANSACT_ITEMS = 100  # DynamoDB's limit on one TransactWriteItems
MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's limit on one item
MAX_TRANSACT_BYTES = 4 * 1000 * 1000  # DynamoDB's limit on one transaction
ITEM_OVERHEAD_BYTES = 2048  # keys, names and attribute names around a payload, generously
SLOTS = 64  # positions of one block, reserved per commit; a commit holds at most 48 events
# A commit takes a block whose index is its feed shard modulo feed_shards, so commits of
# different shards never share a position, and a block index at least the clock in ms times
# feed_shards. Positions stay below 2**53 (JSON numbers are doubles in JavaScript, and the
# console follows feeds by position) for ~550 years at 8 feed shards; microseconds (and
# blocks shared by all shards) passed 2**53 in 2022 and could give two commits one position.
CLOCK_UNIT = timedelta(milliseconds=1)
BUCKET_TICKS = 2**26  # a feed partition spans 2**26 ms of block indexes: about 19 hours
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
TIME_INDEX = "by_time"
ID_INDEX = "by_stream_id"
CATEGORY_INDEX = "by_category"
# Errors worth another try after a pause; anything else is answered at once.
RETRYABLE = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "TransactionInProgressException",
        "TransactionConflictException",
    }
)
RETRYABLE_CANCEL = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
# Operations that can report the capacity they consumed (ReturnConsumedCapacity).
METERED = frozenset(
    {"get_item", "batch_get_item", "query", "transact_write_items", "update_item", "put_item"}
)


def make_client(
    endpoint_url: str | None, region_name: str, access_key: str | None, secret_key: str | None
) -> DynamoDBClient:
    import boto3  # the driver stays an import of this backend only
    from botocore.config import Config

    if endpoint_url and not access_key:
        access_key, secret_key = "local", "local"  # DynamoDB Local accepts any credentials
    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint_url or None,
        region_name=region_name or "us-east-1",
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        # Retries are ours (bounded, translated); botocore's would hide throttling.
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=3,
            read_timeout=20,
            max_pool_connections=64,
        ),
    )


def capacity_units(answer: Item) -> float:
    """The capacity units of a response's ConsumedCapacity (one entry, or one per table)."""
    consumed = answer.get("ConsumedCapacity") or []
    if isinstance(consumed, dict):
        consumed = [consumed]
    return float(sum(c.get("CapacityUnits", 0.0) for c in consumed))


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def describe_error(exc: Exception | None) -> str:
    if exc is None:
        return "no answer"
    response = getattr(exc, "response", None)
    if response is not None:  # a ClientError
        return error_code(cast("ClientError", exc)) or type(exc).__name__
    return type(exc).__name__


def translate_error(exc: ClientError, table: str) -> Exception:
    """The Flipbook error for a DynamoDB ClientError that is not worth retrying."""
    code = error_code(exc)
    if code == "ValidationException":
        return ValidationError(
            "request", "DynamoDB refused the request as invalid (a key, item or request limit)"
        )
    if code == "ResourceNotFoundException":
        return Unavailable(
            f"the DynamoDB table {table!r} does not exist; run "
            "'manage.py flipbook_dynamodb create-tables' (FLIPBOOK_DYNAMODB_TABLE_PREFIX)"
        )
    if code == "ItemCollectionSizeLimitExceededException":
        return TooLarge("stream", 10 * 1024**3, 10 * 1024**3)
    return Unavailable(f"DynamoDB refused the operation ({code or 'unknown error'}); retry later")


def item_key(pk: str, sk: int) -> Item:
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}}


def stream_key(stream_id: str) -> tuple[str, int]:
    return ("s#" + stream_id, 0)


def shard_key(shard: int) -> tuple[str, int]:
    return (f"shard#{shard}", 0)


def put_item(table: str, item: Item, kind: str) -> Item:
    return {
        "Put": {
            "TableName": table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
        },
        "_kind": kind,
    }


def str_attr(item: Item, name: str) -> str | None:
    value = item.get(name)
    return None if value is None else value["S"]


def num_attr(item: Item, name: str) -> int:
    value = item.get(name)
    return 0 if value is None else int(value["N"])


def time_text(value: datetime) -> str:
    """UTC, fixed width, microseconds: text order is time order (years 1 to 9999)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def time_key(value: datetime, ordinal: int) -> str:
    return f"{time_text(value)}#{ordinal:020d}"


def event_of(item: Item) -> RecordedEvent:
    ts = item.get("ts")
    return RecordedEvent(
        stream_id=item["pk"]["S"][2:],
        version=int(item["v"]["N"]) if "v" in item else None,
        timestamp=None
        if ts is None
        else datetime.fromisoformat(ts["S"].split("#", 1)[0]).replace(tzinfo=UTC),
        name=item["n"]["S"],
        payload=json.loads(item["p"]["S"]),
        metadata=json.loads(item["m"]["S"]),
        id=UUID(item["id"]["S"]),
        position=int(item["pos"]["N"]),
        recorded_at=datetime.fromisoformat(item["ra"]["S"]).replace(tzinfo=UTC),
    )


def stream_of(item: Item) -> StreamInfo:
    kind = item["kind"]["S"]
    return StreamInfo(
        stream_id=item["sid"]["S"],
        kind=kind,
        category=str_attr(item, "category"),
        version=None if kind == NEUTRAL else num_attr(item, "version"),
        event_count=num_attr(item, "event_count"),
        first_recorded_at=datetime.fromisoformat(item["created_at"]["S"]).replace(tzinfo=UTC),
        last_recorded_at=datetime.fromisoformat(item["updated_at"]["S"]).replace(tzinfo=UTC),
        last_position=num_attr(item, "last_position"),
        metadata=json.loads(str_attr(item, "metadata") or "{}"),
        deleted=cast("DeletedState | None", str_attr(item, "del")),
        truncate_before=num_attr(item, "tb"),
    )
