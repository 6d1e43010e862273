"""Personal-data declarations and their system checks, JSON paths, the `erase` command, the
local key wrapper, and the append path with nothing declared."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command

from streams import services
from streams.personal_data import keys
from streams.personal_data.models import DataKey, Erasure
from streams.personal_data.paths import WILDCARD, PathError, parse_path

pytestmark = pytest.mark.django_db(transaction=True)


def check_ids(messages) -> list[str]:
    return [m.id for m in messages]


def test_paths_parse_and_refuse_with_reasons():
    assert parse_path("$.email") == ("email",)
    assert parse_path("$.a.b[2][*]['odd key'][\"x\"]") == ("a", "b", 2, WILDCARD, "odd key", "x")
    for bad, reason in [
        ("", "non-empty"),
        ("email", "must start at the root"),
        ("$", "names the whole payload"),
        ("$.a[", "at character 4"),
        ("$..a", "at character 2"),
        ("$.a[-1]", "at character 4"),
        (5, "non-empty string"),
    ]:
        with pytest.raises(PathError, match=reason):
            parse_path(bad)


def test_bad_declarations_are_system_check_errors(settings):
    cases = [
        ({"CATEGORIES": {"c": {"fields": ["email"]}}}, "must start at the root"),
        ({"CATEGORIES": {"c": {"fields": []}}}, "non-empty list"),
        ({"CATEGORIES": {"c": {"fields": ["$.a"], "subject": "$"}}}, "whole payload"),
        ({"CATEGORIES": {"c": {"fields": ["$.a"], "subject": "$.a.id"}}}, "inside a personal"),
        ({"CATEGORIES": {"c": {"fields": ["$.a"], "extra": 1}}}, "unknown keys"),
        ({"CATEGORIES": {"c": ["$.a"]}}, "must be a dict"),
    ]
    for config, words in cases:
        settings.FLIPBOOK_PERSONAL_DATA = config
        errors = [m for m in run_checks(tags=["flipbook"]) if m.id == "flipbook.E050"]
        assert len(errors) == 1 and words in errors[0].msg, (config, errors)
    settings.FLIPBOOK_PERSONAL_DATA = {"KEY_WRAPPER": {"BACKEND": "no.such.Wrapper"}}
    assert "flipbook.E051" in check_ids(run_checks(tags=["flipbook"]))
    settings.FLIPBOOK_PERSONAL_DATA = {"KEY_WRAPPER": {"BACKEND": "builtins.dict"}}
    assert "flipbook.E051" in check_ids(run_checks(tags=["flipbook"]))
    settings.FLIPBOOK_PERSONAL_DATA = {"CATEGORIES": {"c": {"fields": ["$.a", "$.b[*].c"]}}}
    ids = check_ids(run_checks(tags=["flipbook"]))
    assert not [i for i in ids if i.startswith("flipbook.E05")]


def test_erase_command(settings):
    settings.FLIPBOOK_PERSONAL_DATA = {"CATEGORIES": {"user": {"fields": ["$.name"]}}}
    services.append_to_stream(
        "user-1", [{"name": "Named", "payload": {"name": "Finn"}}], category="user"
    )
    out = StringIO()
    call_command("erase", "user-1", "--output", "json", "--by", "dpo@example.com", stdout=out)
    body = json.loads(out.getvalue())
    assert (body["subject"], body["keys_destroyed"], body["erased_by"]) == (
        "user-1",
        1,
        "dpo@example.com",
    )
    assert Erasure.objects.get().via == "command"
    from api.models import AuditRecord

    trail = AuditRecord.objects.get(action="subject.erase")
    assert (trail.actor, trail.interface, trail.target) == ("dpo@example.com", "cli", "user-1")
    assert services.latest_event("user-1").payload == {"name": {"erased": True}}
    with pytest.raises(CommandError, match="no personal data is stored for subject 'user-1'"):
        call_command("erase", "user-1")


def test_a_changed_secret_reads_as_undecryptable_not_as_plaintext_or_a_crash(settings):
    settings.FLIPBOOK_PERSONAL_DATA = {"CATEGORIES": {"user": {"fields": ["$.name"]}}}
    services.append_to_stream(
        "user-2", [{"name": "Named", "payload": {"name": "Gail"}}], category="user"
    )
    keys._unwrapped.clear()
    settings.FLIPBOOK_PERSONAL_DATA = {
        "CATEGORIES": {"user": {"fields": ["$.name"]}},
        "KEY_WRAPPER": {
            "BACKEND": "streams.personal_data.keys.LocalKeyWrapper",
            "OPTIONS": {"secret": "another secret"},
        },
    }
    assert services.latest_event("user-2").payload == {"name": {"undecryptable": True}}
    assert DataKey.objects.filter(subject="user-2").exists()


def test_nothing_declared_leaves_appends_untouched(settings):
    """With no declaration and no marker the commit is passed through as it was prepared:
    no key is made, nothing is rewritten."""
    from streams.personal_data.protection import protect
    from streams.validation import prepare_commit

    prepared = prepare_commit(
        [{"stream_id": "plain-1", "events": [{"name": "A", "payload": {"email": "x@y.z"}}]}]
    )
    assert protect(prepared, store=None) is prepared
    services.append_to_stream("plain-1", [{"name": "A", "payload": {"email": "x@y.z"}}])
    assert not DataKey.objects.exists()


def test_racing_first_appends_of_one_subject_agree_on_one_key():
    """Writers that each make the subject's first key race on the unique subject: one row
    wins, the others use it, and every event decrypts."""
    import threading

    from django.db import connections

    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait()
            services.append_to_stream(
                f"race-{n}",
                [
                    {
                        "name": "Said",
                        "payload": {"who": f"Hal {n}"},
                        "metadata": {"personal_data": {"subject": "hal", "fields": ["$.who"]}},
                    }
                ],
            )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert DataKey.objects.filter(subject="hal").count() == 1
    for n in range(6):
        assert services.latest_event(f"race-{n}").payload == {"who": f"Hal {n}"}
