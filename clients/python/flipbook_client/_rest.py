"""The REST transport: Flipbook's /api/v1/ over HTTP with httpx."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from flipbook_client.errors import (
    ERRORS_BY_HTTP_STATUS,
    FlipbookError,
    Unavailable,
    Unsupported,
    error_from_body,
)
from flipbook_client.retry import RetryPolicy, events_have_ids
from flipbook_client.types import (
    Append,
    AppendResult,
    Batch,
    CommitResult,
    Erasure,
    Event,
    ExpectedVersion,
    FeedPage,
    NackResult,
    NewEvent,
    Page,
    Parked,
    Retention,
    ScavengeReport,
    Snapshot,
    State,
    StreamInfo,
    Subscription,
    iso,
)

API_PREFIX = "/api/v1"


def stream_path(stream_id: str, suffix: str = "") -> str:
    """The path of a stream: its id percent-encoded as one segment (ids may hold "/")."""
    return f"streams/{quote(stream_id, safe='')}{suffix}"


def _query(**params: Any) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


class RestTransport:
    """Calls the REST API; every method returns the client's typed values or raises a
    ``FlipbookError`` decoded from the ``{"error": {...}}`` body."""

    name = "rest"

    def __init__(
        self,
        url: str,
        api_key: str | None,
        *,
        timeout: float = 30.0,
        verify: Any = True,
        http_client: httpx.Client | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        base = url.rstrip("/")
        if not base.endswith(API_PREFIX):
            base += API_PREFIX
        self.base_url = base + "/"
        self.timeout = timeout
        headers = {"Accept": "application/json", "User-Agent": "flipbook-client"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = http_client or httpx.Client(timeout=timeout, verify=verify)
        self._headers = headers
        self.retry = retry or RetryPolicy()

    def close(self) -> None:
        self._http.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        timeout: float | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one request (again, under the retry policy, while it is unavailable and
        ``idempotent``: by default GET requests only) and return its JSON."""
        if idempotent is None:
            idempotent = method == "GET"
        return self.retry.call(
            lambda: self._send(method, path, params=params, body=body, timeout=timeout),
            idempotent=idempotent,
        )

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None,
        body: Any,
        timeout: float | None,
    ) -> Any:
        url = self.base_url + path
        try:
            response = self._http.request(
                method,
                url,
                params=params,
                json=body,
                headers=self._headers,
                timeout=timeout if timeout is not None else self.timeout,
            )
        except httpx.TimeoutException as exc:
            raise Unavailable(f"{method} {url} timed out: {exc}", status=None) from exc
        except httpx.TransportError as exc:
            raise Unavailable(f"cannot reach {url}: {exc}", status=None) from exc
        if response.status_code >= 400:
            try:
                data = response.json()
            except ValueError:
                data = None
            fallback = ERRORS_BY_HTTP_STATUS.get(response.status_code, FlipbookError)
            raise error_from_body(data, response.status_code, fallback)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # -- streams ----------------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        events: list[NewEvent],
        expected_version: ExpectedVersion,
        category: str | None,
        kind: str | None,
    ) -> AppendResult:
        body: dict[str, Any] = {
            "expected_version": expected_version,
            "events": [e.as_json() for e in events],
        }
        if category is not None:
            body["category"] = category
        if kind is not None:
            body["kind"] = kind
        data = self._call(
            "POST",
            stream_path(stream_id, "/events"),
            body=body,
            idempotent=events_have_ids(events),
        )
        return AppendResult.from_json(data)

    def commit(self, appends: list[Append]) -> CommitResult:
        data = self._call(
            "POST",
            "commits",
            body={"streams": [a.as_json() for a in appends]},
            idempotent=all(events_have_ids(a.new_events()) for a in appends),
        )
        return CommitResult.from_json(data)

    def read_page(
        self,
        stream_id: str,
        *,
        from_version: int | None,
        to_version: int | None,
        since: Any,
        until: Any,
        direction: str,
        limit: int,
        cursor: str | None,
    ) -> Page[Event]:
        params = _query(
            from_version=from_version,
            to_version=to_version,
            since=iso(since),
            until=iso(until),
            direction=direction,
            limit=limit,
            cursor=cursor,
        )
        data = self._call("GET", stream_path(stream_id, "/events"), params=params)
        return Page([Event.from_json(e) for e in data["events"]], data.get("next_cursor"))

    def read(self, stream_id: str, *, batch: int, **query: Any) -> Iterator[Event]:
        cursor = None
        while True:
            page = self.read_page(stream_id, limit=batch, cursor=cursor, **query)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def latest(self, stream_id: str) -> Event:
        return Event.from_json(self._call("GET", stream_path(stream_id, "/events/latest")))

    def stream(self, stream_id: str) -> StreamInfo:
        return StreamInfo.from_json(self._call("GET", stream_path(stream_id)))

    def delete_stream(self, stream_id: str, *, hard: bool) -> StreamInfo:
        params = {"hard": "true"} if hard else None
        # Not repeated after a lost answer: a second soft delete answers not_found.
        return StreamInfo.from_json(
            self._call("DELETE", stream_path(stream_id), params=params, idempotent=False)
        )

    def truncate_stream(self, stream_id: str, before: int) -> StreamInfo:
        path = stream_path(stream_id, "/events")
        # Truncating twice to the same point changes nothing: safe to repeat.
        return StreamInfo.from_json(
            self._call("DELETE", path, params={"before": before}, idempotent=True)
        )

    def stream_retention(self, stream_id: str) -> Retention:
        return Retention.from_json(self._call("GET", stream_path(stream_id, "/retention")))

    def set_stream_retention(
        self, stream_id: str, *, max_age: int | None, max_count: int | None
    ) -> Retention:
        body = _query(max_age=max_age, max_count=max_count)
        path = stream_path(stream_id, "/retention")
        # Setting the same policy twice leaves the same policy: safe to repeat.
        return Retention.from_json(self._call("PUT", path, body=body, idempotent=True))

    def clear_stream_retention(self, stream_id: str) -> Retention:
        path = stream_path(stream_id, "/retention")
        # Not repeated after a lost answer: a second clear answers not_found.
        return Retention.from_json(self._call("DELETE", path, idempotent=False))

    def scavenge(self, *, batch: int | None, limit: int | None) -> ScavengeReport:
        body = _query(batch=batch, limit=limit)
        # A scavenge removes only what is already unreadable: safe to repeat.
        return ScavengeReport.from_json(self._call("POST", "scavenges", body=body, idempotent=True))

    def erase(self, subject: str) -> Erasure:
        # Not repeated after a lost answer: a second erasure answers not_found.
        data = self._call("POST", "erasures", body={"subject": subject}, idempotent=False)
        return Erasure.from_json(data)

    def list_streams(
        self, *, prefix: str | None, category: str | None, limit: int, cursor: str | None
    ) -> Page[StreamInfo]:
        params = _query(prefix=prefix, category=category, limit=limit, cursor=cursor)
        data = self._call("GET", "streams/", params=params)
        return Page([StreamInfo.from_json(s) for s in data["streams"]], data.get("next_cursor"))

    def read_all(
        self, *, after: int, limit: int, categories: Sequence[str], names: Sequence[str]
    ) -> FeedPage:
        params: dict[str, Any] = {"after": after, "limit": limit}
        if categories:
            params["category"] = list(categories)
        if names:
            params["name"] = list(names)
        data = self._call("GET", "events", params=params)
        return FeedPage([Event.from_json(e) for e in data["events"]], data["next_after"])

    def state(self, stream_id: str, *, version: int | None, at: Any, known_at: Any) -> State:
        params = _query(version=version, at=iso(at), known_at=iso(known_at))
        return State.from_json(self._call("GET", stream_path(stream_id, "/state"), params=params))

    # -- snapshots --------------------------------------------------------------------------

    def set_snapshot(
        self,
        stream_id: str,
        version: int,
        payload: Any,
        *,
        revision: str | None,
        timestamp: Any,
        label: str,
        ttl: float | None,
    ) -> Snapshot:
        body: dict[str, Any] = {"version": version, "payload": payload, "label": label}
        if revision is not None:
            body["revision"] = revision
        if timestamp is not None:
            body["timestamp"] = iso(timestamp)
        if ttl is not None:
            body["ttl"] = ttl
        # Setting the same snapshot again replaces it with itself: safe to repeat.
        data = self._call("PUT", stream_path(stream_id, "/snapshots"), body=body, idempotent=True)
        return Snapshot.from_json(data)

    def get_snapshot(
        self, stream_id: str, *, version: int | None, revision: str | None
    ) -> Snapshot:
        params = _query(version=version, revision=revision)
        data = self._call("GET", stream_path(stream_id, "/snapshots/latest"), params=params)
        return Snapshot.from_json(data)

    def list_snapshots(self, stream_id: str, *, revision: str | None) -> list[Snapshot]:
        params = _query(revision=revision)
        data = self._call("GET", stream_path(stream_id, "/snapshots"), params=params)
        return [Snapshot.from_json(s) for s in data["snapshots"]]

    # -- subscriptions ----------------------------------------------------------------------

    def create_subscription(self, body: dict[str, Any]) -> Subscription:
        return Subscription.from_json(self._call("POST", "subscriptions/", body=body))

    def get_subscription(self, name: str) -> Subscription:
        return Subscription.from_json(self._call("GET", _subscription_path(name)))

    def list_subscriptions(self, *, limit: int | None, cursor: str | None) -> Page[Subscription]:
        data = self._call("GET", "subscriptions/", params=_query(limit=limit, cursor=cursor))
        items = [Subscription.from_json(s) for s in data["items"]]
        return Page(items, data.get("next_cursor"))

    def delete_subscription(self, name: str) -> None:
        self._call("DELETE", _subscription_path(name))

    def next_batch(self, name: str, *, max: int, wait: float) -> Batch:
        data = self._call(
            "POST",
            _subscription_path(name, "/next"),
            params=_query(max=max, wait=_wait_param(wait)),
            timeout=self.timeout + wait,
            idempotent=True,  # unacknowledged events are delivered again anyway
        )
        return Batch([Event.from_json(e) for e in data["events"]], data["checkpoint"])

    def ack(self, name: str, position: int) -> Subscription:
        data = self._call(
            "POST",
            _subscription_path(name, "/ack"),
            body={"position": position},
            idempotent=True,  # cumulative, never moves the checkpoint back
        )
        return Subscription.from_json(data)

    def nack(self, name: str, position: int, error: str) -> NackResult:
        data = self._call(
            "POST", _subscription_path(name, "/nack"), body={"position": position, "error": error}
        )
        return NackResult(
            position=data["position"],
            attempts=data["attempts"],
            parked=bool(data["parked"]),
            checkpoint=data["checkpoint"],
        )

    def reset_subscription(self, name: str, to: Any) -> Subscription:
        data = self._call("POST", _subscription_path(name, "/reset"), body={"to": to})
        return Subscription.from_json(data)

    def pause_subscription(self, name: str) -> Subscription:
        return Subscription.from_json(self._call("POST", _subscription_path(name, "/pause")))

    def resume_subscription(self, name: str) -> Subscription:
        return Subscription.from_json(self._call("POST", _subscription_path(name, "/resume")))

    def stream_subscription(self, name: str, *, max_in_flight: int) -> Iterator[Any]:
        raise Unsupported("streaming a subscription is offered over gRPC; use next and ack")

    def list_parked(self, name: str, *, limit: int | None, cursor: str | None) -> Page[Parked]:
        params = _query(limit=limit, cursor=cursor)
        data = self._call("GET", _subscription_path(name, "/parked"), params=params)
        return Page([Parked.from_json(p) for p in data["items"]], data.get("next_cursor"))

    def parked_action(self, name: str, position: int, action: str) -> Any:
        data = self._call("POST", _subscription_path(name, f"/parked/{position}/{action}"))
        return Parked.from_json(data) if action == "retry" else Subscription.from_json(data)


def _subscription_path(name: str, suffix: str = "") -> str:
    return f"subscriptions/{quote(name, safe='')}{suffix}"


def _wait_param(wait: float) -> int | float:
    return int(wait) if float(wait).is_integer() else wait
