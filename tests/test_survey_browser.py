"""End to end in a real Chromium: answer, leave, resume, submit."""

import contextlib
import logging

import pytest

from assessment.models import Assessment, FrameworkVersion, Organisation, Response
from tests.factories import create_assessment, create_invitation

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser
ICON = "/static/favicon.svg"


@pytest.fixture
def survey_url(live_server):
    """An open assessment and an Engineering invitation (4 pages, 11 questions)."""
    organisation = Organisation.objects.create(name="Acme", slug="acme")
    framework = FrameworkVersion.objects.get(slug="2026")
    assessment = create_assessment(
        organisation=organisation,
        framework=framework,
        title="Acme FinOps 2026",
        status=Assessment.Status.OPEN,
    )
    _, token = create_invitation(
        assessment=assessment, persona="engineering", email="erin@acme.example"
    )
    return f"{live_server.url}/s/{token}/"


def answer_page(page, value: str) -> None:
    questions = page.locator("fieldset.question")
    for index in range(questions.count()):
        questions.nth(index).locator(f"input[value='{value}']").check()


def test_a_participant_answers_leaves_resumes_and_submits(browser, survey_url):
    expect = sync_api.expect
    first = browser.new_context()
    page = first.new_page()
    page.goto(survey_url)
    expect(page.locator("#id_persona option:checked")).to_have_text("Engineering")
    page.get_by_role("button", name="Start").click()

    expect(page.get_by_role("heading", name="Understand Usage & Cost")).to_be_visible()
    answer_page(page, "2")
    page.get_by_role("button", name="Save and next").click()
    expect(page.get_by_role("heading", name="Quantify Business Value")).to_be_visible()
    answer_page(page, "1")
    page.locator("textarea").first.fill("Budgets reviewed quarterly.")
    page.get_by_role("button", name="Save and continue later").click()
    expect(page.get_by_text("Your answers are saved.")).to_be_visible()
    first.close()

    # A fresh browser: nothing but the link.
    second = browser.new_context()
    page = second.new_page()
    page.goto(survey_url)
    expect(page.get_by_text("6 of 11 answered")).to_be_visible()
    page.get_by_role("link", name="Continue without changes").click()
    expect(page.get_by_role("heading", name="Optimize Usage & Cost")).to_be_visible()
    page.get_by_role("button", name="Understand Usage & Cost").click()
    for radio in page.locator("fieldset.question input[value='2']").all():
        expect(radio).to_be_checked()
    page.get_by_role("button", name="Quantify Business Value").click()
    expect(page.locator("textarea").first).to_have_value("Budgets reviewed quarterly.")
    page.get_by_role("button", name="Save and next").click()

    # The last two pages by keyboard: focus a choice and select it with Space.
    for button in ("Save and next", "Save and review"):
        questions = page.locator("fieldset.question")
        for index in range(questions.count()):
            questions.nth(index).locator("input[value='3']").focus()
            page.keyboard.press("Space")
        page.get_by_role("button", name=button).click()
    expect(page.get_by_text("Every question is answered.")).to_be_visible()
    page.get_by_role("button", name="Submit my answers").click()

    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    expect(page.get_by_text("Budgets reviewed quarterly.")).to_be_visible()
    response = Response.objects.get()
    assert (response.status, response.submit_count) == ("submitted", 1)
    values = sorted(response.answers.values_list("value", flat=True))
    assert values == [1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3]
    second.close()


def test_a_questionnaire_page_fits_a_phone_screen(browser, survey_url):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(survey_url)
    page.get_by_role("button", name="Start").click()
    sync_api.expect(page.locator("fieldset.question").first).to_be_visible()
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    context.close()


def test_buttons_tab_in_reading_order_and_a_whole_card_chooses(browser, survey_url):
    expect = sync_api.expect
    page = browser.new_context().new_page()
    page.goto(survey_url)
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", name="Understand Usage & Cost")).to_be_visible()

    # Tab order follows the order on screen: Previous, Save and next, later.
    previous = page.get_by_role("button", name="Previous")
    following = page.get_by_role("button", name="Save and next")
    later = page.get_by_role("button", name="Save and continue later")
    boxes = [b.bounding_box() for b in (previous, following, later)]
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    previous.focus()
    page.keyboard.press("Tab")
    expect(following).to_be_focused()
    page.keyboard.press("Tab")
    expect(later).to_be_focused()

    # Each question is a radio group named by its legend; each choice is
    # named by its level alone.
    question = page.locator("fieldset.question").first
    name = question.locator("legend").inner_text()
    group = page.get_by_role("group", name=name, exact=True)
    walk = group.get_by_role("radio", name="Walk", exact=True)
    expect(walk).to_have_count(1)

    # A click anywhere in a card, far from its text, chooses it.
    card = question.locator("label.level-option").filter(
        has=page.locator("input[value='2']")
    )
    card.scroll_into_view_if_needed()
    box = card.bounding_box()
    page.mouse.click(box["x"] + box["width"] - 4, box["y"] + box["height"] - 4)
    expect(walk).to_be_checked()

    # By keyboard: arrows move within the group; Enter saves and moves on.
    walk.focus()
    page.keyboard.press("ArrowRight")
    run = group.get_by_role("radio", name="Run", exact=True)
    expect(run).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Quantify Business Value")).to_be_visible()
    assert list(Response.objects.get().answers.values_list("value", flat=True)) == [3]


def test_no_page_requests_a_missing_file(browser, survey_url, live_server, caplog):
    """Every request pages make succeeds, the browser's own icon requests too.

    Chromium fetches icons outside the page, so they are checked in the
    server's log of refused requests.
    """
    context = browser.new_context()
    page = context.new_page()
    failed = []
    page.on(
        "response",
        lambda response: response.status >= 400 and failed.append(response.url),
    )
    with caplog.at_level(logging.WARNING, logger="django.request"):
        page.goto(survey_url)
        page.get_by_role("button", name="Start").click()
        page.get_by_role("button", name="Save and next").click()
        for path in ("/login/", "/admin/login/"):
            page.goto(live_server.url + path)
        # Icons are fetched after a page loads: wait for the last page's (a
        # second at most, as the browser may take it from its cache).
        last_icon = page.expect_request_finished(
            lambda request: request.url.endswith(ICON), timeout=1000
        )
        with contextlib.suppress(sync_api.TimeoutError), last_icon:
            page.goto(live_server.url + "/framework/")
    context.close()
    assert failed == []
    assert [r.getMessage() for r in caplog.records if r.name == "django.request"] == []
