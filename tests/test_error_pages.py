"""Error pages: in the app's look, saying what happened, revealing nothing."""

import re

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from assessment.views_errors import server_error
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


@pytest.fixture
def failing_client(settings):
    """A client that gets the error page instead of the exception."""
    settings.ROOT_URLCONF = "tests.error_urls"
    return Client(raise_request_exception=False)


def test_a_fault_gets_a_styled_500_rendered_without_the_database(
    failing_client, owner, django_db_blocker
):
    failing_client.force_login(owner)
    # Any query while serving the page (the user, the session) would raise.
    with django_db_blocker.block():
        reply = failing_client.get("/test-fails/?x=1")
    html = _page(reply, 500)
    assert "Something went wrong on our side" in html
    assert 'href="/test-fails/?x=1">Try again' in html
    assert "secret detail" not in html and "RuntimeError" not in html
    assert "Retry-After" not in reply


def test_a_database_that_does_not_answer_gets_a_503_to_try_again(
    failing_client, django_db_blocker
):
    with django_db_blocker.block():
        reply = failing_client.get("/test-database-down/")
        posted = failing_client.post("/test-database-down/")
    html = _page(reply, 503)
    assert reply["Retry-After"] == "10"
    assert "Back in a moment" in html
    assert "try again in a moment" in html
    assert "10.0.0.7" not in html and "OperationalError" not in html
    html = _page(posted, 503)
    assert "may not have been saved" in html
    assert "Try again" not in html


def test_an_owner_whose_database_drops_sees_the_503_page(client, owner, monkeypatch):
    """A real page: the session and user cannot be read, the page still shows."""
    client.force_login(owner)
    client.raise_request_exception = False

    def refused(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(connection, "cursor", refused)
    reply = client.get(reverse("assessment:home"))
    html = _page(reply, 503)
    assert "server closed" not in html


def test_a_participant_whose_page_fails_is_told_their_answers_are_kept(
    failing_client, settings
):
    reply = failing_client.get(reverse("assessment:survey", args=["abc"]))
    assert reply.status_code == 404  # a link that does not exist stays a 404
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "assessment.views_survey.invitation_for_token",
            lambda token: (_ for _ in ()).throw(OperationalError("down")),
        )
        html = _page(
            failing_client.get(reverse("assessment:survey", args=["abc"])), 503
        )
    assert "answers you saved before are kept" in html
    assert "Go to the home page" not in html and "Log in" not in html


def test_the_try_again_link_stays_on_this_site(rf):
    request = rf.get("/x/")
    request.path = "//evil.example/x/"
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        html = server_error(request).content.decode()
    assert 'href="/evil.example/x/">Try again' in html
