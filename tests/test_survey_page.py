"""The questionnaire pages: routing, drafts, errors, closed and speed."""

import pytest
from django.test import Client

from assessment.models import Answer, Assessment, Capability
from tests.factories import (
    answer_every_question,
    create_assessment,
    create_invitation,
    set_assessment_status,
    start_response,
    survey_page_url,
)

pytestmark = pytest.mark.django_db

UNDERSTAND = "understand-usage-cost"


@pytest.fixture
def assessment(organisation, framework):
    return create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )


@pytest.fixture
def engineer(assessment):
    """A participant routed as Engineering, with a started response."""
    return start_response(
        assessment=assessment, persona="engineering", email="erin@acme.example"
    )


def routed_ids(response, domain_slug=None) -> list[int]:
    scoped = response.assessment.scoped_capabilities.filter(personas=response.persona)
    if domain_slug:
        scoped = scoped.filter(capability__domain__slug=domain_slug)
    return list(scoped.values_list("capability_id", flat=True))


def post_page(client, token, domain_slug, values, comments=None, go="stay", shown=None):
    ids = shown if shown is not None else list(values)
    data = {"shown": ",".join(str(pk) for pk in ids), "go": go}
    data.update({f"value-{pk}": str(v) for pk, v in values.items()})
    data.update({f"comment-{pk}": c for pk, c in (comments or {}).items()})
    return client.post(survey_page_url(token=token, domain=domain_slug), data)


def test_it_asks_only_the_capabilities_routed_to_the_persona(client, engineer):
    token, response = engineer
    routed = routed_ids(response, UNDERSTAND)
    page = client.get(survey_page_url(token=token, domain=UNDERSTAND))
    assert page.status_code == 200
    shown = {q.pk for q in page.context["section"].questions}
    assert shown == set(routed)
    others = Capability.objects.filter(domain__slug=UNDERSTAND).exclude(pk__in=routed)
    for capability in others:
        assert f'name="value-{capability.pk}"' not in page.content.decode()


def test_it_shows_every_level_with_its_signs_and_the_other_choices(client, engineer):
    token, response = engineer
    capability = Capability.objects.get(pk=routed_ids(response, UNDERSTAND)[0])
    html = client.get(survey_page_url(token=token, domain=UNDERSTAND)).content.decode()
    for label in ("Not started", "Crawl", "Walk", "Run", "Don&#x27;t know"):
        assert label in html
    assert "Not applicable" in html
    assert capability.description in html
    for level in (1, 2, 3):
        assert capability.signs(level)[0].replace("'", "&#x27;") in html
    # Radio groups are fieldsets with a legend; every control has a label.
    assert html.count("<fieldset") == len(routed_ids(response, UNDERSTAND))
    assert f'for="v-{capability.pk}-2"' in html
    assert f'for="c-{capability.pk}"' in html


def test_it_says_how_to_choose_a_level(client, engineer):
    token, _ = engineer
    html = client.get(survey_page_url(token=token, domain=UNDERSTAND)).content.decode()
    rule = html[html.index('id="answer-rule"') :]
    assert "highest level whose signs are mostly true" in rule[:400]


def test_it_saves_a_page_and_restores_it_when_the_link_is_opened_again(
    client, engineer
):
    token, response = engineer
    first, second = routed_ids(response, UNDERSTAND)[:2]
    reply = post_page(
        client,
        token,
        UNDERSTAND,
        {first: 2, second: -1},
        comments={first: "Daily exports since March."},
        go="next",
    )
    assert reply.status_code == 302
    # A new browser: no cookies, same link.
    page = Client().get(survey_page_url(token=token, domain=UNDERSTAND))
    html = page.content.decode()
    assert f'id="v-{first}-2" value="2" checked' in html
    assert f'id="v-{second}--1" value="-1" checked' in html
    assert "Daily exports since March." in html
    assert page.context["progress"].answered == 2


def test_saving_the_same_page_twice_keeps_one_answer_with_the_latest_value(
    client, engineer
):
    token, response = engineer
    first = routed_ids(response, UNDERSTAND)[0]
    post_page(client, token, UNDERSTAND, {first: 1}, comments={first: "old"})
    post_page(client, token, UNDERSTAND, {first: 3}, comments={first: "new"})
    answers = Answer.objects.filter(response=response, capability_id=first)
    assert [(a.value, a.comment) for a in answers] == [(3, "new")]


@pytest.mark.parametrize(
    ("go", "target"),
    [
        ("next", "/p/quantify-business-value/"),
        ("later", "/s/"),
        ("review", "/review/"),
        ("more", "/more/"),
        ("domain:optimize-usage-cost", "/p/optimize-usage-cost/"),
    ],
)
def test_every_button_saves_then_moves(client, engineer, go, target):
    token, response = engineer
    first = routed_ids(response, UNDERSTAND)[0]
    reply = post_page(client, token, UNDERSTAND, {first: 1}, go=go)
    assert reply.status_code == 302
    assert target in reply.url
    assert Answer.objects.get(response=response, capability_id=first).value == 1


