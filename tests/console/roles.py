"""Users of each console role for tests: the groups come from the data migration, made again
here when a transactional test emptied the tables."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

_migration = importlib.import_module("api.migrations.0003_console_roles")
_grants = importlib.import_module("api.migrations.0004_export_and_personal_data_permissions")


def user_with_role(username: str, role: str):
    """A user (password "pw") in the group ``role`` (viewer, operator or admin)."""
    if not Group.objects.filter(name=role).exists():
        # The migration marks app configs as model-less when done (right for its historical
        # registry); on the live one that would hide every model: restore them.
        modules = {c.label: c.models_module for c in apps.get_app_configs()}
        try:
            _migration.make_groups(apps, None)
            _grants.grant(apps, None)
        finally:
            for config in apps.get_app_configs():
                config.models_module = modules[config.label]
    user = get_user_model().objects.create_user(username, password="pw")
    user.groups.add(Group.objects.get(name=role))
    return user
