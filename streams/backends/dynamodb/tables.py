"""The table of the DynamoDB event store: its definition (Terraform's dynamodb module is
tested against it) and its management (``manage.py flipbook_dynamodb``)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from streams.backends.dynamodb.core import DynamoDBCore
from streams.backends.dynamodb.items import CATEGORY_INDEX, ID_INDEX, TIME_INDEX
from streams.exceptions import Unavailable

if TYPE_CHECKING:
    pass


def table_definition(table: str) -> dict[str, Any]:
    """CreateTable's arguments for the event store's table: keys, indexes, on-demand capacity.
    The Terraform module deploy/terraform/modules/dynamodb is tested against this."""
    keys_only = {"ProjectionType": "KEYS_ONLY"}
    return {
        "TableName": table,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "ts", "AttributeType": "S"},
            {"AttributeName": "lp", "AttributeType": "S"},
            {"AttributeName": "cp", "AttributeType": "S"},
            {"AttributeName": "sid", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": TIME_INDEX,
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "ts", "KeyType": "RANGE"},
                ],
                "Projection": keys_only,
            }
        ],
        "GlobalSecondaryIndexes": [
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
    }


class TableManagement(DynamoDBCore):
    """The table management of DynamoDBEventStore."""

    def create_tables(self, *, wait: bool = True) -> list[str]:
        """Create the table (on-demand capacity) unless it exists; return the names created."""
        from botocore.exceptions import ClientError

        try:
            self._call(
                "create_table",
                passthrough=frozenset({"ResourceInUseException"}),
                **table_definition(self.table),
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
