"""In a real Chromium, the Content-Security-Policy blocks nothing a page needs."""

import pytest
from django.contrib.auth import get_user_model

from assessment.invitations import open_link_create
from assessment.models import FrameworkVersion, Membership, Organisation
from tests.browsing import WATCH_VIOLATIONS
from tests.factories import answer_every_question, create_hand_example, start_response

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser


@pytest.fixture
def site(live_server):
    """An owner, an assessment with results, a participant's link and an open link."""
    organisation = Organisation.objects.create(name="Acme", slug="acme")
    framework = FrameworkVersion.objects.get(slug="2026")
    owner = get_user_model().objects.create_user("olivia", password="pw-Olivia-1")
    Membership.objects.create(
        organisation=organisation, user=owner, role=Membership.Role.OWNER
    )
    assessment = create_hand_example(organisation=organisation, framework=framework)
    assessment.status = "open"
    assessment.save()
    token, response = start_response(assessment=assessment, persona="engineering")
    answer_every_question(response=response)
    _, join_token = open_link_create(
        assessment=assessment, persona=framework.personas.get(slug="finance")
    )
    return {
        "url": live_server.url,
        "assessment": assessment,
        "survey": f"/s/{token}/",
        "join": f"/join/{join_token}/",
    }


@pytest.fixture
def page(browser):
    context = browser.new_context()
    context.add_init_script(WATCH_VIOLATIONS)
    yield context.new_page()
    context.close()


def _visit(page, url: str) -> list[str]:
    response = page.goto(url)
    assert response.status == 200, url
    page.wait_for_load_state("load")
    return page.evaluate("window.__violations")


def test_no_page_breaks_the_policy_and_scripted_widths_apply(page, site, tmp_path):
    base, pk = site["url"], site["assessment"].pk
    page.goto(base + "/login/")
    page.fill("#id_username", "olivia")
    page.fill("#id_password", "pw-Olivia-1")
    page.click("button[type=submit]")
    pages = [
        f"/assessments/{pk}/",
        f"/assessments/{pk}/results/",
        f"/assessments/{pk}/invitations/",
        f"/assessments/{pk}/routing/",
        f"/assessments/{pk}/activity/",
        f"/assessments/{pk}/evidence/",
        "/framework/",
        "/how-scores-are-computed/",
        site["survey"],
        site["survey"] + "p/understand-usage-cost/",
        site["survey"] + "review/",
        site["join"],
    ]
    for path in pages:
        assert _visit(page, base + path) == [], path
        if path.endswith("/results/"):
            # The charts are images that loaded; bars got their widths.
            widths = page.eval_on_selector_all(
                ".chart img", "imgs => imgs.map(i => i.naturalWidth)"
            )
            assert widths and all(w > 0 for w in widths)
            bar = page.locator(".progress-stacked .progress").first
            assert bar.evaluate("b => b.getBoundingClientRect().width") > 0
            page.screenshot(path=str(tmp_path / "results.png"), full_page=True)
        if path.endswith("/review/"):
            bar = page.locator(".progress-bar").first
            assert bar.evaluate("b => b.getBoundingClientRect().width") > 0
    # The admin works under the policy too.
    get_user_model().objects.filter(username="olivia").update(
        is_staff=True, is_superuser=True
    )
    assert _visit(page, base + f"/admin/assessment/assessment/{pk}/change/") == []
    assert _visit(page, base + "/admin/assessment/evidencekpi/") == []
