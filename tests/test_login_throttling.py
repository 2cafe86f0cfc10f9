"""Login throttling: repeated wrong passwords pause logins, shared in the database."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from assessment.security import client_ip, wait_text

LOGIN = "/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def victor(db):
    return get_user_model().objects.create_user("victor", password="right-password")


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(
        "sam", password="right-password", is_staff=True, is_superuser=True
    )


def _login(client: Client, url: str, username: str, password: str, **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


def _fail(client: Client, url: str, username: str, times: int, **extra) -> list:
    """Try wrong passwords; return the status codes answered."""
    return [
        _login(client, url, username, "wrong", **extra).status_code
        for _ in range(times)
    ]


def test_the_right_password_is_refused_after_five_wrong_ones(client, victor):
    # The form says "wrong password" four times; the fifth failure locks.
    assert _fail(client, LOGIN, "victor", 5) == [200, 200, 200, 200, 429]
    response = _login(client, LOGIN, "victor", "right-password")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many failed logins" in html
    assert "paused for 15 minutes" in html
    assert '<form method="post"' in html  # the login page, not a bare error
    assert "_auth_user_id" not in client.session


def test_the_admin_login_is_throttled_too(client, staff):
    _fail(client, ADMIN_LOGIN, "sam", 5)
    response = _login(client, ADMIN_LOGIN, "sam", "right-password")
    assert response.status_code == 429
    assert "paused for 15 minutes" in response.content.decode()
    assert client.get("/admin/").status_code == 302  # still sent to log in


def test_failures_are_counted_in_the_database_for_every_process(victor):
    # Two clients stand for two workers: neither shares memory with the other.
    _fail(Client(), LOGIN, "victor", 3)
    _fail(Client(), LOGIN, "victor", 2)
    assert AccessAttempt.objects.get(username="victor").failures_since_start == 5
    assert _login(Client(), LOGIN, "victor", "right-password").status_code == 429


def test_a_forged_forwarded_address_does_not_escape_the_lockout(client, victor):
    for n in range(5):
        _login(client, LOGIN, "victor", "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    response = _login(
        client, LOGIN, "victor", "right-password", HTTP_X_FORWARDED_FOR="10.9.9.9"
    )
    assert response.status_code == 429


def test_another_address_can_still_log_in(victor):
    """An attacker cannot lock a user out everywhere by failing on purpose."""
    _fail(Client(REMOTE_ADDR="203.0.113.7"), LOGIN, "victor", 6)
    response = _login(
        Client(REMOTE_ADDR="198.51.100.2"), LOGIN, "victor", "right-password"
    )
    assert response.status_code == 302


def test_logging_in_works_again_after_the_pause(client, victor):
    _fail(client, LOGIN, "victor", 5)
    AccessAttempt.objects.update(
        attempt_time=datetime.datetime.now(datetime.UTC)
        - datetime.timedelta(minutes=16)
    )
    response = _login(client, LOGIN, "victor", "right-password")
    assert response.status_code == 302
    assert response.url == reverse("assessment:home")


def test_a_success_clears_earlier_failures(client, victor):
    _fail(client, LOGIN, "victor", 4)
    assert _login(client, LOGIN, "victor", "right-password").status_code == 302
    client.post(reverse("logout"))
    _fail(client, LOGIN, "victor", 4)
    assert _login(client, LOGIN, "victor", "right-password").status_code == 302


def test_the_pause_and_the_limit_come_from_the_environment(client, victor, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = datetime.timedelta(hours=1)
    _fail(client, LOGIN, "victor", 2)
    response = _login(client, LOGIN, "victor", "right-password")
    assert "paused for 1 hour" in response.content.decode()


def test_wait_texts_read_naturally():
    assert wait_text(1) == "1 minute"
    assert wait_text(15) == "15 minutes"
    assert wait_text(60) == "1 hour"
    assert wait_text(120) == "2 hours"
    assert wait_text(90) == "90 minutes"


def test_behind_a_proxy_the_address_it_appended_counts(rf, settings):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    request.META["REMOTE_ADDR"] = "10.0.0.1"
    settings.BEHIND_PROXY = False
    assert client_ip(request) == "10.0.0.1"
    settings.BEHIND_PROXY = True
    assert client_ip(request) == "203.0.113.9"
