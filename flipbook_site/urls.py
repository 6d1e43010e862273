"""URL routes: the browser console, the Django admin, the REST API, ops endpoints."""

from django.contrib import admin
from django.urls import include, path

from api.rest import exceptions as rest_errors
from console.throttle import ThrottledAdminAuthenticationForm

admin.site.login_form = ThrottledAdminAuthenticationForm  # failed logins throttled, as /login/

# The API first: Django tries patterns in order, and API calls are the most frequent.
urlpatterns = [
    path("api/", include("api.urls")),
    path("", include("api.ops_urls")),
    path("", include("console.urls")),
    path("admin/", admin.site.urls),
]

# JSON error bodies under /api/ (api/rest/exceptions.py), Django's own pages elsewhere.
handler400 = rest_errors.bad_request
handler403 = rest_errors.permission_denied
handler404 = rest_errors.page_not_found
handler500 = rest_errors.server_error
