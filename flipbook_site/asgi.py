"""ASGI entry point: Django over HTTP, the event bus consumers over WebSocket."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flipbook_site.settings")
# Django is set up before anything imports models (the consumers do, through the store).
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import OriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from console.routing import websocket_urlpatterns  # noqa: E402


def _websocket_application():
    # types-channels wants its own route types; Channels routes Django's re_path patterns.
    app = AuthMiddlewareStack(URLRouter(websocket_urlpatterns))  # type: ignore[arg-type]
    # Browsers send an Origin, and a session cookie must not be usable from another site:
    # such sockets are checked against ALLOWED_HOSTS. API clients (no Origin header) pass,
    # since they authenticate with a key, not an ambient cookie.
    return _NoOriginOrAllowed(app)


class _NoOriginOrAllowed:
    def __init__(self, app):
        self.app = app
        self.checked = OriginValidator(app, settings.ALLOWED_HOSTS or ["localhost"])

    async def __call__(self, scope, receive, send):
        if not any(name == b"origin" for name, _ in scope.get("headers", ())):
            return await self.app(scope, receive, send)
        return await self.checked(scope, receive, send)


application = ProtocolTypeRouter(
    {"http": django_application, "websocket": _websocket_application()}
)
