"""Server interceptors of the gRPC API: request logging, error mapping, metrics, database
connections and authentication, each around the whole call (for a server-streaming method,
around the whole response stream).

``default_interceptors()`` gives them in the order they must nest, outermost first:

1. RequestLoggingInterceptor: request id (``x-request-id`` or new), one JSON line per call.
2. ErrorMappingInterceptor: FlipbookError -> status code of api/errors.py + error metadata;
   anything else -> INTERNAL with a generic message, logged with its trace.
3. MetricsInterceptor: latency and errors (it sees the original exception).
4. DatabaseConnectionInterceptor: closes stale connections of the worker thread.
5. AuthenticationInterceptor: the API key, turned into a Principal the servicer reads as
   ``context.principal``.
6. MalformedRequestInterceptor: a request that is not a valid protobuf message of its
   method ends INVALID_ARGUMENT (grpcio would answer INTERNAL).

A client that goes away mid-call (its request stream ends with an RpcError) is logged at
DEBUG and not counted as an error."""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import grpc
from django.db import close_old_connections

from api.auth import Principal, RevocationWatch, authenticate_key, bearer_token
from api.errors import error_body, status_for
from api.logs import new_request_id
from api.metrics import observe_error, observe_latency
from streams.exceptions import FlipbookError, Unauthenticated, ValidationError

TRANSPORT = "grpc"
ERROR_METADATA_KEY = "flipbook-error-bin"
REQUEST_ID_KEY = "x-request-id"
# Services that answer without an API key (load balancers and tools call them).
PUBLIC_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
)

logger = logging.getLogger("flipbook.grpc")

Around = Callable[[grpc.ServicerContext], AbstractContextManager[Any]]

