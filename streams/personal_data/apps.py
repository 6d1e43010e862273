"""Django app of the personal-data key store (its own migrations beside the event tables)."""

from django.apps import AppConfig


class PersonalDataConfig(AppConfig):
    name = "streams.personal_data"
    label = "personal_data"
    verbose_name = "Personal data"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from streams.personal_data import checks  # noqa: F401  (registers the check)
