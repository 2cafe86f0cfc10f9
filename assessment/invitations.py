"""Inviting participants: personal links, open links and their emails.

Raw personal tokens exist only in memory: they are emailed or shown once, and
the database keeps their hash. Every email therefore carries a fresh link;
earlier links keep working (a participant may have bookmarked one), except
when an owner replaces the link on purpose by re-sending the invitation.

An open link's token is derived from a random per-link secret and the site's
SECRET_KEY (`open_link_token`), so that owners can copy it again from their
page while the database alone reveals no link; rotating SECRET_KEY retires
every open link. Joins through open links are rate-limited per link and per
client address in the shared (database) cache.
"""

import codecs
import csv
import datetime
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from . import display
from .models import (
    Assessment,
    Invitation,
    InvitationToken,
    OpenLink,
    Persona,
    Response,
)
from .progress import Progress
from .text import plain_text
from .tokens import derived_token, hash_token, new_token

logger = logging.getLogger(__name__)

# An organisation-wide list in one go (a 1 MB upload holds about as many).
MAX_IMPORT_LINES = 20_000
# Rows per INSERT or UPDATE statement when importing: bounded statements
# whatever the list's length.
IMPORT_BATCH = 1000
BUSINESS_UNIT_MAX = Invitation._meta.get_field("business_unit").max_length
EMAIL_MAX = Invitation._meta.get_field("email").max_length
LINE_TOO_LONG = "This line is too long to be one participant."


def invitation_create(
    *,
    assessment: Assessment,
    persona: Persona,
    email: str = "",
    business_unit: str = "",
    open_link=None,
) -> tuple[Invitation, str]:
    """Create an invitation and return it with its raw token (shown once)."""
    invitation = Invitation.objects.create(
        assessment=assessment,
        persona=persona,
        email=email,
        business_unit=business_unit,
        open_link=open_link,
    )
    return invitation, token_add(invitation=invitation)


def token_add(*, invitation: Invitation) -> str:
    """Give the invitation one more personal link; return its raw token."""
    token, token_hash = new_token()
    InvitationToken.objects.create(invitation=invitation, token_hash=token_hash)
    return token


def invitation_for_token(token: str) -> Invitation | None:
    """Return the invitation a personal link opens, with what pages show.

    One query: the assessment, organisation, persona and response come along.
    """
    return (
        Invitation.objects.select_related(
            "assessment__organisation", "persona", "response__persona", "open_link"
        )
        .filter(tokens__token_hash=hash_token(token))
        .first()
    )


# ---------------------------------------------------------------------------
# Importing pasted lines or a CSV file
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InviteeLine:
    line: int
    email: str
    persona: Persona
    business_unit: str


@dataclass(frozen=True)
class LineError:
    line: int
    text: str
    message: str


@dataclass
class ParsedInvitees:
    invitees: list[InviteeLine] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    # Line numbers merged into an earlier line with the same address.
    merged: list[int] = field(default_factory=list)


def persona_lookup(personas: list[Persona]) -> dict[str, Persona]:
    """Map each persona's slug and name, lower-cased, to the persona."""
    lookup = {}
    for persona in personas:
        lookup[persona.slug.lower()] = persona
        lookup[persona.name.lower()] = persona
        # "Leadership (executives)" may be typed as just "Leadership".
        short = persona.name.split(" (", 1)[0].lower()
        lookup.setdefault(short, persona)
    return lookup


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """Guess the separator: comma, semicolon (European Excel) or tab."""
    sample = text[:4096]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        pass
    # The sniffer wants the same column count on every line, but the business
    # unit is optional: fall back to the separator found on the most lines.
    lines = [line for line in sample.splitlines() if line.strip()]
    separator = max(",;\t", key=lambda sep: sum(sep in line for line in lines))
    return {";": _Semicolon, "\t": csv.excel_tab}.get(separator, csv.excel)


class _Semicolon(csv.excel):
    delimiter = ";"


