"""What invitation and reminder emails say: plain text, time, progress."""

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone

from assessment.lifecycle import assessment_set_routing
from assessment.mailing import invitations_remind, invitations_send, send_counts
from assessment.models import Assessment, Capability, Invitation, Organisation
from assessment.progress import minutes_to_answer
from assessment.responses import answers_save, response_start, response_submit
from tests.factories import create_assessment, survey_url

pytestmark = pytest.mark.django_db

LINK = re.compile(r"/s/([A-Za-z0-9_-]+)/")


@pytest.fixture
def assessment(organisation, framework):
    return create_assessment(
        organisation=organisation,
        framework=framework,
        closes_on=timezone.localdate() + datetime.timedelta(days=10),
        status=Assessment.Status.OPEN,
    )


def add(assessment, email: str, persona: str = "engineering") -> Invitation:
    return Invitation.objects.create(
        assessment=assessment,
        email=email,
        persona=assessment.framework.personas.get(slug=persona),
    )


def message_to(email: str):
    [message] = [m for m in mail.outbox if m.to == [email]]
    return message, " ".join(message.body.split()), message.alternatives[0][0]


def test_subjects_and_text_bodies_are_not_html_escaped(framework):
    organisation = Organisation.objects.create(name="Smith & Jones", slug="sj")
    assessment = create_assessment(
        organisation=organisation,
        framework=framework,
        title='Platform & Data BU <2026> "Q4"',
        status=Assessment.Status.OPEN,
    )
    assessment.scope_label = "R&D"
    assessment.save()
    add(assessment, "ana@x.io")
    invitations_send(assessment=assessment)
    message, body, html = message_to("ana@x.io")
    assert message.subject == (
        'Smith & Jones FinOps maturity assessment: Platform & Data BU <2026> "Q4"'
    )
    assert "&amp;" not in message.subject + body
    assert "Smith & Jones's FinOps team" in body
    assert '"Platform & Data BU <2026> "Q4""' in body
    assert "(R&D)" in body
    # The HTML part still escapes what it shows.
    assert "Platform &amp; Data BU &lt;2026&gt; &quot;Q4&quot;" in html
    assert "<2026>" not in html


def test_the_invitation_gives_the_time_the_landing_page_gives(client, assessment):
    for persona in ("engineering", "finops-practitioner", "leadership"):
        add(assessment, f"{persona}@x.io", persona)
    invitations_send(assessment=assessment)
    for persona in ("engineering", "finops-practitioner", "leadership"):
        _, body, html = message_to(f"{persona}@x.io")
        questions = assessment.scoped_capabilities.filter(
            personas__slug=persona
        ).count()
        minutes = minutes_to_answer(questions)
        sentence = (
            f"for each of your {questions} questions, pick the description that "
            f"fits how your organisation works today. It takes about {minutes} "
            "minutes"
        )
        assert sentence in body
        assert sentence in " ".join(html.split())
        token = LINK.search(body).group(1)
        page = " ".join(
            client.get(survey_url(name="survey", token=token)).content.decode().split()
        )
        assert f"{questions} for your role, about {minutes} minutes" in page
    # Engineering's 11 questions take 20 minutes, computed, never written in.
    assert "about 20 minutes" in message_to("engineering@x.io")[1]


def test_the_estimate_grows_with_the_questions():
    assert [minutes_to_answer(n) for n in (0, 3, 4, 6, 7, 20)] == [5, 5, 10, 10, 15, 30]


def _start(invitation: Invitation):
    return response_start(
        invitation=invitation, persona=invitation.persona, business_unit=""
    )


def _answer(response, count: int) -> None:
    questions = Capability.objects.filter(
        pk__in=response.assessment.scoped_capabilities.filter(
            personas=response.persona
        ).values("capability_id")
    ).order_by("position")[:count]
    answers_save(response=response, answers={c.pk: (2, "") for c in questions})


