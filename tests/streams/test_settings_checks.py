"""The settings object (streams/conf.py) and the system checks of FLIPBOOK_* settings."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from streams.backends import create_event_store
from streams.checks import check_scale_out, check_settings
from streams.conf import flipbook_settings
from tests.processes import ROOT


def ids(messages) -> list[str]:
    return [m.id for m in messages]


def test_a_partial_dict_keeps_the_other_defaults(settings):
    settings.FLIPBOOK_LIMITS = {"MAX_PAYLOAD_BYTES": 10}
    assert flipbook_settings.LIMITS["MAX_PAYLOAD_BYTES"] == 10
    assert flipbook_settings.LIMITS["MAX_READ_LIMIT"] == 10_000  # the default, no KeyError


def test_a_changed_setting_is_read_again(settings):
    settings.FLIPBOOK_BUS = {"QUEUE_SIZE": 7}
    assert flipbook_settings.BUS["QUEUE_SIZE"] == 7
    settings.FLIPBOOK_BUS = {"QUEUE_SIZE": 8}
    assert flipbook_settings.BUS["QUEUE_SIZE"] == 8


def test_unknown_names_are_refused():
    with pytest.raises(AttributeError, match="not a Flipbook setting"):
        _ = flipbook_settings.NO_SUCH_THING


def test_typos_and_wrong_types_are_named_with_a_fix(settings):
    settings.FLIPBOOK_LIMITS = {"MAX_PAYLOD_BYTES": 1, "MAX_READ_LIMIT": "many"}
    messages = check_settings()
    assert ids(messages) == ["flipbook.E002", "flipbook.E003"]
    assert "Did you mean 'MAX_PAYLOAD_BYTES'?" in messages[0].hint
    settings.FLIPBOOK_SUBSCRIPTIONS = ["not", "a", "dict"]
    assert "flipbook.E001" in ids(check_settings())


def test_unknown_backend_options_are_refused_not_swallowed(settings):
    config = {
        "BACKEND": "streams.backends.database.DatabaseEventStore",
        "OPTIONS": {"feed_wait_secs": 3},
    }
    with pytest.raises(ImproperlyConfigured, match=r"\['feed_wait_secs'\] are not options"):
        create_event_store(config)
    settings.FLIPBOOK_EVENT_STORE = config
    assert ids(check_settings()) == ["flipbook.E004"]
    settings.FLIPBOOK_EVENT_STORE = {"BACKEND": "streams.backends.nowhere.Store"}
    assert "cannot be imported" in check_settings()[0].msg


def test_the_defaults_pass_every_check():
    assert check_settings() == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"FLIPBOOK_REDIS_URL": "redis://127.0.0.1:6379/0"}, ["flipbook.E010", "flipbook.E011"]),
        (
            {"FLIPBOOK_REDIS_URL": "redis://127.0.0.1:6379/0", "FLIPBOOK_SINGLE_SERVER": True},
            [],
        ),
    ],
)
def test_scale_out_signs_beside_per_server_state(settings, changes, expected):
    settings.FLIPBOOK_SECRET_KEY_GENERATED = True
    settings.FLIPBOOK_BUS_PREFIX = "tests"
    for name, value in changes.items():
        setattr(settings, name, value)
    assert ids(check_scale_out()) == expected


def test_a_shared_redis_without_a_deployment_prefix_is_warned(settings, monkeypatch):
    from streams import checks

    settings.FLIPBOOK_REDIS_URL = "redis://127.0.0.1:6379/0"
    settings.FLIPBOOK_SECRET_KEY_GENERATED = False
    monkeypatch.setattr(checks, "_per_server_database", lambda: False)  # as on PostgreSQL
    settings.FLIPBOOK_BUS_PREFIX = ""
    assert ids(check_scale_out()) == ["flipbook.W012"]


def test_serve_refuses_a_scale_out_deployment_with_per_server_state(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "flipbook_site.settings",
        "FLIPBOOK_VAR_DIR": str(tmp_path),
        "FLIPBOOK_REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "serve", "--http-port", "1", "--no-grpc"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "flipbook.E010" in done.stderr and "FLIPBOOK_DATABASE_URL" in done.stderr
    assert "flipbook.E011" in done.stderr and "FLIPBOOK_SECRET_KEY" in done.stderr
