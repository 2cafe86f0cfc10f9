"""Invitations, reminders and re-sends, emailed by background jobs.

An owner's click creates an `EmailSend` and enqueues `tasks.email_send_task`,
so the request returns at once whatever the number of invitees. The job
lists the send's deliveries (one `EmailDelivery` per invitee), then works
through them a batch at a time, re-enqueuing itself for the rest:

1. claim a batch with a conditional update (two workers never hold the same
   delivery; a claim lapses after `lease()`, so a vanished worker's batch
   is taken over);
2. store each delivery's link token (hashed) and commit, before any message
   goes to the mail server; a retried delivery derives the same token again
   from its stored secret, so every link emailed works;
3. hand each message to the mail server and mark its delivery sent, in a
   transaction of its own, right after the server accepted it. A retried or
   restarted job skips deliveries already sent.

The one window left: the mail server accepts a message and the process is
killed before the next commit (a few milliseconds). That delivery is sent
again, with the same working link, once its claim lapses.

A refused message is retried with a growing delay, then reported as failed
with the server's answer; owners retry failed deliveries from their pages.

Every job that claims a batch (or waits for a retry) also enqueues a
watchdog run for when its claim lapses: if the worker vanished, that run
carries on; if not, it sees the promise (`EmailSend.expected_by`) still
holds and stops.
"""

import contextlib
import datetime
import logging
import secrets
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, F, Min, Q, QuerySet, Value, When
from django.utils import timezone

from . import audit, display, lifecycle
from .invitations import invitation_message, reminder_candidates, with_email
from .models import Assessment, EmailDelivery, EmailSend, Invitation, InvitationToken
from .progress import progress_by_invitation
from .tokens import derived_token, hash_token

logger = logging.getLogger(__name__)

Kind = EmailSend.Kind
Status = EmailDelivery.Status

BATCH_SIZE = 50
MAX_ATTEMPTS = 4
# Delay before the attempt after the first, second and third failure.
RETRY_DELAYS = [
    datetime.timedelta(minutes=1),
    datetime.timedelta(minutes=10),
    datetime.timedelta(hours=1),
]
TOKEN_SALT = "assessment.mailing.delivery-link"  # noqa: S105 - an HMAC salt
PENDING = (Status.QUEUED, Status.SENDING)


def lease() -> datetime.timedelta:
    """How long a claimed batch is a job's own before another may take it."""
    return datetime.timedelta(seconds=settings.EMAIL_JOB_LEASE_SECONDS)


# ---------------------------------------------------------------------------
# Starting a send (the owner's click, a schedule, the cron command)
# ---------------------------------------------------------------------------


# Scheduled invitations go out on the opening date at this local hour.
OPENING_HOUR = 8

NOT_OPEN_FOR_EMAILS = {
    Assessment.Status.DRAFT: "The assessment is a draft: emails go out once it "
    "is open.",
    Assessment.Status.CLOSED: "The assessment is closed: reopen it to send emails.",
}


class NotNow(Exception):
    """Invitations cannot be sent or scheduled now; the message says why."""


def unsent(assessment: Assessment):
    """Invitees with an address who have not been sent an invitation."""
    return with_email(assessment).filter(sent_at__isnull=True)


def opening_moment(day: datetime.date) -> datetime.datetime:
    """When scheduled invitations go out on an opening date (site time)."""
    return timezone.make_aware(
        datetime.datetime.combine(day, datetime.time(OPENING_HOUR))
    )


def invitations_when(assessment: Assessment) -> datetime.datetime | None:
    """Return when "Send invitations" sends: None for now, or the opening.

    An open assessment sends at once; a draft that opens later schedules the
    invitations for its opening (nobody is asked to answer a survey that is
    not open). Raise NotNow otherwise.
    """
    if assessment.status == Assessment.Status.OPEN:
        return None
    if assessment.status == Assessment.Status.CLOSED:
        raise NotNow("The assessment is closed: reopen it to invite.")
    if assessment.opens_on is None:
        raise NotNow(
            "The assessment is a draft: open it first, or give it an opening "
            "date in the settings to send the invitations that day."
        )
    if assessment.opens_on <= timezone.localdate():
        raise NotNow(
            "The assessment is still a draft although its opening date has "
            "come: open it, then send the invitations."
        )
    return opening_moment(assessment.opens_on)


