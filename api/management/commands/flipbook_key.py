"""Create, list and revoke API keys from the command line."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError

from api.audit import record_action
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
            key, raw = ApiKey.issue(options["name"], options["scope"], options["prefix"])
            _audit("key.create", key, scope=key.scope, stream_prefix=key.stream_prefix)
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
            _audit("key.revoke", found)
            self.stdout.write(f"revoked {options['key_id']}")


def _audit(action: str, key: ApiKey, **details: str) -> None:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        who = "unknown"
    record_action(
        actor=f"cli:{who}",
        interface="cli",
        action=action,
        target=f"{key.name} ({key.key_id})",
        details=details,
    )