def test_an_unanswered_question_is_allowed_in_a_draft(client, engineer):
    token, response = engineer
    ids = routed_ids(response, UNDERSTAND)
    reply = post_page(client, token, UNDERSTAND, {ids[0]: 0}, shown=ids)
    assert reply.status_code == 302
    assert Answer.objects.filter(response=response).count() == 1


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d, pk: d.update({f"value-{pk}": "7"}), "Choose one of the options"),
        (lambda d, pk: d.update({f"value-{pk}": "abc"}), "Choose one of the options"),
        (lambda d, pk: d.update({"value-999999": "1"}), "unknown question"),
        (lambda d, pk: d.update({"comment-x": "hi"}), "unknown question"),
        (lambda d, pk: d.update({f"comment-{pk}": "x" * 2001}), "Shorten the comment"),
        (lambda d, pk: d.update({"shown": "1,2,999999"}), "out of date"),
        (lambda d, pk: d.update({"shown": "not-a-number"}), "out of date"),
        (lambda d, pk: d.update({"go": "domain:nowhere"}), "Unknown button"),
    ],
)
def test_bad_input_gets_a_clear_error_and_keeps_what_was_typed(
    client, engineer, mutate, message
):
    token, response = engineer
    ids = routed_ids(response, UNDERSTAND)
    pk = ids[0]
    data = {"shown": ",".join(map(str, ids)), "go": "next", f"value-{ids[1]}": "2"}
    data[f"comment-{ids[1]}"] = "Typed text that must survive"
    mutate(data, pk)
    reply = client.post(survey_page_url(token=token, domain=UNDERSTAND), data)
    assert reply.status_code == 200
    html = reply.content.decode()
    assert "not saved yet" in html
    assert message in html
    assert "Typed text that must survive" in html
    assert f'id="v-{ids[1]}-2" value="2" checked' in html
    assert not Answer.objects.filter(response=response).exists()


def test_a_comment_of_exactly_2000_characters_is_saved(client, engineer):
    token, response = engineer
    pk = routed_ids(response, UNDERSTAND)[0]
    reply = post_page(client, token, UNDERSTAND, {pk: 1}, comments={pk: "é" * 2000})
    assert reply.status_code == 302
    assert len(Answer.objects.get(response=response).comment) == 2000


def test_a_comment_alone_is_kept_and_clearing_both_removes_the_answer(client, engineer):
    token, response = engineer
    pk = routed_ids(response, UNDERSTAND)[0]
    post_page(client, token, UNDERSTAND, {}, comments={pk: "Unsure"}, shown=[pk])
    answer = Answer.objects.get(response=response)
    assert (answer.value, answer.comment) == (None, "Unsure")
    post_page(client, token, UNDERSTAND, {}, comments={pk: ""}, shown=[pk])
    assert not Answer.objects.filter(response=response).exists()


def test_a_post_after_the_assessment_closed_is_refused_and_answers_stay_readable(
    client, engineer, assessment
):
    token, response = engineer
    pk = routed_ids(response, UNDERSTAND)[0]
    post_page(client, token, UNDERSTAND, {pk: 1}, comments={pk: "before closing"})
    set_assessment_status(assessment=assessment, status=Assessment.Status.CLOSED)
    reply = post_page(client, token, UNDERSTAND, {pk: 3}, comments={pk: "too late"})
    assert reply.status_code == 200
    assert "has closed" in reply.content.decode()
    assert Answer.objects.get(response=response).value == 1
    page = client.get(survey_page_url(token=token, domain=UNDERSTAND)).content.decode()
    assert "before closing" in page
    assert f'id="v-{pk}-1" value="1" checked disabled' in page
    assert 'name="go"' not in page


def test_a_submitted_response_is_read_only_until_reopened(client, engineer):
    from assessment.responses import response_submit

    token, response = engineer
    pk = routed_ids(response, UNDERSTAND)[0]
    post_page(client, token, UNDERSTAND, {pk: 1})
    response_submit(response=response)
    reply = post_page(client, token, UNDERSTAND, {pk: 3})
    assert "already submitted" in reply.content.decode()
    assert Answer.objects.get(response=response).value == 1


def test_a_page_outside_the_questionnaire_is_a_404(client, engineer):
    token, _ = engineer
    assert (
        client.get(survey_page_url(token=token, domain="no-such-domain")).status_code
        == 404
    )
    assert (
        client.get(survey_page_url(token="not-a-token", domain=UNDERSTAND)).status_code
        == 404
    )


def test_a_page_before_starting_sends_to_the_landing_page(client, assessment):
    _, token = create_invitation(assessment=assessment, persona="finance")
    reply = client.get(survey_page_url(token=token, domain=UNDERSTAND))
    assert reply.status_code == 302
    assert reply.url.endswith(f"/s/{token}/")


def test_csrf_protection_stays_on(engineer):
    token, response = engineer
    pk = routed_ids(response, UNDERSTAND)[0]
    strict = Client(enforce_csrf_checks=True)
    reply = strict.post(
        survey_page_url(token=token, domain=UNDERSTAND), {"shown": pk, f"value-{pk}": 1}
    )
    assert reply.status_code == 403
    assert not Answer.objects.filter(response=response).exists()


def test_a_page_takes_three_queries_whatever_the_number_of_participants(
    client, assessment, django_assert_num_queries
):
    token, response = start_response(
        assessment=assessment, persona="finops-practitioner"
    )
    answer_every_question(response=response)
    with django_assert_num_queries(3):
        assert (
            client.get(
                survey_page_url(token=token, domain="manage-finops-practice")
            ).status_code
            == 200
        )
    for index in range(30):
        _, other = start_response(
            assessment=assessment,
            persona="finops-practitioner",
            email=f"p{index}@acme.example",
        )
        answer_every_question(response=other, value=index % 4)
    with django_assert_num_queries(3):
        assert (
            client.get(
                survey_page_url(token=token, domain="manage-finops-practice")
            ).status_code
            == 200
        )
