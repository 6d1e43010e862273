"""Operational endpoints: liveness, readiness and Prometheus metrics (no API key needed)."""

from django.urls import path

from api import ops

urlpatterns = [
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
]
