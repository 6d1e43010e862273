"""Who may open a WebSocket: the Host must be one of ALLOWED_HOSTS, and a browser's Origin
must be this server's own (same host and port) or one named in FLIPBOOK_ALLOWED_ORIGINS.

A browser attaches the console's session cookie to a WebSocket that any site opens
(cross-site WebSocket hijacking); the Origin header, which scripts cannot forge, is the
defence. Clients that send no Origin (SDKs, tools) are not browsers and authenticate with a
key, not an ambient cookie, so they pass the origin check."""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

from streams.conf import flipbook_settings

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def allowed_origins() -> frozenset[str]:
    """The origins besides the server's own (settings.FLIPBOOK_ALLOWED_ORIGINS), normalised
    to scheme://host[:port]."""
    values = flipbook_settings.ALLOWED_ORIGINS or ()
    return frozenset(o for o in (normalise_origin(v) for v in values) if o)


def normalise_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` in lower case, the default port left out; None if unusable."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def websocket_refusal(scope: dict) -> str | None:
    """Why a WebSocket handshake of ``scope`` is refused, or None when it may go on."""
    host = _header(scope, b"host")
    if host is not None:
        domain, _ = split_domain_port(host)
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            return f"Host {host!r} is not in ALLOWED_HOSTS (FLIPBOOK_ALLOWED_HOSTS)"
    origin = _header(scope, b"origin")
    if origin is None:
        return None
    normal = normalise_origin(origin)
    if normal is None:
        return f"Origin {origin!r} is not an http(s) origin"
    if normal in allowed_origins():
        return None
    if host is not None and _same_origin(normal, host):
        return None
    return f"Origin {origin!r} is not this server's and not in FLIPBOOK_ALLOWED_ORIGINS"


def _same_origin(origin: str, host: str) -> bool:
    scheme, _, authority = origin.partition("://")
    origin_domain, origin_port = split_domain_port(authority)
    host_domain, host_port = split_domain_port(host.lower())
    default = str(DEFAULT_PORTS[scheme])
    return origin_domain == host_domain and (origin_port or default) == (host_port or default)


class WebSocketOriginGuard:
    """ASGI middleware: refuse (HTTP 403 at the handshake) a WebSocket whose Host or Origin
    is not allowed; pass the others on to ``app``. Settings are read per connection."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and websocket_refusal(scope) is not None:
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.app(scope, receive, send)
