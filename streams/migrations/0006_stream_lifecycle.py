from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("streams", "0005_models_moved_out"),
    ]

    operations = [
        migrations.AddField(
            model_name="stream",
            name="deleted",
            field=models.SmallIntegerField(
                choices=[(0, "live"), (1, "soft-deleted"), (2, "hard-deleted (tombstone)")],
                default=0,
                db_default=0,
            ),
        ),
        migrations.AddField(
            model_name="stream",
            name="truncate_before",
            field=models.BigIntegerField(
                default=0,
                db_default=0,
                help_text="First ordinal that remains (a version; a position on neutral streams).",
            ),
        ),
        migrations.AddIndex(
            model_name="stream",
            index=models.Index(
                condition=models.Q(("deleted__gt", 0), ("truncate_before__gt", 0), _connector="OR"),
                fields=["stream_id"],
                name="flipbook_stream_lifecycle",
            ),
        ),
    ]