@pytest.fixture
def reminded(assessment):
    """Four engineers (11 questions each) at every stage, then reminded."""
    add(assessment, "new@x.io")
    _start(add(assessment, "opened@x.io"))  # started, nothing answered
    _answer(_start(add(assessment, "half@x.io")), 4)
    _answer(_start(add(assessment, "all@x.io")), 11)
    done = _start(add(assessment, "done@x.io"))
    _answer(done, 11)
    response_submit(response=done)
    Invitation.objects.update(sent_at=timezone.now())
    invitations_remind(assessment=assessment)
    return assessment


def test_a_reminder_says_how_far_each_person_has_got(reminded):
    assert sorted(m.to[0] for m in mail.outbox) == [
        "all@x.io",
        "half@x.io",
        "new@x.io",
        "opened@x.io",
    ]
    for email in ("new@x.io", "opened@x.io"):
        _, body, html = message_to(email)
        assert "you have not answered the Acme Énergie FinOps maturity" in body
        assert "Your 11 questions, as Engineering, take about 20 minutes" in body
        assert "Start the assessment" in html
    _, body, html = message_to("half@x.io")
    assert "you have answered 4 of the 11 questions of the Acme Énergie" in body
    assert "the 7 questions left take about 15 minutes" in body
    assert "Continue where you left off" in html
    _, body, html = message_to("all@x.io")
    assert "you have answered all 11 questions" in body
    assert "but not submitted your answers yet" in body
    assert "Review and submit" in html
    for message in mail.outbox:
        assert "still missing" not in message.body


def test_progress_counts_only_the_persons_questions(client, assessment):
    """An answer left outside the routing counts neither here nor on the page."""
    invitation = add(assessment, "moved@x.io")
    response = _start(invitation)
    _answer(response, 3)
    # One answered question stops being routed to engineering.
    answered = response.answers.order_by("capability__position").first()
    scoped = assessment.scoped_capabilities.get(capability_id=answered.capability_id)
    routes = {
        s.pk: set(s.personas.values_list("pk", flat=True))
        for s in assessment.scoped_capabilities.all()
    }
    routes[scoped.pk].discard(response.persona_id)
    assessment_set_routing(assessment=assessment, routes=routes)
    Invitation.objects.update(sent_at=timezone.now())
    invitations_remind(assessment=assessment)
    _, body, _ = message_to("moved@x.io")
    assert "you have answered 2 of the 10 questions" in body
    token = LINK.search(body).group(1)
    page = " ".join(
        client.get(survey_url(name="survey", token=token)).content.decode().split()
    )
    assert "2 of 10 answered" in page


# Each email is marked sent in a transaction of its own, right after the
# mail server accepted it (under the test's transaction: a savepoint, the
# delivery and the invitee, the release).
QUERIES_PER_EMAIL = 4


@pytest.mark.parametrize("people", [4, 12])
def test_reminder_progress_takes_the_same_queries_for_any_number_of_people(
    assessment, people, django_assert_num_queries
):
    for n in range(people):
        invitation = add(assessment, f"p{n}@x.io", ["engineering", "finance"][n % 2])
        if n % 3:
            _answer(_start(invitation), n % 5)
    Invitation.objects.update(sent_at=timezone.now())
    # Queueing, listing, claiming, the links and progress take the same
    # queries for a batch of any size; only the marks grow.
    with django_assert_num_queries(26 + QUERIES_PER_EMAIL * people):
        send = invitations_remind(assessment=assessment)
    assert send_counts(send)["sent"] == people


def test_the_closing_date_is_written_in_the_one_date_format(assessment):
    add(assessment, "ana@x.io")
    invitations_send(assessment=assessment)
    _, body, html = message_to("ana@x.io")
    closes = assessment.closes_on
    shown = f"{closes.day} {closes:%b} {closes.year}"
    assert f"Please answer by {shown} (10 days left)." in body
    assert f"Please answer by <strong>{shown}</strong> (10 days left)." in html