_HANDLER_KINDS = {
    (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
    (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
    (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
}


def wrap_handler(handler: grpc.RpcMethodHandler, around: Around) -> grpc.RpcMethodHandler:
    """Return ``handler`` with its behaviour run inside ``around(context)``, a context
    manager that yields the context to pass on. Response streams run inside it whole."""
    kind = (handler.request_streaming, handler.response_streaming)
    attribute, make_handler = _HANDLER_KINDS[kind]
    behaviour = getattr(handler, attribute)

    if handler.response_streaming:

        def wrapped(request_or_iterator, context):
            with around(context) as inner:
                yield from behaviour(request_or_iterator, inner)

    else:

        def wrapped(request_or_iterator, context):
            with around(context) as inner:
                return behaviour(request_or_iterator, inner)

    return make_handler(
        wrapped,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class CallInterceptor(grpc.ServerInterceptor):
    """Base of Flipbook's interceptors: ``around(method, context)`` wraps every call."""

    def around(self, method: str, context: grpc.ServicerContext) -> AbstractContextManager[Any]:
        """A context manager around one call; it yields the context the call goes on with."""
        raise NotImplementedError("subclasses of CallInterceptor must provide an around() method")

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:  # unknown method: grpc answers UNIMPLEMENTED
            return None
        return self.wrap(handler_call_details.method, handler)

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """``handler`` with every call run inside ``around``."""
        return wrap_handler(handler, functools.partial(self.around, method))


def metadata_value(context: grpc.ServicerContext, key: str) -> str | None:
    """The first value of an invocation metadata ``key`` (lower case), or None."""
    # grpc yields (key, value) namedtuples; types-grpcio types them as plain tuples.
    for item in context.invocation_metadata() or ():
        if item.key == key:  # type: ignore[attr-defined]
            return item.value  # type: ignore[attr-defined]
    return None


# ServicerContext.code() (grpc 1.38+) is missing from types-grpcio.
def _code_name(context: grpc.ServicerContext) -> str | None:
    code = context.code()  # type: ignore[attr-defined]
    return code.name if isinstance(code, grpc.StatusCode) else None


class RequestLoggingInterceptor(CallInterceptor):
    """Set the request id (the client's ``x-request-id`` when sane, else a new one), send it
    back in the initial metadata, and log one JSON line per call: method, code, duration."""

    @contextmanager
    def around(self, method: str, context: grpc.ServicerContext) -> Iterator[Any]:
        started = time.perf_counter()
        request_id = new_request_id(metadata_value(context, REQUEST_ID_KEY))
        context.send_initial_metadata(((REQUEST_ID_KEY, request_id),))
        code = None
        try:
            yield context
        except GeneratorExit:  # the client went away during a response stream
            code = "CANCELLED"
            raise
        except BaseException:
            code = _code_name(context) or "UNKNOWN"
            raise
        finally:
            code = code or _code_name(context) or "OK"
            level = logging.DEBUG if method.startswith(PUBLIC_SERVICES[0]) else logging.INFO
            if logger.isEnabledFor(level):  # context.peer() gives up the GIL: only if logged
                self._log(level, method, code, started, request_id, context)

    @staticmethod
    def _log(
        level: int,
        method: str,
        code: str,
        started: float,
        request_id: str,
        context: grpc.ServicerContext,
    ) -> None:
        # The request id is passed explicitly: a stream abandoned by its client may be
        # finalised in another thread, whose context holds another request's id.
        logger.log(
            level,
            "grpc %s %s",
            method,
            code,
            extra={
                "transport": TRANSPORT,
                "method": method,
                "code": code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "request_id": request_id,
                "peer": context.peer(),
            },
        )


def error_status(error: BaseException) -> tuple[grpc.StatusCode, str, tuple]:
    """The status of ``error`` (api/errors.py), its message, and the ``flipbook-error-bin``
    trailing metadata: UTF-8 JSON {"code", "message", "details"}."""
    body = error_body(error)["error"]
    _, code_name = status_for(error)
    trailing = ((ERROR_METADATA_KEY, json.dumps(body, ensure_ascii=False, default=str).encode()),)
    return grpc.StatusCode[code_name], body["message"], trailing


def abort_with_error(context: grpc.ServicerContext, error: BaseException) -> None:
    """End the call with the status of ``error``, its message and trailing metadata."""
    code, message, trailing = error_status(error)
    context.set_trailing_metadata(trailing)
    context.abort(code, message)


def client_went_away(context: grpc.ServicerContext, error: BaseException) -> bool:
    """Whether ``error`` only says the client cancelled or disconnected (a request stream
    ends with a bare RpcError then): nothing failed on this side."""
    return isinstance(error, grpc.RpcError) and not context.is_active()


class ErrorMappingInterceptor(CallInterceptor):
    """Turn a FlipbookError into its gRPC status; any other exception into INTERNAL with a
    generic message (the trace goes to the server log, never to the client)."""

    @contextmanager
    def around(self, method: str, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield context
        except FlipbookError as error:
            abort_with_error(context, error)
        except Exception as error:
            if client_went_away(context, error):
                logger.debug("grpc %s: the client went away", method)
                return
            if context.code() is not None:  # type: ignore[attr-defined]  # ended further in
                raise
            logger.exception("grpc %s failed unexpectedly", method, extra={"transport": TRANSPORT})
            abort_with_error(context, error)


class MetricsInterceptor(CallInterceptor):
    """Observe every call's latency, and its error by the code the client sees."""

    @contextmanager
    def around(self, method: str, context: grpc.ServicerContext) -> Iterator[Any]:
        started = time.perf_counter()
        try:
            yield context
        except Exception as error:
            if not client_went_away(context, error):
                observe_error(TRANSPORT, error)
            raise
        finally:
            observe_latency(TRANSPORT, method.lstrip("/"), time.perf_counter() - started)


class DatabaseConnectionInterceptor(CallInterceptor):
    """Close the worker thread's unusable or expired database connections before and after
    each call, as Django does around each HTTP request, so a long-running server does not
    hold dead or stale connections."""

    @contextmanager
    def around(self, method: str, context: grpc.ServicerContext) -> Iterator[Any]:
        close_old_connections()
        thread = threading.get_ident()
        try:
            yield context
        finally:
            # Connections are per thread: an abandoned stream finalised elsewhere must not
            # close the connections of whatever call that other thread is running.
            if threading.get_ident() == thread:
                close_old_connections()


class AuthenticatedContext:
    """The servicer context of an authenticated call: the real one plus ``principal``."""

    def __init__(self, context: grpc.ServicerContext, principal: Principal) -> None:
        self._context = context
        self.principal = principal

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


class AuthenticationInterceptor(CallInterceptor):
    """Require an API key (``authorization: Bearer <key>``) on every method but the public
    services', and hand its Principal to the servicer as ``context.principal``."""

    @contextmanager
    def around(self, method: str, context: grpc.ServicerContext) -> Iterator[Any]:
        if method.startswith(PUBLIC_SERVICES):
            yield context
            return
        principal = authenticate_key(bearer_token(metadata_value(context, "authorization")))
        yield AuthenticatedContext(context, principal)


def check_key_still_active(context: Any) -> None:
    """In a long-lived call's loop: raise Unauthenticated once the call's key is revoked
    (asked of the database at most every FLIPBOOK_REVOCATION_CHECK_SECONDS)."""
    watch = getattr(context, "revocation_watch", None)
    if watch is None:
        watch = RevocationWatch(principal_of(context))
        context.revocation_watch = watch
    watch.check()


def principal_of(context: Any) -> Principal:
    """The Principal of the call. Raises Unauthenticated when no key was checked (a server
    built without the AuthenticationInterceptor fails closed)."""
    principal = getattr(context, "principal", None)
    if not isinstance(principal, Principal):
        raise Unauthenticated()
    return principal


class _Malformed:
    """Stands for a request that did not parse; the call then ends INVALID_ARGUMENT."""


_MALFORMED = _Malformed()


def _malformed_request() -> ValidationError:
    return ValidationError("request", "is not a valid protobuf message of this method")


class MalformedRequestInterceptor(grpc.ServerInterceptor):
    """Parse requests without raising: grpcio answers a request that fails to parse with
    INTERNAL, a server error; here it becomes INVALID_ARGUMENT like any other bad input."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        return self.wrap(handler_call_details.method, handler)

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """``handler`` with a parser that cannot raise and a check of what it parsed."""
        if handler.request_deserializer is None:
            return handler
        parse = handler.request_deserializer

        def tolerant_parse(data: bytes) -> Any:
            try:
                return parse(data)
            except Exception:  # DecodeError, or any parser's own
                return _MALFORMED

        kind = (handler.request_streaming, handler.response_streaming)
        attribute, make_handler = _HANDLER_KINDS[kind]
        behaviour = getattr(handler, attribute)

        def checked(request_or_iterator):
            if handler.request_streaming:
                return (_checked_item(r) for r in request_or_iterator)
            if request_or_iterator is _MALFORMED:
                raise _malformed_request()
            return request_or_iterator

        if handler.response_streaming:

            def wrapped(request_or_iterator, context):
                yield from behaviour(checked(request_or_iterator), context)

        else:

            def wrapped(request_or_iterator, context):
                return behaviour(checked(request_or_iterator), context)

        return make_handler(
            wrapped,
            request_deserializer=tolerant_parse,
            response_serializer=handler.response_serializer,
        )


def _checked_item(request: Any) -> Any:
    if request is _MALFORMED:
        raise _malformed_request()
    return request


class InterceptorChain(grpc.ServerInterceptor):
    """``interceptors`` (outermost first) applied once per method instead of once per call.

    grpcio asks every interceptor for every call, and each answered with a newly wrapped
    handler: about a tenth of a one-event append's time. The wrapped handler of a known
    method depends on nothing but the method (the servicers' handlers are fixed), so it is
    built on the first call and kept; per-call state lives in the ``around`` blocks."""

    def __init__(self, interceptors: list[CallInterceptor | MalformedRequestInterceptor]) -> None:
        self.interceptors = interceptors
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}

    def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        handler = self._handlers.get(method)
        if handler is not None:
            return handler
        handler = continuation(handler_call_details)
        if handler is None:  # unknown method (never kept): grpc answers UNIMPLEMENTED
            return None
        handler = self._handlers[method] = self.wrap_all(method, handler)
        return handler

    def wrap_all(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """``handler`` inside every interceptor, outermost first."""
        for interceptor in reversed(self.interceptors):
            handler = interceptor.wrap(method, handler)
        return handler


def default_chain() -> InterceptorChain:
    """Flipbook's interceptors, outermost first, as one chain built once per method."""
    return InterceptorChain(
        [
            RequestLoggingInterceptor(),
            ErrorMappingInterceptor(),
            MetricsInterceptor(),
            DatabaseConnectionInterceptor(),
            AuthenticationInterceptor(),
            MalformedRequestInterceptor(),
        ]
    )


def default_interceptors() -> list[grpc.ServerInterceptor]:
    """Flipbook's interceptors for grpcio's threaded server (``default_chain``)."""
    return [default_chain()]