def parse_invitees(
    text: str, *, personas: list[Persona], catalogue: list[Persona] = ()
) -> ParsedInvitees:
    """Parse `email, persona[, business unit]` lines into invitees and errors.

    Lines are numbered from 1 as the owner sees them. Blank lines, `#`
    comments and a header line starting with "email" are skipped. A persona
    is matched by slug or name, case-insensitively, among the assessment's
    `personas`; one of the framework's `catalogue` that the assessment does
    not invite gets its own message. An address given twice keeps its first
    line; later ones are merged into it.
    """
    result = ParsedInvitees()
    lookup = persona_lookup(personas)
    elsewhere = persona_lookup(catalogue)
    seen: dict[str, int] = {}
    lines = text.splitlines()
    if len(lines) > MAX_IMPORT_LINES:
        result.errors.append(
            LineError(
                MAX_IMPORT_LINES + 1,
                "",
                f"At most {display.count(MAX_IMPORT_LINES)} lines can be imported "
                "at once.",
            )
        )
        lines = lines[:MAX_IMPORT_LINES]
    dialect = _dialect(text)
    for number, raw in enumerate(lines, start=1):
        # One line at a time: a stray quote must not swallow the lines after
        # it, and line numbers must stay those the owner sees.
        try:
            row = next(csv.reader([raw], dialect), [])
            fields = [plain_text(f).strip() for f in row]
        except csv.Error:
            result.errors.append(LineError(number, raw.strip()[:200], LINE_TOO_LONG))
            continue
        if not any(fields) or fields[0].startswith("#"):
            continue
        if number == 1 and fields[0].lower() in ("email", "e-mail", "email address"):
            continue
        error = _line_error(fields, lookup, personas, elsewhere)
        if error:
            result.errors.append(LineError(number, raw.strip(), error))
            continue
        email = fields[0].lower()
        if email in seen:
            result.merged.append(number)
            continue
        seen[email] = number
        result.invitees.append(
            InviteeLine(
                line=number,
                email=email,
                persona=lookup[fields[1].lower()],
                business_unit=fields[2] if len(fields) > 2 else "",
            )
        )
    return result


def _line_error(
    fields: list[str],
    lookup: dict[str, Persona],
    personas: list[Persona],
    elsewhere: dict[str, Persona],
) -> str:
    """Return what is wrong with one line's fields, or an empty string."""
    if len(fields) < 2 or not fields[1]:
        return "Give an email address and a persona, separated by a comma."
    if len(fields) > 3:
        return "Too many columns: expected email, persona and business unit."
    email = fields[0]
    try:
        if len(email) > EMAIL_MAX:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        return f"“{email}” is not a valid email address."
    if fields[1].lower() not in lookup:
        names = ", ".join(p.name for p in personas)
        other = elsewhere.get(fields[1].lower())
        if other is not None:
            return (
                f"{other.name} is not one of this assessment's personas. Add it "
                "under “Personas invited” in the assessment's settings, or use "
                f"one of: {names}."
            )
        return f"Unknown persona “{fields[1]}”. Use one of: {names}."
    if len(fields) > 2 and len(fields[2]) > BUSINESS_UNIT_MAX:
        return f"The business unit is longer than {BUSINESS_UNIT_MAX} characters."
    return ""


class NotTextError(ValueError):
    """An uploaded file is not a text (CSV) file."""


