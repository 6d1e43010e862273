"""`python manage.py serve` (also `flipbook serve`): HTTP and gRPC in one process."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve HTTP (REST, admin, console, WebSockets) and gRPC until SIGTERM."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=settings.FLIPBOOK_HOST)
        parser.add_argument("--http-port", type=int, default=settings.FLIPBOOK_HTTP_PORT)
        parser.add_argument("--grpc-port", type=int, default=settings.FLIPBOOK_GRPC_PORT)
        parser.add_argument("--no-grpc", action="store_true", help="serve HTTP only")
        parser.add_argument(
            "--grace", type=float, default=10.0, help="seconds to let in-flight work finish"
        )

    def handle(self, *args, **options) -> None:
        from flipbook_site.serve import serve

        serve(
            host=options["host"],
            http_port=options["http_port"],
            grpc_port=None if options["no_grpc"] else options["grpc_port"],
            grace=options["grace"],
            tls_cert=getattr(settings, "FLIPBOOK_GRPC_TLS_CERT", None),
            tls_key=getattr(settings, "FLIPBOOK_GRPC_TLS_KEY", None),
        )
