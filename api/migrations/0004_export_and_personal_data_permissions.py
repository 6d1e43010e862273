"""Two console permissions (api/roles.py): export events (operator and admin groups) and see
personal fields unmasked (admin group only)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "export_events": ("operator", "admin"),
    "view_personal_data": ("admin",),
}


def grant(apps, schema_editor):
    # Permissions are made after migrations run; the groups need them now.
    config = apps.get_app_config("api")
    previous = getattr(config, "models_module", None)
    config.models_module = previous or True
    try:
        create_permissions(config, verbosity=0, apps=apps)
    finally:
        config.models_module = previous
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for codename, groups in GRANTS.items():
        permission = Permission.objects.get(content_type__app_label="api", codename=codename)
        for group in Group.objects.filter(name__in=groups):
            group.permissions.add(permission)


def revoke(apps, schema_editor):
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="api", codename__in=list(GRANTS)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("api", "0003_console_roles")]

    operations = [
        migrations.AlterModelOptions(
            name="auditrecord",
            options={
                "ordering": ["-at", "-id"],
                "permissions": [
                    (
                        "operate_subscriptions",
                        "Can create, pause, resume, reset and delete subscriptions and act on "
                        "their parked events",
                    ),
                    ("rebuild_snapshots", "Can rebuild snapshots"),
                    ("export_events", "Can export events from the console's feed browser"),
                    ("view_personal_data", "Can see personal fields unmasked in the console"),
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
