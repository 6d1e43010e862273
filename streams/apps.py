"""Django app config for the event store."""

from django.apps import AppConfig


class StreamsConfig(AppConfig):
    name = "streams"
    verbose_name = "Event store"
    default_auto_field = "django.db.models.BigAutoField"
