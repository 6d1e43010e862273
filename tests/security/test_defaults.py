"""Item 7: safe defaults. The secret key file is 0600, Secure cookies and HSTS are
settings, every console page carries a Content Security Policy without inline script, and
/metrics is served to this machine only unless configured otherwise."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def settings_in_subprocess(tmp_path: Path, expression: str, **env: str) -> str:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("FLIPBOOK_") and key != "DJANGO_SETTINGS_MODULE"
    }
    environment.update(FLIPBOOK_VAR_DIR=str(tmp_path), **env)
    code = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'flipbook_site.settings'\n"
        "from django.conf import settings\n"
        f"print(repr({expression}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_secret_key_file_is_readable_by_its_owner_only(tmp_path):
    settings_in_subprocess(tmp_path, "bool(settings.SECRET_KEY)")
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_file.chmod(0o644)  # as earlier versions wrote it
    settings_in_subprocess(tmp_path, "bool(settings.SECRET_KEY)")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_secure_cookies_and_hsts_are_settings(tmp_path):
    off = settings_in_subprocess(
        tmp_path, "(settings.SESSION_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS)"
    )
    assert off == "(False, 0)"
    on = settings_in_subprocess(
        tmp_path,
        "(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
        "settings.SECURE_HSTS_SECONDS, settings.SECURE_PROXY_SSL_HEADER)",
        FLIPBOOK_SECURE_COOKIES="true",
        FLIPBOOK_HSTS_SECONDS="31536000",
        FLIPBOOK_TRUST_X_FORWARDED_PROTO="true",
    )
    assert on == "(True, True, 31536000, ('HTTP_X_FORWARDED_PROTO', 'https'))"


@pytest.mark.django_db
def test_hsts_is_sent_over_https_when_set(settings):
    settings.SECURE_HSTS_SECONDS = 3600
    response = Client(HTTP_HOST="localhost").get("/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=3600"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/streams/", "/timeline/?stream=a", "/subscriptions/"])
def test_console_pages_carry_a_csp_and_no_inline_script(path):
    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.create_user("viewer", password="x"))
    response = client.get(path)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1)
    assert script_src == "'self'"
    assert "frame-ancestors 'none'" in policy
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert not EVENT_HANDLER.search(html)


@pytest.mark.django_db
def test_the_login_page_carries_the_csp():
    response = Client(HTTP_HOST="localhost").get("/login/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_metrics_are_for_this_machine_by_default(settings):
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="::1").status_code == 200
    refused = Client().get("/metrics", REMOTE_ADDR="10.1.2.3")
    assert refused.status_code == 403
    assert b"flipbook_" not in refused.content


def test_metrics_token_admits_a_remote_scraper(settings):
    settings.FLIPBOOK_METRICS_TOKEN = "scrape-me"
    remote = {"REMOTE_ADDR": "10.1.2.3"}
    assert Client().get("/metrics", **remote).status_code == 403
    wrong = {"HTTP_AUTHORIZATION": "Bearer nope", **remote}
    assert Client().get("/metrics", **wrong).status_code == 403
    right = {"HTTP_AUTHORIZATION": "Bearer scrape-me", **remote}
    assert Client().get("/metrics", **right).status_code == 200


def test_metrics_open_and_off(settings):
    settings.FLIPBOOK_METRICS = "open"
    assert Client().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    settings.FLIPBOOK_METRICS = "off"
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
