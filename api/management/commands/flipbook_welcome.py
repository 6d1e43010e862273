"""First start of the embedded default: an admin login and a demo API key, printed."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from api.models import ApiKey
from streams.conf import flipbook_settings


class Command(BaseCommand):
    help = "Create an admin login and a demo API key on first start; print them every start."

    def handle(self, *args, **options) -> None:
        welcome = settings.VAR_DIR / "welcome.txt"
        User = get_user_model()
        if not welcome.exists() and not User.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser("admin", "admin@localhost", password)
            _, key = ApiKey.issue("demo (make run)", scope="admin")
            port = flipbook_settings.HTTP_PORT
            # Kept in var/ (mode 600) so a newcomer can find them again; a real
            # deployment creates its own users and keys and never has this file.
            welcome.write_text(
                f"Console: http://127.0.0.1:{port}/ (admin: /admin/)  login admin / {password}\n"
                f"Demo API key (admin scope): {key}\n"
                f"  curl -H 'Authorization: Bearer {key}' "
                f"http://127.0.0.1:{port}/api/v1/streams/\n"
            )
            welcome.chmod(0o600)
        if welcome.exists():
            self.stdout.write(welcome.read_text())
