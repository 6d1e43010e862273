"""manage.py flipbook_dynamodb create-tables | describe: the DynamoDB event store's table."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from streams.backends import create_event_store
from streams.conf import flipbook_settings
from streams.exceptions import FlipbookError

if TYPE_CHECKING:
    from streams.backends.dynamodb import DynamoDBEventStore

BACKEND = "streams.backends.dynamodb.DynamoDBEventStore"


def dynamodb_config() -> dict:
    """FLIPBOOK_EVENT_STORE when it is the DynamoDB backend, else the "dynamodb" preset."""
    if flipbook_settings.EVENT_STORE.get("BACKEND") == BACKEND:
        return flipbook_settings.EVENT_STORE
    return settings.EVENT_STORE_PRESETS["dynamodb"]


class Command(BaseCommand):
    help = (
        "Create (on-demand capacity) or describe the DynamoDB event store table, named from "
        "FLIPBOOK_DYNAMODB_TABLE_PREFIX at FLIPBOOK_DYNAMODB_ENDPOINT (empty: AWS)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["create-tables", "describe"])

    def handle(self, *args, action: str, **options) -> None:
        try:
            store = cast("DynamoDBEventStore", create_event_store(dynamodb_config()))
        except ImportError as exc:
            raise CommandError("the DynamoDB backend needs boto3: pip install boto3") from exc
        try:
            if action == "create-tables":
                created = store.create_tables()
                for name in created:
                    self.stdout.write(f"created {name} (on-demand capacity)")
                if not created:
                    self.stdout.write(f"{store.table} exists already")
            else:
                self.stdout.write(json.dumps(store.describe_tables(), indent=2))
        except FlipbookError as exc:
            raise CommandError(exc.message) from exc
        finally:
            store.close()
