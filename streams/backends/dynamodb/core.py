"""The DynamoDB client of the event store: its options, and every driver call with its retries
and error translation (the base of the store's reads, appends and table management)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from streams.backends.base import BaseEventStore
from streams.backends.dynamodb.items import (
    BUCKET_TICKS,
    METERED,
    RETRYABLE,
    SLOTS,
    Item,
    capacity_units,
    describe_error,
    error_code,
    item_key,
    make_client,
    translate_error,
)
from streams.exceptions import Unavailable

if TYPE_CHECKING:
    pass


class DynamoDBCore(BaseEventStore):
    """What every part of the DynamoDB event store shares: the client and the table."""

    def __init__(
        self,
        *,
        table_prefix: str = "flipbook_",
        endpoint_url: str | None = None,
        region_name: str = "us-east-1",
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        feed_shards: int = 8,
        listing_shards: int = 4,
        max_attempts: int = 5,
        backoff_seconds: float = 0.05,
        conflict_attempts: int = 20,
        client: Any = None,
        capacity_meter: Callable[[str, float], None] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.table = f"{table_prefix}events"
        self.feed_shards = int(feed_shards)
        self.bucket_span = SLOTS * self.feed_shards * BUCKET_TICKS  # positions per partition
        self.listing_shards = int(listing_shards)
        self.max_attempts = max(1, int(max_attempts))
        self.backoff_seconds = float(backoff_seconds)
        self.conflict_attempts = max(1, int(conflict_attempts))
        self.capacity_meter = capacity_meter
        self._owns_client = client is None
        if client is None:
            client = make_client(
                endpoint_url, region_name, aws_access_key_id, aws_secret_access_key
            )
        self.client = client

    # -- driver calls and error translation ---------------------------------------------------

    def _call(
        self, operation: str, passthrough: frozenset[str] = frozenset(), **kwargs: Any
    ) -> Any:
        """Call a DynamoDB operation with bounded retries on throttling and unavailability.

        Error codes in ``passthrough`` are re-raised as the driver's ClientError for the
        caller to interpret; every other failure becomes a Flipbook error here."""
        from botocore.exceptions import BotoCoreError, ClientError

        meter = self.capacity_meter if operation in METERED else None
        if meter is not None:
            kwargs = {**kwargs, "ReturnConsumedCapacity": "TOTAL"}
        delay = self.backoff_seconds
        last: Exception | None = None
        for attempt in range(self.max_attempts):
            try:
                answer = getattr(self.client, operation)(**kwargs)
                if meter is not None:
                    meter(operation, capacity_units(answer))
                return answer
            except ClientError as exc:
                if meter is not None:
                    meter(operation, 0.0)
                code = error_code(exc)
                if code in passthrough:
                    raise
                if code not in RETRYABLE:
                    raise translate_error(exc, self.table) from exc
                last = exc
            except BotoCoreError as exc:  # connection refused, timeouts, bad endpoint
                if meter is not None:
                    meter(operation, 0.0)
                last = exc
            if attempt < self.max_attempts - 1:
                time.sleep(delay * (0.5 + random.random()))
                delay *= 2
        raise Unavailable(
            f"DynamoDB is throttling or unavailable ({describe_error(last)}) after "
            f"{self.max_attempts} attempts; retry later"
        ) from last

    def _batch_get(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], Item]:
        """Strongly consistent BatchGetItem of ``keys``, in chunks, following unprocessed keys."""
        found: dict[tuple[str, int], Item] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 100):
            request = {
                self.table: {
                    "Keys": [item_key(pk, sk) for pk, sk in unique[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            for attempt in range(self.max_attempts + 1):
                answer = self._call("batch_get_item", RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table, []):
                    found[(item["pk"]["S"], int(item["sk"]["N"]))] = item
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                if attempt == self.max_attempts:
                    raise Unavailable("DynamoDB kept keys unprocessed (throttling); retry later")
                time.sleep(self.backoff_seconds * (2**attempt))
        return found

    def _query(self, **kwargs: Any) -> Iterator[Item]:
        """Yield the items of a Query, page after page."""
        while True:
            answer = self._call("query", TableName=self.table, **kwargs)
            yield from answer.get("Items", [])
            last = answer.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last
