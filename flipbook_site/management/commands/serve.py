"""`python manage.py serve` (also `flipbook serve`): HTTP and gRPC in one process."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from streams.conf import flipbook_settings


class Command(BaseCommand):
    help = "Serve HTTP (REST, admin, console, WebSockets) and gRPC until SIGTERM."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=flipbook_settings.HOST)
        parser.add_argument("--http-port", type=int, default=flipbook_settings.HTTP_PORT)
        parser.add_argument("--grpc-port", type=int, default=flipbook_settings.GRPC_PORT)
        parser.add_argument("--no-grpc", action="store_true", help="serve HTTP only")
        parser.add_argument(
            "--grace", type=float, default=10.0, help="seconds to let in-flight work finish"
        )

    def handle(self, *args, **options) -> None:
        from flipbook_site.serve import serve
        from streams.checks import DURABILITY_TAG, SCALE_OUT_TAG

        # Refuse a scale-out deployment that would silently split its state, and an event
        # store that would lose what it acknowledged (raises SystemCheckError naming the
        # setting and the fix).
        self.check(tags=[SCALE_OUT_TAG, DURABILITY_TAG], include_deployment_checks=True)

        serve(
            host=options["host"],
            http_port=options["http_port"],
            grpc_port=None if options["no_grpc"] else options["grpc_port"],
            grace=options["grace"],
            tls_cert=flipbook_settings.GRPC_TLS_CERT,
            tls_key=flipbook_settings.GRPC_TLS_KEY,
        )
