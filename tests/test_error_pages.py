"""Error pages: in the app's look, saying what happened, revealing nothing."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import create_assessment

pytestmark = pytest.mark.django_db


def _page(reply, status: int) -> str:
    assert reply.status_code == status
    html = " ".join(reply.content.decode().split())
    # The app's own layout and stylesheet, not a bare server page.
    assert "/static/css/app.css" in html
    assert 'class="navbar-brand' in html
    assert f"Error {status}" in html
    return html


def test_a_missing_page_says_so_and_where_to_go(client, owner):
    client.force_login(owner)
    html = _page(client.get(reverse("assessment:detail", args=[987654])), 404)
    assert "Page not found" in html
    assert f'href="{reverse("assessment:home")}">Go to your assessments' in html
    # The view's own reason ("No such assessment.") is not repeated.
    assert "No such assessment" not in html
    html = _page(client.get("/no/such/page/"), 404)
    assert "Resolver404" not in html
    assert "/no/such/page/" not in html


def test_a_visitor_is_offered_to_log_in(client):
    html = _page(client.get("/no/such/page/"), 404)
    assert f'href="{reverse("login")}">Log in' in html


def test_another_organisations_assessment_is_the_same_404(
    client, outsider, organisation, framework
):
    assessment = create_assessment(organisation=organisation, framework=framework)
    client.force_login(outsider)
    missing = _page(client.get(reverse("assessment:detail", args=[987654])), 404)
    other = _page(client.get(assessment.get_absolute_url()), 404)
    # Identical but for the form token, which is masked afresh on every page.
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.sub("", missing) == token.sub("", other)


def test_a_broken_personal_link_speaks_to_the_participant(client):
    html = _page(client.get(reverse("assessment:survey", args=["not-a-token"])), 404)
    assert "This link does not work" in html
    assert "most recent email from your FinOps team" in html
    assert "Log in" not in html
    html = _page(client.get(reverse("assessment:join", args=["not-a-token"])), 404)
    assert "This link does not work" in html


def test_a_viewer_changing_something_gets_a_styled_403(
    client, viewer, organisation, framework
):
    assessment = create_assessment(organisation=organisation, framework=framework)
    client.force_login(viewer)
    html = _page(client.post(reverse("assessment:open", args=[assessment.pk])), 403)
    assert "You cannot do this with your account" in html
    assert "ask an owner of your organisation" in html
    assert "Only owners of the organisation can change this" not in html
    assert "Forbidden" not in html


def test_a_refused_form_explains_how_to_send_it_again(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    html = _page(client.post(reverse("assessment:create", args=["acme"]), {}), 403)
    assert "This form could not be sent" in html
    assert "Nothing from this form was saved" in html
    assert "CSRF" not in html


def test_a_malformed_request_gets_a_styled_400(client):
    html = _page(client.get("/", HTTP_HOST="unknown.example"), 400)
    assert "This request could not be understood" in html
    assert "unknown.example" not in html
