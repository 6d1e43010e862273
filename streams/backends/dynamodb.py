"""DynamoDBEventStore: the event store on Amazon DynamoDB (boto3), one table; see the README.

Every item lives in one table keyed by ``pk`` (string) and ``sk`` (number):

* ``s#<stream id>`` / 0: the stream's head ("version 0"): kind, category, version, counts.
* ``s#<stream id>`` / version (position on version-neutral streams): one event.
* ``id#<event id>`` / 0: the claim of an event id (store-wide uniqueness, idempotent re-sends).
* ``f#<shard>#<bucket>`` / position: one commit in the all-feed (refs of its events).
* ``shard#<n>`` / 0: a feed shard's position counter (``last``) and reader fence (``fence``).

A commit is one TransactWriteItems: each head conditioned on the event count it was read
at, every event and id claim conditioned on not existing, the feed item, and the feed shard
conditioned on ``fence < p`` and ``last < p``. A reader of the all-feed raises each shard's
fence to the horizon it reads up to, so no commit can later appear at or below it."""

from __future__ import annotations

import contextlib
import heapq
import json
import random
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from streams.backends.base import BaseEventStore, effective_kind, refusal_error
from streams.exceptions import TooLarge, Unavailable, ValidationError, VersionConflict
from streams.records import (
    NEUTRAL,
    AppendResult,
    CommitResult,
    FeedPage,
    FeedQuery,
    PreparedAppend,
    RecordedEvent,
    StreamInfo,
    StreamQuery,
)

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


