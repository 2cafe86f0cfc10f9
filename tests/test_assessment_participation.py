"""participation_summary: counts per persona and in total, in constant queries."""

import datetime

import pytest
from django.utils import timezone

from assessment.participation import participation_summary
from tests.owner_factories import invite, make_assessment, open_assessment, respond  # noqa: F401


def _by_slug(summary):
    return {row.persona.slug: row for row in summary.personas}


def test_it_counts_invited_started_and_submitted_per_persona(open_assessment):  # noqa: F811
    for n in range(3):
        invite(open_assessment, f"f{n}@x.io", "finance")
    started, _ = invite(open_assessment, "e1@x.io", "engineering")
    done, _ = invite(open_assessment, "e2@x.io", "engineering")
    respond(started, submitted=False)
    respond(done, submitted=True)

    summary = participation_summary(assessment=open_assessment)

    rows = _by_slug(summary)
    assert (rows["finance"].invited, rows["finance"].started) == (3, 0)
    eng = rows["engineering"]
    assert (eng.invited, eng.started, eng.submitted, eng.in_progress) == (2, 2, 1, 1)
    assert eng.response_rate == 0.5
    assert rows["security"].invited == 0
    assert rows["security"].response_rate is None
    assert (summary.total.invited, summary.total.started, summary.total.submitted) == (
        5,
        2,
        1,
    )
    assert summary.total.response_percent == 20
    # Every invited persona is listed, in framework order.
    assert [r.persona.slug for r in summary.personas][:2] == [
        "finops-practitioner",
        "engineering",
    ]


def test_it_gives_days_left_until_closing(organisation, framework):
    closes = timezone.localdate() + datetime.timedelta(days=9)
    assessment = make_assessment(organisation, framework, closes_on=closes)
    assert participation_summary(assessment=assessment).days_left == 9
    assessment.closes_on = None
    assert participation_summary(assessment=assessment).days_left is None


@pytest.mark.parametrize("participants", [2, 30])
def test_its_query_count_does_not_grow_with_participants(
    open_assessment,  # noqa: F811
    participants,
    django_assert_num_queries,
):
    for n in range(participants):
        invitation, _ = invite(open_assessment, f"p{n}@x.io", "finance")
        respond(invitation, submitted=n % 2 == 0)
    with django_assert_num_queries(2):
        summary = participation_summary(assessment=open_assessment)
        assert summary.total.invited == participants
