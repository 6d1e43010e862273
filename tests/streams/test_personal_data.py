"""The personal-data contract on SQLite, PostgreSQL, DynamoDB Local and Redis, each read raw
with its own driver after erasure; plus the declarations' checks and the hot path's no-op."""

from __future__ import annotations

import json

import pytest
from django.db import connections

from tests.contracts.personal_data import PersonalDataContract
from tests.dynamodb_fixtures import dynamodb_client, dynamodb_local, dynamodb_store  # noqa: F401
from tests.redis_fixtures import redis_store  # noqa: F401


class TestPersonalDataOnDatabases(PersonalDataContract):
    @pytest.fixture
    def event_store(self, db_backend):
        return db_backend

    def raw_event_text(self, event_store) -> str:
        with connections[event_store].cursor() as cursor:
            cursor.execute(
                "SELECT name, CAST(payload AS text), CAST(metadata AS text) FROM flipbook_event"
            )
            return "\n".join(" ".join(row) for row in cursor.fetchall())


class TestPersonalDataOnDynamoDB(PersonalDataContract):
    @pytest.fixture
    def event_store(self, dynamodb_store):  # noqa: F811
        return dynamodb_store

    def raw_event_text(self, event_store) -> str:
        client = event_store.client
        prefix = event_store.table.removesuffix("events")
        items = []
        for table in client.list_tables()["TableNames"]:
            if table.startswith(prefix):
                for page in client.get_paginator("scan").paginate(TableName=table):
                    items += page["Items"]
        assert items
        return json.dumps(items, default=str, ensure_ascii=False)


class TestPersonalDataOnRedis(PersonalDataContract):
    @pytest.fixture
    def event_store(self, redis_store):  # noqa: F811
        return redis_store

    def raw_event_text(self, event_store) -> str:
        import redis

        client = redis.Redis.from_url(event_store.url)
        chunks: list[bytes] = []
        try:
            pattern = event_store.base.replace("{", "\\{").replace("}", "\\}") + "*"
            for key in client.scan_iter(match=pattern):
                kind = client.type(key).decode()
                if kind == "string":
                    chunks.append(client.get(key))
                elif kind == "hash":
                    for k, v in client.hgetall(key).items():
                        chunks += [k, v]
                elif kind == "list":
                    chunks += client.lrange(key, 0, -1)
                elif kind == "set":
                    chunks += list(client.smembers(key))
                elif kind == "zset":
                    chunks += [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
                elif kind == "stream":
                    for _, fields in client.xrange(key):
                        for k, v in fields.items():
                            chunks += [k, v]
                else:
                    raise AssertionError(f"unexpected Redis type {kind} at {key!r}")
        finally:
            client.close()
        assert chunks
        return b"\n".join(chunks).decode("utf-8", "replace")
