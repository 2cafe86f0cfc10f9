"""Emails as background jobs: links stored before sending, exactly once per
send, retries, progress, scheduling for the opening date."""

import datetime
import re
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.urls import reverse
from django.utils import timezone

from assessment import mailing
from assessment.invitations import invitation_for_token
from assessment.models import (
    Assessment,
    EmailDelivery,
    EmailSend,
    Invitation,
    InvitationToken,
)
from assessment.tokens import hash_token
from tests.factories import create_invitation, respond_to_invitation

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+/s/([\w-]+)/")
Status = EmailDelivery.Status


class FailingBackend(EmailBackend):
    """The locmem backend, except that the server drops message number
    `fail_on` (counted from 1 across connections) and those in `refused`."""

    fail_on: int | None = None
    refused: set[str] = set()
    handed = 0

    def send_messages(self, messages):
        for message in messages:
            type(self).handed += 1
            if message.to[0] in self.refused:
                raise smtplib.SMTPRecipientsRefused(
                    {message.to[0]: (550, b"No such user")}
                )
            if type(self).handed == self.fail_on:
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def failing_mail(settings):
    settings.EMAIL_BACKEND = "tests.test_email_jobs.FailingBackend"
    FailingBackend.handed = 0
    FailingBackend.fail_on = None
    FailingBackend.refused = set()
    return FailingBackend


def invite_people(assessment, count: int) -> list[Invitation]:
    return [
        create_invitation(assessment=assessment, email=f"p{n}@x.io", persona="finance")[
            0
        ]
        for n in range(1, count + 1)
    ]


def links_by_address() -> dict[str, list[str]]:
    """Every emailed link, by recipient."""
    links: dict[str, list[str]] = {}
    for message in mail.outbox:
        links.setdefault(message.to[0], []).append(LINK.search(message.body).group(1))
    return links


def assert_link_works(client, token: str, invitation: Invitation) -> None:
    assert invitation_for_token(token) == invitation
    page = client.get(reverse("assessment:survey", args=[token]))
    assert page.status_code == 200


def make_due(send: EmailSend) -> None:
    """Let time pass until the send's retries are due."""
    send.deliveries.filter(status=Status.QUEUED).update(next_attempt_at=None)


# --- Links stored before sending; exactly once ------------------------------


def test_a_failure_on_the_third_message_leaves_working_links_and_retriable_rest(
    client, owner, open_assessment, failing_mail
):
    people = invite_people(open_assessment, 5)
    failing_mail.fail_on = 3
    client.force_login(owner)
    client.post(reverse("assessment:invitations_send", args=[open_assessment.pk]))

    send = EmailSend.objects.get()
    links = links_by_address()
    assert sorted(links) == ["p1@x.io", "p2@x.io"]
    for invitation in people[:2]:
        invitation.refresh_from_db()
        assert invitation.sent_at is not None
        assert_link_works(client, links[invitation.email][0], invitation)
        delivery = invitation.deliveries.get()
        assert delivery.status == Status.SENT and delivery.secret == ""
    third, *rest = (p.deliveries.get() for p in people[2:])
    # The third was handed to the server with its link already stored.
    assert third.status == Status.QUEUED and third.attempts == 1
    assert third.token_id is not None
    assert "could not be reached" in third.last_error
    assert third.next_attempt_at > timezone.now()
    for delivery in rest:
        assert delivery.status == Status.QUEUED and delivery.attempts == 0
    assert Invitation.objects.filter(sent_at__isnull=True).count() == 3

    # The retry sends the rest, the third with the link stored before.
    make_due(send)
    mailing.send_process(send.pk)
    links = links_by_address()
    assert sorted(links) == [f"p{n}@x.io" for n in range(1, 6)]
    assert all(len(found) == 1 for found in links.values())
    third.refresh_from_db()
    assert third.status == Status.SENT
    assert third.token.token_hash == hash_token(links["p3@x.io"][0])
    for invitation in people:
        assert_link_works(client, links[invitation.email][0], invitation)
    assert send_finished(send)


def send_finished(send: EmailSend) -> bool:
    send.refresh_from_db()
    return send.finished_at is not None


