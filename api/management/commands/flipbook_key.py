"""Create, list and revoke API keys from the command line."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from api.models import SCOPES, ApiKey


class Command(BaseCommand):
    help = "Manage API keys: create NAME [--scope S] [--prefix P] | list | revoke KEY_ID"

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a key and print it once")
        create.add_argument("name")
        create.add_argument("--scope", choices=SCOPES, default="read")
        create.add_argument("--prefix", default="", help="restrict to stream ids with this prefix")
        sub.add_parser("list", help="list keys (never their secrets)")
        revoke = sub.add_parser("revoke", help="deactivate a key")
        revoke.add_argument("key_id")

    def handle(self, *args, action: str, **options) -> None:
        if action == "create":
            _, raw = ApiKey.issue(options["name"], options["scope"], options["prefix"])
            self.stdout.write(raw)
        elif action == "list":
            for key in ApiKey.objects.order_by("created_at"):
                state = "active" if key.active else "revoked"
                prefix = key.stream_prefix or "*"
                self.stdout.write(f"{key.key_id}  {key.scope:<5}  {prefix}  {state}  {key.name}")
        else:
            found = ApiKey.objects.filter(key_id=options["key_id"]).first()
            if found is None:
                raise CommandError(f"no key with id {options['key_id']!r}")
            found.active = False
            found.save(update_fields=["active"])  # save() so caches of verified keys forget it
            self.stdout.write(f"revoked {options['key_id']}")
