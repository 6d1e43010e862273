"""Users of each console role for tests: the groups come from the data migration, made again
here when a transactional test emptied the tables."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

_migration = importlib.import_module("api.migrations.0003_console_roles")


def user_with_role(username: str, role: str):
    """A user (password "pw") in the group ``role`` (viewer, operator or admin)."""
    if not Group.objects.filter(name=role).exists():
        _migration.make_groups(apps, None)
    user = get_user_model().objects.create_user(username, password="pw")
    user.groups.add(Group.objects.get(name=role))
    return user
