"""REST v1: erasure of a subject's personal data (admin-scoped keys only)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.audit import actor_of_principal, record_key_action
from api.rest.authentication import principal_of
from api.rest.params import json_object
from api.rest.schema import errors
from api.rest.serializers import printable
from api.rest.views import ApiView
from streams import services
from streams.validation import MAX_STREAM_ID


class EraseSubjectSerializer(serializers.Serializer):
    subject = printable(MAX_STREAM_ID, help_text="The subject whose personal data to erase.")


class ErasureSerializer(serializers.Serializer):
    subject = serializers.CharField()
    keys_destroyed = serializers.IntegerField()
    streams = serializers.IntegerField(help_text="Streams that held the subject's fields.")
    snapshots_dropped = serializers.IntegerField()
    erased_at = serializers.DateTimeField()
    erased_by = serializers.CharField()
    audit_id = serializers.IntegerField()


class ErasureView(ApiView):
    operations = {"post": "erase_subject"}

    @extend_schema(
        operation_id="erase_subject",
        summary="Erase a subject's personal data",
        description=(
            "Destroys the subject's data keys (crypto-shredding): its encrypted fields read "
            'as {"erased": true} everywhere from then on, the rest of each event unchanged. '
            "The snapshots of the streams that held them are dropped; an audit record is "
            "kept. Needs an admin key valid for every stream. 404 when no personal data is "
            "stored for the subject (or it was erased already). Cannot be undone."
        ),
        request=EraseSubjectSerializer,
        responses={201: ErasureSerializer, **errors(400, 401, 403, 404, 415, 503)},
        tags=["personal data"],
    )
    def post(self, request: Request) -> Response:
        principal = principal_of(request)
        principal.require_unrestricted("admin", "personal data of a subject")
        body = json_object(request, {"subject"}, "an erasure")
        subject: Any = body.get("subject")  # as sent: the service validates it
        result = services.erase_personal_data(
            subject, erased_by=actor_of_principal(principal), via="api"
        )
        # Also in the general audit trail (api/audit.py), beside the erasure's own record.
        record_key_action(
            request._request,
            principal,
            "subject.erase",
            result.subject,
            keys_destroyed=result.keys_destroyed,
            snapshots_dropped=result.snapshots_dropped,
        )
        return Response(result.as_dict(), status=201)
