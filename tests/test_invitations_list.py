"""The invitees list at organisation scale: pages, search, filters and counts."""

import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from assessment.invitee_list import PER_PAGE
from assessment.models import EmailDelivery, EmailSend, Invitation
from tests.factories import create_invitation, get_persona, respond_to_invitation


def _url(assessment, query: str = "") -> str:
    url = reverse("assessment:invitations", args=[assessment.pk])
    return f"{url}?{query}" if query else url


def _page(client, url: str) -> str:
    reply = client.get(url)
    assert reply.status_code == 200
    return unescape(" ".join(reply.content.decode().split()))


def _add_invitees(assessment, count: int, *, persona: str = "finance", **fields):
    """Add `count` invitees at once: person000@x.io, person001@x.io..."""
    start = assessment.invitations.count()
    Invitation.objects.bulk_create(
        Invitation(
            assessment=assessment,
            persona=get_persona(framework=assessment.framework, slug=persona),
            email=f"person{n:03}@x.io",
            **fields,
        )
        for n in range(start, start + count)
    )


@pytest.fixture
def listed(open_assessment):
    """120 finance invitees not sent yet, 5 sent engineers, a mixed few."""
    _add_invitees(open_assessment, 120)
    _add_invitees(open_assessment, 5, persona="engineering", sent_at=timezone.now())
    started, _ = create_invitation(assessment=open_assessment, email="ann@y.io")
    respond_to_invitation(invitation=started, submitted=False)
    done, _ = create_invitation(assessment=open_assessment, email="bob@y.io")
    respond_to_invitation(invitation=done, submitted=True)
    for _ in range(2):
        joiner, _ = create_invitation(assessment=open_assessment, persona="product")
        respond_to_invitation(invitation=joiner, submitted=True)
    return open_assessment


def test_the_list_shows_one_page_at_a_time_with_links_to_the_others(
    client, owner, listed
):
    client.force_login(owner)
    html = _page(client, _url(listed))
    assert html.count("<tr> <td>") == PER_PAGE
    assert f"1–{PER_PAGE} of 129 on the list" in html
    heading = re.sub(r"<[^>]+>", "", html)
    assert "127 invitees and 2 joined through an open link" in heading
    assert f'href="{_url(listed, "page=3")}"' in html
    last = _page(client, _url(listed, "page=3"))
    assert last.count("<tr> <td>") == 129 - 2 * PER_PAGE
    # A page past the end, or not a number, shows the last or first page.
    assert "101–129 of 129" in _page(client, _url(listed, "page=99"))
    assert f"1–{PER_PAGE} of 129" in _page(client, _url(listed, "page=x"))


def test_it_finds_people_by_part_of_their_address(client, owner, listed):
    client.force_login(owner)
    html = _page(client, _url(listed, "q=PERSON10"))
    # person100 to person109, whatever the case typed
    assert "10 matching" in html
    assert "person105@x.io" in html
    assert "ann@y.io" not in html
    assert 'value="PERSON10"' in html


def test_it_filters_by_persona_status_and_source_and_counts_each(client, owner, listed):
    client.force_login(owner)
    html = _page(client, _url(listed))
    for option in (
        "Finance (120)",
        "Engineering (7)",
        "Not sent yet (120)",
        "Sent or joined, not started (5)",
        "Started, not submitted (1)",
        "Submitted (3)",
        "Invited by email (127)",
        "Joined through an open link (2)",
    ):
        assert option in html
    html = _page(client, _url(listed, "persona=engineering&status=sent"))
    assert "5 matching" in html
    assert "person120@x.io" in html and "ann@y.io" not in html
    html = _page(client, _url(listed, "status=submitted"))
    assert "3 matching" in html
    assert "bob@y.io" in html
    assert "Open-link participant 1" in html and "Open-link participant 2" in html
    html = _page(client, _url(listed, "source=joined"))
    assert "2 matching" in html and "bob@y.io" not in html


def test_open_link_participants_keep_their_numbers_under_any_filter(
    client, owner, listed
):
    """Numbered by when they joined within the assessment, not within the page."""
    client.force_login(owner)
    second = listed.invitations.filter(email="").order_by("pk").last()
    second.persona = get_persona(framework=listed.framework, slug="leadership")
    second.save()
    html = _page(client, _url(listed, "persona=leadership"))
    assert "Open-link participant 2" in html
    assert "Open-link participant 1" not in html


