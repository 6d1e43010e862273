"""Routes of the browser console. Streams are named by ``?stream=<id>`` (ids hold slashes)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from streams.views import dashboard

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
