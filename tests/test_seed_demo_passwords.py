"""seed_demo never gives a server others can reach the README's passwords."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from assessment.demo import DEMO_USERS


def _seed() -> dict[str, str]:
    """Run seed_demo; return the passwords it printed, by username."""
    out = io.StringIO()
    call_command("seed_demo", respondents=3, seed=1, stdout=out)
    return dict(re.findall(r"login: (\w+) / (\S+)", out.getvalue()))


def _password_works(username: str, password: str) -> bool:
    return get_user_model().objects.get(username=username).check_password(password)


@pytest.mark.django_db
def test_with_debug_off_the_logins_get_random_passwords(framework, settings):
    settings.DEBUG = False
    printed = _seed()
    assert set(printed) == {"owner", "viewer"}
    for username, (known, _, _) in DEMO_USERS.items():
        assert printed[username] != known
        assert len(printed[username]) >= 16
        assert _password_works(username, printed[username])
        assert not _password_works(username, known)
    assert _seed() != printed  # a new run, new passwords


@pytest.mark.django_db
def test_with_debug_on_the_logins_get_the_readme_passwords(framework, settings):
    settings.DEBUG = True
    printed = _seed()
    for username, (known, _, _) in DEMO_USERS.items():
        assert printed[username] == known
        assert _password_works(username, known)
