"""Headers every response carries: CSP, Permissions-Policy, no caching of pages."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from assessment.models import Assessment
from tests.factories import create_assessment, start_response, survey_page_url

ROOT = Path(__file__).resolve().parent.parent
# Rendered by WeasyPrint or sent as email, never served to a browser.
NOT_SERVED = ("templates/assessment/report/", "templates/assessment/emails/")
INLINE_CODE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an event handler attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


@pytest.fixture
def participant(organisation, framework):
    assessment = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )
    token, _ = start_response(assessment=assessment, persona="engineering")
    return assessment, token


def _directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def test_pages_allow_only_their_own_scripts_and_styles(client, owner):
    client.force_login(owner)
    response = client.get(reverse("assessment:home"), follow=True)
    csp = _directives(response)
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "camera=()" in response["Permissions-Policy"]


def test_no_template_served_to_browsers_has_inline_code():
    """Inline code would be blocked by the policy: it belongs in static files."""
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(NOT_SERVED):
            continue
        text = path.read_text()
        for pattern, what in INLINE_CODE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{relative}:{line}: {what}")
    assert found == []


@pytest.mark.parametrize(
    "page",
    [
        "login",
        "framework",
        "list",
        "detail",
        "results",
        "answers",
        "survey",
        "survey_page",
    ],
)
def test_private_pages_and_exports_are_never_stored(client, owner, participant, page):
    assessment, token = participant
    if page != "login" and not page.startswith("survey"):
        client.force_login(owner)
    url = {
        "login": reverse("login"),
        "framework": reverse("assessment:framework"),
        "list": reverse("assessment:list", args=[assessment.organisation.slug]),
        "detail": reverse("assessment:detail", args=[assessment.pk]),
        "results": reverse("assessment:results", args=[assessment.pk]),
        "answers": reverse("assessment:export_answers", args=[assessment.pk, "csv"]),
        "survey": reverse("assessment:survey", args=[token]),
        "survey_page": survey_page_url(token=token, domain="understand-usage-cost"),
    }[page]
    response = client.get(url)
    assert response.status_code == 200
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= directives


def test_static_files_keep_their_cache_lifetime(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
