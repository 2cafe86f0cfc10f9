"""The owners' activity page, and the actions that write to it."""

import io
import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from assessment import audit
from assessment.models import Assessment, AuditEvent, Level
from tests.factories import (
    create_assessment,
    create_invitation,
    publish_snapshot,
    respond_to_invitation,
    routing_form_data,
)


def _url(item: Assessment, page: int | None = None) -> str:
    url = reverse("assessment:audit", args=[item.pk])
    return f"{url}?page={page}" if page else url


def _actions(item: Assessment) -> list[str]:
    return list(
        AuditEvent.objects.filter(assessment=item)
        .order_by("pk")
        .values_list("action", flat=True)
    )


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        " ".join(re.sub(r"<[^>]+>", " ", row).split())
        for row in body.split("</tr>")
        if row.strip()
    ]


def test_owners_see_who_did_what_and_when_newest_first(client, owner, assessment):
    owner.first_name, owner.last_name = "Olivia", "Owner"
    owner.save()
    audit.record(assessment=assessment, action="assessment.opened", user=owner)
    audit.record(
        assessment=assessment, action="answers.exported", user=owner, detail="As CSV."
    )
    audit.record(assessment=assessment, action="invitations.reminded")
    client.force_login(owner)
    response = client.get(_url(assessment))
    assert response.status_code == 200
    rows = _rows(response.content.decode())
    assert len(rows) == 3
    assert "The system Sent reminders" in rows[0]
    assert "Olivia Owner Exported raw answers As CSV." in rows[1]
    assert "Olivia Owner Opened the assessment" in rows[2]
    assert re.match(r"\d{1,2} \w{3} \d{4}, \d\d:\d\d ", rows[2])


def test_the_hub_links_owners_to_the_activity_page(client, owner, viewer, assessment):
    client.force_login(owner)
    detail = reverse("assessment:detail", args=[assessment.pk])
    assert _url(assessment) in client.get(detail).content.decode()
    client.force_login(viewer)
    assert _url(assessment) not in client.get(detail).content.decode()


def test_viewers_and_other_organisations_cannot_see_it(
    client,
    viewer,
    outsider,
    assessment,
):
    audit.record(assessment=assessment, action="assessment.opened")
    client.force_login(viewer)
    assert client.get(_url(assessment)).status_code == 403
    client.force_login(outsider)
    assert client.get(_url(assessment)).status_code == 404


def test_it_shows_only_this_assessments_events(
    client,
    owner,
    organisation,
    framework,
    assessment,
):
    other = create_assessment(
        organisation=organisation, framework=framework, title="Another round"
    )
    audit.record(assessment=other, action="assessment.closed", user=owner)
    client.force_login(owner)
    assert "Nothing recorded yet." in client.get(_url(assessment)).content.decode()


def test_it_pages_fifty_at_a_time_with_a_constant_query_count(
    client,
    owner,
    assessment,
    django_assert_num_queries,
):
    AuditEvent.objects.bulk_create(
        AuditEvent(
            organisation=assessment.organisation,
            assessment=assessment,
            action="report.downloaded",
            detail=f"Download {n}",
        )
        for n in range(120)
    )
    client.force_login(owner)
    # Session, user, assessment with role, count and one page of events.
    with django_assert_num_queries(5):
        first = client.get(_url(assessment)).content.decode()
    assert len(_rows(first)) == 50
    assert "Page 1 of 3" in first
    assert "Download 119" in first  # newest first
    with django_assert_num_queries(5):
        last = client.get(_url(assessment, 3)).content.decode()
    assert len(_rows(last)) == 20
    assert "Download 0<" in last
    # A page past the end shows the last one rather than an error.
    assert "Page 3 of 3" in client.get(_url(assessment, 99)).content.decode()


# ---------------------------------------------------------------------------
# Every owner action the trail promises is recorded
# ---------------------------------------------------------------------------


@pytest.fixture
def logged_in(client, owner):
    client.force_login(owner)
    return client