class DynamoDBEventStore(BaseEventStore):
    """Event store on one DynamoDB table named ``<table_prefix>events``.

    OPTIONS: ``table_prefix``, ``endpoint_url`` (DynamoDB Local), ``region_name`` (default
    us-east-1), ``aws_access_key_id``/``aws_secret_access_key`` (dummy values are used for a
    local endpoint when none are given), ``feed_shards`` (feed counters, default 8; fixed
    once data exists), ``listing_shards`` (stream-listing index partitions, default 4; fixed
    once data exists), ``max_attempts`` (throttling/unavailable retries, default 5),
    ``backoff_seconds`` (first pause, doubled each retry, default 0.05), ``conflict_attempts``
    (commit retries after a racing write, default 20), ``client`` (a ready boto3 client),
    ``capacity_meter`` (off by default: a callable ``(operation, capacity_units)`` called
    once per DynamoDB request, which then asks for ReturnConsumedCapacity=TOTAL; units are 0
    for a request that failed, whose cost DynamoDB does not report; for benchmarks)."""

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
            client = _make_client(
                endpoint_url, region_name, aws_access_key_id, aws_secret_access_key
            )
        self.client = client

    # -- driver calls and error translation ---------------------------------------------------

    def _call(self, operation: str, passthrough: frozenset[str] = frozenset(), **kwargs):
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
                    meter(operation, _capacity_units(answer))
                return answer
            except ClientError as exc:
                if meter is not None:
                    meter(operation, 0.0)
                code = _code(exc)
                if code in passthrough:
                    raise
                if code not in RETRYABLE:
                    raise _translate(exc, self.table) from exc
                last = exc
            except BotoCoreError as exc:  # connection refused, timeouts, bad endpoint
                if meter is not None:
                    meter(operation, 0.0)
                last = exc
            if attempt < self.max_attempts - 1:
                time.sleep(delay * (0.5 + random.random()))
                delay *= 2
        raise Unavailable(
            f"DynamoDB is throttling or unavailable ({_describe(last)}) after "
            f"{self.max_attempts} attempts; retry later"
        ) from last

    def _batch_get(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], dict]:
        """Strongly consistent BatchGetItem of ``keys``, in chunks, following unprocessed keys."""
        found: dict[tuple[str, int], dict] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 100):
            request = {
                self.table: {
                    "Keys": [_key(pk, sk) for pk, sk in unique[start : start + 100]],
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

    def _query(self, **kwargs) -> Iterator[dict]:
        """Yield the items of a Query, page after page."""
        while True:
            answer = self._call("query", TableName=self.table, **kwargs)
            yield from answer.get("Items", [])
            last = answer.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    # -- append -------------------------------------------------------------------------------

    def append(self, appends: Sequence[PreparedAppend]) -> CommitResult:
        from botocore.exceptions import ClientError

        self._check_capacity(appends)
        shard = zlib.crc32(appends[0].stream_id.encode()) % self.feed_shards
        delay = self.backoff_seconds
        reasons: list[str | None] = []
        last_refused: int | None = None  # the stream to name when conflicts never end
        for _attempt in range(self.conflict_attempts):
            keys = [_stream_key(a.stream_id) for a in appends] + [_shard_key(shard)]
            items = self._batch_get(keys)
            heads = [items.get(_stream_key(a.stream_id)) for a in appends]
            for a, head in zip(appends, heads, strict=True):
                if head is None:
                    error = refusal_error(a, None, None, 0)
                else:
                    error = refusal_error(
                        a, _s(head, "kind"), _s(head, "category"), _n(head, "version")
                    )
                if error is not None:
                    duplicate = self.resolve_resend(appends)
                    if duplicate is not None:
                        return duplicate
                    raise error
            now = datetime.now(UTC)
            position = self._next_position(shard, items.get(_shard_key(shard)), heads, now)
            transaction, result = self._transaction(appends, heads, shard, position, now)
            try:
                self._call(
                    "transact_write_items",
                    passthrough=frozenset({"TransactionCanceledException"}),
                    TransactItems=[
                        {k: v for k, v in item.items() if not k.startswith("_")}
                        for item in transaction
                    ],
                    ClientRequestToken=str(uuid.uuid4()),
                )
                return result
            except ClientError as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if "ValidationError" in reasons:
                    raise ValidationError(
                        "events", "DynamoDB refused the commit as invalid (item or key too large)"
                    ) from exc
                failed = [
                    item
                    for code, item in zip(reasons, transaction, strict=False)
                    if code == "ConditionalCheckFailed"
                ]
                claims_failed = any(item["_kind"] == "claim" for item in failed)
                refused = [item["_index"] for item in failed if item["_kind"] == "head"]
                if refused:
                    last_refused = refused[0]
                if claims_failed:
                    duplicate = self.resolve_resend(appends)
                    if duplicate is not None:
                        return duplicate
                # A head or the shard moved, or a racing transaction touched an item: read
                # the heads again; their check either names the conflict or passes now.
                if refused and all(isinstance(appends[i].expected_version, int) for i in refused):
                    continue  # the next read of the heads names the conflict: no pause
                # Jittered backoff, so racing writers do not collide again in lockstep.
                time.sleep(delay * random.random())
                delay = min(delay * 2, 0.5)
        if any(code in RETRYABLE_CANCEL - {"TransactionConflict"} for code in reasons):
            raise Unavailable(
                f"DynamoDB kept throttling the commit ({self.conflict_attempts} attempts); "
                "retry later"
            )
        if last_refused is None or not isinstance(appends[last_refused].expected_version, int):
            # "any" and "exists" never conflict: these attempts lost races with other
            # writers, and a later try may pass.
            raise Unavailable(
                f"the commit kept racing other writers ({self.conflict_attempts} attempts); "
                "retry later"
            )
        a = appends[last_refused]
        head = self.head(a.stream_id)
        raise VersionConflict(a.stream_id, a.expected_version, (head.version or 0) if head else 0)

    def _check_capacity(self, appends: Sequence[PreparedAppend]) -> None:
        events = sum(len(a.events) for a in appends)
        needed = 2 * events + len(appends) + 2
        if needed > MAX_TRANSACT_ITEMS:
            most = (MAX_TRANSACT_ITEMS - 2 - len(appends)) // 2
            raise ValidationError(
                "events",
                f"a DynamoDB commit is one transaction of at most {MAX_TRANSACT_ITEMS} items "
                f"(2 per event, 1 per stream, 2 per commit): {events} events on "
                f"{len(appends)} stream(s) need {needed}; send at most {most} events at once",
                max_events=most,
            )
        total = 0
        for k, a in enumerate(appends):
            base = f"streams[{k}]." if len(appends) > 1 else ""
            for i, e in enumerate(a.events):
                size = (
                    len(e.payload_json.encode())
                    + len(e.metadata_json.encode())
                    + len(a.stream_id.encode())
                    + ITEM_OVERHEAD_BYTES
                )
                total += size
                if size > MAX_ITEM_BYTES:
                    raise TooLarge(
                        f"{base}events[{i}].payload",
                        len(e.payload_json.encode()),
                        MAX_ITEM_BYTES - ITEM_OVERHEAD_BYTES - len(e.metadata_json.encode()),
                    )

        if total > MAX_TRANSACT_BYTES:
            # DynamoDB refuses a transaction over 4 MB as a whole.
            raise TooLarge("events", total, MAX_TRANSACT_BYTES)

    def _next_position(
        self, shard: int, counter: dict | None, heads: list[dict | None], now: datetime
    ) -> int:
        """The first position of the commit: the first block of ``shard`` past the clock, the
        shard's last position and fence, and each stream's last position (so a stream's
        positions grow with it)."""
        floor = ((now - EPOCH) // CLOCK_UNIT) * self.feed_shards * SLOTS
        if counter is not None:
            floor = max(floor, _n(counter, "last") + 1, _n(counter, "fence") + 1)
        for head in heads:
            if head is not None:
                floor = max(floor, _n(head, "last_position") + 1)
        block = -(-floor // SLOTS)
        block += (shard - block) % self.feed_shards
        return block * SLOTS

    def _transaction(
        self,
        appends: Sequence[PreparedAppend],
        heads: list[dict | None],
        shard: int,
        position: int,
        now: datetime,
    ) -> tuple[list[dict], CommitResult]:
        recorded = _time_text(now)
        items: list[dict] = []
        refs: list[dict] = []
        results: list[AppendResult] = []
        next_position = position
        for index, (a, head) in enumerate(zip(appends, heads, strict=True)):
            kind = _s(head, "kind") if head is not None else effective_kind(a)
            category = (_s(head, "category") if head is not None else None) or a.category
            version = _n(head, "version") if head is not None else 0
            count = _n(head, "event_count") if head is not None else 0
            n = len(a.events)
            recorded_events = []
            for i, e in enumerate(a.events):
                pos = next_position
                next_position += 1
                ev_version = None if kind == NEUTRAL else version + i + 1
                ordinal = pos if ev_version is None else ev_version
                item = {
                    "pk": {"S": "s#" + a.stream_id},
                    "sk": {"N": str(ordinal)},
                    "id": {"S": str(e.id)},
                    "n": {"S": e.name},
                    "p": {"S": e.payload_json},
                    "m": {"S": e.metadata_json},
                    "pos": {"N": str(pos)},
                    "ra": {"S": recorded},
                }
                if ev_version is not None:
                    item["v"] = {"N": str(ev_version)}
                if e.timestamp is not None:
                    item["ts"] = {"S": _time_key(e.timestamp, ordinal)}
                items.append(_put(self.table, item, "event"))
                claim = {
                    "pk": {"S": f"id#{e.id}"},
                    "sk": {"N": "0"},
                    "cs": {"S": a.stream_id},
                    "o": {"N": str(ordinal)},
                }
                items.append(_put(self.table, claim, "claim"))
                ref = {"s": {"S": a.stream_id}, "o": {"N": str(ordinal)}, "n": {"S": e.name}}
                if category:
                    ref["c"] = {"S": category}
                refs.append({"M": ref})
                recorded_events.append(e.recorded(a.stream_id, ev_version, pos, now))
            last = next_position - 1
            new_version = 0 if kind == NEUTRAL else version + n
            listing = zlib.crc32(a.stream_id.encode()) % self.listing_shards
            if head is None:
                item = {
                    "pk": {"S": "s#" + a.stream_id},
                    "sk": {"N": "0"},
                    "sid": {"S": a.stream_id},
                    "lp": {"S": f"l#{listing}"},
                    "kind": {"S": kind},
                    "version": {"N": str(new_version)},
                    "event_count": {"N": str(n)},
                    "created_at": {"S": recorded},
                    "updated_at": {"S": recorded},
                    "last_position": {"N": str(last)},
                    "metadata": {"S": "{}"},
                }
                if category:
                    item["category"] = {"S": category}
                    item["cp"] = {"S": f"c#{category}#{listing}"}
                items.insert(0, {**_put(self.table, item, "head"), "_index": index})
            else:
                update = "SET version = :v, event_count = :c, updated_at = :u, last_position = :lp"
                values = {
                    ":v": {"N": str(new_version)},
                    ":c": {"N": str(count + n)},
                    ":u": {"S": recorded},
                    ":lp": {"N": str(last)},
                    ":old": {"N": str(count)},
                }
                if category and _s(head, "category") is None:
                    update += ", category = :cat, cp = :cp"
                    values[":cat"] = {"S": category}
                    values[":cp"] = {"S": f"c#{category}#{listing}"}
                items.insert(
                    0,
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": _key("s#" + a.stream_id, 0),
                            "UpdateExpression": update,
                            "ConditionExpression": "event_count = :old",
                            "ExpressionAttributeValues": values,
                        },
                        "_kind": "head",
                        "_index": index,
                    },
                )
            results.append(
                AppendResult(
                    a.stream_id,
                    None if kind == NEUTRAL else new_version,
                    tuple(recorded_events),
                    category=category,
                )
            )
        feed = {
            "pk": {"S": f"f#{shard}#{position // self.bucket_span}"},
            "sk": {"N": str(position)},
            "e": {"L": refs},
        }
        items.append(_put(self.table, feed, "feed"))
        items.append(
            {
                "Update": {
                    "TableName": self.table,
                    "Key": _key(f"shard#{shard}", 0),
                    "UpdateExpression": "SET #last = :last, #first = if_not_exists(#first, :p)",
                    "ConditionExpression": "(attribute_not_exists(#fence) OR #fence < :p) AND "
                    "(attribute_not_exists(#last) OR #last < :p)",
                    "ExpressionAttributeNames": {
                        "#last": "last",
                        "#first": "first",
                        "#fence": "fence",
                    },
                    "ExpressionAttributeValues": {
                        ":last": {"N": str(next_position - 1)},
                        ":p": {"N": str(position)},
                    },
                },
                "_kind": "shard",
            }
        )
        return items, CommitResult(tuple(results))

    # -- reads --------------------------------------------------------------------------------

    def read(self, query: StreamQuery) -> list[RecordedEvent]:
        pk = {"S": "s#" + query.stream_id}
        versions = query.from_version is not None or query.to_version is not None
        if versions:
            head = self._get(_stream_key(query.stream_id))
            if head is None or _s(head, "kind") == NEUTRAL:
                return []  # version-neutral events have no version to select on
        forward = not query.backwards
        if query.by_time:
            lo = _time_text(query.since) if query.since is not None else " "
            hi = _time_text(query.until) + "$" if query.until is not None else "~"
            if query.after is not None:
                when = datetime.fromisoformat(query.after[0])
                ordinal = int(query.after[1])
                if forward:
                    lo = max(lo, _time_key(when, ordinal + 1))
                else:
                    if ordinal == 0:
                        return []
                    hi = min(hi, _time_key(when, ordinal - 1))
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
            lo = max(1, query.from_version or 1)
            hi = min(2**63 - 1, query.to_version or 2**63 - 1)
            if query.after is not None:
                if forward:
                    lo = max(lo, int(query.after[0]) + 1)
                else:
                    hi = min(hi, int(query.after[0]) - 1)
            if lo > hi:
                return []
            pages = self._query(
                KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
                ExpressionAttributeValues={
                    ":pk": pk,
                    ":lo": {"N": str(lo)},
                    ":hi": {"N": str(hi)},
                },
                ScanIndexForward=forward,
                ConsistentRead=True,
                Limit=min(query.limit, 1000),
            )
        events: list[RecordedEvent] = []
        for item in pages:
            event = _event(item)
            if query.by_time and versions:
                if query.from_version is not None and event.version < query.from_version:
                    continue
                if query.to_version is not None and event.version > query.to_version:
                    continue
            events.append(event)
            if len(events) == query.limit:
                break
        return events

    def _get(self, key: tuple[str, int]) -> dict | None:
        answer = self._call("get_item", TableName=self.table, Key=_key(*key), ConsistentRead=True)
        return answer.get("Item")

    def head(self, stream_id: str) -> StreamInfo | None:
        item = self._get(_stream_key(stream_id))
        return None if item is None else _stream(item)

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
        heads = self._batch_get([_stream_key(i) for i in chosen])
        infos = [_stream(heads[_stream_key(i)]) for i in chosen if _stream_key(i) in heads]
        if category is not None:
            infos = [s for s in infos if s.category == category]
        return infos

    def read_all(self, query: FeedQuery) -> FeedPage:
        shards = self._batch_get([_shard_key(s) for s in range(self.feed_shards)])
        horizon = max((_n(item, "last") for item in shards.values()), default=0)
        if horizon <= query.after:
            return FeedPage([], query.after)
        if self._fence(shards, horizon):
            # A commit below the horizon may have landed between the first read and the
            # fence, on a shard that had none before: read the shards' first positions again.
            shards = self._batch_get([_shard_key(s) for s in range(self.feed_shards)])
        firsts = [_n(item, "first") for item in shards.values() if "first" in item]
        start = max(query.after - query.after % SLOTS, min(firsts, default=horizon))
        refs: list[tuple[int, str, int]] = []
        scanned = start
        budget = 10 * query.limit + 5000
        seen = 0
        done = False
        for bucket in range(start // self.bucket_span, horizon // self.bucket_span + 1):
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
        events = [_event(bodies[("s#" + s, o)]) for _, s, o in refs if ("s#" + s, o) in bodies]
        if len(refs) == query.limit:
            next_after = refs[-1][0]
        elif done:
            next_after = scanned  # scan budget spent: continue after what was looked at
        else:
            next_after = horizon
        return FeedPage(events, next_after)

    def _fence(self, shards: dict[tuple[str, int], dict], horizon: int) -> bool:
        """Raise every feed shard's fence to ``horizon``: a commit drawing a position at or
        below it fails its condition afterwards, and every commit that got in first is
        visible to the strongly consistent reads that follow. Returns whether any fence moved."""
        from botocore.exceptions import ClientError

        moved = False
        for shard in range(self.feed_shards):
            item = shards.get(_shard_key(shard))
            if item is not None and _n(item, "fence") >= horizon:
                continue
            try:
                self._call(
                    "update_item",
                    passthrough=frozenset({"ConditionalCheckFailedException"}),
                    TableName=self.table,
                    Key=_key(f"shard#{shard}", 0),
                    UpdateExpression="SET #fence = :h",
                    ConditionExpression="attribute_not_exists(#fence) OR #fence < :h",
                    ExpressionAttributeNames={"#fence": "fence"},
                    ExpressionAttributeValues={":h": {"N": str(horizon)}},
                )
                moved = True
            except ClientError:
                pass  # another reader fenced at or above the horizon already
        return moved

    def _feed_partition(self, shard: int, bucket: int, start: int, horizon: int) -> Iterator[dict]:
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
        return {e.id: e for e in map(_event, self._batch_get(keys).values())}

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if self._owns_client and close is not None:
            close()

    # -- table management (manage.py flipbook_dynamodb) ------------------------------------------

    def create_tables(self, *, wait: bool = True) -> list[str]:
        """Create the table (on-demand capacity) unless it exists; return the names created."""
        from botocore.exceptions import ClientError

        keys_only = {"ProjectionType": "KEYS_ONLY"}
        try:
            self._call(
                "create_table",
                passthrough=frozenset({"ResourceInUseException"}),
                TableName=self.table,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "N"},
                    {"AttributeName": "ts", "AttributeType": "S"},
                    {"AttributeName": "lp", "AttributeType": "S"},
                    {"AttributeName": "cp", "AttributeType": "S"},
                    {"AttributeName": "sid", "AttributeType": "S"},
                ],
                KeySchema=[
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                LocalSecondaryIndexes=[
                    {
                        "IndexName": TIME_INDEX,
                        "KeySchema": [
                            {"AttributeName": "pk", "KeyType": "HASH"},
                            {"AttributeName": "ts", "KeyType": "RANGE"},
                        ],
                        "Projection": keys_only,
                    }
                ],
                GlobalSecondaryIndexes=[
                    {
                        "IndexName": ID_INDEX,
                        "KeySchema": [
                            {"AttributeName": "lp", "KeyType": "HASH"},
                            {"AttributeName": "sid", "KeyType": "RANGE"},
                        ],
                        "Projection": keys_only,
                    },
                    {
                        "IndexName": CATEGORY_INDEX,
                        "KeySchema": [
                            {"AttributeName": "cp", "KeyType": "HASH"},
                            {"AttributeName": "sid", "KeyType": "RANGE"},
                        ],
                        "Projection": keys_only,
                    },
                ],
            )
        except ClientError:
            return []  # ResourceInUseException: it exists already
        if wait:
            from botocore.exceptions import WaiterError

            try:
                self.client.get_waiter("table_exists").wait(
                    TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
                )
            except WaiterError as exc:
                raise Unavailable(f"the table {self.table!r} did not become ACTIVE") from exc
        return [self.table]

    def describe_tables(self) -> list[dict[str, Any]]:
        """Return name, status, billing mode, item count and indexes of each table."""
        from botocore.exceptions import ClientError

        try:
            table = self._call(
                "describe_table",
                passthrough=frozenset({"ResourceNotFoundException"}),
                TableName=self.table,
            )["Table"]
        except ClientError:
            return [{"name": self.table, "status": "MISSING"}]
        return [
            {
                "name": table["TableName"],
                "status": table["TableStatus"],
                "billing_mode": table.get("BillingModeSummary", {}).get(
                    "BillingMode", "PROVISIONED"
                ),
                "item_count": table.get("ItemCount", 0),
                "size_bytes": table.get("TableSizeBytes", 0),
                "indexes": [i["IndexName"] for i in table.get("LocalSecondaryIndexes", [])]
                + [i["IndexName"] for i in table.get("GlobalSecondaryIndexes", [])],
            }
        ]

    def delete_tables(self) -> None:
        """Delete the table (tests)."""
        from botocore.exceptions import ClientError

        with contextlib.suppress(ClientError):  # ResourceNotFoundException: gone already
            self._call(
                "delete_table",
                passthrough=frozenset({"ResourceNotFoundException"}),
                TableName=self.table,
            )


# -- helpers ------------------------------------------------------------------------------------


def _make_client(endpoint_url, region_name, access_key, secret_key):
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


def _capacity_units(answer: dict) -> float:
    """The capacity units of a response's ConsumedCapacity (one entry, or one per table)."""
    consumed = answer.get("ConsumedCapacity") or []
    if isinstance(consumed, dict):
        consumed = [consumed]
    return float(sum(c.get("CapacityUnits", 0.0) for c in consumed))


def _code(exc) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _describe(exc: Exception | None) -> str:
    if exc is None:
        return "no answer"
    response = getattr(exc, "response", None)
    if response is not None:
        return _code(exc) or type(exc).__name__
    return type(exc).__name__


def _translate(exc, table: str) -> Exception:
    """The Flipbook error for a DynamoDB ClientError that is not worth retrying."""
    code = _code(exc)
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


def _key(pk: str, sk: int) -> dict:
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}}


