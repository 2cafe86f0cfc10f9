"""Owner pages: create, settings, scope, routing, lifecycle, next round."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from assessment.models import Assessment, Level
from tests.factories import (
    create_assessment,
    create_invitation,
    publish_snapshot,
    respond_to_invitation,
    routing_form_data,
)


def _create_data(framework, **overrides) -> dict:
    data = {
        "title": "FinOps maturity Q3",
        "scope_label": "Platform BU",
        "framework": framework.pk,
        "personas": list(framework.personas.values_list("pk", flat=True)),
        "anonymity_threshold": "3",
        "opens_on": "",
        "closes_on": "",
    }
    for c in framework.capabilities.all():
        data[f"in_{c.pk}"] = "on"
        data[f"target_{c.pk}"] = str(Level.WALK)
    data.update(overrides)
    return data


def test_the_create_form_defaults_to_all_capabilities_at_walk_and_k_3(
    client, owner, framework
):
    client.force_login(owner)
    html = client.get(reverse("assessment:create", args=["acme"])).content.decode()
    assert html.count('type="checkbox" name="in_') == 22
    assert html.count('value="2" selected') == 22
    assert 'name="anonymity_threshold" value="3"' in html
    assert "Understand Usage &amp; Cost" in html


def test_an_owner_creates_an_assessment_with_scope_and_targets(
    client, owner, framework
):
    client.force_login(owner)
    allocation = framework.capabilities.get(slug="allocation")
    dropped = framework.capabilities.get(slug="sustainability")
    data = _create_data(
        framework,
        closes_on="2031-01-31",
        personas=list(
            framework.personas.filter(slug__in=["finance", "engineering"]).values_list(
                "pk", flat=True
            )
        ),
    )
    data[f"target_{allocation.pk}"] = str(Level.RUN)
    del data[f"in_{dropped.pk}"]
    response = client.post(reverse("assessment:create", args=["acme"]), data)
    assessment = Assessment.objects.get()
    assert response.url == assessment.get_absolute_url()
    assert (assessment.title, assessment.scope_label, assessment.created_by) == (
        "FinOps maturity Q3",
        "Platform BU",
        owner,
    )
    assert assessment.closes_on == datetime.date(2031, 1, 31)
    assert assessment.scoped_capabilities.count() == 21
    assert assessment.scoped_capabilities.get(capability=allocation).target_level == 3
    assert sorted(p.slug for p in assessment.personas.all()) == [
        "engineering",
        "finance",
    ]


def test_bad_values_are_explained_and_nothing_typed_is_lost(client, owner, framework):
    client.force_login(owner)
    allocation = framework.capabilities.get(slug="allocation")
    data = _create_data(
        framework,
        title="Keep this title",
        anonymity_threshold="0",
        opens_on="2031-02-01",
        closes_on="2031-01-01",
        personas=[],
    )
    data[f"target_{allocation.pk}"] = str(Level.RUN)
    response = client.post(reverse("assessment:create", args=["acme"]), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert not Assessment.objects.exists()
    assert 'value="Keep this title"' in html
    assert "Invite at least one persona" in html
    assert "must not be before opening" in html
    assert "greater than or equal to 1" in html
    assert f'id="id_target_{allocation.pk}"' in html
    assert 'value="3" selected' in html  # the Run target chosen is kept


@pytest.mark.parametrize("posted", ["abc", "", "1.5", "\x00", "99999999999999999999"])
def test_a_tampered_framework_value_is_explained_not_a_server_error(
    client, owner, framework, posted
):
    client.force_login(owner)
    data = _create_data(framework, title="Keep this title")
    data["framework"] = posted
    response = client.post(reverse("assessment:create", args=["acme"]), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert not Assessment.objects.exists()
    assert 'value="Keep this title"' in html
    # The framework select is marked invalid, with its message beside it.
    select = re.search(r'<select[^>]*name="framework"[^>]*>', html).group()
    assert "is-invalid" in select


def test_a_scope_without_capabilities_is_refused(client, owner, framework):
    client.force_login(owner)
    data = {k: v for k, v in _create_data(framework).items() if not k.startswith("in_")}
    response = client.post(reverse("assessment:create", args=["acme"]), data)
    assert "Keep at least one capability in scope" in response.content.decode()
    assert not Assessment.objects.exists()


def test_an_owner_edits_the_settings(client, owner, assessment):
    client.force_login(owner)
    url = reverse("assessment:edit", args=[assessment.pk])
    assert 'value="FinOps maturity 2026"' in client.get(url).content.decode()
    personas = list(assessment.personas.values_list("pk", flat=True))
    response = client.post(
        url,
        {"title": "Renamed", "personas": personas, "anonymity_threshold": "5"},
    )
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert (assessment.title, assessment.anonymity_threshold) == ("Renamed", 5)


def _scope_data(assessment, drop: str) -> dict:
    data = {}
    for item in assessment.scoped_capabilities.select_related("capability"):
        if item.capability.slug != drop:
            data[f"in_{item.capability_id}"] = "on"
        data[f"target_{item.capability_id}"] = str(item.target_level)
    return data


def test_removing_answered_capabilities_asks_for_confirmation(
    client,
    owner,
    open_assessment,
):
    invitation, _ = create_invitation(assessment=open_assessment, email="a@x.io")
    respond_to_invitation(
        invitation=invitation, submitted=True, answer_slugs=("allocation",)
    )
    client.force_login(owner)
    url = reverse("assessment:scope", args=[open_assessment.pk])
    data = _scope_data(open_assessment, drop="allocation")
    response = client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "already have answers" in html
    assert "Allocation" in html
    assert open_assessment.scoped_capabilities.count() == 22
    response = client.post(url, {**data, "confirm_removal": "yes"})
    assert response.status_code == 302
    assert open_assessment.scoped_capabilities.count() == 21


def test_removing_unanswered_capabilities_needs_no_confirmation(
    client,
    owner,
    open_assessment,
):
    client.force_login(owner)
    url = reverse("assessment:scope", args=[open_assessment.pk])
    response = client.post(url, _scope_data(open_assessment, drop="sustainability"))
    assert response.status_code == 302
    assert open_assessment.scoped_capabilities.count() == 21


def test_an_owner_edits_the_persona_routing(client, owner, assessment, framework):
    client.force_login(owner)
    url = reverse("assessment:routing", args=[assessment.pk])
    html = client.get(url).content.decode()
    assert "Ask Finance about Budgeting" in html
    budgeting = assessment.scoped_capabilities.get(capability__slug="budgeting")
    product = framework.personas.get(slug="product")
    grid = routing_form_data(assessment=assessment)
    grid[f"route_{budgeting.pk}"] = [product.pk]
    response = client.post(url, grid)
    assert response.status_code == 302
    assert list(budgeting.personas.all()) == [product]
    allocation = assessment.scoped_capabilities.get(capability__slug="allocation")
    assert allocation.personas.count() > 0


def test_an_owner_opens_closes_and_reopens(client, owner, assessment):
    client.force_login(owner)
    client.post(reverse("assessment:open", args=[assessment.pk]))
    assessment.refresh_from_db()
    assert assessment.status == Assessment.Status.OPEN
    close_url = reverse("assessment:close", args=[assessment.pk])
    assert "results become final" in client.get(close_url).content.decode()
    assessment.refresh_from_db()
    assert assessment.status == Assessment.Status.OPEN  # GET only asks
    client.post(close_url)
    assessment.refresh_from_db()
    assert assessment.status == Assessment.Status.CLOSED
    reopen_url = reverse("assessment:reopen", args=[assessment.pk])
    assert "Reopen" in client.get(reopen_url).content.decode()
    client.post(reopen_url, {"closes_on": ""})
    assessment.refresh_from_db()
    assert assessment.status == Assessment.Status.OPEN


def test_reopening_past_the_closing_date_asks_for_a_new_one(
    client,
    owner,
    organisation,
    framework,
):
    assessment = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.CLOSED
    )
    assessment.closes_on = timezone.localdate() - datetime.timedelta(days=2)
    assessment.save()
    client.force_login(owner)
    url = reverse("assessment:reopen", args=[assessment.pk])
    response = client.post(url, {"closes_on": ""})
    assert "set a later one" in response.content.decode()
    later = timezone.localdate() + datetime.timedelta(days=5)
    client.post(url, {"closes_on": later.isoformat()})
    assessment.refresh_from_db()
    assert (assessment.status, assessment.closes_on) == ("open", later)


def test_opening_twice_is_explained_not_an_error(client, owner, open_assessment):
    client.force_login(owner)
    response = client.post(
        reverse("assessment:open", args=[open_assessment.pk]), follow=True
    )
    assert response.status_code == 200
    assert "Only a draft can be opened" in response.content.decode()


def test_duplicate_as_next_round_goes_to_the_new_draft(client, owner, open_assessment):
    client.force_login(owner)
    response = client.post(reverse("assessment:duplicate", args=[open_assessment.pk]))
    new = Assessment.objects.get(previous=open_assessment)
    assert response.url == reverse("assessment:edit", args=[new.pk])
    html = client.get(new.get_absolute_url()).content.decode()
    assert f'href="{open_assessment.get_absolute_url()}"' in html


def test_viewers_see_published_participation_but_not_invitees(
    client,
    viewer,
    open_assessment,
):
    for n in range(3):
        invitation, _ = create_invitation(
            assessment=open_assessment,
            email=f"secret.person{n}@x.io",
            persona="finance",
        )
        respond_to_invitation(invitation=invitation, submitted=True)
    client.force_login(viewer)
    html = client.get(open_assessment.get_absolute_url()).content.decode()
    assert "100%" not in html  # nothing published yet: no live figures
    publish_snapshot(assessment=open_assessment)
    html = client.get(open_assessment.get_absolute_url()).content.decode()
    assert "Participation" in html
    assert "100%" in html
    assert "secret.person" not in html
    assert (
        "<table" not in html.split('id="participation-title"')[1].split("</section")[0]
    )
    assert reverse("assessment:invitations", args=[open_assessment.pk]) not in html
    assert "Close…" not in html and "Duplicate as next round" not in html


def test_owners_see_the_lifecycle_buttons(client, owner, assessment):
    client.force_login(owner)
    html = client.get(assessment.get_absolute_url()).content.decode()
    assert "Open to participants" in html
    assert "Duplicate as next round" in html
    assert 'id="results"' in html


def _populate(assessment, numbers: range) -> None:
    for n in numbers:
        invitation, _ = create_invitation(
            assessment=assessment, email=f"p{assessment.pk}-{n}@x.io", persona="finance"
        )
        if n % 3:
            respond_to_invitation(invitation=invitation, submitted=n % 2 == 0)


@pytest.mark.parametrize(
    "url_name", ["assessment:list", "assessment:detail"], ids=["list", "detail"]
)
def test_query_counts_do_not_grow_with_invitees(
    client, owner, organisation, framework, url_name, django_assert_num_queries
):
    first = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )
    create_assessment(organisation=organisation, framework=framework, title="Second")
    arg = "acme" if url_name == "assessment:list" else first.pk
    url = reverse(url_name, args=[arg])
    client.force_login(owner)
    # session + user + membership/assessment + page's own queries, pinned
    # (the detail page's include two for emails being sent and failed):
    expected = {"assessment:list": 4, "assessment:detail": 11}[url_name]
    _populate(first, range(2))
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200
    _populate(first, range(2, 42))
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200