def test_opening_closing_and_reopening_are_recorded(logged_in, assessment):
    logged_in.post(reverse("assessment:open", args=[assessment.pk]))
    logged_in.post(reverse("assessment:close", args=[assessment.pk]))
    logged_in.post(reverse("assessment:reopen", args=[assessment.pk]), {})
    assert _actions(assessment) == [
        "assessment.opened",
        "assessment.closed",
        "assessment.reopened",
    ]
    assert AuditEvent.objects.filter(actor__username="olivia").count() == 3


def test_a_refused_change_is_not_recorded(logged_in, assessment):
    logged_in.post(reverse("assessment:close", args=[assessment.pk]))  # a draft
    assert _actions(assessment) == []


def test_settings_scope_and_routing_changes_are_recorded_with_what_changed(
    logged_in,
    assessment,
    framework,
):
    edit = reverse("assessment:edit", args=[assessment.pk])
    logged_in.post(
        edit,
        {
            "title": "Renamed",
            "scope_label": "",
            "personas": list(assessment.personas.values_list("pk", flat=True)),
            "anonymity_threshold": "5",
        },
    )
    scope = {}
    for index, capability in enumerate(framework.capabilities.all()):
        if index:  # the first capability leaves the scope
            scope[f"in_{capability.pk}"] = "on"
        scope[f"target_{capability.pk}"] = str(Level.RUN if index == 1 else Level.WALK)
    logged_in.post(reverse("assessment:scope", args=[assessment.pk]), scope)
    grid = routing_form_data(assessment=assessment)
    first = next(iter(grid))
    grid[first] = [framework.personas.get(slug="finance").pk]
    logged_in.post(reverse("assessment:routing", args=[assessment.pk]), grid)
    events = list(assessment.audit_events.order_by("pk"))
    assert [e.action for e in events] == [
        "assessment.settings",
        "assessment.scope",
        "assessment.routing",
    ]
    assert events[0].detail == "Changed: Title, Anonymity threshold (k)."
    assert events[1].detail == (
        "Capabilities: 1 removed from scope; 1 with a new target."
    )
    assert events[2].detail == "Personas changed for 1 capability."


def test_saving_without_changes_records_nothing(logged_in, assessment):
    logged_in.post(
        reverse("assessment:routing", args=[assessment.pk]),
        routing_form_data(assessment=assessment),
    )
    assert _actions(assessment) == []


def test_sending_invitations_and_reminders_is_recorded(logged_in, assessment):
    create_invitation(assessment=assessment, email="ana@x.io", persona="finance")
    create_invitation(assessment=assessment, email="li@x.io", persona="engineering")
    Assessment.objects.filter(pk=assessment.pk).update(status="open")
    logged_in.post(reverse("assessment:invitations_send", args=[assessment.pk]))
    assert len(mail.outbox) == 2
    logged_in.post(reverse("assessment:remind", args=[assessment.pk]))
    events = list(assessment.audit_events.order_by("pk"))
    assert [(e.action, e.detail) for e in events] == [
        ("invitations.sent", "Sending to 2 people."),
        ("invitations.reminded", "Sending to 2 people."),
    ]


def test_exporting_raw_answers_and_downloading_the_report_are_recorded(
    logged_in,
    assessment,
    tmp_path,
):
    invitation, _ = create_invitation(
        assessment=assessment, email="ana@x.io", persona="finance"
    )
    respond_to_invitation(
        invitation=invitation, submitted=True, answer_slugs=("budgeting",)
    )
    publish_snapshot(
        assessment=assessment
    )  # the report is written from published results
    logged_in.get(reverse("assessment:export_answers", args=[assessment.pk, "xlsx"]))
    logged_in.get(reverse("assessment:export_results", args=[assessment.pk, "csv"]))
    logged_in.get(reverse("assessment:report", args=[assessment.pk]))
    call_command(
        "export_results",
        assessment.pk,
        "--answers",
        "--format",
        "csv",
        "-o",
        str(tmp_path / "a.csv"),
        stderr=io.StringIO(),
    )
    events = list(assessment.audit_events.order_by("pk"))
    assert [(e.action, e.actor_name, e.detail) for e in events] == [
        ("answers.exported", "olivia", "As XLSX."),
        ("report.downloaded", "olivia", "A4."),
        ("answers.exported", "", "As CSV, from the command line."),
    ]