def send_start(
    *,
    assessment: Assessment,
    kind: str,
    user=None,
    scheduled_for: datetime.datetime | None = None,
    min_interval: datetime.timedelta | None = None,
    invitation: Invitation | None = None,
    enqueue: bool = True,
) -> EmailSend:
    """Create a send and enqueue its job (at `scheduled_for`, or now).

    Invitations go to everyone not sent one yet, reminders to everyone not
    submitted (not reminded within `min_interval`), both listed when the job
    starts; a re-send goes to `invitation` alone. With `enqueue` False the
    caller runs `send_process` itself (the cron command).
    """
    # One transaction for the send and its job: a worker sees the job only
    # once the send exists, and a send never exists without its job. The
    # watchdog covers a worker that dies before its first claim. Inside a
    # caller's transaction (a view's, with its audit line) no savepoint is
    # needed: a failure undoes the caller's whole block anyway.
    with transaction.atomic(savepoint=False):
        send = EmailSend.objects.create(
            assessment=assessment,
            kind=kind,
            created_by=user if user and user.is_authenticated else None,
            scheduled_for=scheduled_for,
            min_interval=min_interval,
        )
        if invitation is not None:
            _deliveries_add(send, [invitation.pk])
            send.prepared_at = timezone.now()
            send.save(update_fields=["prepared_at"])
        if enqueue:
            start = scheduled_for or timezone.now()
            _promise(send, start + lease())
            _enqueue(send, run_after=scheduled_for)
    return send


def invitations_send(*, assessment: Assessment, user=None) -> EmailSend:
    """Queue the invitations not sent yet (scheduled for a later opening)."""
    return send_start(
        assessment=assessment,
        kind=Kind.INVITATION,
        user=user,
        scheduled_for=invitations_when(assessment),
    )


def invitations_remind(
    *,
    assessment: Assessment,
    min_interval: datetime.timedelta | None = None,
    user=None,
    enqueue: bool = True,
) -> EmailSend:
    """Queue reminders to those who have not submitted (open assessments)."""
    return send_start(
        assessment=assessment,
        kind=Kind.REMINDER,
        user=user,
        min_interval=min_interval,
        enqueue=enqueue,
    )


def waiting(*, invitation: Invitation, kind: str) -> bool:
    """Whether an email of this kind to the invitee is queued or going out."""
    return EmailDelivery.objects.filter(
        invitation=invitation, kind=kind, status__in=PENDING
    ).exists()


