"""The reads of the DynamoDB event store: streams by version and time, heads, listings, and
the all-feed behind the shards' fences."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from streams.backends.base import check_readable
from streams.backends.dynamodb.core import DynamoDBCore
from streams.backends.dynamodb.items import (
    CATEGORY_INDEX,
    ID_INDEX,
    SLOTS,
    TIME_INDEX,
    Item,
    event_of,
    item_key,
    num_attr,
    shard_key,
    str_attr,
    stream_key,
    stream_of,
    time_key,
    time_text,
)
from streams.records import (
    NEUTRAL,
    FeedPage,
    FeedQuery,
    RecordedEvent,
    StreamInfo,
    StreamQuery,
)

if TYPE_CHECKING:
    pass


class DynamoDBReads(DynamoDBCore):
    """The reads of DynamoDBEventStore."""

    def read(self, query: StreamQuery) -> list[RecordedEvent]:
        pk = {"S": "s#" + query.stream_id}
        versions = query.from_version is not None or query.to_version is not None
        head = self._get(stream_key(query.stream_id))
        if head is None:
            return []
        check_readable(query.stream_id, str_attr(head, "del"))
        cut = num_attr(head, "tb")  # the first ordinal that remains (docs: lifecycle)
        if versions and str_attr(head, "kind") == NEUTRAL:
            return []  # version-neutral events have no version to select on
        forward = not query.backwards
        if query.by_time:
            lo = time_text(query.since) if query.since is not None else " "
            hi = time_text(query.until) + "$" if query.until is not None else "~"
            if query.after is not None:
                when = datetime.fromisoformat(query.after[0])
                ordinal = int(query.after[1])
                if forward:
                    lo = max(lo, time_key(when, ordinal + 1))
                else:
                    if ordinal == 0:
                        return []
                    hi = min(hi, time_key(when, ordinal - 1))
            if lo > hi:
                return []
            pages = self._query(
                IndexName=TIME_INDEX,
                KeyConditionExpression="pk = :pk AND ts BETWEEN :lo AND :hi",
                ExpressionAttributeValues={":pk": pk, ":lo": {"S": lo}, ":hi": {"S": hi}},
                ScanIndexForward=forward,
                ConsistentRead=True,
                Select="ALL_ATTRIBUTES",
                Limit=min(query.limit + 1, 1000) if not versions else 1000,
            )
        else:
            first = max(1, query.from_version or 1, cut)
            last = min(2**63 - 1, query.to_version or 2**63 - 1)
            if query.after is not None:
                if forward:
                    first = max(first, int(query.after[0]) + 1)
                else:
                    last = min(last, int(query.after[0]) - 1)
            if first > last:
                return []
            pages = self._query(
                KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
                ExpressionAttributeValues={
                    ":pk": pk,
                    ":lo": {"N": str(first)},
                    ":hi": {"N": str(last)},
                },
                ScanIndexForward=forward,
                ConsistentRead=True,
                Limit=min(query.limit, 1000),
            )
        events: list[RecordedEvent] = []
        for item in pages:
            event = event_of(item)
            if cut and int(item["sk"]["N"]) < cut:
                continue  # truncated (reads by time only)
            if query.by_time and versions:
                version = event.version
                assert version is not None  # the stream is versioned (checked above)
                if query.from_version is not None and version < query.from_version:
                    continue
                if query.to_version is not None and version > query.to_version:
                    continue
            events.append(event)
            if len(events) == query.limit:
                break
        return events

    def _get(self, key: tuple[str, int]) -> Item | None:
        answer = self._call(
            "get_item", TableName=self.table, Key=item_key(*key), ConsistentRead=True
        )
        item: Item | None = answer.get("Item")
        return item

    def head(self, stream_id: str) -> StreamInfo | None:
        item = self._get(stream_key(stream_id))
        return None if item is None else stream_of(item)

    def ping(self) -> None:
        self._get(("ping", 0))

    def list_streams(
        self, *, prefix: str | None, category: str | None, after: str | None, limit: int
    ) -> list[StreamInfo]:
        found: list[str] = []
        for listing in range(self.listing_shards):
            if category is not None:
                index, attr, value = CATEGORY_INDEX, "cp", f"c#{category}#{listing}"
            else:
                index, attr, value = ID_INDEX, "lp", f"l#{listing}"
            condition = f"{attr} = :p"
            values: dict[str, Any] = {":p": {"S": value}}
            # after="" (every id is greater) is no bound; DynamoDB refuses an empty key value.
            if after and (not prefix or after >= prefix):
                condition += " AND sid > :after"
                values[":after"] = {"S": after}
            elif prefix:
                condition += " AND begins_with(sid, :prefix)"
                values[":prefix"] = {"S": prefix}
            for taken, item in enumerate(
                self._query(
                    IndexName=index,
                    KeyConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    Limit=min(limit, 1000),
                ),
                start=1,
            ):
                stream_id = item["sid"]["S"]
                if prefix and not stream_id.startswith(prefix):
                    break  # ids are sorted: past the prefix, nothing matches any more
                found.append(stream_id)
                if taken == limit:
                    break
        chosen = sorted(found)[:limit]
        heads = self._batch_get([stream_key(i) for i in chosen])
        infos = [stream_of(heads[stream_key(i)]) for i in chosen if stream_key(i) in heads]
        if category is not None:
            infos = [s for s in infos if s.category == category]
        return infos

    def read_all(self, query: FeedQuery) -> FeedPage:
        shards = self._batch_get([shard_key(s) for s in range(self.feed_shards)])
        horizon = max((num_attr(item, "last") for item in shards.values()), default=0)
        if horizon <= query.after:
            return FeedPage([], query.after)
        if self._fence(shards, horizon):
            # A commit below the horizon may have landed between the first read and the
            # fence, on a shard that had none before: read the shards' first positions again.
            shards = self._batch_get([shard_key(s) for s in range(self.feed_shards)])
        firsts = [num_attr(item, "first") for item in shards.values() if "first" in item]
        start = max(query.after - query.after % SLOTS, min(firsts, default=horizon))
        refs: list[tuple[int, str, int]] = []
        scanned = start
        budget = 10 * query.limit + 5000
        seen = 0
        done = False
        # An import into this store leaves a void below the positions appends draw from
        # the clock (store.py, _advance_shards): its empty partitions are not queried.
        voids = [(num_attr(i, "void_from"), num_attr(i, "void")) for i in shards.values()]
        void_from, void = max(voids, key=lambda v: v[1], default=(0, -1))
        for bucket in range(start // self.bucket_span, horizon // self.bucket_span + 1):
            if void_from <= bucket * self.bucket_span and (bucket + 1) * self.bucket_span <= void:
                continue
            commits = heapq.merge(
                *(self._feed_partition(s, bucket, start, horizon) for s in range(self.feed_shards)),
                key=lambda item: int(item["sk"]["N"]),
            )
            for commit in commits:
                base = int(commit["sk"]["N"])
                for i, ref in enumerate(commit["e"]["L"]):
                    pos = base + i
                    if pos <= query.after:
                        continue
                    scanned = pos
                    seen += 1
                    ref = ref["M"]
                    if query.categories and ref.get("c", {}).get("S") not in query.categories:
                        continue
                    if query.names and ref["n"]["S"] not in query.names:
                        continue
                    refs.append((pos, ref["s"]["S"], int(ref["o"]["N"])))
                    if len(refs) == query.limit:
                        done = True
                        break
                if done or seen >= budget:
                    done = True
                    break
            if done:
                break
        bodies = self._batch_get([("s#" + stream_id, ordinal) for _, stream_id, ordinal in refs])
        events = [event_of(bodies[("s#" + s, o)]) for _, s, o in refs if ("s#" + s, o) in bodies]
        if len(refs) == query.limit and len(events) < len(refs):
            # Scavenged events leave their refs in the feed items: fill the page up from
            # past them, so a full page still means "there may be more".
            more = self.read_all(replace(query, after=refs[-1][0], limit=len(refs) - len(events)))
            return FeedPage(events + list(more.events), more.next_after)
        if len(refs) == query.limit:
            next_after = refs[-1][0]
        elif done:
            next_after = scanned  # scan budget spent: continue after what was looked at
        else:
            next_after = horizon
        return FeedPage(events, next_after)

    def _fence(self, shards: dict[tuple[str, int], Item], horizon: int) -> bool:
        """Raise every feed shard's fence to ``horizon``: a commit drawing a position at or
        below it fails its condition afterwards, and every commit that got in first is
        visible to the strongly consistent reads that follow. Returns whether any fence moved."""
        from botocore.exceptions import ClientError

        moved = False
        for shard in range(self.feed_shards):
            item = shards.get(shard_key(shard))
            if item is not None and num_attr(item, "fence") >= horizon:
                continue
            try:
                self._call(
                    "update_item",
                    passthrough=frozenset({"ConditionalCheckFailedException"}),
                    TableName=self.table,
                    Key=item_key(f"shard#{shard}", 0),
                    UpdateExpression="SET #fence = :h",
                    ConditionExpression="attribute_not_exists(#fence) OR #fence < :h",
                    ExpressionAttributeNames={"#fence": "fence"},
                    ExpressionAttributeValues={":h": {"N": str(horizon)}},
                )
                moved = True
            except ClientError:
                pass  # another reader fenced at or above the horizon already
        return moved

    def _feed_partition(self, shard: int, bucket: int, start: int, horizon: int) -> Iterator[Item]:
        lo = max(start, bucket * self.bucket_span)
        hi = min(horizon, (bucket + 1) * self.bucket_span - 1)
        if lo > hi:
            return iter(())
        return self._query(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues={
                ":pk": {"S": f"f#{shard}#{bucket}"},
                ":lo": {"N": str(lo)},
                ":hi": {"N": str(hi)},
            },
            ConsistentRead=True,
            Limit=200,
        )

    def find_events(self, ids: Sequence[UUID]) -> dict[UUID, RecordedEvent]:
        claims = self._batch_get([(f"id#{i}", 0) for i in ids])
        keys = [("s#" + c["cs"]["S"], int(c["o"]["N"])) for c in claims.values()]
        return {e.id: e for e in map(event_of, self._batch_get(keys).values())}

    def find_event_streams(self, ids: Sequence[UUID]) -> dict[UUID, str]:
        claims = self._batch_get([(f"id#{i}", 0) for i in ids])
        return {UUID(pk[3:]): c["cs"]["S"] for (pk, _), c in claims.items()}

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if self._owns_client and close is not None:
            close()
