"""Django app config for the event store."""

from django.apps import AppConfig


class StreamsConfig(AppConfig):
    name = "streams"
    verbose_name = "Event store"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from streams import checks  # noqa: F401  (registers the system checks)
        from streams.bus import on_events_committed
        from streams.signals import events_committed

        events_committed.connect(on_events_committed, dispatch_uid="flipbook.bus")
