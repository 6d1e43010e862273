"""Item 4: failed logins are throttled on the console and the admin, with a lockout and a
clear message; a successful login is not counted against the user."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counts(settings):
    settings.FLIPBOOK_LOGIN_MAX_FAILURES = 3
    settings.FLIPBOOK_LOGIN_LOCKOUT_SECONDS = 600
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def user():
    return User.objects.create_user("ada", password="right-password", is_staff=True)


def login(path: str, password: str, address: str = "127.0.0.1", username: str = "ada"):
    client = Client(HTTP_HOST="localhost", REMOTE_ADDR=address)
    return client, client.post(path, {"username": username, "password": password})


def test_console_logins_lock_after_repeated_failures(user):
    for _ in range(3):
        _, response = login("/login/", "wrong")
        assert b"do not match" in response.content
    client, response = login("/login/", "right-password")  # locked now, even when right
    assert response.status_code == 200
    assert b"Too many failed logins" in response.content
    assert b"10 minutes" in response.content
    assert "_auth_user_id" not in client.session


def test_the_lockout_ends(user, settings):
    for _ in range(3):
        login("/login/", "wrong")
    cache.clear()  # the window has passed
    client, response = login("/login/", "right-password")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_success_forgets_the_user_s_failures(user):
    for _ in range(2):
        login("/login/", "wrong")
    _, response = login("/login/", "right-password")
    assert response.status_code == 302
    for _ in range(2):
        login("/login/", "wrong")
    _, response = login("/login/", "right-password")
    assert response.status_code == 302


def test_one_address_trying_many_users_is_locked_too(user):
    for i in range(12):  # 4 x 3 failures from one address, each for another name
        login("/login/", "wrong", username=f"guess-{i}")
    _, response = login("/login/", "right-password", address="127.0.0.1")
    assert b"Too many failed logins" in response.content
    _, elsewhere = login("/login/", "right-password", address="127.0.0.2")
    assert elsewhere.status_code == 302


def test_admin_logins_are_throttled_too(user):
    for _ in range(3):
        login("/admin/login/", "wrong")
    client, response = login("/admin/login/", "right-password")
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session
