"""gRPC on an event loop (grpc.aio), with grpc.Server's synchronous face.

grpcio's threaded server hands every call from its polling thread to a worker thread and
back, and each hand-over is a trip for the GIL: with the store's async path a one-event
Append costs a fraction of that. So the server is grpc.aio's, on an event loop in a thread
of its own. One-stream Appends by a recently verified key run on that loop (``append``).
Every other call runs as before: the servicers and interceptors are synchronous, and run
on a bounded pool of threads with ``ThreadContext``, the part of grpc's synchronous
ServicerContext they use. A server-streaming call's generator runs on its thread and its
messages cross to the loop at most ``WINDOW`` ahead of what was sent.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from api.auth import bearer_token, cached_principal
from api.grpc import messages
from api.grpc.interceptors import (
    _HANDLER_KINDS,
    _MALFORMED,
    PUBLIC_SERVICES,
    REQUEST_ID_KEY,
    TRANSPORT,
    RequestLoggingInterceptor,
    error_status,
)
from api.logs import new_request_id
from api.metrics import observe_commit, observe_error, observe_latency
from streams import services
from streams.exceptions import FlipbookError, Unauthenticated
from streams.records import CommitResult

logger = logging.getLogger("flipbook.grpc")

APPEND_METHOD = "/flipbook.v1.EventStore/Append"
WINDOW = 64  # messages of a response stream produced ahead of what was sent
_MESSAGE, _ERROR, _END, _ABORT = 0, 1, 2, 3


class ThreadContext:
    """The servicer context a synchronous behaviour gets on its thread: grpc's synchronous
    ServicerContext API over the call's aio context. Initial metadata is kept until the
    first message, the answer or an abort (all sent from the loop), so it costs no trip."""

    def __init__(self, context: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._context = context
        self._loop = loop
        # Read on the loop, while the call is alive: grpc's core may free the call once it
        # ends, and a thread asking for its peer then would read freed memory.
        self._peer = context.peer()
        self._metadata = context.invocation_metadata()
        self._initial: tuple | None = None
        self.bridge: _Bridge | None = None  # a response stream's
        self._callbacks: list[Callable[[], Any]] = []
        self._lock = threading.Lock()
        self._active = True

    def invocation_metadata(self) -> Any:
        return self._metadata

    def peer(self) -> str:
        return self._peer

    def time_remaining(self) -> float | None:
        return self._context.time_remaining()

    def send_initial_metadata(self, metadata: Any) -> None:
        self._initial = tuple(metadata)

    def set_trailing_metadata(self, metadata: Any) -> None:
        self._context.set_trailing_metadata(tuple(metadata))

    def set_code(self, code: grpc.StatusCode) -> None:
        self._context.set_code(code)

    def set_details(self, details: str) -> None:
        self._context.set_details(details)

    def code(self) -> grpc.StatusCode | None:
        return self._context.code()

    def details(self) -> str | None:
        return self._context.details()

    def is_active(self) -> bool:
        return self._active and not self._context.done()

    def add_callback(self, callback: Callable[[], Any]) -> bool:
        with self._lock:
            if not self._active:
                return False
            self._callbacks.append(callback)
            return True

    def abort(self, code: grpc.StatusCode, details: str = "") -> None:
        """End the call with ``code``; raises (grpc.aio.AbortError), as grpc's abort does.
        In a response stream it comes after the messages produced before it."""
        if self.bridge is not None:
            done: concurrent.futures.Future[None] = concurrent.futures.Future()
            self.bridge.put(_ABORT, (code, details, done))
            done.result()
            return
        asyncio.run_coroutine_threadsafe(self._abort(code, details), self._loop).result()

    async def _abort(self, code: grpc.StatusCode, details: str) -> None:
        await self.flush()
        await self._context.abort(code, details)

    async def flush(self) -> None:
        """Send the initial metadata kept, if any (on the loop)."""
        if self._initial is not None:
            metadata, self._initial = self._initial, None
            await self._context.send_initial_metadata(metadata)

    def end(self) -> None:
        """The call is over (answered, failed or cancelled): run the callbacks once."""
        with self._lock:
            self._active = False
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("a gRPC call's callback failed")


class _Bridge:
    """The messages of a generator running on a thread, handed to the loop in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.items: collections.deque[tuple[int, Any]] = collections.deque()
        self.ready = asyncio.Event()
        self.room = threading.Semaphore(WINDOW)
        self.stopped = False
        self.lock = threading.Lock()

    def produce(self, messages_of: Callable[[], Iterator[Any]]) -> None:
        """Run on a thread: iterate the generator until it ends, fails or the call stops."""
        try:
            generator = messages_of()
            for message in generator:
                while not self.room.acquire(timeout=0.5):
                    if self.stopped:
                        break
                if self.stopped:
                    with contextlib.suppress(Exception):
                        generator.close()  # type: ignore[attr-defined]
                    return
                self.put(_MESSAGE, message)
        except BaseException as error:  # handed to the loop, which raises it there
            self.put(_ERROR, error)
            return
        self.put(_END, None)

    def put(self, kind: int, value: Any) -> None:
        with self.lock:
            if self.stopped:
                if kind == _ABORT:  # the call is over: its thread must not wait for it
                    value[2].set_exception(grpc.aio.AbortError("the call ended"))
                return
            self.items.append((kind, value))
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody reads
            self.loop.call_soon_threadsafe(self.ready.set)

    async def messages(self, inner: ThreadContext) -> Any:
        while True:
            while not self.items:
                self.ready.clear()
                if self.items:
                    break
                await self.ready.wait()
            kind, value = self.items.popleft()
            if kind == _MESSAGE:
                self.room.release()
                yield value
            elif kind == _ERROR:
                raise value
            elif kind == _ABORT:
                code, details, done = value
                try:
                    await inner._abort(code, details)
                except BaseException as error:  # AbortError: the thread raises it too
                    done.set_exception(error)
                    raise
                done.set_result(None)
            else:
                return

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            items, self.items = self.items, collections.deque()
        for kind, value in items:
            if kind == _ABORT:
                value[2].set_exception(grpc.aio.AbortError("the call ended"))
        self.room.release()


