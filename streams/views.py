"""Console views. For now the home page: the first streams by id."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from streams import services


def home(request: HttpRequest) -> HttpResponse:
    page = services.list_streams(limit=50)
    return render(
        request, "home.html", {"streams": page.items, "has_more": page.next_cursor is not None}
    )
