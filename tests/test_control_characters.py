"""Control characters: removed or refused on input, never breaking an export."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from assessment.invitations import parse_invitees
from assessment.models import Answer, Assessment, Organisation, Response
from assessment.text import plain_text
from tests.factories import (
    DI,
    create_answered_response,
    create_assessment,
    create_scoped_assessment,
    publish_snapshot,
    start_response,
    survey_page_url,
    survey_url,
)

UNDERSTAND = "understand-usage-cost"
DIRTY = "Retail\x01 BU\x1b"


@pytest.fixture
def stored(organisation, framework) -> Assessment:
    """An assessment whose database already holds control characters."""
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI],
        targets={DI: 2},
        title="Q3\x01 maturity",
    )
    create_answered_response(
        assessment=assessment,
        persona="engineering",
        answers={DI: 1},
        business_unit=DIRTY,
        comments={DI: "Line one\x01\nline two\tand a tab\x7f\x9b"},
    )
    publish_snapshot(
        assessment=assessment
    )  # downloads and the report show published results
    return assessment


def _xlsx_rows(content: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))


def _answer_row(rows) -> dict:
    return dict(zip(rows[0], rows[1], strict=True))


def test_the_raw_answers_download_writes_stored_control_characters(
    client, owner, stored
):
    client.force_login(owner)
    xlsx = client.get(reverse("assessment:export_answers", args=[stored.pk, "xlsx"]))
    assert xlsx.status_code == 200
    row = _answer_row(_xlsx_rows(xlsx.content))
    assert row["Business unit"] == "Retail BU"
    assert row["Comment"] == "Line one\nline two\tand a tab"
    assert row["Assessment"] == "Q3 maturity"
    csv = client.get(reverse("assessment:export_answers", args=[stored.pk, "csv"]))
    assert csv.status_code == 200
    text = csv.content.decode("utf-8-sig")
    assert "Retail BU" in text and "\x01" not in text and "\x1b" not in text


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_the_results_download_writes_stored_control_characters(
    client, owner, stored, fmt
):
    client.force_login(owner)
    response = client.get(reverse("assessment:export_results", args=[stored.pk, fmt]))
    assert response.status_code == 200


def test_the_export_command_writes_stored_control_characters(stored, tmp_path):
    out = tmp_path / "answers.xlsx"
    call_command(
        "export_results",
        stored.pk,
        "--answers",
        "--format",
        "xlsx",
        "-o",
        str(out),
        stderr=io.StringIO(),
    )
    row = _answer_row(_xlsx_rows(out.read_bytes()))
    assert row["Business unit"] == "Retail BU"


def test_a_participants_comment_keeps_tabs_and_line_breaks_only(
    client, organisation, framework
):
    assessment = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )
    token, response = start_response(assessment=assessment, persona="engineering")
    page = client.get(survey_page_url(token=token, domain=UNDERSTAND)).content.decode()
    shown = page.split('name="shown" value="', 1)[1].split('"', 1)[0]
    first = int(shown.split(",")[0])
    reply = client.post(
        survey_page_url(token=token, domain=UNDERSTAND),
        {
            "shown": shown,
            "go": "stay",
            f"value-{first}": "2",
            f"comment-{first}": "We\x01 tag\x00 it\r\n\tby team\x1b[31m",
        },
    )
    assert reply.status_code == 302
    answer = Answer.objects.get(response=response, capability_id=first)
    assert answer.comment == "We tag it\n\tby team[31m"


def test_a_participants_business_unit_loses_control_characters(
    client, organisation, framework
):
    assessment = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )
    token, _ = start_response(assessment=assessment, persona="engineering")
    engineering = framework.personas.get(slug="engineering")
    client.post(
        survey_url(name="survey", token=token),
        {"persona": engineering.pk, "business_unit": DIRTY},
    )
    assert Response.objects.get().business_unit == "Retail BU"


def test_an_owners_titles_lose_control_characters(
    client, owner, organisation, framework
):
    assessment = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )
    client.force_login(owner)
    client.post(
        reverse("assessment:edit", args=[assessment.pk]),
        {
            "title": "Q3\x01 round\x08",
            "scope_label": "All\tof\x0b Acme",
            "personas": list(assessment.personas.values_list("pk", flat=True)),
            "anonymity_threshold": "3",
        },
    )
    assessment.refresh_from_db()
    assert (assessment.title, assessment.scope_label) == ("Q3 round", "All of Acme")


def test_imported_invitees_lose_control_characters(framework):
    parsed = parse_invitees(
        "ana@x.io, finance, Retail\x01 BU\x1b\nli@x.io\x02, engineering",
        personas=list(framework.personas.all()),
    )
    assert [(i.email, i.business_unit) for i in parsed.invitees] == [
        ("ana@x.io", "Retail BU"),
        ("li@x.io", ""),
    ]
    assert parsed.errors == []


def test_the_admin_refuses_control_characters(client, db):
    admin = get_user_model().objects.create_superuser("root", password="pw")
    client.force_login(admin)
    add = reverse("admin:assessment_organisation_add")
    data = {
        "name": "Bad\x01 name",
        "slug": "bad",
        "created_at_0": "2026-01-01",
        "created_at_1": "10:00:00",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    response = client.post(add, data)
    assert response.status_code == 200
    assert "invisible control characters" in response.content.decode()
    assert not Organisation.objects.filter(slug="bad").exists()
    data["name"] = "Good name"
    assert client.post(add, data).status_code == 302
    assert Organisation.objects.filter(slug="bad").exists()


@pytest.mark.parametrize(
    ("typed", "multiline", "kept"),
    [
        ("a\x00b\x01c\x7fd\x85e\x9ff", False, "abcdef"),
        ("a\tb\nc\r\nd\re", False, "a b c d e"),
        ("a\tb\nc\r\nd\re", True, "a\tb\nc\nd\ne"),
        ("Zoë’s €5 — ok ✓", False, "Zoë’s €5 — ok ✓"),
    ],
)
def test_plain_text_removes_only_control_characters(typed, multiline, kept):
    assert plain_text(typed, multiline=multiline) == kept


@pytest.mark.real_pdf
def test_the_pdf_report_renders_stored_control_characters(client, owner, stored):
    Assessment.objects.filter(pk=stored.pk).update(comments_published=True)
    client.force_login(owner)
    url = reverse("assessment:report", args=[stored.pk])
    response = client.get(url, {"comments": "1"})
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
