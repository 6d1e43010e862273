"""URL routes: the Django admin and the console home page."""

from django.contrib import admin
from django.urls import include, path

from streams import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("", include("api.ops_urls")),
]
