"""The invitees page: paste/CSV import, sending, re-sending, reminders, links."""

import re
from html import unescape

from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from assessment.models import Invitation, OpenLink
from assessment.tokens import hash_token
from tests.factories import create_invitation, respond_to_invitation

LINK = re.compile(r"https?://\S+/s/([\w-]+)/")


def _url(assessment, name="assessment:invitations"):
    return reverse(name, args=[assessment.pk])


def _all_text_in_database() -> str:
    """Dump every row of every table: a raw token must appear nowhere."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608
            chunks.extend(str(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_an_owner_adds_twenty_people_from_a_pasted_list(client, owner, assessment):
    client.force_login(owner)
    lines = "\n".join(f"person{n}@acme.example, finance, BU{n % 3}" for n in range(20))
    response = client.post(_url(assessment), {"lines": lines})
    assert response.status_code == 302
    assert assessment.invitations.count() == 20
    page = client.get(response.url).content.decode()
    assert "20 participants added" in page
    assert "person7@acme.example" in page
    assert len(mail.outbox) == 0  # adding does not email anyone


def test_bad_lines_are_reported_by_number_and_the_text_is_kept(
    client,
    owner,
    assessment,
):
    client.force_login(owner)
    lines = "good@x.io, finance\nbad-address, finance\nwho@x.io, pilot"
    response = client.post(_url(assessment), {"lines": lines})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Line 2" in html and "Line 3" in html
    assert "not a valid email address" in html
    assert "bad-address, finance" in html  # still in the textarea
    assert "1 participant added" in html
    assert list(assessment.invitations.values_list("email", flat=True)) == ["good@x.io"]


def test_a_persona_left_out_of_the_assessment_is_explained(
    client,
    owner,
    assessment,
):
    assessment.personas.set(assessment.framework.personas.exclude(slug="security"))
    client.force_login(owner)
    response = client.post(_url(assessment), {"lines": "sam@x.io, security"})
    html = unescape(response.content.decode())
    assert "Security is not one of this assessment's personas" in html
    assert "Personas invited" in html
    assert "Unknown persona" not in html


def test_a_csv_file_is_imported_and_its_errors_numbered(client, owner, assessment):
    client.force_login(owner)
    upload = SimpleUploadedFile(
        "people.csv",
        b"email,persona,business unit\na@x.io,Finance,Retail\nb@x.io,,\n",
        content_type="text/csv",
    )
    response = client.post(_url(assessment), {"lines": "", "csv_file": upload})
    html = response.content.decode()
    assert "Line 3" in html
    assert "Give an email address and a persona" in html
    assert assessment.invitations.get().business_unit == "Retail"


def test_a_utf16_csv_file_from_excel_is_imported(client, owner, assessment):
    client.force_login(owner)
    content = "email\tpersona\tbu\na@x.io\tFinance\tRéseau\nb@x.io\tproduct\n"
    upload = SimpleUploadedFile("people.csv", content.encode("utf-16"))
    response = client.post(_url(assessment), {"lines": "", "csv_file": upload})
    assert response.status_code == 302
    assert sorted(assessment.invitations.values_list("email", "business_unit")) == [
        ("a@x.io", "Réseau"),
        ("b@x.io", ""),
    ]


def test_a_binary_file_is_refused_and_the_pasted_lines_kept(
    client,
    owner,
    assessment,
):
    client.force_login(owner)
    upload = SimpleUploadedFile("people.xlsx", b"PK\x03\x04\x00\x00\x08\x00" * 50)
    response = client.post(
        _url(assessment), {"lines": "kept@x.io, finance", "csv_file": upload}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "This is not a text file" in html
    assert "kept@x.io, finance" in html
    assert not assessment.invitations.exists()


def test_a_stray_quote_in_pasted_lines_is_reported_not_a_server_error(
    client,
    owner,
    assessment,
):
    client.force_login(owner)
    lines = '"a@x.io, finance\nb@x.io, product'
    response = client.post(_url(assessment), {"lines": lines})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Line 1" in html
    assert list(assessment.invitations.values_list("email", flat=True)) == ["b@x.io"]


def test_an_empty_import_is_explained(client, owner, assessment):
    client.force_login(owner)
    response = client.post(_url(assessment), {"lines": "  "})
    assert response.status_code == 200
    assert "Paste some lines or choose a CSV file" in response.content.decode()


def test_lines_without_any_participant_are_explained_and_kept(
    client,
    owner,
    assessment,
):
    client.force_login(owner)
    lines = "email,persona\n# to do: add the finance team"
    response = client.post(_url(assessment), {"lines": lines})
    html = response.content.decode()
    assert response.status_code == 200
    assert "No participants found" in html
    assert "# to do: add the finance team" in html


def test_sending_emails_text_and_html_with_a_working_link(
    client,
    owner,
    open_assessment,
    settings,
):
    settings.SITE_URL = "https://finops.example"
    open_assessment.closes_on = timezone.localdate() + timezone.timedelta(days=10)
    open_assessment.save()
    invitation, _ = create_invitation(
        assessment=open_assessment, email="ana@x.io", persona="finance"
    )
    client.force_login(owner)
    response = client.post(_url(open_assessment, "assessment:invitations_send"))
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["ana@x.io"]
    assert "Acme Énergie" in message.subject
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    for part in (message.body, html):
        assert "Acme Énergie" in part
        assert open_assessment.title in part
        assert open_assessment.closes_on.strftime("%Y") in part
        assert "https://finops.example/s/" in part
    token = LINK.search(message.body).group(1)
    invitation.refresh_from_db()
    assert invitation.sent_at is not None
    assert invitation.tokens.filter(token_hash=hash_token(token)).exists()
    assert token not in _all_text_in_database()
    # Sending again only sends to those not sent yet.
    client.post(_url(open_assessment, "assessment:invitations_send"))
    assert len(mail.outbox) == 1


def test_resending_issues_a_new_link_and_the_old_one_stops_working(
    client,
    owner,
    open_assessment,
):
    invitation, old_token = create_invitation(
        assessment=open_assessment, email="ana@x.io", persona="finance"
    )
    client.force_login(owner)
    url = reverse(
        "assessment:invitation_resend", args=[open_assessment.pk, invitation.pk]
    )
    response = client.post(url, follow=True)
    assert "earlier link no longer works" in response.content.decode()
    new_token = LINK.search(mail.outbox[0].body).group(1)
    assert new_token != old_token
    invitation.refresh_from_db()
    assert list(invitation.tokens.values_list("token_hash", flat=True)) == [
        hash_token(new_token)
    ]
    assert client.get(reverse("assessment:survey", args=[old_token])).status_code == 404


def test_reminders_skip_submitted_invitees_and_are_recorded(
    client,
    owner,
    open_assessment,
):
    now = timezone.now()
    waiting, _ = create_invitation(assessment=open_assessment, email="waiting@x.io")
    started, _ = create_invitation(assessment=open_assessment, email="started@x.io")
    done, _ = create_invitation(assessment=open_assessment, email="done@x.io")
    Invitation.objects.update(sent_at=now)
    respond_to_invitation(invitation=started, submitted=False)
    respond_to_invitation(invitation=done, submitted=True)
    client.force_login(owner)
    client.post(_url(open_assessment, "assessment:remind"))
    assert sorted(m.to[0] for m in mail.outbox) == ["started@x.io", "waiting@x.io"]
    assert "Reminder" in mail.outbox[0].subject
    assert "The link in earlier emails works too." in mail.outbox[0].body
    waiting.refresh_from_db()
    done.refresh_from_db()
    assert waiting.reminder_count == 1 and waiting.last_reminded_at is not None
    assert done.reminder_count == 0 and done.last_reminded_at is None


def test_a_reminder_adds_a_link_and_the_earlier_one_keeps_working(
    client,
    owner,
    open_assessment,
):
    invitation, first_token = create_invitation(
        assessment=open_assessment, email="ana@x.io"
    )
    Invitation.objects.update(sent_at=timezone.now())
    client.force_login(owner)
    client.post(_url(open_assessment, "assessment:remind"))
    reminder_token = LINK.search(mail.outbox[0].body).group(1)
    assert reminder_token != first_token
    client.logout()
    for token in (first_token, reminder_token):
        page = client.get(reverse("assessment:survey", args=[token]))
        assert page.status_code == 200
        assert open_assessment.title in page.content.decode()


def test_no_reminders_while_draft(client, owner, assessment):
    invitation, _ = create_invitation(assessment=assessment, email="a@x.io")
    Invitation.objects.update(sent_at=timezone.now())
    client.force_login(owner)
    response = client.post(_url(assessment, "assessment:remind"), follow=True)
    assert "only while the assessment is open" in response.content.decode()
    assert mail.outbox == []


def test_open_links_are_listed_with_their_addresses_but_stored_hashed(
    client,
    owner,
    open_assessment,
):
    client.force_login(owner)
    personas = open_assessment.framework.personas
    url = _url(open_assessment, "assessment:open_link_create")
    for slug in ("finance", "engineering"):
        response = client.post(url, {"persona": personas.get(slug=slug).pk})
        assert response.status_code == 302
    html = client.get(_url(open_assessment)).content.decode()
    tokens = re.findall(r'value="https?://[^"]+/join/([\w-]+)/"', html)
    assert len(tokens) == 2  # every link, not only the last one created
    assert html.count("data-copy=") == 2
    for token in tokens:
        assert len(token) >= 22  # at least 128 bits, URL-safe base64
        link = OpenLink.objects.get(token_hash=hash_token(token))
        assert link.is_active
        assert token not in _all_text_in_database()
    # A second link for the persona replaces the first.
    first = OpenLink.objects.get(persona__slug="finance")
    client.post(url, {"persona": personas.get(slug="finance").pk})
    first.refresh_from_db()
    assert not first.is_active


def test_an_open_link_can_be_switched_off(client, owner, open_assessment):
    from assessment.invitations import open_link_create

    persona = open_assessment.framework.personas.get(slug="finance")
    link, _ = open_link_create(assessment=open_assessment, persona=persona)
    client.force_login(owner)
    client.post(
        reverse("assessment:open_link_deactivate", args=[open_assessment.pk, link.pk])
    )
    link.refresh_from_db()
    assert not link.is_active


def test_an_invitee_who_started_cannot_be_removed(client, owner, open_assessment):
    started, _ = create_invitation(assessment=open_assessment, email="s@x.io")
    respond_to_invitation(invitation=started, submitted=False)
    fresh, _ = create_invitation(assessment=open_assessment, email="f@x.io")
    client.force_login(owner)
    for invitation in (started, fresh):
        client.post(
            reverse(
                "assessment:invitation_delete", args=[open_assessment.pk, invitation.pk]
            )
        )
    assert list(open_assessment.invitations.values_list("email", flat=True)) == [
        "s@x.io"
    ]


def test_the_invitee_page_query_count_does_not_grow(
    client,
    owner,
    open_assessment,
    django_assert_max_num_queries,
):
    client.force_login(owner)

    def count_queries() -> int:
        with django_assert_max_num_queries(100) as captured:
            client.get(_url(open_assessment))
        return len(captured)

    invitation, _ = create_invitation(assessment=open_assessment, email="a@x.io")
    respond_to_invitation(invitation=invitation, submitted=True)
    few = count_queries()
    for n in range(25):
        invitation, _ = create_invitation(
            assessment=open_assessment, email=f"p{n}@x.io", persona="finance"
        )
        respond_to_invitation(invitation=invitation, submitted=n % 2 == 0)
    assert count_queries() == few
