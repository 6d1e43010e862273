"""`python manage.py serve` (also `flipbook serve`): HTTP and gRPC, from N worker processes."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from streams.conf import flipbook_settings


class Command(BaseCommand):
    help = "Serve HTTP (REST, admin, console, WebSockets) and gRPC until SIGTERM."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=flipbook_settings.HOST)
        parser.add_argument("--http-port", type=int, default=flipbook_settings.HTTP_PORT)
        parser.add_argument("--grpc-port", type=int, default=flipbook_settings.GRPC_PORT)
        parser.add_argument("--no-grpc", action="store_true", help="serve HTTP only")
        parser.add_argument(
            "--workers",
            type=int,
            default=flipbook_settings.WORKERS,
            help="worker processes on the same ports (default: one per CPU on PostgreSQL or "
            "DynamoDB with the Redis bus, else 1)",
        )
        parser.add_argument(
            "--grace", type=float, default=10.0, help="seconds to let in-flight work finish"
        )

    def handle(self, *args, **options) -> None:
        from flipbook_site.serve import ServeOptions, default_workers, serve
        from streams.checks import DURABILITY_TAG, SCALE_OUT_TAG

        # Refuse a scale-out deployment that would silently split its state, and an event
        # store that would lose what it acknowledged (raises SystemCheckError naming the
        # setting and the fix).
        self.check(tags=[SCALE_OUT_TAG, DURABILITY_TAG], include_deployment_checks=True)
        workers = options["workers"] or default_workers()
        check_workers(workers)
        connections.close_all()  # the supervisor keeps no database session of its own
        serve(
            ServeOptions(
                host=options["host"],
                http_port=options["http_port"],
                grpc_port=None if options["no_grpc"] else options["grpc_port"],
                grace=options["grace"],
                tls_cert=flipbook_settings.GRPC_TLS_CERT,
                tls_key=flipbook_settings.GRPC_TLS_KEY,
                workers=workers,
            )
        )


def check_workers(workers: int) -> None:
    """Refuse a worker count the deployment cannot share state across."""
    if workers < 1:
        raise CommandError(f"--workers must be 1 or more, not {workers}.")
    if workers == 1:
        return
    if connections["default"].vendor == "sqlite":
        raise CommandError(
            f"--workers {workers} needs PostgreSQL: on SQLite one process writes at a time "
            "and the in-process bus reaches one process. Use --workers 1, or set "
            "FLIPBOOK_DATABASE_URL=postgres://..."
        )
    if not flipbook_settings.REDIS_URL:
        raise CommandError(
            f"--workers {workers} needs the Redis bus: without it a commit made through one "
            "worker never reaches WebSockets on another. Set FLIPBOOK_REDIS_URL=redis://..., "
            "or use --workers 1."
        )
