"""Django app config for the APIs; registers the gRPC push transport with the push worker."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "APIs and keys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from api.grpc.push import grpc_transport
        from subscriptions.push import register_transport

        register_transport("grpc", grpc_transport)

        from api.audit import record_erasure
        from streams.personal_data.signals import erasure_recorded

        erasure_recorded.connect(record_erasure, dispatch_uid="api.audit.erasure")
