"""The event store on Redis 7 (redis-py), on Redis Streams: ``store.py`` holds the store,
``scripts.py`` its Lua scripts, ``items.py`` the key layout and conversions."""

from streams.backends.redis.store import RedisEventStore

__all__ = ["RedisEventStore"]
