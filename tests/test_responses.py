"""Service functions that write a participant's response."""

import pytest

from assessment.invitations import open_link_create
from assessment.models import Answer, Assessment, Invitation, Response
from assessment.responses import (
    ResponseLocked,
    answers_save,
    extras_set,
    open_link_join,
    response_questions,
    response_reopen,
    response_start,
    response_submit,
)
from assessment.tokens import hash_token
from tests.factories import (
    create_assessment,
    get_persona,
    set_assessment_status,
    start_response,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def assessment(organisation, framework):
    return create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )


def questions(response: Response) -> list[int]:
    return list(
        response_questions(
            assessment_id=response.assessment_id,
            persona_id=response.persona_id,
            response_id=response.pk,
        ).values_list("pk", flat=True)
    )


def test_questions_follow_the_assessment_routing_not_the_catalogue(
    assessment, framework
):
    _, response = start_response(assessment=assessment, persona="finance")
    first = assessment.scoped_capabilities.exclude(personas=response.persona).first()
    first.personas.add(response.persona)
    assert first.capability_id in questions(response)
    routed = assessment.scoped_capabilities.filter(personas=response.persona)
    assert set(questions(response)) == set(
        routed.values_list("capability_id", flat=True)
    )


def test_a_capability_out_of_scope_is_never_asked_even_as_an_extra(
    organisation, framework
):
    capabilities = list(framework.capabilities.all()[:3])
    assessment = create_assessment(
        organisation=organisation,
        framework=framework,
        capabilities=capabilities,
        status=Assessment.Status.OPEN,
    )
    _, response = start_response(assessment=assessment, persona="finops-practitioner")
    outside = framework.capabilities.exclude(pk__in=[c.pk for c in capabilities])[0]
    response.extra_capabilities.add(outside)
    assert set(questions(response)) == {c.pk for c in capabilities}


def test_submitting_twice_counts_once_and_reopening_then_submitting_counts_twice(
    assessment,
):
    _, response = start_response(assessment=assessment, persona="finance")
    answers_save(response=response, answers={questions(response)[0]: (2, "")})
    assert response_submit(response=response) is True
    assert response_submit(response=response) is False
    response.refresh_from_db()
    assert (response.status, response.submit_count) == ("submitted", 1)
    assert response_reopen(response=response) is True
    assert response_reopen(response=response) is False
    response_submit(response=response)
    response.refresh_from_db()
    assert (response.status, response.submit_count) == ("submitted", 2)
    assert Response.objects.filter(assessment=assessment).count() == 1


def test_an_empty_response_cannot_be_submitted(assessment):
    _, response = start_response(assessment=assessment, persona="finance")
    with pytest.raises(ResponseLocked, match="at least one"):
        response_submit(response=response)


@pytest.mark.parametrize("status", [Assessment.Status.CLOSED, Assessment.Status.DRAFT])
def test_no_write_is_accepted_unless_the_assessment_is_open(assessment, status):
    _, response = start_response(assessment=assessment, persona="finance")
    pk = questions(response)[0]
    answers_save(response=response, answers={pk: (1, "")})
    set_assessment_status(assessment=assessment, status=status)
    for write in (
        lambda: answers_save(response=response, answers={pk: (3, "")}),
        lambda: response_submit(response=response),
        lambda: extras_set(response=response, capability_ids=set()),
    ):
        with pytest.raises(ResponseLocked):
            write()
    assert Answer.objects.get(response=response).value == 1


def test_changing_persona_keeps_answers_already_given(assessment, framework):
    token, response = start_response(assessment=assessment, persona="engineering")
    engineering_only = [
        pk
        for pk in questions(response)
        if pk
        not in set(
            assessment.scoped_capabilities.filter(personas__slug="finance").values_list(
                "capability_id", flat=True
            )
        )
    ][0]
    answers_save(response=response, answers={engineering_only: (2, "kept")})
    invitation = Invitation.objects.get(tokens__token_hash=hash_token(token))
    response = response_start(
        invitation=invitation,
        persona=get_persona(framework=framework, slug="finance"),
        business_unit="BU",
    )
    assert response.persona.slug == "finance"
    assert engineering_only in questions(response)
    assert Answer.objects.get(response=response).comment == "kept"


def test_joining_an_open_link_creates_a_personal_invitation_and_response(
    assessment, framework
):
    link, _ = open_link_create(
        assessment=assessment,
        persona=get_persona(framework=framework, slug="engineering"),
        allow_persona_choice=True,
    )
    response, token = open_link_join(
        open_link=link,
        persona=get_persona(framework=framework, slug="product"),
        business_unit="Retail",
    )
    invitation = Invitation.objects.get(tokens__token_hash=hash_token(token))
    assert invitation.open_link == link
    assert invitation.email == ""
    assert response.invitation == invitation
    assert (response.persona.slug, response.business_unit) == ("product", "Retail")
    assert len(token) >= 22  # at least 128 bits, URL-safe base64


def test_a_link_without_a_choice_keeps_its_persona(assessment, framework):
    link, _ = open_link_create(
        assessment=assessment,
        persona=get_persona(framework=framework, slug="engineering"),
    )
    with pytest.raises(ResponseLocked, match="This link is for Engineering"):
        open_link_join(
            open_link=link,
            persona=get_persona(framework=framework, slug="finance"),
            business_unit="",
        )
    response, _ = open_link_join(
        open_link=link,
        persona=get_persona(framework=framework, slug="engineering"),
        business_unit="",
    )
    # Nor can the persona be changed later, from the personal link.
    with pytest.raises(ResponseLocked):
        response_start(
            invitation=response.invitation,
            persona=get_persona(framework=framework, slug="finance"),
            business_unit="",
        )
    assert Response.objects.get(pk=response.pk).persona.slug == "engineering"


def test_removing_an_extra_capability_discards_its_answer(assessment):
    _, response = start_response(assessment=assessment, persona="finance")
    extra = assessment.scoped_capabilities.exclude(personas=response.persona)[0]
    extras_set(response=response, capability_ids={extra.capability_id})
    assert extra.capability_id in questions(response)
    answers_save(response=response, answers={extra.capability_id: (1, "")})
    extras_set(response=response, capability_ids=set())
    assert extra.capability_id not in questions(response)
    assert not Answer.objects.filter(response=response).exists()
