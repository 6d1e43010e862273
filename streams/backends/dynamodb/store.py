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

import random
import time
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from streams.backends.base import effective_kind, import_commits, refusal_error
from streams.backends.dynamodb.items import (
    CLOCK_UNIT,
    EPOCH,
    ITEM_OVERHEAD_BYTES,
    MAX_ITEM_BYTES,
    MAX_TRANSACT_BYTES,
    MAX_TRANSACT_ITEMS,
    RETRYABLE_CANCEL,
    SLOTS,
    Item,
    item_key,
    num_attr,
    put_item,
    shard_key,
    str_attr,
    stream_key,
    time_key,
    time_text,
)
from streams.backends.dynamodb.lifecycle import DynamoDBLifecycle, head_guard
from streams.backends.dynamodb.tables import TableManagement
from streams.exceptions import (
    IdConflict,
    TooLarge,
    Unavailable,
    ValidationError,
    VersionConflict,
)
from streams.records import (
    NEUTRAL,
    AppendResult,
    CommitResult,
    ImportedEvent,
    ImportedStream,
    PreparedAppend,
    RecordedEvent,
)

if TYPE_CHECKING:
    pass


class DynamoDBEventStore(DynamoDBLifecycle, TableManagement):
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

    # -- append -------------------------------------------------------------------------------

    def append(self, appends: Sequence[PreparedAppend]) -> CommitResult:
        from botocore.exceptions import ClientError

        self._check_capacity(appends)
        shard = zlib.crc32(appends[0].stream_id.encode()) % self.feed_shards
        delay = self.backoff_seconds
        reasons: list[str | None] = []
        last_refused: int | None = None  # the stream to name when conflicts never end
        for _attempt in range(self.conflict_attempts):
            keys = [stream_key(a.stream_id) for a in appends] + [shard_key(shard)]
            items = self._batch_get(keys)
            heads = [items.get(stream_key(a.stream_id)) for a in appends]
            for a, head in zip(appends, heads, strict=True):
                if head is None:
                    error = refusal_error(a, None, None, 0)
                else:
                    error = refusal_error(
                        a,
                        str_attr(head, "kind"),
                        str_attr(head, "category"),
                        num_attr(head, "version"),
                        str_attr(head, "del"),
                    )
                if error is not None:
                    duplicate = self.resolve_resend(appends)
                    if duplicate is not None:
                        return duplicate
                    raise error
            now = datetime.now(UTC)
            position = self._next_position(shard, items.get(shard_key(shard)), heads, now)
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
        current = self.head(a.stream_id)
        version = (current.version or 0) if current else 0
        raise VersionConflict(a.stream_id, a.expected_version, version)

    # -- import -------------------------------------------------------------------------------

    import_keeps = frozenset({"positions", "recorded_at"})
    # Parallel transactions of an import: DynamoDB Local gains little past a few on two
    # CPUs; DynamoDB itself serves each request on its own.
    import_workers = 4

    def import_events(
        self,
        streams: Mapping[str, ImportedStream],
        events: Sequence[ImportedEvent],
        *,
        keep_positions: bool = True,
    ) -> int:
        """Store a batch of an import into an empty store (a merge takes the append path).

        One transaction per source commit cost 40-80 ms on DynamoDB Local, so a batch is
        written in three steps of large transactions (up to 100 puts, some in parallel):
        the bodies (events, id claims, feed items), then each stream's head, then the feed
        shards' counters (one transaction). A transaction of 100 puts costs about 0.6 ms a
        put there, a lone put 3 ms; BatchWriteItem (0.5 ms) could not be conditioned.

        An import goes into an empty store (transfer.import_store checks it before the
        first batch) that nothing else writes to (the docs ask so). What is still needed,
        and kept:

        * a reader never sees half a batch: heads and shard counters, which make events
          reachable (stream reads and the all-feed's horizon), move only after every body of
          the batch is stored, and the shards of a batch move in one transaction;
        * nothing stored is replaced: every put is conditioned as an append's (a body on
          not existing, a head on being as the batch read it), so an id stored already is an
          IdConflict and a writer racing the import makes it fail (Unavailable), never lose
          its events. Transactions of a batch that got in before such a failure leave
          bodies no head or counter points to: start such an import again on new tables.
        * order: positions rise through the export (checked by its reader) and each batch's
          counters are conditioned on being below it, as an append's are."""
        if not keep_positions:
            return super().import_events(streams, events, keep_positions=False)
        commits = list(import_commits(streams, events, as_recorded=True))
        if not commits:
            return 0
        ids = [e.event.id for e in events]
        if len(set(ids)) < len(ids):
            twice = sorted({str(i) for i in ids if ids.count(i) > 1})
            raise IdConflict(twice, "the import holds these event ids twice")
        sids = list(dict.fromkeys(a.stream_id for appends, _ in commits for a in appends))
        found = self._batch_get([stream_key(sid) for sid in sids])
        before = {sid: found.get(stream_key(sid)) for sid in sids}
        heads: dict[str, Item | None] = dict(before)
        bodies: list[Item] = []
        refs: dict[int, Item] = {}  # position: the feed's ref of its event
        stored = 0
        for appends, first in commits:
            self._check_capacity(appends)
            current = [heads[a.stream_id] for a in appends]
            for a, head in zip(appends, current, strict=True):
                error = refusal_error(
                    a,
                    None if head is None else str_attr(head, "kind"),
                    None if head is None else str_attr(head, "category"),
                    0 if head is None else num_attr(head, "version"),
                )
                if error is not None:
                    raise error
            shard = zlib.crc32(appends[0].stream_id.encode()) % self.feed_shards
            items, _ = self._transaction(appends, current, shard, first.position, first.recorded_at)
            for item in items:
                if item["_kind"] in ("event", "claim"):
                    bodies.append(item)
                elif item["_kind"] == "feed":
                    for i, ref in enumerate(item["Put"]["Item"]["e"]["L"]):
                        refs[first.position + i] = ref
                elif item["_kind"] == "head":
                    sid = appends[item["_index"]].stream_id
                    heads[sid] = _head_after(heads[sid], item)
            stored += sum(len(a.events) for a in appends)
        feed, shards = self._imported_feed(refs)
        self._import_parallel(self._transact_puts, _transactions(bodies + feed))
        self._import_parallel(
            self._transact_puts,
            _transactions([_head_put(self.table, before[sid], heads[sid]) for sid in sids]),
        )
        self._advance_shards(shards)
        return stored

    def _imported_feed(
        self, refs: dict[int, Item]
    ) -> tuple[list[Item], dict[int, tuple[int, int]]]:
        """The feed items of a batch's refs, and each shard's first and last position.

        A reader starts at the block (SLOTS positions) of the position it reads after, so a
        feed item never crosses a block: one item per run of consecutive positions within a
        block (up to 64 refs, where an append's commit makes one per commit), on the shard
        the block belongs to as an append's would."""
        items: list[Item] = []
        shards: dict[int, tuple[int, int]] = {}
        run: list[int] = []
        for position in [*sorted(refs), 0]:
            if run and (position != run[-1] + 1 or position // SLOTS != run[0] // SLOTS):
                base = run[0]
                shard = (base // SLOTS) % self.feed_shards
                feed = {
                    "pk": {"S": f"f#{shard}#{base // self.bucket_span}"},
                    "sk": {"N": str(base)},
                    "e": {"L": [refs[p] for p in run]},
                }
                items.append(put_item(self.table, feed, "feed"))
                low, _high = shards.get(shard, (base, 0))
                shards[shard] = (min(low, base), run[-1])
                run = []
            run.append(position)
        return items, shards

    def _import_parallel(self, work: Callable[[Any], object], jobs: Sequence[Any]) -> None:
        """Run ``work`` on every job, ``import_workers`` at a time; the first error raises."""
        if len(jobs) <= 1:
            for job in jobs:
                work(job)
            return
        with ThreadPoolExecutor(max_workers=self.import_workers) as pool:
            for _ in pool.map(work, jobs):
                pass

    def _transact_puts(self, items: list[Item]) -> None:
        """One transaction of an import's conditional puts; IdConflict when an event id is
        stored already, Unavailable when anything else is (a writer raced the import)."""
        from botocore.exceptions import ClientError

        for _attempt in range(self.conflict_attempts):
            try:
                self._call(
                    "transact_write_items",
                    passthrough=frozenset({"TransactionCanceledException"}),
                    TransactItems=[
                        {k: v for k, v in item.items() if not k.startswith("_")} for item in items
                    ],
                    ClientRequestToken=str(uuid.uuid4()),
                )
                return
            except ClientError as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                failed = [
                    item
                    for code, item in zip(reasons, items, strict=False)
                    if code == "ConditionalCheckFailed"
                ]
                claims = [i["Put"]["Item"]["pk"]["S"][3:] for i in failed if i["_kind"] == "claim"]
                if claims:
                    raise IdConflict(claims, "an event id of the import is stored already") from exc
                if failed:
                    what = failed[0]["Put"]["Item"]["pk"]["S"]
                    raise Unavailable(
                        f"{what!r} was written during the import; import into a store "
                        "nothing else writes to (on new tables)"
                    ) from exc
                if not any(code in RETRYABLE_CANCEL for code in reasons):
                    raise Unavailable(
                        f"DynamoDB cancelled an import transaction ({reasons})"
                    ) from exc
                time.sleep(self.backoff_seconds * random.random())
        raise Unavailable("DynamoDB kept cancelling an import transaction; retry later")

    def _advance_shards(self, shards: dict[int, tuple[int, int]]) -> None:
        """Move the feed shards' counters past a batch, all in one transaction, each
        conditioned like an append's on its fence and last position being below the batch.

        Imported positions lie far below those appends draw from the clock, and a reader
        would query every empty feed partition between them (thousands: a minute on
        DynamoDB Local). So every shard also records the void from past the batch up to the
        clock's position now (``void_from``..``void``), and its fence rises to ``void`` so no
        append can land inside it later; readers skip it (reads.py). The next batch of the
        import passes a fence that equals the void it left."""
        from botocore.exceptions import ClientError

        low = min(first for first, _ in shards.values())
        void_from = max(last for _, last in shards.values()) + 1
        clock = ((datetime.now(UTC) - EPOCH) // CLOCK_UNIT) * self.feed_shards * SLOTS
        void = max(clock, void_from - 1)
        items = []
        for shard in range(self.feed_shards):
            first, last = shards.get(shard, (low, None))
            update = (
                "SET #fence = :void, #void = :void, #vf = :vf, #first = if_not_exists(#first, :p)"
            )
            values = {
                ":p": {"N": str(first)},
                ":void": {"N": str(void)},
                ":vf": {"N": str(void_from)},
            }
            if last is not None:
                update += ", #last = :last"
                values[":last"] = {"N": str(last)}
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": item_key(f"shard#{shard}", 0),
                        "UpdateExpression": update,
                        "ConditionExpression": "(attribute_not_exists(#fence) OR #fence < :p "
                        "OR #fence = #void) AND (attribute_not_exists(#last) OR #last < :p)",
                        "ExpressionAttributeNames": {
                            "#last": "last",
                            "#first": "first",
                            "#fence": "fence",
                            "#void": "void",
                            "#vf": "void_from",
                        },
                        "ExpressionAttributeValues": values,
                    }
                }
            )
        try:
            self._call(
                "transact_write_items",
                passthrough=frozenset({"TransactionCanceledException"}),
                TransactItems=items,
                ClientRequestToken=str(uuid.uuid4()),
            )
        except ClientError as exc:
            raise ValidationError(
                "position",
                f"{low} is not above the positions the store holds: import into an empty "
                "store, or merge",
            ) from exc

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
        self, shard: int, counter: Item | None, heads: list[Item | None], now: datetime
    ) -> int:
        """The first position of the commit: the first block of ``shard`` past the clock, the
        shard's last position and fence, and each stream's last position (so a stream's
        positions grow with it)."""
        floor = ((now - EPOCH) // CLOCK_UNIT) * self.feed_shards * SLOTS
        if counter is not None:
            floor = max(floor, num_attr(counter, "last") + 1, num_attr(counter, "fence") + 1)
        for head in heads:
            if head is not None:
                floor = max(floor, num_attr(head, "last_position") + 1)
        block = -(-floor // SLOTS)
        block += (shard - block) % self.feed_shards
        return block * SLOTS

    def _transaction(
        self,
        appends: Sequence[PreparedAppend],
        heads: list[Item | None],
        shard: int,
        position: int,
        now: datetime,
    ) -> tuple[list[Item], CommitResult]:
        recorded = time_text(now)
        items: list[Item] = []
        refs: list[Item] = []
        results: list[AppendResult] = []
        next_position = position
        for index, (a, head) in enumerate(zip(appends, heads, strict=True)):
            kind = str_attr(head, "kind") if head is not None else effective_kind(a)
            category = (str_attr(head, "category") if head is not None else None) or a.category
            version = num_attr(head, "version") if head is not None else 0
            count = num_attr(head, "event_count") if head is not None else 0
            n = len(a.events)
            recorded_events: list[RecordedEvent] = []
            for i, e in enumerate(a.events):
                pos = next_position
                next_position += 1
                ev_version = None if kind == NEUTRAL else version + i + 1
                ordinal = pos if ev_version is None else ev_version
                item: Item = {
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
                    item["ts"] = {"S": time_key(e.timestamp, ordinal)}
                items.append(put_item(self.table, item, "event"))
                claim = {
                    "pk": {"S": f"id#{e.id}"},
                    "sk": {"N": "0"},
                    "cs": {"S": a.stream_id},
                    "o": {"N": str(ordinal)},
                }
                items.append(put_item(self.table, claim, "claim"))
                ref: Item = {
                    "s": {"S": a.stream_id},
                    "o": {"N": str(ordinal)},
                    "n": {"S": e.name},
                }
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
                items.insert(0, {**put_item(self.table, item, "head"), "_index": index})
            else:
                update = "SET version = :v, event_count = :c, updated_at = :u, last_position = :lp"
                condition, values = head_guard(head)
                values.update(
                    {
                        ":v": {"N": str(new_version)},
                        ":c": {"N": str(count + n)},
                        ":u": {"S": recorded},
                        ":lp": {"N": str(last)},
                    }
                )
                if category and (str_attr(head, "category") is None or "del" in head):
                    update += ", category = :cat, cp = :cp"
                    values[":cat"] = {"S": category}
                    values[":cp"] = {"S": f"c#{category}#{listing}"}
                if "del" in head:
                    # Soft-deleted: this append starts it again, back in the listings.
                    update += ", lp = :lpk REMOVE del"
                    values[":lpk"] = {"S": f"l#{listing}"}
                items.insert(
                    0,
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": item_key("s#" + a.stream_id, 0),
                            "UpdateExpression": update,
                            "ConditionExpression": condition,
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
        items.append(put_item(self.table, feed, "feed"))
        items.append(
            {
                "Update": {
                    "TableName": self.table,
                    "Key": item_key(f"shard#{shard}", 0),
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


# An import's transactions stay well under DynamoDB's 4 MB (their sizes are estimated).
IMPORT_BYTES = 3_000_000


def _transactions(items: list[Item]) -> list[list[Item]]:
    """``items`` cut into transactions of at most MAX_TRANSACT_ITEMS items and, roughly
    counted, a little under MAX_TRANSACT_BYTES."""
    chunks: list[list[Item]] = []
    size = 0
    for item in items:
        body = item["Put"]["Item"]
        volume = sum(len(v.get("S", "")) for v in body.values()) + ITEM_OVERHEAD_BYTES
        if "e" in body:  # a feed item's refs
            volume += 200 * len(body["e"]["L"])
        if not chunks or len(chunks[-1]) >= MAX_TRANSACT_ITEMS or size + volume > IMPORT_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += volume
    return chunks


def _head_put(table: str, before: Item | None, after: Item | None) -> Item:
    """The conditional put of a stream's head as an import batch left it: the head must
    still be as the batch read it (absent, or with the same event count)."""
    assert after is not None
    put: dict[str, Any] = {"TableName": table, "Item": after}
    if before is None:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"], put["ExpressionAttributeValues"] = head_guard(before)
    return {"Put": put, "_kind": "head"}


# What an append's head update sets, by its value's name (the import applies them in memory).
_HEAD_FIELDS = {
    ":v": "version",
    ":c": "event_count",
    ":u": "updated_at",
    ":lp": "last_position",
    ":cat": "category",
    ":cp": "cp",
    ":lpk": "lp",
}


def _head_after(head: Item | None, item: Item) -> Item:
    """A stream's head after one commit of an import: the put of a new head, or the head
    with the commit's update applied."""
    if "Put" in item:
        return dict(item["Put"]["Item"])
    assert head is not None
    values = item["Update"]["ExpressionAttributeValues"]
    return {**head, **{field: values[v] for v, field in _HEAD_FIELDS.items() if v in values}}
