"""`flipbook subscriptions` (also `manage.py subscriptions`): run the push worker."""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand

from subscriptions.push import PushWorker


class Command(BaseCommand):
    help = (
        "Deliver push subscriptions (webhooks, gRPC EventHandlers) until SIGTERM. Several "
        "workers may run: each subscription is leased by one at a time."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="deliver one round of what is due, then exit"
        )

    def handle(self, *args, **options) -> None:
        worker = PushWorker()
        if options["once"]:
            try:
                worker.run_once()
            finally:
                from subscriptions.services import release_push_leases

                release_push_leases(worker.owner)
            return

        def on_signal(signum, frame) -> None:
            worker.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        worker.run()
