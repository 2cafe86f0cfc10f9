"""Accessibility in a real Chromium: axe-core finds no serious problem.

axe-core comes bundled with axe-playwright-python: nothing is downloaded.
The pages are those participants and leadership use most; leadership's with
demo data, so that badges, charts, heatmap shades and tables are all on them.
"""

import pytest
from django.urls import reverse

from assessment.demo import demo_organisation_create, demo_rounds_create
from assessment.models import Assessment
from tests.factories import create_assessment, create_invitation

sync_api = pytest.importorskip("playwright.sync_api")
axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")

pytestmark = pytest.mark.browser
BLOCKING = {"serious", "critical"}


@pytest.fixture
def demo(live_server):
    """The demo organisation: two rounds, the current one open with results."""
    organisation, logins = demo_organisation_create()
    rounds = demo_rounds_create(organisation=organisation, respondents=30, seed=3)
    owner = next(login for login in logins if login.role == "owner")
    return rounds.current, owner


def serious_violations(page) -> list[str]:
    """Return axe's serious and critical violations on the page, readably."""
    results = axe_playwright.Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {node['html'][:120]}"
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING
        for node in violation["nodes"]
    ]


def test_the_survey_pages_have_no_serious_accessibility_problem(
    browser, live_server, organisation, framework
):
    # Participants see no results: an open assessment is all the pages need.
    assessment = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )
    _, token = create_invitation(
        assessment=assessment, persona="engineering", email="axe@example.com"
    )
    page = browser.new_page()
    page.goto(f"{live_server.url}/s/{token}/")
    assert serious_violations(page) == []
    page.get_by_role("button", name="Start").click()
    sync_api.expect(page.locator("fieldset.question").first).to_be_visible()
    assert serious_violations(page) == []


def test_the_owner_pages_have_no_serious_accessibility_problem(
    browser, demo, live_server
):
    assessment, owner = demo
    page = browser.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", owner.password)
    page.get_by_role("button", name="Log in").click()
    page.goto(live_server.url + assessment.get_absolute_url())
    assert serious_violations(page) == []
    page.goto(live_server.url + assessment.get_absolute_url() + "results/")
    sync_api.expect(page.locator("table.heatmap")).to_be_visible()
    assert serious_violations(page) == []
    # The invitees list, filtered, with an unknown persona said on its field.
    page.goto(
        live_server.url
        + reverse("assessment:invitations", args=[assessment.pk])
        + "?status=submitted&persona=nobody"
    )
    sync_api.expect(page.locator("table.invitees")).to_be_visible()
    assert serious_violations(page) == []
