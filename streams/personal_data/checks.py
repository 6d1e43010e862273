"""System checks of FLIPBOOK_PERSONAL_DATA: the declared JSON paths and the key wrapper."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from streams.conf import flipbook_settings


@checks.register("flipbook")
def check_personal_data(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from streams.personal_data.declarations import compile_categories
    from streams.personal_data.keys import build_key_wrapper

    given = getattr(settings, "FLIPBOOK_PERSONAL_DATA", None)
    if not isinstance(given, dict):
        return []  # absent, or reported by flipbook.E001
    problems: list[checks.CheckMessage] = []
    config = flipbook_settings.PERSONAL_DATA
    try:
        compile_categories(config["CATEGORIES"])
    except ImproperlyConfigured as exc:
        problems.append(
            checks.Error(
                str(exc),
                hint="Personal fields are JSON paths from the payload's root, like '$.email', "
                "'$.address.street', '$.phones[*]' (docs/concepts/erasure.md).",
                id="flipbook.E050",
            )
        )
    if "KEY_WRAPPER" in given:
        try:
            build_key_wrapper(config["KEY_WRAPPER"])
        except ImproperlyConfigured as exc:
            problems.append(checks.Error(str(exc), id="flipbook.E051"))
    key = config["METADATA_KEY"]
    if not isinstance(key, str) or not key:
        problems.append(
            checks.Error(
                'FLIPBOOK_PERSONAL_DATA["METADATA_KEY"] must be a non-empty string.',
                hint="The default is 'personal_data'.",
                id="flipbook.E052",
            )
        )
    return problems