def test_unknown_filter_values_are_said_and_ignored(client, owner, listed):
    client.force_login(owner)
    html = _page(client, _url(listed, "status=lost&persona=astronaut&q=" + "a" * 300))
    assert "Unknown choice: showing every status" in html
    assert "Unknown choice: showing every persona" in html
    assert f"1–{PER_PAGE} of 129 on the list" in html


def test_page_links_keep_the_filters(client, owner, listed):
    client.force_login(owner)
    html = _page(client, _url(listed, "status=not_sent&q=person"))
    assert "1–50 of 120 matching" in html
    assert f'href="{_url(listed, "q=person&status=not_sent&page=2")}"' in html


def test_actions_come_back_to_the_same_filtered_page(client, owner, listed):
    client.force_login(owner)
    state = "q=person&status=not_sent&page=2"
    html = _page(client, _url(listed, state))
    assert f'name="list" value="{state}"' in html
    invitation = listed.invitations.get(email="person060@x.io")
    reply = client.post(
        reverse("assessment:invitation_delete", args=[listed.pk, invitation.pk]),
        {"list": state},
    )
    assert reply.url == _url(listed, state)
    assert not listed.invitations.filter(pk=invitation.pk).exists()
    reply = client.post(
        reverse("assessment:invitation_resend", args=[listed.pk, invitation.pk + 1]),
        {"list": state},
    )
    assert reply.url == _url(listed, state)
    # Only the list's own parameters travel; the address stays the list's.
    reply = client.post(
        _url(listed), {"lines": "new@x.io, finance", "list": state + "&next=//evil"}
    )
    assert reply.url == _url(listed, state)
    reply = client.post(
        reverse("assessment:open_link_create", args=[listed.pk]),
        {
            "persona": get_persona(framework=listed.framework, slug="finance").pk,
            "list": state,
        },
    )
    assert reply.url == _url(listed, state) + "#links"


def test_an_import_with_bad_lines_keeps_the_filters(client, owner, listed):
    client.force_login(owner)
    reply = client.post(
        _url(listed), {"lines": "bad-line, finance", "list": "status=submitted"}
    )
    html = unescape(" ".join(reply.content.decode().split()))
    assert "3 matching" in html
    assert 'name="list" value="status=submitted"' in html


def test_the_page_costs_the_same_queries_for_10_and_200_invitees(
    client, owner, open_assessment, django_assert_max_num_queries
):
    client.force_login(owner)

    def count_queries() -> int:
        with django_assert_max_num_queries(40) as captured:
            client.get(_url(open_assessment))
        return len(captured)

    joiner, _ = create_invitation(assessment=open_assessment, persona="finance")
    respond_to_invitation(invitation=joiner, submitted=True)
    done, _ = create_invitation(assessment=open_assessment, email="a@x.io")
    respond_to_invitation(invitation=done, submitted=False)
    _add_invitees(open_assessment, 8)
    few = count_queries()
    _add_invitees(open_assessment, 190, sent_at=timezone.now())
    assert open_assessment.invitations.count() == 200
    assert count_queries() == few


def test_people_whose_email_failed_can_be_listed(client, owner, listed):
    client.force_login(owner)
    send = EmailSend.objects.create(assessment=listed, kind=EmailSend.Kind.INVITATION)
    refused = listed.invitations.get(email="person007@x.io")
    since_invited = listed.invitations.get(email="person120@x.io")  # sent
    for invitation in (refused, since_invited):
        EmailDelivery.objects.create(
            send=send,
            invitation=invitation,
            kind=EmailSend.Kind.INVITATION,
            status=EmailDelivery.Status.FAILED,
            last_error="550 mailbox unavailable",
        )
    assert "Email failed (1)" in _page(client, _url(listed))
    html = _page(client, _url(listed, "status=failed"))
    assert "1 matching" in html
    assert "person007@x.io" in html and "person120@x.io" not in html
    assert "Email failed</span>" in html