def _stream_key(stream_id: str) -> tuple[str, int]:
    return ("s#" + stream_id, 0)


def _shard_key(shard: int) -> tuple[str, int]:
    return (f"shard#{shard}", 0)


def _put(table: str, item: dict, kind: str) -> dict:
    return {
        "Put": {
            "TableName": table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
        },
        "_kind": kind,
    }


def _s(item: dict, name: str) -> str | None:
    value = item.get(name)
    return None if value is None else value["S"]


def _n(item: dict, name: str) -> int:
    value = item.get(name)
    return 0 if value is None else int(value["N"])


def _time_text(value: datetime) -> str:
    """UTC, fixed width, microseconds: text order is time order (years 1 to 9999)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def _time_key(value: datetime, ordinal: int) -> str:
    return f"{_time_text(value)}#{ordinal:020d}"


def _event(item: dict) -> RecordedEvent:
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


def _stream(item: dict) -> StreamInfo:
    kind = item["kind"]["S"]
    return StreamInfo(
        stream_id=item["sid"]["S"],
        kind=kind,
        category=_s(item, "category"),
        version=None if kind == NEUTRAL else _n(item, "version"),
        event_count=_n(item, "event_count"),
        first_recorded_at=datetime.fromisoformat(item["created_at"]["S"]).replace(tzinfo=UTC),
        last_recorded_at=datetime.fromisoformat(item["updated_at"]["S"]).replace(tzinfo=UTC),
        last_position=_n(item, "last_position"),
        metadata=json.loads(_s(item, "metadata") or "{}"),
    )