def send_counts(send: EmailSend) -> dict[str, int]:
    """Return a send's deliveries by status (for messages and commands)."""
    counts = dict.fromkeys(Status.values, 0)
    counts.update(
        send.deliveries.order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return counts


def _enqueue(send: EmailSend, *, run_after=None, watchdog: bool = False) -> None:
    from .tasks import email_send_task, enqueue_at

    enqueue_at(email_send_task, send.pk, watchdog, run_after=run_after)


def _promise(send: EmailSend, by: datetime.datetime) -> None:
    """Promise another claim by `by`, with a watchdog run to check it."""
    EmailSend.objects.filter(pk=send.pk).update(expected_by=by)
    send.expected_by = by
    _enqueue(send, run_after=by + datetime.timedelta(seconds=1), watchdog=True)


def _deliveries_add(send: EmailSend, invitation_ids) -> None:
    """Add one delivery per invitee, skipping anyone already waiting for an
    email of the same kind in another send (the database refuses both)."""
    EmailDelivery.objects.bulk_create(
        (
            EmailDelivery(send=send, invitation_id=pk, kind=send.kind)
            for pk in invitation_ids
        ),
        batch_size=1000,
        ignore_conflicts=True,
    )


def _prepare(send: EmailSend) -> None:
    """List the send's deliveries once, when its job first runs."""
    if send.prepared_at is not None:
        return
    if send.kind == Kind.INVITATION:
        invitees = unsent(send.assessment)
    else:
        invitees = reminder_candidates(
            assessment=send.assessment, min_interval=send.min_interval
        )
    with transaction.atomic():
        taken = EmailSend.objects.filter(pk=send.pk, prepared_at__isnull=True).update(
            prepared_at=timezone.now()
        )
        if taken:
            _deliveries_add(send, invitees.values_list("pk", flat=True))


# ---------------------------------------------------------------------------
# The job
# ---------------------------------------------------------------------------


def send_process(send_id: int, *, watchdog: bool = False) -> int:
    """Send one batch of a send's emails; return how many went out.

    Safe to run any number of times, in any number of workers: deliveries
    are claimed before sending and skipped once sent. Enqueues the next run
    while emails remain.
    """
    send = (
        EmailSend.objects.select_related("assessment__organisation")
        .filter(pk=send_id, finished_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if send is None or (send.scheduled_for and send.scheduled_for > now):
        return 0
    if watchdog and send.expected_by and send.expected_by > now:
        return 0  # the job that promised is still at work
    if _follow_opening(send):
        return 0
    problem = _not_sendable(send)
    if problem:
        _give_up(send, problem)
        return 0
    _prepare(send)
    batch = _claim(send, now)
    if not batch:
        _schedule_rest(send)
        return 0
    sent = _deliver(send, batch)
    if _due(send).exists():
        _enqueue(send)
    else:
        _schedule_rest(send)
    return sent


def send_run_all(send: EmailSend) -> int:
    """Run a send's batches here until none is due (the cron command)."""
    total = 0
    while True:
        sent = send_process(send.pk)
        total += sent
        if not sent:
            return total


def _follow_opening(send: EmailSend) -> bool:
    """Move invitations scheduled for a draft whose opening date moved later.

    Return True if the send now waits for the new date.
    """
    # By day, not by hour: on the opening day the job opens and sends
    # whenever it runs.
    assessment = send.assessment
    opens_on = assessment.opens_on
    if not (
        send.scheduled_for
        and assessment.status == Assessment.Status.DRAFT
        and opens_on
        and opens_on > timezone.localdate()
    ):
        return False
    _reschedule(send, opening_moment(opens_on))
    return True


def _reschedule(send: EmailSend, moment: datetime.datetime) -> None:
    """Move a scheduled send to `moment`, with its run and watchdog."""
    with transaction.atomic():
        EmailSend.objects.filter(pk=send.pk).update(scheduled_for=moment)
        send.scheduled_for = moment
        _promise(send, moment + lease())
        _enqueue(send, run_after=moment)


def scheduled_follow_opening(assessment: Assessment) -> None:
    """Move invitations scheduled for a draft to its (new) opening date.

    Called when the owner saves the settings; a later date is also followed
    by the job itself when the old one comes.
    """
    if assessment.status != Assessment.Status.DRAFT or not assessment.opens_on:
        return
    moment = opening_moment(assessment.opens_on)
    if moment <= timezone.now():
        return
    elsewhen = assessment.email_sends.filter(
        kind=Kind.INVITATION, finished_at__isnull=True, scheduled_for__isnull=False
    ).exclude(scheduled_for=moment)
    for send in elsewhen:
        _reschedule(send, moment)


def _not_sendable(send: EmailSend) -> str:
    """Return why the send cannot go now, or "" (opening a scheduled draft)."""
    assessment = send.assessment
    if assessment.status == Assessment.Status.DRAFT and send.scheduled_for:
        if assessment.opens_on is None:
            return "Not sent: the opening date was removed before it came."
        try:
            lifecycle.assessment_open(assessment=assessment)
        except lifecycle.LifecycleError as error:
            return f"The assessment could not open on its opening date: {error}"
        audit.record(
            assessment=assessment,
            action="assessment.opened",
            detail="Opened on its opening date to send the invitations.",
        )
    if assessment.status != Assessment.Status.OPEN:
        return (
            "Not sent: the assessment is closed."
            if assessment.is_closed
            else "Not sent: the assessment is not open yet."
        )
    return ""


def _give_up(send: EmailSend, problem: str) -> None:
    """Fail every delivery still waiting, saying why; the owner may retry."""
    with transaction.atomic():
        send.deliveries.filter(status__in=PENDING).update(
            status=Status.FAILED, last_error=problem, claimed_by=""
        )
        EmailSend.objects.filter(pk=send.pk).update(
            finished_at=timezone.now(), error=problem
        )


def _due(send: EmailSend, now=None):
    """Deliveries a job may claim now: waiting and due, or claimed by a job
    whose claim lapsed."""
    now = now or timezone.now()
    waiting = Q(status=Status.QUEUED) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    lapsed = Q(status=Status.SENDING, claimed_at__lte=now - lease())
    return send.deliveries.filter(waiting | lapsed)


def _claim(send: EmailSend, now: datetime.datetime) -> list[EmailDelivery]:
    """Claim up to BATCH_SIZE due deliveries for this run.

    The update re-checks each row's state, so of two runs racing for the
    same rows (on PostgreSQL the second waits for the first's commit) only
    one gets each. The claim and the watchdog commit together.
    """
    ids = list(_due(send, now).order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
    if not ids:
        return []
    claim = secrets.token_hex(16)
    with transaction.atomic():
        taken = (
            _due(send, now)
            .filter(pk__in=ids)
            .update(status=Status.SENDING, claimed_by=claim, claimed_at=now)
        )
        if taken:
            _promise(send, now + lease())
    return list(
        EmailDelivery.objects.filter(claimed_by=claim, status=Status.SENDING)
        .select_related("invitation__persona")
        .order_by("pk")
    )


def _schedule_rest(send: EmailSend) -> None:
    """Enqueue the next run for deliveries not due yet, or finish the send."""
    pending = send.deliveries.filter(status__in=PENDING).aggregate(
        retry=Min("next_attempt_at", filter=Q(status=Status.QUEUED)),
        queued=Count("pk", filter=Q(status=Status.QUEUED)),
        claimed=Min("claimed_at", filter=Q(status=Status.SENDING)),
    )
    candidates = []
    if pending["queued"]:
        candidates.append(pending["retry"] or timezone.now())
    if pending["claimed"]:
        candidates.append(pending["claimed"] + lease())
    if not candidates:
        EmailSend.objects.filter(pk=send.pk, finished_at__isnull=True).update(
            finished_at=timezone.now()
        )
        return
    run_after = min(candidates)
    with transaction.atomic():
        _promise(send, run_after + lease())
        _enqueue(send, run_after=run_after)


# ---------------------------------------------------------------------------
# Sending a claimed batch
# ---------------------------------------------------------------------------


def _store_tokens(batch: list[EmailDelivery]) -> None:
    """Give each delivery its link (stored hashed) before anything is sent.

    A delivery claimed again keeps the token of its first claim: the link
    of a message that may already have gone out keeps working. Three
    queries for the whole batch.
    """
    missing = [d for d in batch if d.token_id is None]
    if not missing:
        return
    secrets_by_pk = {d.pk: secrets.token_hex(32) for d in missing}
    with transaction.atomic():
        tokens = InvitationToken.objects.bulk_create(
            InvitationToken(
                invitation_id=d.invitation_id,
                token_hash=hash_token(derived_token(TOKEN_SALT, secrets_by_pk[d.pk])),
            )
            for d in missing
        )
        token_by_pk = {d.pk: t.pk for d, t in zip(missing, tokens, strict=True)}
        EmailDelivery.objects.filter(pk__in=token_by_pk, token__isnull=True).update(
            token=Case(*(When(pk=pk, then=t) for pk, t in token_by_pk.items())),
            secret=Case(
                *(When(pk=pk, then=Value(v)) for pk, v in secrets_by_pk.items())
            ),
        )
        stored = dict(
            EmailDelivery.objects.filter(pk__in=token_by_pk).values_list(
                "pk", "token_id"
            )
        )
        # Another run stored a token first (only after a lapsed claim): keep
        # its token, drop ours, and read its secret.
        lost = [pk for pk, t in token_by_pk.items() if stored[pk] != t]
        InvitationToken.objects.filter(pk__in=[token_by_pk[pk] for pk in lost]).delete()
    for delivery in missing:
        delivery.token_id = stored[delivery.pk]
        if delivery.pk in lost:
            delivery.refresh_from_db(fields=["token", "secret"])
        else:
            delivery.secret = secrets_by_pk[delivery.pk]


def _deliver(send: EmailSend, batch: list[EmailDelivery]) -> int:
    """Email a claimed batch; return how many the mail server accepted."""
    _store_tokens(batch)
    invitations = [d.invitation for d in batch]
    for invitation in invitations:
        invitation.assessment = send.assessment
    progress = progress_by_invitation(
        assessment_id=send.assessment_id, invitations=invitations
    )
    # Stop well inside the claim, so no other run takes over a live batch.
    deadline = batch[0].claimed_at + lease() / 2
    sent = 0
    try:
        connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
        connection.open()
    except (OSError, smtplib.SMTPException) as error:
        _failed(batch[0], error, rest=batch[1:])
        return 0
    try:
        for position, delivery in enumerate(batch):
            if timezone.now() > deadline:
                _release(batch[position:])
                break
            message = invitation_message(
                delivery.invitation,
                derived_token(TOKEN_SALT, delivery.secret),
                reminder=delivery.kind == Kind.REMINDER,
                progress=progress[delivery.invitation_id],
                connection=connection,
            )
            try:
                message.send()
            except smtplib.SMTPRecipientsRefused as error:
                _failed(delivery, error)  # this address only
                continue
            except (OSError, smtplib.SMTPException) as error:
                _failed(delivery, error, rest=batch[position + 1 :])
                break
            sent += _mark_sent(delivery)
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.close()
    return sent


def _mark_sent(delivery: EmailDelivery) -> int:
    """Record that the mail server accepted a delivery's message.

    Its own transaction, right after the server's answer. The invitee's
    dates move only if this run is the one that marked it.
    """
    now = timezone.now()
    with transaction.atomic():
        marked = EmailDelivery.objects.filter(
            pk=delivery.pk, status__in=PENDING
        ).update(status=Status.SENT, sent_at=now, secret="", claimed_by="")
        if not marked:
            return 0
        invitation = Invitation.objects.filter(pk=delivery.invitation_id)
        if delivery.kind == Kind.REMINDER:
            invitation.update(
                last_reminded_at=now, reminder_count=F("reminder_count") + 1
            )
        else:
            invitation.filter(sent_at__isnull=True).update(sent_at=now)
        if delivery.kind == Kind.RESEND:
            _retire_earlier_links(delivery)
    return 1


def _retire_earlier_links(delivery: EmailDelivery) -> None:
    """A re-send replaces the person's link: earlier ones stop working,
    except those of emails still waiting to go (they must work when sent)."""
    waiting = EmailDelivery.objects.filter(
        invitation_id=delivery.invitation_id, status__in=PENDING
    ).values("token_id")
    InvitationToken.objects.filter(
        invitation_id=delivery.invitation_id, pk__lt=delivery.token_id
    ).exclude(pk__in=waiting).delete()


def _failed(
    delivery: EmailDelivery, error: Exception, *, rest: list[EmailDelivery] = ()
) -> None:
    """Count a refused attempt; retry later, or fail after MAX_ATTEMPTS.

    `rest` (the batch after a server-wide failure) waits as long without
    counting an attempt.
    """
    attempts = delivery.attempts + 1
    reason = _reason(error)
    logger.warning("Email to invitation %s refused: %s", delivery.invitation_id, reason)
    retry_at = timezone.now() + RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    with transaction.atomic():
        mine = EmailDelivery.objects.filter(
            pk=delivery.pk, status=Status.SENDING, claimed_by=delivery.claimed_by
        )
        if attempts >= MAX_ATTEMPTS:
            mine.update(
                status=Status.FAILED,
                attempts=attempts,
                last_error=reason,
                claimed_by="",
            )
        else:
            mine.update(
                status=Status.QUEUED,
                attempts=attempts,
                last_error=reason,
                next_attempt_at=retry_at,
                claimed_by="",
            )
        _release(rest, until=retry_at)


def _release(rest: list[EmailDelivery], *, until=None) -> None:
    """Give back claimed deliveries not attempted in this run."""
    for claim in {d.claimed_by for d in rest}:
        EmailDelivery.objects.filter(
            pk__in=[d.pk for d in rest], status=Status.SENDING, claimed_by=claim
        ).update(status=Status.QUEUED, claimed_by="", next_attempt_at=until)


def _reason(error: Exception) -> str:
    """The mail server's answer, short enough to show the owner."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = list(error.recipients.values())
        if answers:
            code, text = answers[0]
            text = text.decode(errors="replace") if isinstance(text, bytes) else text
            return f"Address refused by the mail server ({code} {text})."[:300]
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        text = text.decode(errors="replace") if isinstance(text, bytes) else text
        return f"Refused by the mail server ({error.smtp_code} {text})."[:300]
    return (
        f"The mail server could not be reached ({error})."[:300]
        if str(error)
        else "The mail server could not be reached."
    )


# ---------------------------------------------------------------------------
# Retrying and following progress
# ---------------------------------------------------------------------------


def still_failed(deliveries: QuerySet[EmailDelivery]) -> QuerySet[EmailDelivery]:
    """Keep the failed emails that still matter to the owner.

    A failed invitation no longer does once the person has been invited by
    another send. The pages, the retry button and the invitees list's
    "Email failed" filter all use this rule.
    """
    return deliveries.filter(status=Status.FAILED).exclude(
        kind__in=[Kind.INVITATION, Kind.RESEND], invitation__sent_at__isnull=False
    )


def failed_retry(*, assessment: Assessment, user=None) -> int:
    """Queue every failed delivery of the assessment again; return how many.

    An invitation that has since gone out in another send is not retried,
    nor anyone already waiting for an email of the same kind.
    """
    failed = still_failed(EmailDelivery.objects.filter(send__assessment=assessment))
    count = 0
    sends = set()
    for delivery in failed.only("pk", "send_id"):
        try:
            with transaction.atomic():
                count += EmailDelivery.objects.filter(
                    pk=delivery.pk, status=Status.FAILED
                ).update(
                    status=Status.QUEUED,
                    attempts=0,
                    next_attempt_at=None,
                    last_error="",
                )
        except IntegrityError:  # already waiting in another send
            continue
        sends.add(delivery.send_id)
    for send in EmailSend.objects.filter(pk__in=sends):
        EmailSend.objects.filter(pk=send.pk).update(finished_at=None, error="")
        with transaction.atomic():
            _promise(send, timezone.now() + lease())
            _enqueue(send)
    return count


@dataclass(frozen=True)
class SendLine:
    """One send as the owner follows it."""

    send: EmailSend
    total: int
    sent: int
    failed: int

    @property
    def label(self) -> str:
        return self.send.get_kind_display()

    @property
    def is_scheduled(self) -> bool:
        return bool(
            self.send.scheduled_for
            and self.send.scheduled_for > timezone.now()
            and self.send.finished_at is None
        )

    @property
    def is_active(self) -> bool:
        return self.send.finished_at is None

    @property
    def sentence(self) -> str:
        if self.send.error:
            return self.send.error
        if self.is_scheduled:
            return f"scheduled for {display.date(self.send.scheduled_for)}"
        if self.send.prepared_at is None:
            return "getting ready"
        text = f"{display.count(self.sent)} of {display.count(self.total)} sent"
        if self.failed:
            text += f", {display.count(self.failed)} failed"
        return text


@dataclass(frozen=True)
class SendingProgress:
    lines: list[SendLine]
    failed: list[EmailDelivery]
    failed_count: int

    @property
    def is_active(self) -> bool:
        return any(line.is_active for line in self.lines)

    @property
    def more(self) -> int:
        """Failed emails not listed."""
        return self.failed_count - len(self.failed)


RECENT = datetime.timedelta(days=1)
FAILED_SHOWN = 20


def sending_progress(assessment: Assessment) -> SendingProgress:
    """The sends still going or finished within a day, and failed emails.

    Three queries whatever the number of invitees.
    """
    counted = Q(deliveries__isnull=False)
    sends = (
        assessment.email_sends.filter(
            Q(finished_at__isnull=True) | Q(finished_at__gte=timezone.now() - RECENT)
        )
        .exclude(kind=Kind.RESEND)
        .annotate(
            total=Count("deliveries", filter=counted),
            sent=Count("deliveries", filter=Q(deliveries__status=Status.SENT)),
            failed=Count("deliveries", filter=Q(deliveries__status=Status.FAILED)),
        )
        .order_by("-created_at", "-pk")
    )
    lines = [SendLine(s, s.total, s.sent, s.failed) for s in sends]
    failed = (
        still_failed(EmailDelivery.objects.filter(send__assessment=assessment))
        .select_related("invitation")
        .order_by("-pk")
    )
    shown = list(failed[: FAILED_SHOWN + 1])
    count = len(shown) if len(shown) <= FAILED_SHOWN else failed.count()
    return SendingProgress(lines, shown[:FAILED_SHOWN], count)
