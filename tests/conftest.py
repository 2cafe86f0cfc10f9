"""Shared fixtures: the catalogue, the people of the domain, a stubbed PDF engine.

The builders behind them live in tests/factories.py (see its docstring).
"""

import gc
from pathlib import Path

import pytest
from django.db import connections
from pytest_django.plugin import blocking_manager_key

from assessment import pdf
from assessment.catalogue import catalogue_files, load_catalogue, read_catalogue
from assessment.models import Assessment, FrameworkVersion, Membership, Organisation
from tests.factories import (
    create_assessment,
    create_hand_example,
    create_member,
)
from tests.pdf_reading import blank_pdf


def _catalogue_load() -> None:
    for path in catalogue_files():
        load_catalogue(read_catalogue(path))


def pytest_collection_finish(session):
    """Leave what is loaded by now out of every later garbage collection.

    Django, the app, matplotlib and the test modules stay loaded until the
    process ends, yet each full collection would walk them all again: about
    two seconds of a run's CPU.
    """
    gc.freeze()


def pytest_unconfigure(config):
    # Frozen objects are never freed; libraries that check for leaks when
    # the process ends (DuckDB's bindings) would report them all.
    gc.unfreeze()


_TEST_DATABASE_READY = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def django_db_setup(request, django_db_setup, django_db_blocker):
    """Load the shipped catalogue once per test database (per xdist worker)."""
    with django_db_blocker.unblock():
        _catalogue_load()
    request.config.stash[_TEST_DATABASE_READY] = True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Load the catalogue again once a transactional test has flushed it.

    Transactional tests (live server, real worker, concurrency) end by
    emptying every table. Without this, whichever test runs next in the same
    process finds no catalogue, and xdist's work stealing runs tests in any
    order. Nothing is touched before the test database exists (a skipped
    test may be the first one to run) or once it is gone (after the last).
    """
    result = yield
    stash = item.config.stash
    database_ready = stash.get(_TEST_DATABASE_READY, False) and nextitem is not None
    if database_ready and _flushes_database(item):
        with stash[blocking_manager_key].unblock():
            if not FrameworkVersion.objects.exists():
                _catalogue_load()
    return result


def _flushes_database(item) -> bool:
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    return bool(
        (marker and marker.kwargs.get("transaction"))
        or "transactional_db" in fixtures
        or "live_server" in fixtures
    )


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


_TINY_PDF = blank_pdf()


@pytest.fixture(autouse=True)
def _pdf_rendering_stubbed(request, monkeypatch):
    """Skip WeasyPrint's layout (seconds per report) unless the test is about it.

    The report's HTML is still built; only the HTML-to-PDF step returns a
    tiny valid PDF. Tests of the PDF's text or layout are marked `real_pdf`.
    """
    if request.node.get_closest_marker("real_pdf"):
        return

    def stubbed_html_to_pdf(
        html: str, *, extra_css: str = "", seconds: float | None = None
    ) -> bytes:
        return _TINY_PDF

    monkeypatch.setattr(pdf, "html_to_pdf", stubbed_html_to_pdf)


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, launched once per test module.

    Tests open their own context (`browser.new_context()` or `new_page()`),
    so cookies and storage never pass from one test to the next.
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium")
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API keeps an event loop in this thread; the ORM
        # calls tests make between browser steps are still synchronous ones.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                ],
            )
            yield browser
            browser.close()
    # ORM calls made while Playwright's loop ran got connections of their
    # own context; close them where they are visible.
    connections.close_all()


@pytest.fixture
def framework(db) -> FrameworkVersion:
    return FrameworkVersion.objects.get(slug="2026")


@pytest.fixture
def organisation(db) -> Organisation:
    return Organisation.objects.create(name="Acme Énergie", slug="acme")


@pytest.fixture
def other_organisation(db) -> Organisation:
    return Organisation.objects.create(name="Globex", slug="globex")


@pytest.fixture
def owner(organisation):
    return create_member(
        organisation=organisation, username="olivia", role=Membership.Role.OWNER
    )


@pytest.fixture
def viewer(organisation):
    return create_member(
        organisation=organisation, username="victor", role=Membership.Role.VIEWER
    )


@pytest.fixture
def outsider(other_organisation):
    """An owner of another organisation."""
    return create_member(
        organisation=other_organisation, username="oscar", role=Membership.Role.OWNER
    )


@pytest.fixture
def assessment(organisation, framework) -> Assessment:
    """A draft assessment of the whole framework."""
    return create_assessment(organisation=organisation, framework=framework)


@pytest.fixture
def open_assessment(organisation, framework) -> Assessment:
    """An open assessment of the whole framework."""
    return create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )


@pytest.fixture
def hand_example(organisation, framework) -> Assessment:
    """The hand-computed example of tests/factories.py, published."""
    return create_hand_example(organisation=organisation, framework=framework)