def test_running_the_job_again_sends_nothing_twice(open_assessment):
    invite_people(open_assessment, 3)
    tokens = InvitationToken.objects.count()
    send = mailing.invitations_send(assessment=open_assessment)
    assert len(mail.outbox) == 3
    for _ in range(2):
        assert mailing.send_process(send.pk) == 0
        assert mailing.send_process(send.pk, watchdog=True) == 0
    # A second click finds nobody left to invite.
    mailing.invitations_send(assessment=open_assessment)
    assert len(mail.outbox) == 3
    assert InvitationToken.objects.count() == tokens + 3


def test_a_vanished_workers_batch_is_taken_over_with_the_same_links(
    client, open_assessment, settings
):
    """A worker claimed a batch, stored its links and died mid-way."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    people = invite_people(open_assessment, 3)
    tokens = InvitationToken.objects.count()
    send = mailing.invitations_send(assessment=open_assessment)
    mailing._prepare(send)
    batch = mailing._claim(send, timezone.now())
    mailing._store_tokens(batch)
    stored = {d.invitation_id: d.token.token_hash for d in batch}
    assert mail.outbox == []

    # While the claim holds, neither another run nor the watchdog takes it.
    assert mailing.send_process(send.pk) == 0
    assert mailing.send_process(send.pk, watchdog=True) == 0
    lapsed = timezone.now() - mailing.lease() - datetime.timedelta(seconds=1)
    send.deliveries.update(claimed_at=lapsed)
    EmailSend.objects.filter(pk=send.pk).update(expected_by=lapsed)

    assert mailing.send_process(send.pk, watchdog=True) == 3
    links = links_by_address()
    for invitation in people:
        [token] = links[invitation.email]
        assert hash_token(token) == stored[invitation.pk]
        assert_link_works(client, token, invitation)
    assert InvitationToken.objects.count() == tokens + 3


def test_two_runs_never_claim_the_same_delivery(open_assessment, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    invite_people(open_assessment, 3)
    send = mailing.invitations_send(assessment=open_assessment)
    mailing._prepare(send)
    now = timezone.now()
    first = mailing._claim(send, now)
    second = mailing._claim(send, now)
    assert len(first) == 3 and second == []


def test_an_address_refused_fails_after_the_retries_and_can_be_retried(
    client, owner, open_assessment, failing_mail
):
    invite_people(open_assessment, 3)
    failing_mail.refused = {"p2@x.io"}
    send = mailing.invitations_send(assessment=open_assessment)
    # The other addresses do not wait for the refused one.
    assert sorted(links_by_address()) == ["p1@x.io", "p3@x.io"]
    for _ in range(mailing.MAX_ATTEMPTS - 1):
        make_due(send)
        mailing.send_process(send.pk)
    refused = EmailDelivery.objects.get(invitation__email="p2@x.io")
    assert refused.status == Status.FAILED
    assert refused.attempts == mailing.MAX_ATTEMPTS
    assert "550 No such user" in refused.last_error
    assert send_finished(send)

    client.force_login(owner)
    page = client.get(reverse("assessment:invitations", args=[open_assessment.pk]))
    text = " ".join(page.content.decode().split())
    assert "Invitations: 2 of 3 sent, 1 failed" in text
    assert "p2@x.io (invitation): Address refused by the mail server (550" in text
    # The list says it too, on the person's row.
    assert text.count("Email failed</span>") == 1
    assert "Retry failed" in text

    failing_mail.refused = set()
    response = client.post(
        reverse("assessment:emails_retry", args=[open_assessment.pk]), follow=True
    )
    assert "1 email queued again." in response.content.decode()
    assert sorted(links_by_address()) == ["p1@x.io", "p2@x.io", "p3@x.io"]
    refused.refresh_from_db()
    assert refused.status == Status.SENT


def test_a_resend_replaces_the_link_once_it_has_gone_out(client, open_assessment):
    invitation, first = create_invitation(
        assessment=open_assessment, email="ana@x.io", persona="finance"
    )
    mailing.send_start(
        assessment=open_assessment,
        kind=EmailSend.Kind.RESEND,
        invitation=invitation,
    )
    [token] = links_by_address()["ana@x.io"]
    assert_link_works(client, token, invitation)
    assert invitation_for_token(first) is None


# --- Progress ---------------------------------------------------------------


def test_progress_is_shown_to_owners_only(
    client, owner, viewer, outsider, open_assessment, failing_mail
):
    invite_people(open_assessment, 4)
    failing_mail.refused = {"p4@x.io"}
    send = mailing.invitations_send(assessment=open_assessment)
    send.deliveries.filter(status=Status.QUEUED).update(
        status=Status.FAILED, last_error="Refused."
    )
    url = reverse("assessment:sending", args=[open_assessment.pk])
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    text = " ".join(response.content.decode().split())
    assert "Invitations: 3 of 4 sent, 1 failed" in text
    assert 'data-active="1"' in text  # still finishing: the page keeps polling
    # The assessment page shows the same panel and the script that polls it.
    page = client.get(open_assessment.get_absolute_url()).content.decode()
    assert "3 of 4 sent, 1 failed" in page
    assert "js/sending.js" in page
    client.force_login(viewer)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_progress_counts_while_sending_and_stops_polling_when_done(
    client, owner, open_assessment, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    invite_people(open_assessment, 3)
    client.force_login(owner)
    started = timezone.now()
    client.post(reverse("assessment:invitations_send", args=[open_assessment.pk]))
    # The request only queued the job.
    assert mail.outbox == []
    assert (timezone.now() - started).total_seconds() < 1
    url = reverse("assessment:sending", args=[open_assessment.pk])
    assert "Invitations: getting ready" in client.get(url).content.decode()
    send = EmailSend.objects.get()
    mailing.send_process(send.pk)
    assert len(mail.outbox) == 3
    mailing.send_process(send.pk)  # the next run finds nothing left and ends
    text = " ".join(client.get(url).content.decode().split())
    assert "Invitations: 3 of 3 sent" in text
    assert 'data-active="0"' in text


# --- Drafts and the opening date --------------------------------------------


def _send_invitations(client, assessment):
    response = client.post(
        reverse("assessment:invitations_send", args=[assessment.pk]), follow=True
    )
    return " ".join(response.content.decode().split())


def test_a_draft_without_an_opening_date_sends_nothing(client, owner, assessment):
    invite_people(assessment, 2)
    client.force_login(owner)
    text = _send_invitations(client, assessment)
    assert "The assessment is a draft: open it first" in text
    assert mail.outbox == [] and not EmailSend.objects.exists()


def test_a_draft_past_its_opening_date_asks_to_be_opened(client, owner, assessment):
    invite_people(assessment, 1)
    assessment.opens_on = timezone.localdate()
    assessment.save()
    client.force_login(owner)
    assert "open it, then send the invitations" in _send_invitations(client, assessment)
    assert mail.outbox == []


def test_invitations_of_a_draft_are_scheduled_for_its_opening(
    client, owner, assessment
):
    invite_people(assessment, 2)
    opens_on = timezone.localdate() + datetime.timedelta(days=3)
    assessment.opens_on = opens_on
    assessment.closes_on = opens_on + datetime.timedelta(days=14)
    assessment.save()
    client.force_login(owner)
    text = _send_invitations(client, assessment)
    shown = f"{opens_on.day} {opens_on:%b} {opens_on.year}"
    assert f"Invitations scheduled for {shown}, the opening date" in text
    assert f"Invitations: scheduled for {shown}" in text
    assert mail.outbox == []
    send = EmailSend.objects.get()
    assert timezone.localtime(send.scheduled_for).date() == opens_on
    # Too early: a run does nothing.
    mailing.send_process(send.pk)
    assert mail.outbox == []

    # The opening day comes: the assessment opens and the emails go.
    Assessment.objects.filter(pk=assessment.pk).update(
        opens_on=timezone.localdate(),
        closes_on=timezone.localdate() + datetime.timedelta(days=14),
    )
    EmailSend.objects.filter(pk=send.pk).update(
        scheduled_for=timezone.now() - datetime.timedelta(minutes=1)
    )
    mailing.send_process(send.pk)
    assessment.refresh_from_db()
    assert assessment.status == Assessment.Status.OPEN
    assert len(mail.outbox) == 2
    assert "Please answer by" in mail.outbox[0].body
    assert assessment.audit_events.filter(action="assessment.opened").exists()


def test_scheduled_invitations_follow_a_later_opening_date(assessment):
    invite_people(assessment, 1)
    assessment.opens_on = timezone.localdate() + datetime.timedelta(days=2)
    assessment.save()
    send = mailing.invitations_send(assessment=assessment)
    later = timezone.localdate() + datetime.timedelta(days=9)
    Assessment.objects.filter(pk=assessment.pk).update(opens_on=later)
    EmailSend.objects.filter(pk=send.pk).update(scheduled_for=timezone.now())
    mailing.send_process(send.pk)
    send.refresh_from_db()
    assert timezone.localtime(send.scheduled_for).date() == later
    assert mail.outbox == []
    assessment.refresh_from_db()
    assert assessment.status == Assessment.Status.DRAFT


def test_emails_queued_before_closing_are_not_sent_after(open_assessment, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    invite_people(open_assessment, 2)
    send = mailing.invitations_send(assessment=open_assessment)
    Assessment.objects.filter(pk=open_assessment.pk).update(
        status=Assessment.Status.CLOSED
    )
    mailing._prepare(send)
    mailing.send_process(send.pk)
    assert mail.outbox == []
    assert set(send.deliveries.values_list("status", "last_error")) == {
        (Status.FAILED, "Not sent: the assessment is closed.")
    }
    line = mailing.sending_progress(open_assessment).lines[0]
    assert line.sentence == "Not sent: the assessment is closed."


def test_a_reminder_is_not_queued_twice_for_one_person(open_assessment, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    invitation, _ = create_invitation(
        assessment=open_assessment, email="ana@x.io", persona="finance"
    )
    done, _ = create_invitation(
        assessment=open_assessment, email="done@x.io", persona="finance"
    )
    respond_to_invitation(invitation=done, submitted=True)
    Invitation.objects.update(sent_at=timezone.now() - datetime.timedelta(days=5))
    first = mailing.invitations_remind(assessment=open_assessment)
    second = mailing.invitations_remind(assessment=open_assessment)
    for send in (first, second):
        mailing._prepare(send)
    assert first.deliveries.count() == 1 and second.deliveries.count() == 0
    for send in (first, second):
        mailing.send_process(send.pk)
    assert [m.to for m in mail.outbox] == [["ana@x.io"]]
    invitation.refresh_from_db()
    assert invitation.reminder_count == 1


def test_scheduled_invitations_move_with_an_earlier_opening_date(
    client, owner, assessment
):
    invite_people(assessment, 1)
    assessment.opens_on = timezone.localdate() + datetime.timedelta(days=9)
    assessment.save()
    send = mailing.invitations_send(assessment=assessment)
    client.force_login(owner)
    url = reverse("assessment:edit", args=[assessment.pk])
    data = {k: v for k, v in client.get(url).context["form"].initial.items() if v}
    data["personas"] = [p.pk for p in data["personas"]]
    sooner = timezone.localdate() + datetime.timedelta(days=2)
    data["opens_on"] = sooner.isoformat()
    assert client.post(url, data).status_code == 302
    send.refresh_from_db()
    assert timezone.localtime(send.scheduled_for).date() == sooner


def test_scheduled_invitations_stay_unsent_if_the_opening_date_is_removed(
    assessment,
):
    invite_people(assessment, 1)
    assessment.opens_on = timezone.localdate() + datetime.timedelta(days=2)
    assessment.save()
    send = mailing.invitations_send(assessment=assessment)
    Assessment.objects.filter(pk=assessment.pk).update(opens_on=None)
    EmailSend.objects.filter(pk=send.pk).update(scheduled_for=timezone.now())
    mailing.send_process(send.pk)
    assessment.refresh_from_db()
    assert assessment.status == Assessment.Status.DRAFT and mail.outbox == []
    send.refresh_from_db()
    assert send.error == "Not sent: the opening date was removed before it came."


def test_a_second_resend_while_the_first_waits_says_so(
    client, owner, open_assessment, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    invitation, _ = create_invitation(
        assessment=open_assessment, email="ana@x.io", persona="finance"
    )
    url = reverse(
        "assessment:invitation_resend", args=[open_assessment.pk, invitation.pk]
    )
    client.force_login(owner)
    client.post(url)
    page = client.post(url, follow=True).content.decode()
    assert "A new link is already on its way to ana@x.io." in page
    assert EmailSend.objects.filter(kind=EmailSend.Kind.RESEND).count() == 1
    assert EmailDelivery.objects.filter(invitation=invitation).count() == 1
