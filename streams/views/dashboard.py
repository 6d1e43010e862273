"""The dashboard: totals, events per minute over the last hour, live activity."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from streams.views.common import console_page


@console_page
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "console/dashboard.html", {"nav": "dashboard"})
