"""Shared fixtures: the catalogue and the people of the domain."""

import pytest
from django.contrib.auth import get_user_model

from assessment.catalogue import catalogue_files, load_catalogue, read_catalogue
from assessment.models import FrameworkVersion, Membership, Organisation


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the shipped catalogue once for the whole test session."""
    with django_db_blocker.unblock():
        for path in catalogue_files():
            load_catalogue(read_catalogue(path))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _tasks_run_immediately(settings):
    """Run background jobs inside the test, unless a test uses the queue."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": ["default"],
        }
    }


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path_factory):
    """Keep stored files (reports, uploads) out of the project's folder."""
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


@pytest.fixture
def framework(db) -> FrameworkVersion:
    return FrameworkVersion.objects.get(slug="2026")


def make_member(organisation: Organisation, username: str, role: str):
    user = get_user_model().objects.create_user(username, password="pw")
    Membership.objects.create(organisation=organisation, user=user, role=role)
    return user


@pytest.fixture
def organisation(db) -> Organisation:
    return Organisation.objects.create(name="Acme Énergie", slug="acme")


@pytest.fixture
def other_organisation(db) -> Organisation:
    return Organisation.objects.create(name="Globex", slug="globex")


@pytest.fixture
def owner(organisation):
    return make_member(organisation, "olivia", Membership.Role.OWNER)


@pytest.fixture
def viewer(organisation):
    return make_member(organisation, "victor", Membership.Role.VIEWER)


@pytest.fixture
def outsider(other_organisation):
    """An owner of another organisation."""
    return make_member(other_organisation, "oscar", Membership.Role.OWNER)
