"""Open links: fixed persona, one join per browser, rate limits, owners' list."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from assessment.invitations import open_link_create
from assessment.models import Assessment, Invitation, Response
from assessment.views_survey import JOINED_COOKIE
from tests.factories import create_assessment, get_persona

pytestmark = pytest.mark.django_db


@pytest.fixture
def assessment(organisation, framework):
    return create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )


@pytest.fixture
def finance_link(assessment, framework):
    """A link for finance, without a choice of persona."""
    link, token = open_link_create(
        assessment=assessment, persona=get_persona(framework=framework, slug="finance")
    )
    return link, reverse("assessment:join", args=[token])


def join(client, join_url, persona_id, unit="", address="10.0.0.1"):
    return client.post(
        join_url, {"persona": persona_id, "business_unit": unit}, REMOTE_ADDR=address
    )


def test_the_link_fixes_the_persona_whatever_is_posted(client, finance_link, framework):
    _, join_url = finance_link
    page = client.get(join_url).content.decode()
    assert "This link is for <strong>Finance</strong>" in page
    assert "disabled" in page  # the role is shown, not chosen
    reply = join(
        client, join_url, get_persona(framework=framework, slug="security").pk, "Retail"
    )
    assert reply.status_code == 302
    response = Response.objects.get()
    assert response.persona.slug == "finance"
    assert response.business_unit == "Retail"


def test_a_browser_that_joined_resumes_its_own_response(
    client, assessment, finance_link, framework
):
    _, join_url = finance_link
    first = join(client, join_url, get_persona(framework=framework, slug="finance").pk)
    personal = first.url.split("/")[2]
    # Opening the link again, or posting it again, leads back to the same
    # answers; so does another open link of the same assessment.
    _, other_token = open_link_create(
        assessment=assessment,
        persona=get_persona(framework=framework, slug="engineering"),
    )
    for reply in (
        client.get(join_url),
        join(client, join_url, get_persona(framework=framework, slug="finance").pk),
        client.get(reverse("assessment:join", args=[other_token])),
    ):
        assert reply.status_code == 302
        assert reply.url == reverse("assessment:survey", args=[personal])
    assert Invitation.objects.count() == 1
    # Another browser joins as a new participant.
    join(
        Client(),
        join_url,
        get_persona(framework=framework, slug="finance").pk,
        address="10.0.0.2",
    )
    assert Invitation.objects.count() == 2


def test_a_forged_or_stale_cookie_does_not_resume(
    client, assessment, finance_link, framework
):
    _, join_url = finance_link
    join(client, join_url, get_persona(framework=framework, slug="finance").pk)
    cookie = JOINED_COOKIE.format(assessment.pk)
    signed = client.cookies[cookie].value
    assert client.get(join_url).status_code == 302  # the real cookie resumes
    # Forged: the browser's own cookie with its value altered.
    client.cookies[cookie] = signed[:-1] + ("A" if signed[-1] != "A" else "B")
    assert client.get(join_url).status_code == 200
    # Stale: a validly signed cookie whose participant has been removed.
    client.cookies[cookie] = signed
    Invitation.objects.all().delete()
    assert client.get(join_url).status_code == 200


def test_joins_are_limited_per_client_address(settings, finance_link, framework):
    settings.OPEN_LINK_JOINS_PER_ADDRESS_PER_HOUR = 2
    _, join_url = finance_link
    finance = get_persona(framework=framework, slug="finance").pk
    for _ in range(2):
        assert join(Client(), join_url, finance).status_code == 302
    refused = join(Client(), join_url, finance)
    assert refused.status_code == 200
    assert "Please try again in an hour" in refused.content.decode()
    assert Invitation.objects.count() == 2
    # Someone else, from another address, still joins.
    assert join(Client(), join_url, finance, address="10.9.9.9").status_code == 302


def test_joins_are_limited_per_link(settings, finance_link, framework):
    settings.OPEN_LINK_JOINS_PER_HOUR = 3
    _, join_url = finance_link
    finance = get_persona(framework=framework, slug="finance").pk
    for n in range(3):
        assert (
            join(Client(), join_url, finance, address=f"10.1.0.{n}").status_code == 302
        )
    assert join(Client(), join_url, finance, address="10.1.0.9").status_code == 200
    assert Invitation.objects.count() == 3


def test_the_join_counters_live_in_the_shared_database_cache(finance_link, framework):
    _, join_url = finance_link
    join(Client(), join_url, get_persona(framework=framework, slug="finance").pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM assessment_cache WHERE cache_key LIKE %s",
            ["%open-link-joins%"],
        )
        assert cursor.fetchone()[0] == 2  # one per link, one per address


def test_a_new_secret_key_retires_open_links(settings, finance_link):
    _, join_url = finance_link
    assert Client().get(join_url).status_code == 200
    settings.SECRET_KEY = "another-key-after-a-rotation"
    assert Client().get(join_url).status_code == 404


def test_owners_see_how_many_joined_through_each_link(
    client, owner, assessment, finance_link, framework
):
    link, join_url = finance_link
    for n in range(2):
        join(
            Client(),
            join_url,
            get_persona(framework=framework, slug="finance").pk,
            address=f"10.2.0.{n}",
        )
    client.force_login(owner)
    html = client.get(reverse("assessment:invitations", args=[assessment.pk]))
    html = html.content.decode()
    assert "2 joined</span>, 0 submitted" in html
    # Joiners are numbered within the assessment, not by database id.
    assert re.findall(r"Open-link participant \d+", html) == [
        "Open-link participant 1",
        "Open-link participant 2",
    ]
    assert join_url in html  # the address, shown again to copy


def test_a_link_may_let_people_choose_their_persona(
    client, owner, assessment, framework
):
    client.force_login(owner)
    client.post(
        reverse("assessment:open_link_create", args=[assessment.pk]),
        {
            "persona": get_persona(framework=framework, slug="engineering").pk,
            "allow_persona_choice": "on",
        },
    )
    html = client.get(reverse("assessment:invitations", args=[assessment.pk]))
    join_url = re.search(
        r'value="https?://[^"]+(/join/[\w-]+/)"', html.content.decode()
    )
    reply = join(
        Client(), join_url.group(1), get_persona(framework=framework, slug="product").pk
    )
    assert reply.status_code == 302
    assert Response.objects.get().persona.slug == "product"
