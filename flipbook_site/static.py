"""Static files for `flipbook serve`: Django's ASGI static handler, with a path that leaves
the static folders (``/static/../settings.py``) answered 404 instead of a server error."""

from __future__ import annotations

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import SuspiciousOperation
from django.http import Http404


class StaticFilesHandler(ASGIStaticFilesHandler):
    def serve(self, request):
        try:
            return super().serve(request)
        except (SuspiciousOperation, ValueError) as exc:  # traversal, NUL bytes
            raise Http404("no such static file") from exc
