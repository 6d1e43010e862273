"""The console's roles as groups (api/roles.py): viewer, operator, admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APPS = ("api", "subscriptions", "streams", "snapshots")
VIEWER = [
    "api.view_auditrecord",
    "subscriptions.view_subscription",
    "subscriptions.view_parkedevent",
    "streams.view_stream",
    "streams.view_event",
    "snapshots.view_snapshot",
    "snapshots.view_category",
]
OPERATOR = [*VIEWER, "api.operate_subscriptions", "api.rebuild_snapshots"]
# Audit records are never added, changed or deleted by hand, whatever the role.
NEVER = {"api.add_auditrecord", "api.change_auditrecord", "api.delete_auditrecord"}


def make_groups(apps, schema_editor):
    # Permissions are made after migrations run; the groups need them now.
    for config in apps.get_app_configs():
        config.models_module = True
        create_permissions(config, verbosity=0, apps=apps)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(names):
        wanted = {tuple(name.split(".")) for name in names}
        found = Permission.objects.filter(content_type__app_label__in=APPS).select_related(
            "content_type"
        )
        return [p for p in found if (p.content_type.app_label, p.codename) in wanted]

    everything = [
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(content_type__app_label__in=APPS).select_related(
            "content_type"
        )
    ]
    for name, names in (
        ("viewer", VIEWER),
        ("operator", OPERATOR),
        ("admin", [n for n in everything if n not in NEVER]),
    ):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*perms(names))


def drop_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=["viewer", "operator", "admin"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_auditrecord"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("subscriptions", "0002_subscription_paused"),
        ("streams", "0005_models_moved_out"),
        ("snapshots", "0002_category"),
    ]

    operations = [migrations.RunPython(make_groups, drop_groups)]
