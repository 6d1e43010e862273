"""Category moved here from the streams app (streams 0002): it picks reducers and snapshot policies."""

from django.db import migrations, models


def move_content_types(apps, schema_editor, source="streams", target="snapshots"):
    """Admin history and permissions follow the models to their new app."""
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in ("category",):
        if not content_type.objects.filter(app_label=target, model=model).exists():
            content_type.objects.filter(app_label=source, model=model).update(app_label=target)


class Migration(migrations.Migration):

    dependencies = [
        ("snapshots", "0001_initial"),
        ("streams", "0004_refusal_function"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        # The tables stay where they are (flipbook_category); only Django's model state moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Category',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(help_text="The category's name.", max_length=128, unique=True)),
                        ('reducer', models.CharField(choices=[('merge', 'merge: deep-merge object payloads into the state'), ('list', 'list: the state is the list of payloads'), ('declarative', 'declarative: the rules below, per event name'), ('python', 'python: a Python function')], default='merge', max_length=16)),
                        ('rules', models.JSONField(blank=True, default=dict, help_text='Declarative reducer only: event name -> list of rules, e.g. {"Deposited": [{"op": "increment", "path": "balance", "from": "amount"}]}. Ops: set, increment, decrement, append, remove, merge; \'path\' is a dotted path in the state, \'from\' a dotted path in the payload (\'$\' = all of it, \'@name\', \'@timestamp\', \'@metadata.x\' = event fields), or \'value\' a literal.')),
                        ('python_path', models.CharField(blank=True, help_text='Python reducer only: dotted path of a (state, event) -> state function. Blank: the function registered for this category (FLIPBOOK_REDUCERS or @reducer).', max_length=255)),
                        ('snapshot_every', models.PositiveIntegerField(blank=True, help_text='Snapshot policy: store a snapshot every N events (blank: no snapshots).', null=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'verbose_name_plural': 'categories',
                        'db_table': 'flipbook_category',
                        'ordering': ['name'],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
