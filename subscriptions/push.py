"""The push worker: delivers push subscriptions' events to webhooks and gRPC EventHandlers.

It leases due subscriptions (one conditional UPDATE each, so workers in several processes
never push the same subscription at once), sends a batch, and acknowledges or nacks through
the subscription service. A handler that answers with a failure costs the first unacknowledged
event an attempt (parked after max_attempts); a handler that cannot be reached (connection
refused, timeout, gRPC UNAVAILABLE) costs nothing but backoff, so a consumer that is down
parks nothing and shows as "stalled"."""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from streams.exceptions import FlipbookError, NotFound, ValidationError
from streams.records import RecordedEvent
from subscriptions import outbound
from subscriptions import services as subscriptions
from subscriptions.outbound import RefusedDestination
from subscriptions.records import PushTarget
from subscriptions.validation import webhook_host

logger = logging.getLogger("flipbook.push")
MAX_ANSWER_BYTES = 64 * 1024  # a 2xx answer may say acknowledged_position and error
MAX_REASON_CHARS = 100


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a handler said about a batch. ``reached`` False: no answer (transport failure).
    ``acknowledged``: the last position done (None: the whole batch unless ``error``).
    ``error``: the event after ``acknowledged`` failed."""

    reached: bool
    acknowledged: int | None = None
    error: str | None = None


def backoff_seconds(failures: int) -> float:
    """Exponential backoff after ``failures`` failures in a row, capped."""
    base = float(subscriptions.config("PUSH_BACKOFF_SECONDS"))
    cap = float(subscriptions.config("PUSH_BACKOFF_MAX_SECONDS"))
    return min(cap, base * 2 ** max(failures - 1, 0))


class PushWorker:
    """Delivers every push subscription until :meth:`stop`. Run it in a thread (``flipbook
    serve`` on the embedded default) or as ``flipbook subscriptions``."""

    def __init__(self, *, owner: str | None = None) -> None:
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stopping = threading.Event()
        self._transports: dict[str, Transport] = {}

    def stop(self) -> None:
        self._stopping.set()
        subscriptions.notifier.notify()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self) -> None:
        """Deliver until stopped: after a round with nothing to do, wait for a commit or a
        retry request in this process, or PUSH_POLL_SECONDS (commits of other processes,
        backoffs that end)."""
        logger.info("push worker started", extra={"owner": self.owner})
        try:
            while not self.stopping:
                generation = subscriptions.notifier.generation
                try:
                    worked = self.run_once()
                except FlipbookError as exc:  # the store is unavailable: try again later
                    logger.warning("push round failed: %s", exc.message)
                    worked = False
                except Exception:  # a bug or a lost database must not end the worker
                    logger.exception("push round failed")
                    worked = False
                if worked or self.stopping:
                    continue
                subscriptions.release_connections()
                # The notifier closes when the server stops; the worker has its own stop.
                if subscriptions.notifier.closed:
                    self._stopping.wait(float(subscriptions.config("PUSH_POLL_SECONDS")))
                else:
                    subscriptions.notifier.wait(
                        generation, float(subscriptions.config("PUSH_POLL_SECONDS"))
                    )
        finally:
            try:
                subscriptions.release_push_leases(self.owner)
            except Exception:  # the database may be gone at shutdown; leases then expire
                logger.exception("could not release push leases")
            for transport in self._transports.values():
                close = getattr(transport, "close", None)
                if close is not None:
                    close()
            self._transports.clear()
            subscriptions.release_connections()
            logger.info("push worker stopped", extra={"owner": self.owner})

    def run_once(self) -> bool:
        """One round over the due subscriptions; True when something was delivered."""
        worked = False
        for target in subscriptions.claim_push_subscriptions(self.owner):
            if self.stopping:
                break
            try:
                worked = self.deliver(target) or worked
            except NotFound:
                continue  # deleted meanwhile
        return worked

    def deliver(self, target: subscriptions.PushTarget) -> bool:
        """Send one batch of ``target`` (a retry asked for first); True when a handler
        answered."""
        retries = subscriptions.pending_retries(target.name, limit=1)
        if retries:
            return self._deliver_retry(target, retries[0])
        size = 1 if target.retry_position else int(subscriptions.config("PUSH_BATCH"))
        batch = subscriptions.poll_batch(target.name, max=size, include_retries=False)
        if not batch.events:
            return False
        outcome = self.send(target, batch.events)
        if not outcome.reached:
            self._unreachable(target, outcome)
            return False
        last = batch.events[-1].position
        done = min(outcome.acknowledged, last) if outcome.acknowledged else None
        if outcome.error is None:
            subscriptions.acknowledge(target.name, done or last)
            subscriptions.record_push_outcome(target.name, reached=True, backoff=0)
            return True
        failed = next((e for e in batch.events if e.position > (done or 0)), None)
        if failed is None:
            subscriptions.acknowledge(target.name, last)
            subscriptions.record_push_outcome(target.name, reached=True, backoff=0)
            return True
        result = subscriptions.nack(target.name, failed.position, outcome.error)
        delay = 0.0 if result.parked else backoff_seconds(result.attempts)
        subscriptions.record_push_outcome(target.name, reached=True, backoff=delay)
        logger.info(
            "push delivery failed",
            extra={
                "subscription": target.name,
                "position": failed.position,
                "attempts": result.attempts,
                "parked": result.parked,
            },
        )
        return True

    def _deliver_retry(self, target: subscriptions.PushTarget, event: RecordedEvent) -> bool:
        outcome = self.send(target, [event])
        if not outcome.reached:
            self._unreachable(target, outcome)
            return False
        if outcome.error is None:
            subscriptions.settle_retry(target.name, event.position)
            subscriptions.record_push_outcome(target.name, reached=True, backoff=0)
        else:
            result = subscriptions.nack(target.name, event.position, outcome.error)
            delay = 0.0 if result.parked else backoff_seconds(result.attempts)
            subscriptions.record_push_outcome(target.name, reached=True, backoff=delay)
        return True

    def _unreachable(self, target: subscriptions.PushTarget, outcome: Outcome) -> None:
        delay = backoff_seconds(target.push_failures + 1)
        subscriptions.record_push_outcome(target.name, reached=False, backoff=delay)
        logger.warning(
            "push endpoint unreachable",
            extra={"subscription": target.name, "error": outcome.error, "retry_in": delay},
        )

    # -- transports ------------------------------------------------------------------------------

    def send(self, target: subscriptions.PushTarget, events: list[RecordedEvent]) -> Outcome:
        """Deliver ``events`` to the subscription's endpoint; never raises for the endpoint's
        failures."""
        transport = self._transports.get(target.kind)
        if transport is None:
            factory = _TRANSPORTS.get(target.kind)
            if factory is None:
                return Outcome(False, None, f"no push transport for {target.kind!r} here")
            transport = self._transports[target.kind] = factory()
        timeout = float(subscriptions.config("PUSH_TIMEOUT_SECONDS"))
        return transport(target, events, timeout)


def send_webhook(target: PushTarget, events: list[RecordedEvent], timeout: float) -> Outcome:
    """POST the batch as JSON to the subscription's URL, over a connection the outbound
    policy allows (subscriptions/outbound.py). Redirects are not followed, and an answer's
    body is never kept: a failure is recorded as its status and reason only."""
    body = json.dumps(
        {"subscription": target.name, "events": [e.as_dict() for e in events]},
        separators=(",", ":"),
    ).encode()
    parts = urlsplit(target.target)
    try:
        host, port = webhook_host(target.target)
    except ValidationError as exc:  # stored before the policy existed
        return Outcome(False, None, f"refused: {exc.message}")
    connection_class = _PolicyHTTPSConnection if parts.scheme == "https" else _PolicyHTTPConnection
    connection = connection_class(host, port, timeout=timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": "flipbook-push"},
        )
        response = connection.getresponse()
        status, reason = response.status, _short(response.reason)
        text = response.read(MAX_ANSWER_BYTES) if 200 <= status < 300 else b""
    except RefusedDestination as exc:
        return Outcome(False, None, f"refused: {exc.message}")
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(False, None, f"unreachable: {_short(str(exc) or type(exc).__name__)}")
    finally:
        connection.close()
    if 300 <= status < 400:
        return Outcome(True, None, f"HTTP {status} {reason}: redirects are not followed".strip())
    if not 200 <= status < 300:
        return Outcome(True, None, f"HTTP {status} {reason}".strip())
    return _answer(text)


# Connections always get a timeout from the subscription settings; this only types the None.
DEFAULT_TIMEOUT = 10.0


def _short(text: str) -> str:
    """A reason phrase or transport error fit to store: printable, at most 100 characters."""
    clean = "".join(c if c.isprintable() else " " for c in text or "")
    return clean[:MAX_REASON_CHARS]


class _PolicyHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = outbound.connect(self.host, self.port, self.timeout or DEFAULT_TIMEOUT)


class _PolicyHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        sock = outbound.connect(self.host, self.port, self.timeout or DEFAULT_TIMEOUT)
        context = self._context  # type: ignore[attr-defined]  # typeshed omits it
        self.sock = context.wrap_socket(sock, server_hostname=self.host)


# A transport sends one batch: (target, events, timeout) -> Outcome, never raising for the
# endpoint's failures. Each worker builds its own from the factory (it may cache channels).
Transport = Callable[[PushTarget, list[RecordedEvent], float], Outcome]
_TRANSPORTS: dict[str, Callable[[], Transport]] = {"webhook": lambda: send_webhook}


def register_transport(kind: str, factory: Callable[[], Transport]) -> None:
    """Make push subscriptions of ``kind`` deliverable. The gRPC transport lives with the gRPC
    code (api/grpc/push.py) and registers itself when the api app is ready, so this layer
    needs no generated code."""
    _TRANSPORTS[kind] = factory


def _answer(text: bytes) -> Outcome:
    """A webhook's 2xx answer: empty or any body = the batch is done; a JSON object may say
    ``acknowledged_position`` and ``error`` like the gRPC HandleResponse."""
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        return Outcome(True)
    acknowledged = data.get("acknowledged_position")
    if isinstance(acknowledged, bool) or not isinstance(acknowledged, int) or acknowledged < 1:
        acknowledged = None
    error = data.get("error")
    error = error[:2000] if isinstance(error, str) and error else None
    return Outcome(True, acknowledged, error)


def start_in_thread() -> tuple[PushWorker, threading.Thread]:
    """Start a push worker in a daemon thread (``flipbook serve`` on the embedded default)."""
    worker = PushWorker()
    thread = threading.Thread(target=worker.run, name="flipbook-push", daemon=True)
    thread.start()
    return worker, thread
