"""Long reads as NDJSON (one event per line), streamed in bounded memory under WSGI and ASGI."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Generator, Iterable, Iterator

from asgiref.sync import sync_to_async
from django.http import HttpRequest, StreamingHttpResponse
from rest_framework.renderers import BaseRenderer

from api.errors import error_body
from api.metrics import observe_error
from streams.exceptions import FlipbookError
from streams.records import RecordedEvent

NDJSON = "application/x-ndjson"
CHUNK_BYTES = 64 * 1024

logger = logging.getLogger("flipbook.api.rest")


class NDJSONRenderer(BaseRenderer):
    """Lets content negotiation accept ``application/x-ndjson`` (or ``?format=ndjson``); the
    views that offer it stream their own response, so this renders only stray data."""

    media_type = NDJSON
    format = "ndjson"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        items = data if isinstance(data, list) else [data]
        return b"".join(_line(item) for item in items)


def wants_ndjson(request) -> bool:
    renderer = getattr(request, "accepted_renderer", None)
    return isinstance(renderer, NDJSONRenderer)


def ndjson_response(request: HttpRequest, events: Iterable[RecordedEvent]) -> StreamingHttpResponse:
    """Stream ``events`` as NDJSON. The first event is fetched before the response starts, so
    an error at the start (bad query, backend down) still gets its proper status; an error
    after that can only end the stream, with a last line ``{"error": {...}}``."""
    events = iter(events)
    first = next(events, None)
    chunks = _chunks(first, events)
    content = _async_chunks(chunks) if hasattr(request, "scope") else chunks
    response = StreamingHttpResponse(content, content_type=NDJSON)
    response["X-Accel-Buffering"] = "no"  # let nginx pass lines on as they come
    response["Cache-Control"] = "no-store"
    return response


def _line(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _chunks(
    first: RecordedEvent | None, rest: Iterator[RecordedEvent]
) -> Generator[bytes, None, None]:
    if first is None:
        return
    buffer = bytearray(_line(first.as_dict()))
    try:
        for event in rest:
            buffer += _line(event.as_dict())
            if len(buffer) >= CHUNK_BYTES:
                yield bytes(buffer)
                buffer.clear()
    except Exception as exc:  # the status is sent already: end the stream with the error
        if not isinstance(exc, FlipbookError):
            logger.error("unexpected error while streaming NDJSON", exc_info=exc)
        observe_error("rest", exc)
        buffer += _line(error_body(exc))
    if buffer:
        yield bytes(buffer)


async def _async_chunks(chunks: Generator[bytes, None, None]) -> AsyncIterator[bytes]:
    # Django's ASGI handler would read a sync iterator into a list first; pull one chunk at a
    # time on the thread that holds the request's database connection instead.
    pull = sync_to_async(next, thread_sensitive=True)
    try:
        # asgiref types the wrapper by next's first overload, which takes no default.
        while (chunk := await pull(chunks, None)) is not None:  # type: ignore[call-arg]
            yield chunk
    finally:
        await sync_to_async(chunks.close, thread_sensitive=True)()
