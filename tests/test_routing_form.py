"""The routing grid keeps someone asked about every capability in scope."""

import pytest
from django.urls import reverse

from assessment import lifecycle
from assessment.models import ScopedCapability
from tests.factories import routing_form_data


def _routes(assessment) -> list:
    return sorted(
        ScopedCapability.personas.through.objects.filter(
            scopedcapability__assessment=assessment
        ).values_list("scopedcapability_id", "persona_id")
    )


@pytest.fixture
def post(client, owner, assessment):
    client.force_login(owner)
    url = reverse("assessment:routing", args=[assessment.pk])
    return lambda data: client.post(url, data)


def test_a_post_naming_only_a_foreign_field_is_refused_and_deletes_nothing(
    post,
    assessment,
):
    before = _routes(assessment)
    response = post({"route_999": "1"})
    assert response.status_code == 200
    assert "that are not in this assessment" in response.content.decode()
    assert _routes(assessment) == before


def test_another_assessments_field_is_refused_too(
    post,
    assessment,
    organisation,
    framework,
):
    other = lifecycle.assessment_create(
        organisation=organisation, framework=framework, title="Other"
    )
    before = _routes(assessment), _routes(other)
    data = routing_form_data(assessment=assessment) | routing_form_data(
        assessment=other
    )
    response = post(data)
    assert "that are not in this assessment" in response.content.decode()
    assert (_routes(assessment), _routes(other)) == before


def test_every_capability_keeps_at_least_one_persona(post, assessment):
    before = _routes(assessment)
    grid = routing_form_data(assessment=assessment)
    budgeting = assessment.scoped_capabilities.get(capability__slug="budgeting")
    del grid[f"route_{budgeting.pk}"]  # every box of the row unticked
    response = post(grid)
    html = response.content.decode()
    assert "Ask at least one persona about each capability" in html
    assert "Nobody is asked about: Budgeting." in html
    assert _routes(assessment) == before


def test_a_persona_not_invited_is_refused(post, assessment, framework):
    assessment.personas.remove(framework.personas.get(slug="finance"))
    grid = routing_form_data(assessment=assessment)
    first = next(iter(grid))
    grid[first] = [framework.personas.get(slug="finance").pk]
    before = _routes(assessment)
    response = post(grid)
    assert "Select a valid choice" in response.content.decode()
    assert _routes(assessment) == before


def test_a_valid_grid_is_saved(post, assessment, framework):
    grid = routing_form_data(assessment=assessment)
    budgeting = assessment.scoped_capabilities.get(capability__slug="budgeting")
    finance = framework.personas.get(slug="finance")
    grid[f"route_{budgeting.pk}"] = [finance.pk]
    assert post(grid).status_code == 302
    assert list(budgeting.personas.all()) == [finance]


def test_the_service_refuses_to_leave_a_capability_without_personas(assessment):
    scoped = assessment.scoped_capabilities.first()
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.assessment_set_routing(
            assessment=assessment, routes={scoped.pk: set()}
        )
    assert scoped.personas.exists()
