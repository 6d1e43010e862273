"""Django app config for the APIs."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "APIs and keys"
    default_auto_field = "django.db.models.BigAutoField"
