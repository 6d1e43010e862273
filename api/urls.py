"""Routes under /api/: version 1 of the REST API."""

from django.urls import include, path

app_name = "api"

urlpatterns = [
    path("v1/", include("api.rest.urls")),
]
