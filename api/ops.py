"""Liveness, readiness and metrics views."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.logs import new_request_id
from api.rest.middleware import REQUEST_ID_HEADER
from streams import services
from streams.conf import flipbook_settings


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Every backend the server needs is reachable (503 and which one failed otherwise)."""
    checks = services.check_ready()
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def metrics_access() -> tuple[str, str]:
    """Who may read /metrics: settings.FLIPBOOK_METRICS ("loopback", "open", "off") and the
    bearer token that admits any client (FLIPBOOK_METRICS_TOKEN, "" = none)."""
    mode = flipbook_settings.METRICS
    return mode, flipbook_settings.METRICS_TOKEN


def _from_loopback(request: HttpRequest) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition of the process's metrics, for the clients metrics_access()
    admits (403 for others, 404 when off)."""
    mode, token = metrics_access()
    if mode == "off":
        raise Http404("metrics are off (FLIPBOOK_METRICS=off)")
    if mode != "open":
        sent = request.headers.get("Authorization", "")
        by_token = bool(token) and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
        if not by_token and not _from_loopback(request):
            return JsonResponse(
                {
                    "error": {
                        "code": "permission_denied",
                        "message": "metrics are served to this machine only; send the bearer "
                        "FLIPBOOK_METRICS_TOKEN from elsewhere",
                        "details": {},
                    }
                },
                status=403,
            )
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


class HealthChecksMiddleware:
    """Answers /healthz and /readyz before anything reads the Host header. Load balancers and
    orchestrators (an ALB target group, Kubernetes probes) address a server by its IP, which
    is no host name the deployment serves, so host validation would fail every probe; these
    two endpoints reveal nothing and take no input, so they answer whatever the Host."""

    PATHS = {"/healthz": healthz, "/readyz": readyz}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = self.PATHS.get(request.path_info)
        if view is None:
            return self.get_response(request)
        # The request id every answer carries (api/rest/middleware.py), for the logs.
        request_id = new_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        response: HttpResponse = view(request)
        response[REQUEST_ID_HEADER] = request_id
        return response
