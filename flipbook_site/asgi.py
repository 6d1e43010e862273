"""ASGI entry point: Django over HTTP (sync views on worker threads, flipbook_site/http.py),
the event bus consumers over WebSocket."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flipbook_site.settings")
# Django is set up before anything imports models (the consumers do, through the store).
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from api.rest.fast import (  # noqa: E402
    fast_append,
    fast_append_async,
    fast_read,
    is_fast_append,
    is_fast_read,
)
from console.routing import websocket_urlpatterns  # noqa: E402
from flipbook_site.http import ThreadedHTTP, default_threads  # noqa: E402
from flipbook_site.origins import WebSocketOriginGuard  # noqa: E402


def _websocket_application():
    # Host and Origin are checked before anything else (flipbook_site/origins.py): a session
    # cookie must not be usable by another site's script.
    # types-channels wants its own route types; Channels routes Django's re_path patterns.
    routes = URLRouter(websocket_urlpatterns)  # type: ignore[arg-type]
    return WebSocketOriginGuard(AuthMiddlewareStack(routes))


websocket_application = _websocket_application()
http_application = ThreadedHTTP(
    django_application,
    threads=default_threads(),
    fast_routes=((is_fast_append, fast_append), (is_fast_read, fast_read)),
    loop_routes=((is_fast_append, fast_append_async),),
)
application = ProtocolTypeRouter({"http": http_application, "websocket": websocket_application})
