"""The site's icon: linked from every page, and no request for it fails."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ICON = "/static/favicon.svg"


def test_pages_link_the_icon_and_it_is_served(client, owner):
    for url in (reverse("login"), reverse("assessment:framework"), "/missing/"):
        assert f'<link rel="icon" href="{ICON}" type="image/svg+xml">' in (
            client.get(url).content.decode()
        )
    client.force_login(owner)
    page = client.get(reverse("assessment:list", args=["acme"])).content.decode()
    assert f'href="{ICON}"' in page
    icon = client.get(ICON)
    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(icon.streaming_content)


def test_the_default_icon_address_leads_to_it(client):
    """Pages without the link (the admin's) make browsers ask /favicon.ico."""
    reply = client.get("/favicon.ico")
    assert reply.status_code == 301
    assert reply["Location"] == ICON
