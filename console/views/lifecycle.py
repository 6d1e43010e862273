"""The console's stream delete (the timeline's Delete button): staff only, confirmed by
typing the stream id, through the store service (docs/concepts/lifecycle.md)."""

from __future__ import annotations

from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_POST

from api.errors import status_for
from console.views.common import console_page
from streams import lifecycle
from streams.exceptions import FlipbookError, PermissionDenied, ValidationError


@require_POST
@console_page
def delete_stream(request: HttpRequest) -> HttpResponse:
    """POST (CSRF) ``stream``, ``confirm`` (the stream id typed again) and ``hard`` ("on"
    for a tombstone): delete the stream, then go to the explorer with a message."""
    stream_id = request.POST.get("stream", "")
    try:
        if not request.user.is_staff:
            raise PermissionDenied("only staff users may delete streams")
        if request.POST.get("confirm") != stream_id:
            raise ValidationError("confirm", "type the stream id exactly to confirm the delete")
        hard = request.POST.get("hard") == "on"
        head = lifecycle.delete_stream(stream_id, hard=hard)
    except FlipbookError as exc:
        context = {
            "nav": "streams",
            "stream_id": stream_id,
            "delete_error": exc.message,
            "can_delete": request.user.is_staff,
        }
        return render(request, "console/timeline.html", context, status=status_for(exc)[0])
    mode = "hard" if hard else "soft"
    return HttpResponseRedirect(f"/streams/?deleted={quote(head.stream_id, safe='')}&mode={mode}")
