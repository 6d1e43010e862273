"""Load realistic demo data through the store service (once; re-running changes nothing)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand

from snapshots import policy
from snapshots.demo_reducers import WALLET_RULES
from snapshots.models import Category
from streams import services
from streams.exceptions import NotFound

NAMESPACE = uuid.UUID("6f1d0b8e-2f55-4c1e-9a43-5d4b0c1f7a10")
ALICE = "cfd7cdf3-9f96-4932-9587-9566c16403ab"
BOB = "some.nickname"
DOCUMENT = "/unique/path/to/file"
LOG = "ops/audit-log"
MARKER = ALICE


def _id(*parts: object) -> str:
    # Deterministic ids make the demo idempotent: a re-send is recognised as a duplicate.
    return str(uuid.uuid5(NAMESPACE, "/".join(map(str, parts))))


def _event(key: str, name: str, payload: object, when: datetime | None, **metadata) -> dict:
    return {
        "id": _id(key, name),
        "name": name,
        "payload": payload,
        "timestamp": when.isoformat() if when else None,
        "metadata": {"actor": "demo", **metadata},
    }


class Command(BaseCommand):
    help = "Load the demo data set (wallets, orders, a document, an audit log) once."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the demo wallet exists already (used by `make run`).",
        )

    def handle(self, *args, if_empty: bool = False, **options) -> None:
        if if_empty:
            try:
                services.stream_head(MARKER)
            except NotFound:
                pass
            else:
                self.stdout.write("Demo data already loaded.")
                return
        self._categories()
        start = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
        day = timedelta(days=1)
        steps = [
            *self._wallets(start, day),
            *self._orders(start, day),
            *self._document(start, day),
            *self._log(),
        ]
        for i, (label, action) in enumerate(steps, start=1):
            action()
            self.stdout.write(f"[{i}/{len(steps)}] {label}")
        # Snapshots are made after each commit by a background thread: let it finish.
        policy.wait_idle(timeout=30)
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {len(steps)} commits."))

    def _categories(self) -> None:
        # The wallet category reduces with declarative rules (the same logic as the Python
        # reducer snapshots.demo_reducers.wallet) and keeps a snapshot every 3 events.
        # get_or_create: what an admin changed since is kept.
        _, created = Category.objects.get_or_create(
            name="wallet",
            defaults={"reducer": "declarative", "rules": WALLET_RULES, "snapshot_every": 3},
        )
        if created:
            self.stdout.write("Category wallet: declarative reducer, a snapshot every 3 events")

    def _wallets(self, start: datetime, day: timedelta):
        def open_wallet(stream_id: str, owner: str, when: datetime):
            return lambda: services.append_to_stream(
                stream_id,
                [_event(stream_id, "Opened", {"owner": owner, "currency": "EUR"}, when)],
                expected_version=0,
                category="wallet",
            )

        def move(stream_id: str, key: str, name: str, amount: int, when, expected: int):
            return lambda: services.append_to_stream(
                stream_id,
                [_event(f"{stream_id}/{key}", name, {"amount": amount}, when)],
                expected_version=expected,
            )

        def transfer(key: str, source: str, target: str, amount: int, when, versions):
            correlation = _id("transfer", key)
            return lambda: services.commit(
                [
                    {
                        "stream_id": source,
                        "expected_version": versions[0],
                        "events": [
                            _event(
                                f"{source}/{key}",
                                "TransferSent",
                                {"amount": amount, "to": target},
                                when,
                                correlation_id=correlation,
                            )
                        ],
                    },
                    {
                        "stream_id": target,
                        "expected_version": versions[1],
                        "events": [
                            _event(
                                f"{target}/{key}",
                                "TransferReceived",
                                {"amount": amount, "from": source},
                                when,
                                correlation_id=correlation,
                            )
                        ],
                    },
                ]
            )

        return [
            ("Alice opens a wallet", open_wallet(ALICE, "alice", start)),
            ("Alice deposits 100", move(ALICE, "d1", "Deposited", 100, start + day, 1)),
            ("Alice withdraws 30", move(ALICE, "w1", "Withdrawn", 30, start + 2 * day, 2)),
            ("Bob opens a wallet", open_wallet(BOB, "bob", start + day)),
            ("Bob deposits 250", move(BOB, "d1", "Deposited", 250, start + 3 * day, 1)),
            (
                "Bob sends Alice 40",
                transfer("t1", BOB, ALICE, 40, start + 4 * day, (2, 3)),
            ),
            ("Alice deposits 15", move(ALICE, "d2", "Deposited", 15, start + 5 * day, 4)),
            (
                "Alice sends Bob 20",
                transfer("t2", ALICE, BOB, 20, start + 6 * day, (5, 3)),
            ),
            # A standing order that will happen: natural time in the future.
            (
                "Alice schedules a payment",
                move(ALICE, "w2", "Withdrawn", 10, datetime(2031, 1, 1, tzinfo=UTC), 6),
            ),
        ]

    def _orders(self, start: datetime, day: timedelta):
        steps = []
        for n in range(1, 6):
            order = f"order-{1000 + n}"
            payment = f"payment-{1000 + n}"
            shipment = f"shipment-{1000 + n}"
            when = start + n * day
            lines: list[dict[str, Any]] = [
                {"sku": f"SKU-{n}{k}", "qty": k, "price": 5 * k + n} for k in (1, 2)
            ]
            total = sum(line["qty"] * line["price"] for line in lines)

            def place(order=order, when=when, lines=lines, n=n):
                services.append_to_stream(
                    order,
                    [
                        _event(order, "Placed", {"customer": f"customer-{n}"}, when),
                        *[
                            _event(order, f"LineAdded-{i}", line, when + timedelta(minutes=i))
                            for i, line in enumerate(lines)
                        ],
                    ],
                    expected_version=0,
                    category="order",
                )

            def pay(order=order, payment=payment, when=when, total=total):
                services.commit(
                    [
                        {
                            "stream_id": order,
                            "expected_version": 3,
                            "events": [_event(order, "Paid", {"amount": total}, when + day)],
                        },
                        {
                            "stream_id": payment,
                            "expected_version": 0,
                            "category": "payment",
                            "events": [
                                _event(
                                    payment,
                                    "Captured",
                                    {"order": order, "amount": total},
                                    when + day,
                                )
                            ],
                        },
                    ]
                )

            def ship(order=order, shipment=shipment, when=when, n=n):
                services.append_to_stream(
                    shipment,
                    [
                        _event(shipment, "Packed", {"order": order}, when + 2 * day),
                        # Delivery is scheduled in the future for the latest orders.
                        _event(
                            shipment,
                            "DeliveryScheduled",
                            {"carrier": "postal"},
                            datetime(2030, 6, n, tzinfo=UTC) if n > 3 else when + 3 * day,
                        ),
                    ],
                    expected_version=0,
                    category="shipment",
                )

            steps += [(f"{order} placed", place), (f"{order} paid", pay)]
            if n <= 4:
                steps.append((f"{order} shipped", ship))
        return steps

    def _document(self, start: datetime, day: timedelta):
        stream = DOCUMENT
        revisions = [
            ("Created", {"title": "Quarterly report", "body": "Draft"}),
            ("Edited", {"body": "Numbers for Q1"}),
            ("Renamed", {"title": "Q1 report"}),
            ("Tagged", {"tags": ["finance", "2024"]}),
        ]
        return [
            (
                f"document {name.lower()}",
                lambda name=name, payload=payload, i=i: services.append_to_stream(
                    stream,
                    [_event(stream, name, payload, start + i * day)],
                    expected_version=i,
                    category="document",
                ),
            )
            for i, (name, payload) in enumerate(revisions)
        ] + [
            # A late correction: it happened between the edit and the rename, but reached the
            # store last, so "as of" (natural time) and "as known at" (store time) differ.
            (
                "document corrected late",
                lambda: services.append_to_stream(
                    stream,
                    [
                        _event(
                            stream,
                            "Corrected",
                            {"body": "Numbers for Q1, audited"},
                            start + day + timedelta(hours=12),
                            late=True,
                        )
                    ],
                    expected_version=len(revisions),
                ),
            )
        ]

    def _log(self):
        # A version-neutral append-only log whose entries are time-neutral.
        entries = [
            ("ServiceStarted", {"service": "ledger"}),
            ("ConfigChanged", {"key": "fees.enabled", "value": True}),
            ("BackupTaken", {"bytes": 1048576}),
        ]
        return [
            (
                f"log {name}",
                lambda name=name, payload=payload: services.append_to_stream(
                    LOG,
                    [_event(LOG, name, payload, None)],
                    kind="neutral",
                    category="log",
                ),
            )
            for name, payload in entries
        ]
