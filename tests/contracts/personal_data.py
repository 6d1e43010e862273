"""The personal-data contract: fields declared (or marked by the client) personal are stored
encrypted on every backend, read back in plaintext through the store service, and read as
``{"erased": true}`` after the subject's erasure, with no plaintext left in the raw storage.

A backend's test class subclasses :class:`PersonalDataContract`, provides the ``event_store``
fixture (the store service on that backend, empty) and :meth:`raw_event_text` (everything the
backend stores for events, as text, read with the driver: SQL, a DynamoDB scan, redis-py)."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import connections

from snapshots import services as snapshot_services
from snapshots.state import state_at_version
from streams import services
from streams.exceptions import IdConflict, NotFound, ValidationError
from streams.personal_data.models import DataKey, DataKeyStream, Erasure
from streams.personal_data.protection import ENVELOPE

EMAIL = "alice.personal@example.com"
STREET = "12 Secret Lane"
PHONE = "+44-7700-900123"
CATEGORIES = {
    "customer": {"fields": ["$.email", "$.address.street", "$.phones[*]"], "subject": "$.cid"}
}


def customer_events() -> list[dict]:
    return [
        {
            "name": "Registered",
            "payload": {
                "cid": "c-1",
                "email": EMAIL,
                "address": {"street": STREET, "city": "Leeds"},
                "phones": [PHONE, "+44-0000-000000"],
                "plan": "gold",
            },
        },
        {"name": "PlanChanged", "payload": {"cid": "c-1", "plan": "platinum"}},
        {"name": "EmailChanged", "payload": {"cid": "c-1", "email": "alice.new@example.com"}},
    ]


class PersonalDataContract:
    """Behaviour of personal fields on one backend, through the store service."""

    @pytest.fixture
    def event_store(self):
        raise NotImplementedError("a backend test class must override the event_store fixture")

    def raw_event_text(self, event_store) -> str:
        """Everything the backend stores for events, as text."""
        raise NotImplementedError("a backend test class must read its raw storage")

    @pytest.fixture(autouse=True)
    def _setup(self, event_store, transactional_db, settings):
        settings.FLIPBOOK_PERSONAL_DATA = {"CATEGORIES": CATEGORIES}
        settings.FLIPBOOK_SNAPSHOT_POLICY = {"ENABLED": False}
        self.store = event_store
        return event_store

    def raw(self) -> str:
        return self.raw_event_text(self.store)

    def raw_snapshots(self) -> str:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT CAST(payload AS text) FROM flipbook_snapshot")
            return "\n".join(row[0] for row in cursor.fetchall())

    def test_declared_fields_round_trip_and_are_stored_encrypted(self):
        result = services.append_to_stream(
            "customer-1", customer_events(), expected_version=0, category="customer"
        )
        # The append answers with what was sent.
        assert result.events[0].payload["email"] == EMAIL
        read = services.read_stream("customer-1").items
        assert [e.payload for e in read] == [e["payload"] for e in customer_events()]
        marker = read[0].metadata["personal_data"]
        assert marker["subject"] == "c-1"
        assert marker["fields"] == ["$.email", "$.address.street", "$.phones[*]"]
        assert services.latest_event("customer-1").payload["email"] == "alice.new@example.com"
        assert [e.payload for e in services.iter_stream("customer-1")] == [e.payload for e in read]
        assert [e.payload for e in services.read_all().events] == [e.payload for e in read]
        # Stored: envelopes in place of the values; the rest in plaintext.
        raw = self.raw()
        for secret in (EMAIL, STREET, PHONE, "alice.new@example.com"):
            assert secret not in raw
        assert ENVELOPE in raw
        assert "Leeds" in raw and "platinum" in raw  # the raw reader does see payloads
        # A later append to the stream (no category given) is protected too.
        services.append_to_stream(
            "customer-1", [{"name": "EmailChanged", "payload": {"cid": "c-1", "email": "x@y.z"}}]
        )
        assert "x@y.z" not in self.raw()
        assert services.latest_event("customer-1").payload["email"] == "x@y.z"

    def test_erasure_leaves_markers_in_place_and_no_plaintext(self):
        services.append_to_stream(
            "customer-1", customer_events(), expected_version=0, category="customer"
        )
        services.append_to_stream(
            "customer-2",
            [{"name": "Registered", "payload": {"cid": "c-2", "email": "bob@example.com"}}],
            category="customer",
        )
        before = services.read_stream("customer-1").items
        erasure = services.erase_personal_data("c-1", erased_by="test")
        assert (erasure.subject, erasure.keys_destroyed, erasure.streams) == ("c-1", 1, 1)
        after = services.read_stream("customer-1").items
        # Same shape: versions, positions, ids, names; fields present with the marker.
        assert [(e.version, e.position, e.id, e.name) for e in after] == [
            (e.version, e.position, e.id, e.name) for e in before
        ]
        first = after[0].payload
        assert first["email"] == {"erased": True}
        assert first["address"] == {"street": {"erased": True}, "city": "Leeds"}
        assert first["phones"] == [{"erased": True}, {"erased": True}]
        assert (first["cid"], first["plan"]) == ("c-1", "gold")
        assert after[1].payload == {"cid": "c-1", "plan": "platinum"}
        assert after[2].payload["email"] == {"erased": True}
        feed = services.read_all().events
        assert feed[0].payload["email"] == {"erased": True}
        # Another subject is untouched.
        assert services.latest_event("customer-2").payload["email"] == "bob@example.com"
        raw = self.raw()
        for secret in (EMAIL, STREET, PHONE):
            assert secret not in raw
        assert not DataKey.objects.filter(subject="c-1").exists()
        assert not DataKeyStream.objects.filter(stream_id="customer-1").exists()
        audit = Erasure.objects.get(subject="c-1")
        assert (audit.erased_by, audit.keys_destroyed, audit.streams) == ("test", 1, 1)
        # Erasing again, or a subject never seen: 404.
        for subject in ("c-1", "nobody"):
            with pytest.raises(NotFound):
                services.erase_personal_data(subject, erased_by="test")

    def test_client_marks_fields_per_event(self):
        services.append_to_stream(
            "log/1",
            [
                {
                    "name": "Contacted",
                    "payload": {"to": {"name": "Carol Keeper", "id": 7}, "topic": "renewal"},
                    "metadata": {
                        "correlation_id": "k-1",
                        "personal_data": {"subject": "carol", "fields": ["$.to.name"]},
                    },
                },
                {"name": "Note", "payload": {"text": "no personal data"}},
            ],
        )
        events = services.read_stream("log/1").items
        assert events[0].payload == {"to": {"name": "Carol Keeper", "id": 7}, "topic": "renewal"}
        assert events[0].metadata["correlation_id"] == "k-1"
        assert "Carol Keeper" not in self.raw()
        services.erase_personal_data("carol", erased_by="test")
        events = services.read_stream("log/1").items
        assert events[0].payload == {"to": {"name": {"erased": True}, "id": 7}, "topic": "renewal"}
        assert events[1].payload == {"text": "no personal data"}

    def test_bad_marker_or_missing_subject_is_a_validation_error(self):
        bad = [
            ({"subject": "s", "fields": ["email"]}, "events[0].metadata.personal_data.fields[0]"),
            ({"subject": "s", "fields": ["$"]}, "events[0].metadata.personal_data.fields[0]"),
            ({"subject": "s", "fields": ["$.a[x]"]}, "events[0].metadata.personal_data.fields[0]"),
            ({"subject": "s", "fields": "$.a"}, "events[0].metadata.personal_data.fields"),
            ({"subject": "", "fields": ["$.a"]}, "events[0].metadata.personal_data.subject"),
            ({"who": "s"}, "events[0].metadata.personal_data.who"),
            ("s", "events[0].metadata.personal_data"),
        ]
        for marker, field in bad:
            with pytest.raises(ValidationError) as refused:
                services.append_to_stream(
                    "bad-1",
                    [{"name": "A", "payload": {"a": 1}, "metadata": {"personal_data": marker}}],
                )
            assert refused.value.field == field, marker
        with pytest.raises(ValidationError) as refused:
            services.append_to_stream(
                "customer-9",
                [{"name": "Registered", "payload": {"email": EMAIL}}],
                category="customer",
            )
        assert refused.value.field == "events[0].payload"
        with pytest.raises(NotFound):
            services.stream_head("bad-1")  # nothing was stored

    def test_identical_resend_is_a_duplicate_and_other_content_a_conflict(self):
        sent = [{**e, "id": str(uuid.uuid4())} for e in customer_events()]
        first = services.append_to_stream("customer-1", sent, category="customer")
        again = services.append_to_stream("customer-1", sent, category="customer")
        assert again.duplicate is True
        assert [e.position for e in again.events] == [e.position for e in first.events]
        assert again.events[0].payload["email"] == EMAIL  # revealed, as reads show it
        changed = [{**sent[0], "payload": {**sent[0]["payload"], "email": "other@x.y"}}]
        with pytest.raises(IdConflict):
            services.append_to_stream("customer-1", changed, category="customer")

    def test_snapshots_are_dropped_on_erasure_and_rebuilt_without_plaintext(self):
        services.append_to_stream(
            "customer-1", customer_events(), expected_version=0, category="customer"
        )
        snapshot_services.take_snapshot("customer-1")
        assert EMAIL in json.dumps(state_at_version("customer-1", 1).payload)
        assert "alice.new@example.com" in self.raw_snapshots()  # the state is plaintext
        erasure = services.erase_personal_data("c-1", erased_by="test")
        assert erasure.snapshots_dropped == 1
        assert snapshot_services.list_snapshots("customer-1") == []
        rebuilt = snapshot_services.take_snapshot("customer-1")
        assert rebuilt.payload["email"] == {"erased": True}
        assert rebuilt.payload["plan"] == "platinum"
        raw = self.raw_snapshots()
        for secret in (EMAIL, STREET, PHONE, "alice.new@example.com"):
            assert secret not in raw
        assert state_at_version("customer-1", 1).payload["address"]["street"] == {"erased": True}
