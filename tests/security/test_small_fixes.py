"""Item 9: the small fixes. A re-sent commit mixing client and server ids gets a clear
message; the test settings honour FLIPBOOK_VAR_DIR; `make run PORT=N` tells port N
everywhere. (DynamoDB "any" appends that lose every race: tests/streams/test_dynamodb_errors.py.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from api.models import ApiKey
from tests.api.rest_helpers import Api, error_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_resending_a_commit_with_mixed_ids_explains_itself():
    api = Api(ApiKey.issue("w", "write")[1])
    given = str(uuid.uuid4())
    events = [{"name": "A", "id": given}, {"name": "B"}]
    assert api.append("s", events).status_code == 201
    again = api.append("s", events)
    assert again.status_code == 409
    error = error_of(again)
    assert error["code"] == "id_conflict"
    assert error["details"]["event_ids"] == [given]  # only the id the client chose
    assert "events without ids" in error["message"]


@pytest.mark.django_db(transaction=True)
def test_an_identical_resend_with_every_id_given_is_still_a_duplicate():
    api = Api(ApiKey.issue("w", "write")[1])
    events = [{"name": "A", "id": str(uuid.uuid4())}, {"name": "B", "id": str(uuid.uuid4())}]
    assert api.append("s", events).status_code == 201
    assert api.append("s", events).status_code == 200


def test_test_settings_honour_flipbook_var_dir(tmp_path):
    env = {
        **os.environ,
        "FLIPBOOK_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    code = (
        "from django.conf import settings\n"
        "print(settings.DATABASES['default']['TEST']['NAME'])\n"
        "print(settings.DATABASES['default']['NAME'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    for line in done.stdout.split():
        assert line.startswith(str(tmp_path)), line


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_tells_the_port_it_serves_on():
    env = {k: v for k, v in os.environ.items() if k != "FLIPBOOK_HTTP_PORT"}
    done = subprocess.run(
        ["make", "-n", "run", "PORT=8404"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    welcome = [line for line in done.stdout.splitlines() if "flipbook_welcome" in line]
    assert welcome and "FLIPBOOK_HTTP_PORT=8404" in welcome[0]
    assert "8000" not in done.stdout
    assert "--http-port 8404" in done.stdout
