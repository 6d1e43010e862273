"""The stream explorer: search by id prefix, filter by category, sort by id or last update,
cursor pagination."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.views.common import console_data, console_page, int_param
from console.views.dashboard import store_is_database
from snapshots.models import Category
from streams import services
from streams.exceptions import ValidationError

SORTS = {"id": "stream id", "updated": "last update"}
PAGE_SIZE = 50


@console_page
def explorer(request: HttpRequest) -> HttpResponse:
    # The streams' categories, and those configured in the admin that no stream has yet.
    configured = Category.objects.values_list("name", flat=True)
    categories = sorted({*services.stream_categories(), *configured})
    return render(
        request,
        "console/explorer.html",
        {
            "nav": "streams",
            "categories": categories,
            "sorts": SORTS,
            "prefix": request.GET.get("prefix", ""),
            "category": request.GET.get("category", ""),
            "sort": request.GET.get("sort", "id") if request.GET.get("sort") in SORTS else "id",
            "scanning": not store_is_database(),
        },
    )


@console_data
def streams_data(request: HttpRequest) -> dict[str, Any]:
    """A page of stream heads: ``prefix``, ``category``, ``sort`` (id | updated), ``limit``
    (1–200, default 50), ``cursor`` (the previous page's ``next_cursor``)."""
    sort = request.GET.get("sort", "id") or "id"
    if sort not in SORTS:
        raise ValidationError("sort", f"must be one of {', '.join(SORTS)}")
    limit = int_param(request, "limit", PAGE_SIZE)
    if not 1 <= limit <= 200:
        raise ValidationError("limit", "must be between 1 and 200")
    arguments: dict[str, Any] = {
        "prefix": request.GET.get("prefix") or None,
        "category": request.GET.get("category") or None,
        "limit": limit,
        "cursor": request.GET.get("cursor") or None,
    }
    list_page = services.recent_streams if sort == "updated" else services.list_streams
    page = list_page(**arguments)
    answer: dict[str, Any] = {
        "streams": [head.as_dict() for head in page.items],
        "next_cursor": page.next_cursor,
        "sort": sort,
        "total": None,
    }
    # Unfiltered, the store's stream count is the total (an estimate on a big store); a
    # filtered list has none: the page says "more than N" while a next page exists.
    if not arguments["prefix"] and not arguments["category"]:
        totals = services.store_totals()
        answer["total"] = totals["streams"]
        answer["approximate"] = bool(totals.get("approximate"))
    return answer
