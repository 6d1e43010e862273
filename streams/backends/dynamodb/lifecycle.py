"""Delete, truncate and scavenge on the DynamoDB event store (docs/concepts/lifecycle.md).

The head item carries ``del`` ("soft"/"hard"), ``tb`` (the first ordinal that remains) and
``gen``, bumped by every delete and truncation. A commit's head update is conditioned on the
event count and ``gen`` it read, and a delete or truncation on the same, so either one lands
wholly first and the other, retried, sees it. A deleted head leaves the listing indexes (its
``lp``/``cp`` keys are removed) until an append starts it again."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from streams.backends.base import stream_deleted
from streams.backends.dynamodb.items import (
    Item,
    item_key,
    num_attr,
    stream_key,
    stream_of,
)
from streams.backends.dynamodb.reads import DynamoDBReads
from streams.exceptions import NotFound, Unavailable, ValidationError
from streams.records import NEUTRAL, StreamInfo

if TYPE_CHECKING:
    pass

WRITE_ATTEMPTS = 20


def head_guard(head: Item) -> tuple[str, dict[str, Any]]:
    """The condition that ``head`` is still as read (its event count and lifecycle gen)."""
    values: dict[str, Any] = {":old": {"N": str(num_attr(head, "event_count"))}}
    if "gen" in head:
        values[":gen"] = head["gen"]
        return "event_count = :old AND gen = :gen", values
    return "event_count = :old AND attribute_not_exists(gen)", values


class DynamoDBLifecycle(DynamoDBReads):
    """The lifecycle methods of DynamoDBEventStore."""

    def delete_stream(self, stream_id: str, *, hard: bool) -> StreamInfo:
        for _attempt in range(WRITE_ATTEMPTS):
            head = self._get(stream_key(stream_id))
            if head is None:
                raise NotFound(f"stream {stream_id!r} does not exist", stream_id=stream_id)
            info = stream_of(head)
            if info.deleted == "hard":
                raise stream_deleted(stream_id)
            if info.deleted == "soft" and not hard:
                raise NotFound(f"stream {stream_id!r} is deleted already", stream_id=stream_id)
            cut = max(after_last(info), info.truncate_before)
            if self._update_head(
                head,
                "SET del = :del, tb = :tb, event_count = :zero, gen = if_not_exists(gen, :zero) "
                "+ :one REMOVE lp, cp",
                {
                    ":del": {"S": "hard" if hard else "soft"},
                    ":tb": {"N": str(cut)},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                },
            ):
                return info
        raise Unavailable(f"deleting stream {stream_id!r} kept racing appends; retry later")

    def truncate_stream(self, stream_id: str, before: int) -> StreamInfo:
        for _attempt in range(WRITE_ATTEMPTS):
            head = self._get(stream_key(stream_id))
            if head is None:
                raise NotFound(f"stream {stream_id!r} does not exist", stream_id=stream_id)
            info = stream_of(head)
            if info.deleted == "hard":
                raise stream_deleted(stream_id)
            if info.deleted == "soft":
                raise NotFound(f"stream {stream_id!r} was deleted", stream_id=stream_id)
            end = after_last(info)
            if before > end:
                what = "position" if info.kind == NEUTRAL else "version"
                raise ValidationError(
                    "before",
                    f"stream {stream_id!r} can be truncated before {what} {end} at most "
                    f"(one past its last {what})",
                )
            cut = max(before, info.truncate_before)
            if info.kind == NEUTRAL:
                remaining = self._count_from(stream_id, cut)
            else:
                remaining = (info.version or 0) - cut + 1
            if self._update_head(
                head,
                "SET tb = :tb, event_count = :count, gen = if_not_exists(gen, :zero) + :one",
                {
                    ":tb": {"N": str(cut)},
                    ":count": {"N": str(remaining)},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                },
            ):
                truncated = self.head(stream_id)
                assert truncated is not None
                return truncated
        raise Unavailable(f"truncating stream {stream_id!r} kept racing appends; retry later")

    def scavenge_stream(self, stream_id: str, limit: int) -> int:
        head = self._get(stream_key(stream_id))
        if head is None:
            return 0
        info = stream_of(head)
        if info.deleted == "hard":
            top = 2**63 - 1
        elif info.truncate_before > 1:
            top = info.truncate_before - 1
        else:
            return 0
        keys: list[Item] = []
        for item in self._query(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues={
                ":pk": {"S": "s#" + stream_id},
                ":lo": {"N": "1"},
                ":hi": {"N": str(top)},
            },
            ProjectionExpression="pk, sk, id",
            ConsistentRead=True,
            Limit=min(limit, 1000),
        ):
            keys.append(item_key(item["pk"]["S"], int(item["sk"]["N"])))
            keys.append(item_key(f"id#{item['id']['S']}", 0))  # its id claim
            if len(keys) >= 2 * limit:
                break
        self._batch_delete(keys)
        return len(keys) // 2

    def scavenge_candidates(self, *, after: str | None, limit: int) -> list[str]:
        # No index holds deleted or truncated heads, so this scans the table (a batch job).
        found: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "sk = :zero AND begins_with(pk, :s) AND "
            "(attribute_exists(del) OR tb > :zero)",
            "ExpressionAttributeValues": {":zero": {"N": "0"}, ":s": {"S": "s#"}},
            "ProjectionExpression": "sid",
        }
        while True:
            answer = self._call("scan", **kwargs)
            found += [i["sid"]["S"] for i in answer.get("Items", [])]
            last = answer.get("LastEvaluatedKey")
            if not last:
                break
            kwargs["ExclusiveStartKey"] = last
        return sorted(s for s in found if after is None or s > after)[:limit]

    # -- helpers ----------------------------------------------------------------------------

    def _update_head(self, head: Item, update: str, values: dict[str, Any]) -> bool:
        """Update the head item if it is still as read; False when an append moved it."""
        from botocore.exceptions import ClientError

        condition, guard = head_guard(head)
        try:
            self._call(
                "update_item",
                passthrough=frozenset({"ConditionalCheckFailedException"}),
                TableName=self.table,
                Key=item_key(head["pk"]["S"], 0),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues={**values, **guard},
            )
        except ClientError:
            return False
        return True

    def _count_from(self, stream_id: str, first: int) -> int:
        count = 0
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND sk >= :lo",
            "ExpressionAttributeValues": {":pk": {"S": "s#" + stream_id}, ":lo": {"N": str(first)}},
            "Select": "COUNT",
            "ConsistentRead": True,
        }
        while True:
            answer = self._call("query", **kwargs)
            count += int(answer.get("Count", 0))
            last = answer.get("LastEvaluatedKey")
            if not last:
                return count
            kwargs["ExclusiveStartKey"] = last

    def _batch_delete(self, keys: list[Item]) -> None:
        """BatchWriteItem deletes of ``keys`` in chunks of 25, following unprocessed items."""
        for start in range(0, len(keys), 25):
            request = {
                self.table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]
            }
            for attempt in range(self.max_attempts + 1):
                answer = self._call("batch_write_item", RequestItems=request)
                request = answer.get("UnprocessedItems") or {}
                if not request:
                    break
                if attempt == self.max_attempts:
                    raise Unavailable("DynamoDB kept deletes unprocessed (throttling); retry later")
                time.sleep(self.backoff_seconds * (2**attempt))


def after_last(info: StreamInfo) -> int:
    """One past the stream's last ordinal: its version + 1, or its last position + 1."""
    if info.kind == NEUTRAL:
        return max(info.last_position + 1, info.truncate_before)
    return (info.version or 0) + 1
