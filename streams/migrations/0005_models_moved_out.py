"""Category moved to the snapshots app, Subscription and ParkedEvent to the subscriptions
app: streams holds the event store alone. The tables stay; only the model state moves."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("streams", "0004_refusal_function"),
        ("snapshots", "0002_category"),
        ("subscriptions", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ParkedEvent"),
                migrations.DeleteModel(name="Subscription"),
                migrations.DeleteModel(name="Category"),
            ],
        ),
    ]
