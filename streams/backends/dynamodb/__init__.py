"""The event store on Amazon DynamoDB (boto3), one table: ``store.py`` holds the store and its
appends, ``reads.py`` its reads, ``tables.py`` the table, ``items.py`` the item layout."""

from streams.backends.dynamodb.store import DynamoDBEventStore
from streams.backends.dynamodb.tables import table_definition

__all__ = ["DynamoDBEventStore", "table_definition"]
