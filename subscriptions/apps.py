"""Django app config for durable subscriptions."""

from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Durable subscriptions"
    default_auto_field = "django.db.models.BigAutoField"
