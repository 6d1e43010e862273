"""Django app config for the snapshot store; connects the snapshot policy to new commits."""

from django.apps import AppConfig


class SnapshotsConfig(AppConfig):
    name = "snapshots"
    verbose_name = "Snapshot store"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from snapshots import policy
        from snapshots.services import on_stream_truncated
        from streams.signals import stream_truncated

        policy.connect()
        stream_truncated.connect(on_stream_truncated, dispatch_uid="snapshots.truncated")
