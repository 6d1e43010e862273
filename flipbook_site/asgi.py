"""ASGI entry point (HTTP now; WebSockets join it with the event bus)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flipbook_site.settings")
application = get_asgi_application()
