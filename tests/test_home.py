from django.urls import reverse

from assessment.models import Membership
from tests.factories import create_member


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get(reverse("assessment:home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_sends_a_member_to_their_organisations_assessments(client, owner):
    client.force_login(owner)
    response = client.get(reverse("assessment:home"))
    assert response.status_code == 302
    assert response.url == reverse("assessment:list", args=["acme"])


def test_it_lets_a_member_of_two_organisations_choose(
    client, owner, other_organisation
):
    Membership.objects.create(
        organisation=other_organisation, user=owner, role=Membership.Role.VIEWER
    )
    client.force_login(owner)
    response = client.get(reverse("assessment:home"))
    assert response.status_code == 200
    assert b"Globex" in response.content
    assert "Acme Énergie" in response.content.decode()


def test_it_hides_other_organisations_assessment_lists(client, outsider, organisation):
    client.force_login(outsider)
    response = client.get(reverse("assessment:list", args=[organisation.slug]))
    assert response.status_code == 404


def test_a_user_without_organisation_is_told_what_to_do(client, db):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("newcomer", password="pw")
    client.force_login(user)
    response = client.get(reverse("assessment:home"))
    assert b"does not belong to any organisation" in response.content


def test_login_page_logs_a_member_in(client, organisation):
    create_member(
        organisation=organisation, username="lena", role=Membership.Role.VIEWER
    )
    response = client.post(reverse("login"), {"username": "lena", "password": "pw"})
    assert response.status_code == 302
    assert client.get(reverse("assessment:home")).status_code == 302


def test_pages_use_the_local_bootstrap_not_a_cdn(client, db):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert "/static/vendor/bootstrap/bootstrap.min.css" in html
    assert "cdn" not in html.lower()


def test_framework_page_shows_levels_next_steps_and_credit(client, framework):
    response = client.get(reverse("assessment:framework"))
    html = response.content.decode()
    assert "Executive Strategy Alignment" in html
    assert "Recommended next steps" in html
    # Prerequisites are named and linked, so a reader sees the order to work in.
    assert 'Builds on:</strong> <a href="#allocation">Allocation</a>' in html
    assert "FinOps Foundation (CC BY 4.0)" in html


def test_admin_lists_the_catalogue(admin_client, framework):
    response = admin_client.get(reverse("admin:assessment_capability_changelist"))
    assert response.status_code == 200
    assert b"Unit Economics" in response.content
    capability = framework.capabilities.get(slug="allocation")
    url = reverse("admin:assessment_capability_change", args=[capability.pk])
    assert admin_client.get(url).status_code == 200