def on_threads(handler: grpc.RpcMethodHandler, executor: ThreadPoolExecutor) -> Any:
    """An aio handler that runs the synchronous ``handler`` (unary request) on ``executor``."""
    if handler.request_streaming:
        raise TypeError("synchronous handlers of request streams are not served on a loop")
    attribute, make_handler = _HANDLER_KINDS[(False, handler.response_streaming)]
    behaviour = getattr(handler, attribute)

    if handler.response_streaming:

        async def streaming(request: Any, context: Any) -> None:
            loop = asyncio.get_running_loop()
            inner = ThreadContext(context, loop)
            bridge = inner.bridge = _Bridge(loop)
            produced = loop.run_in_executor(
                executor, bridge.produce, lambda: behaviour(request, inner)
            )
            try:
                async for message in bridge.messages(inner):
                    await inner.flush()
                    await context.write(message)
                await produced
                await inner.flush()
            finally:
                inner.end()
                bridge.stop()

        return make_handler(
            streaming,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    async def unary(request: Any, context: Any) -> Any:
        loop = asyncio.get_running_loop()
        inner = ThreadContext(context, loop)
        try:
            response = await loop.run_in_executor(executor, behaviour, request, inner)
            await inner.flush()
            return response
        finally:
            inner.end()

    return make_handler(
        unary,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def with_append_on_loop(threaded: grpc.RpcMethodHandler, executor: ThreadPoolExecutor) -> Any:
    """The Append handler: on the loop when ``append`` can answer, else ``threaded``'s."""
    fallback: Any = threaded.unary_unary  # on_threads made it a coroutine function

    async def handler(request: Any, context: Any) -> Any:
        answered, response = await append(request, context, executor)
        if answered:
            return response
        return await fallback(request, context)

    return grpc.unary_unary_rpc_method_handler(
        handler,
        request_deserializer=threaded.request_deserializer,
        response_serializer=threaded.response_serializer,
    )


async def append(request: Any, context: Any, executor: ThreadPoolExecutor) -> tuple[bool, Any]:
    """EventStore.Append on the loop, as the servicer behind the interceptors answers it
    (same request id, log line, metrics, errors and trailing metadata): (True, response),
    or (True, None) once it aborted the call; (False, None) when the threads' path must
    answer (an unparsable request, a key not verified lately, what the store's async path
    leaves to its sync one), before anything was sent."""
    if request is _MALFORMED or not services.appends_on_loop():
        return False, None
    try:
        # Read once (grpc builds the tuple on each call); the first value of a key counts.
        metadata = {item.key: item.value for item in reversed(context.invocation_metadata())}
        principal = cached_principal(bearer_token(metadata.get("authorization")))
    except Unauthenticated:
        return False, None
    if principal is None:
        return False, None
    started = time.perf_counter()
    code = "OK"
    request_id = ""
    try:
        principal.require("write", [request.stream_id])
        stream_append = messages.stream_append(request)
        result = await services.append_to_stream_async(
            stream_append.stream_id,
            stream_append.events,
            expected_version=stream_append.expected_version,
            category=stream_append.category,
            kind=stream_append.kind,
            offload=lambda work: executor.submit(work),
        )
        if result is None:
            return False, None
        observe_commit(TRANSPORT, CommitResult((result,), duplicate=result.duplicate))
        response = messages.append_response(result)
    except Exception as error:
        if not isinstance(error, FlipbookError):
            logger.exception(
                "grpc %s failed unexpectedly", APPEND_METHOD, extra={"transport": TRANSPORT}
            )
        observe_error(TRANSPORT, error)
        status, message, trailing = error_status(error)
        code = status.name
        request_id = new_request_id(metadata.get(REQUEST_ID_KEY))
        await context.send_initial_metadata(((REQUEST_ID_KEY, request_id),))
        context.set_trailing_metadata(trailing)
        _finish(started, code, request_id, context)
        with contextlib.suppress(grpc.aio.AbortError):
            await context.abort(status, message)
        return True, None
    request_id = new_request_id(metadata.get(REQUEST_ID_KEY))
    await context.send_initial_metadata(((REQUEST_ID_KEY, request_id),))
    _finish(started, code, request_id, context)
    return True, response


def _finish(started: float, code: str, request_id: str, context: Any) -> None:
    observe_latency(TRANSPORT, APPEND_METHOD.lstrip("/"), time.perf_counter() - started)
    if logger.isEnabledFor(logging.INFO):
        RequestLoggingInterceptor._log(
            logging.INFO, APPEND_METHOD, code, started, request_id, context
        )


class LoopInterceptor(grpc.aio.ServerInterceptor):
    """Applies Flipbook's synchronous interceptor chain once per method and serves the
    result on threads (``on_threads``); Append gets its loop path in front. Asynchronous
    handlers (reflection's) are served as they are."""

    def __init__(self, chain: Any, executor: ThreadPoolExecutor) -> None:
        self.chain = chain
        self.executor = executor
        self._handlers: dict[str, Any] = {}

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], handler_call_details: Any
    ) -> Any:
        method = handler_call_details.method
        handler = self._handlers.get(method)
        if handler is not None:
            return handler
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        kind = (handler.request_streaming, handler.response_streaming)
        behaviour = getattr(handler, _HANDLER_KINDS[kind][0])
        if asyncio.iscoroutinefunction(behaviour) or _is_async_generator(behaviour):
            if not method.startswith(PUBLIC_SERVICES):
                raise TypeError(f"{method}: an async handler would skip the interceptors")
            self._handlers[method] = handler
            return handler
        wrapped = on_threads(self.chain.wrap_all(method, handler), self.executor)
        if method == APPEND_METHOD:
            wrapped = with_append_on_loop(wrapped, self.executor)
        self._handlers[method] = wrapped
        return wrapped


def _is_async_generator(function: Any) -> bool:
    import inspect

    return inspect.isasyncgenfunction(function)
