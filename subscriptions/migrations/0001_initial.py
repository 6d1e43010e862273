"""Subscription and ParkedEvent moved here from the streams app (streams 0003)."""

import django.db.models.deletion
from django.db import migrations, models


def move_content_types(apps, schema_editor, source="streams", target="subscriptions"):
    """Admin history and permissions follow the models to their new app."""
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in ("subscription", "parkedevent"):
        if not content_type.objects.filter(app_label=target, model=model).exists():
            content_type.objects.filter(app_label=source, model=model).update(app_label=target)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("streams", "0004_refusal_function"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        # The tables stay where they are (flipbook_subscription, flipbook_parked_event); only Django's model state moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Subscription',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, unique=True)),
                        ('filter_category', models.CharField(blank=True, max_length=128, null=True)),
                        ('filter_stream_id', models.CharField(blank=True, max_length=256, null=True)),
                        ('filter_names', models.JSONField(blank=True, default=list)),
                        ('checkpoint', models.BigIntegerField(default=0, help_text='Every matching event at or below this position is acknowledged or parked.')),
                        ('max_attempts', models.PositiveIntegerField(default=5)),
                        ('retry_position', models.BigIntegerField(blank=True, null=True)),
                        ('retry_attempts', models.PositiveIntegerField(default=0)),
                        ('last_error', models.TextField(blank=True, default='')),
                        ('push_kind', models.CharField(blank=True, choices=[('', 'pull'), ('webhook', 'HTTP webhook'), ('grpc', 'gRPC EventHandler')], default='', max_length=16)),
                        ('push_target', models.CharField(blank=True, default='', max_length=1000)),
                        ('push_lease_owner', models.CharField(blank=True, default='', max_length=100)),
                        ('push_lease_until', models.DateTimeField(blank=True, null=True)),
                        ('push_next_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('push_failures', models.PositiveIntegerField(default=0, help_text='Push deliveries in a row that reached no handler (backoff).')),
                        ('last_heartbeat', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'flipbook_subscription',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='ParkedEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('position', models.BigIntegerField()),
                        ('stream_id', models.CharField(max_length=256)),
                        ('version', models.BigIntegerField(blank=True, null=True)),
                        ('name', models.CharField(max_length=128)),
                        ('event_id', models.UUIDField()),
                        ('error', models.TextField(blank=True, default='')),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('status', models.CharField(choices=[('parked', 'parked'), ('retry', 'retry requested'), ('sent', 'retry sent, not acknowledged')], default='parked', max_length=8)),
                        ('parked_at', models.DateTimeField()),
                        ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='parked_events', to='subscriptions.subscription')),
                    ],
                    options={
                        'db_table': 'flipbook_parked_event',
                        'ordering': ['subscription', 'position'],
                        'constraints': [models.UniqueConstraint(fields=('subscription', 'position'), name='flipbook_parked_sub_pos')],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