def decode_upload(data: bytes) -> str:
    """Decode an uploaded CSV file: UTF-8, UTF-16 (with BOM) or Windows-1252.

    Raise NotTextError for a binary file (a spreadsheet, an image), which
    would otherwise turn into hundreds of garbled "bad lines".
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export.
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as error:
            raise NotTextError("The file is not valid UTF-16 text.") from error
    if b"\x00" in data:
        raise NotTextError(
            "This is not a text file. Save the sheet as CSV (comma separated) "
            "and upload that."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows still saves "CSV" in the ANSI code page.
        return data.decode("cp1252", errors="replace")


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int


@transaction.atomic
def invitations_import(
    *, assessment: Assessment, invitees: list[InviteeLine]
) -> ImportResult:
    """Add invitees; an address already invited is merged, not duplicated.

    A merged invitee who has not started yet takes the new persona and
    business unit; one who has started keeps them, as their answers were
    routed by them.

    A fixed number of queries per IMPORT_BATCH lines: one reads the
    addresses already invited, the rest write in batches. No link is made
    here (sending the invitation makes it), so no token is hashed per line.
    """
    existing = {
        inv.email: inv
        for inv in assessment.invitations.filter(email__in=[i.email for i in invitees])
        .only("pk", "assessment", "email", "persona", "business_unit")
        .annotate(
            has_response=Exists(Response.objects.filter(invitation=OuterRef("pk")))
        )
    }
    added, changed, unchanged = [], [], 0
    for item in invitees:
        invitation = existing.get(item.email)
        if invitation is None:
            added.append(
                Invitation(
                    assessment=assessment,
                    email=item.email,
                    persona=item.persona,
                    business_unit=item.business_unit,
                )
            )
        elif not invitation.has_response and (
            invitation.persona_id != item.persona.pk
            or invitation.business_unit != item.business_unit
        ):
            invitation.persona = item.persona
            invitation.business_unit = item.business_unit
            changed.append(invitation)
        else:
            unchanged += 1
    Invitation.objects.bulk_create(added, batch_size=IMPORT_BATCH)
    Invitation.objects.bulk_update(
        changed, ["persona", "business_unit"], batch_size=IMPORT_BATCH
    )
    return ImportResult(len(added), len(changed), unchanged)


# ---------------------------------------------------------------------------
# Open links
# ---------------------------------------------------------------------------


OPEN_LINK_SALT = "assessment.invitations.open-link"
# Joins are counted per fixed window of this many seconds.
JOIN_WINDOW = 3600


def open_link_token(secret: str) -> str:
    """Return the token of an open link from its stored secret.

    An HMAC under SECRET_KEY: the secret alone (a database leak) gives no
    working link, and a new SECRET_KEY gives other tokens, retiring every
    open link.
    """
    return derived_token(OPEN_LINK_SALT, secret)


@transaction.atomic
def open_link_create(
    *, assessment: Assessment, persona: Persona, allow_persona_choice: bool = False
) -> tuple[OpenLink, str]:
    """Create the open link of a persona, replacing any active one.

    Return the link and its raw token. Participants who join answer as
    `persona`, unless `allow_persona_choice` lets them pick another of the
    assessment's personas.
    """
    assessment.open_links.filter(persona=persona, is_active=True).update(
        is_active=False
    )
    secret = secrets.token_hex(32)
    token = open_link_token(secret)
    link = OpenLink.objects.create(
        assessment=assessment,
        persona=persona,
        allow_persona_choice=allow_persona_choice,
        secret=secret,
        token_hash=hash_token(token),
    )
    return link, token


def open_link_for_token(token: str) -> OpenLink | None:
    """Return the active open link of a token (one query), or None.

    Looked up by hash, then checked against the token its secret gives under
    the current SECRET_KEY, so that rotating the key retires it.
    """
    link = (
        OpenLink.objects.select_related("assessment__organisation", "persona")
        .filter(token_hash=hash_token(token), is_active=True)
        .first()
    )
    if link is None:
        return None
    if link.secret and not constant_time_compare(token, open_link_token(link.secret)):
        return None
    return link


def open_link_url(link: OpenLink) -> str | None:
    """Return an open link's address, or None for a link made before
    addresses could be shown again (it works, but only as first shown)."""
    if not link.secret:
        return None
    return settings.SITE_URL + reverse(
        "assessment:join", args=[open_link_token(link.secret)]
    )


def join_allowed(*, link: OpenLink, address: str) -> bool:
    """Count one more join through a link from a client address, if allowed.

    At most OPEN_LINK_JOINS_PER_HOUR per link and
    OPEN_LINK_JOINS_PER_ADDRESS_PER_HOUR per address (hashed, never kept in
    clear) in each hour. Counters live in the shared database cache, so the
    limits hold across processes; the cache's increment is a read then a
    write, so simultaneous joins may each slip one past a limit.
    """
    window = int(time.time() // JOIN_WINDOW)
    digest = hashlib.sha256(address.encode()).hexdigest()[:32]
    per_link = _count(f"open-link-joins:{link.pk}:{window}")
    per_address = _count(f"open-link-joins:addr:{digest}:{window}")
    return (
        per_link <= settings.OPEN_LINK_JOINS_PER_HOUR
        and per_address <= settings.OPEN_LINK_JOINS_PER_ADDRESS_PER_HOUR
    )


def _count(key: str) -> int:
    """Add one to a counter of the current window and return its value."""
    if cache.add(key, 1, JOIN_WINDOW + 60):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, JOIN_WINDOW + 60)
        return 1


# ---------------------------------------------------------------------------
# Emails
# ---------------------------------------------------------------------------


def invitation_url(token: str) -> str:
    """Return the absolute personal link for a raw token."""
    return settings.SITE_URL + reverse("assessment:survey", args=[token])


def invitation_message(
    invitation: Invitation,
    token: str,
    *,
    reminder: bool,
    progress: Progress,
    connection,
) -> EmailMultiAlternatives:
    """Build the invitation or reminder email, with text and HTML parts.

    The subject and the text part are plain text, rendered without HTML
    escaping (an "&" in a name stays an "&"); the HTML part escapes.
    """
    assessment = invitation.assessment
    ctx = {
        "invitation": invitation,
        "assessment": assessment,
        "organisation": assessment.organisation,
        "link": invitation_url(token),
        "reminder": reminder,
        "days_left": assessment.days_left(),
        "progress": progress,
    }
    subject = render_to_string("assessment/emails/invitation_subject.txt", ctx)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("assessment/emails/invitation.txt", ctx),
        to=[invitation.email],
        connection=connection,
    )
    message.attach_alternative(
        render_to_string("assessment/emails/invitation.html", ctx), "text/html"
    )
    return message


def with_email(assessment: Assessment) -> QuerySet[Invitation]:
    """Return the invitees who have an address (open-link joiners have none)."""
    return assessment.invitations.exclude(email="")


def reminder_candidates(
    *, assessment: Assessment, min_interval: datetime.timedelta | None = None
) -> QuerySet[Invitation]:
    """Return the invitees to remind: sent, not submitted, not reminded lately."""
    candidates = (
        with_email(assessment)
        .filter(sent_at__isnull=False)
        .exclude(response__status=Response.Status.SUBMITTED)
    )
    if min_interval is not None:
        since = timezone.now() - min_interval
        candidates = candidates.filter(
            Q(last_reminded_at__isnull=True) | Q(last_reminded_at__lte=since)
        ).filter(sent_at__lte=since)
    return candidates
