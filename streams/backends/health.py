"""Reachability of the services beside the event store (the bus's and snapshots' Redis), for
/readyz. Here because only backends import a driver."""

from __future__ import annotations


def ping_redis(url: str) -> str:
    """ "ok", or a short reason the Redis at ``url`` does not answer."""
    import redis  # optional: only deployments with Redis have it configured

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"
