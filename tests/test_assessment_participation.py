"""participation_summary: counts per persona and in total, in constant queries."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from assessment.invitations import open_link_create
from assessment.models import Response
from assessment.participation import participation_summary
from assessment.report_content import ReportOptions, report_context, report_html
from assessment.responses import open_link_join
from tests.factories import (
    create_assessment,
    create_invitation,
    publish_snapshot,
    respond_to_invitation,
)


def _by_slug(summary):
    return {row.persona.slug: row for row in summary.personas}


def test_it_counts_invited_started_and_submitted_per_persona(open_assessment):
    for n in range(3):
        create_invitation(
            assessment=open_assessment, email=f"f{n}@x.io", persona="finance"
        )
    started, _ = create_invitation(
        assessment=open_assessment, email="e1@x.io", persona="engineering"
    )
    done, _ = create_invitation(
        assessment=open_assessment, email="e2@x.io", persona="engineering"
    )
    respond_to_invitation(invitation=started, submitted=False)
    respond_to_invitation(invitation=done, submitted=True)

    summary = participation_summary(assessment=open_assessment)

    rows = _by_slug(summary)
    assert (rows["finance"].invited.people, rows["finance"].started) == (3, 0)
    eng = rows["engineering"]
    assert (eng.people, eng.started, eng.submitted, eng.in_progress) == (2, 2, 1, 1)
    assert eng.response_rate == 0.5
    assert rows["security"].invited.people == 0
    assert rows["security"].response_rate is None
    total = summary.total
    assert (total.people, total.started, total.submitted) == (5, 2, 1)
    assert summary.total.response_percent == 20
    # Every invited persona is listed, in framework order.
    assert [r.persona.slug for r in summary.personas][:2] == [
        "finops-practitioner",
        "engineering",
    ]


def test_it_gives_days_left_until_closing(organisation, framework):
    closes = timezone.localdate() + datetime.timedelta(days=9)
    assessment = create_assessment(
        organisation=organisation, framework=framework, closes_on=closes
    )
    assert participation_summary(assessment=assessment).days_left == 9
    assessment.closes_on = None
    assert participation_summary(assessment=assessment).days_left is None


@pytest.mark.parametrize("participants", [2, 30])
def test_its_query_count_does_not_grow_with_participants(
    open_assessment,
    participants,
    django_assert_num_queries,
):
    for n in range(participants):
        invitation, _ = create_invitation(
            assessment=open_assessment, email=f"p{n}@x.io", persona="finance"
        )
        respond_to_invitation(invitation=invitation, submitted=n % 2 == 0)
        join(open_assessment, "finance", submitted=n % 3 == 0)
    with django_assert_num_queries(2):
        summary = participation_summary(assessment=open_assessment)
        assert summary.total.invited.people == participants
        assert summary.total.joined.people == participants


def join(assessment, slug: str, *, submitted: bool):
    """Join through the persona's open link, as a participant would."""
    persona = assessment.framework.personas.get(slug=slug)
    link = assessment.open_links.filter(persona=persona, is_active=True).first()
    if link is None:
        link, _ = open_link_create(assessment=assessment, persona=persona)
    response, _ = open_link_join(open_link=link, persona=persona, business_unit="")
    if submitted:
        Response.objects.filter(pk=response.pk).update(
            status=Response.Status.SUBMITTED, submitted_at=timezone.now()
        )
    return response


@pytest.fixture
def eleven_and_eleven(open_assessment):
    """11 invited (10 submitted) and 11 who joined through an open link (all)."""
    for n in range(11):
        invitation, _ = create_invitation(
            assessment=open_assessment, email=f"i{n}@x.io", persona="engineering"
        )
        if n < 10:
            respond_to_invitation(invitation=invitation, submitted=True)
        join(open_assessment, "engineering", submitted=True)
    return open_assessment


def test_open_link_joiners_are_counted_apart_from_invitees(eleven_and_eleven):
    total = participation_summary(assessment=eleven_and_eleven).total
    assert (total.invited.people, total.invited.submitted) == (11, 10)
    assert (total.joined.people, total.joined.submitted) == (11, 11)
    assert total.submitted == 21
    assert total.response_percent == 91
    assert total.sentence() == (
        "10 of 11 invited people submitted (91%); 11 people joined through "
        "an open link and 11 of them submitted."
    )


def _text(reply) -> str:
    assert reply.status_code == 200
    return " ".join(reply.content.decode().split())


def test_every_page_shows_invitees_and_joiners_apart(client, owner, eleven_and_eleven):
    assessment = eleven_and_eleven
    client.force_login(owner)
    sentence = "10 of 11 invited people submitted (91%); 11 people joined"
    detail = _text(client.get(assessment.get_absolute_url()))
    assert sentence in detail
    assert "91% <span" in detail
    dashboard = _text(client.get(reverse("assessment:results", args=[assessment.pk])))
    assert sentence in dashboard
    assert "Submitted / joined</th>" in dashboard
    listing = _text(client.get(reverse("assessment:list", args=["acme"])))
    assert "10 / 11" in listing
    assert "and 11 / 11 by open link" in listing
    close = _text(client.get(reverse("assessment:close", args=[assessment.pk])))
    assert sentence in close
    for html in (detail, dashboard, listing, close):
        assert "of 22" not in html
        assert "21 / 22" not in html


def test_the_report_counts_invitees_and_joiners_apart(eleven_and_eleven):
    publish_snapshot(assessment=eleven_and_eleven)
    ctx = report_context(eleven_and_eleven, ReportOptions())
    assert ctx["summary"][0] == (
        "21 people answered the assessment: 10 of the 11 invited (91%) and 11 "
        "who joined through an open link."
    )
    html = " ".join(report_html(eleven_and_eleven, ReportOptions()).split())
    assert "10 of 11 invited people submitted (91%)" in html
    assert "(10 of 11 invited)" in html
    assert "11 who joined through an open link" in html
    assert "of 22" not in html


def test_a_report_over_fewer_than_k_submissions_hides_the_count(
    open_assessment,
):
    join(open_assessment, "finance", submitted=True)
    publish_snapshot(assessment=open_assessment)
    ctx = report_context(open_assessment, ReportOptions())
    assert ctx["participation"] is None
    assert ctx["summary"][0] == "Fewer than 3 people answered the assessment."
    html = report_html(open_assessment, ReportOptions())
    section = html.split('id="participation"')[1].split("</section>")[0]
    assert "Fewer than 3 participants submitted" in section
    assert "Finance" not in section


def test_the_invitees_page_counts_joiners_apart(client, owner, eleven_and_eleven):
    client.force_login(owner)
    url = reverse("assessment:invitations", args=[eleven_and_eleven.pk])
    html = _text(client.get(url))
    assert "11 invitees<span" in html
    assert "and 11 joined through an open link</span>" in html
