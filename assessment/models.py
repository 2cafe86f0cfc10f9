"""Data model: the FinOps catalogue, organisations, assessments and answers.

The catalogue (framework versions, domains, capabilities, personas and next
steps) is versioned data loaded by `manage.py load_catalogue`; assessments point
at one framework version and never see a later one change under them.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class Level(models.IntegerChoices):
    """The maturity scale; the integer is the score of an answer."""

    NOT_STARTED = 0, "Not started"
    CRAWL = 1, "Crawl"
    WALK = 2, "Walk"
    RUN = 3, "Run"


# ---------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------


class FrameworkVersion(models.Model):
    slug = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    published = models.DateField(null=True, blank=True)
    credit = models.CharField(
        max_length=200, default="FinOps Framework, FinOps Foundation (CC BY 4.0)"
    )

    # Every catalogue model has it: a report keys on the catalogue's last
    # change (`catalogue.catalogue_version`), so an admin edit renders anew.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-slug"]

    def __str__(self) -> str:
        return self.name


class Domain(models.Model):
    version = models.ForeignKey(
        FrameworkVersion, models.CASCADE, related_name="domains"
    )
    slug = models.SlugField(max_length=60)
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField()
    description = models.TextField(blank=True)

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "slug"], name="assessment_domain_unique_slug"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Persona(models.Model):
    class Kind(models.TextChoices):
        CORE = "core", "Core"
        ALLIED = "allied", "Allied"
        # Not a framework persona: offered because many stakeholders identify
        # as operations rather than engineering.
        PRODUCT = "product", "Added by the app"

    version = models.ForeignKey(
        FrameworkVersion, models.CASCADE, related_name="personas"
    )
    slug = models.SlugField(max_length=60)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    position = models.PositiveSmallIntegerField()
    description = models.TextField(blank=True)

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "slug"], name="assessment_persona_unique_slug"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Capability(models.Model):
    version = models.ForeignKey(
        FrameworkVersion, models.CASCADE, related_name="capabilities"
    )
    domain = models.ForeignKey(Domain, models.CASCADE, related_name="capabilities")
    slug = models.SlugField(max_length=60)
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(
        help_text="Order in the framework (1 = first capability of the first domain)."
    )
    foundational_rank = models.PositiveSmallIntegerField(
        help_text="1 = most foundational; breaks ties between equal priorities."
    )
    description = models.TextField()
    # One observable sign per line: plain text keeps the admin easy to edit
    # and the survey page free of extra queries.
    crawl_signs = models.TextField(help_text="One sign per line.")
    walk_signs = models.TextField(help_text="One sign per line.")
    run_signs = models.TextField(help_text="One sign per line.")
    default_personas = models.ManyToManyField(
        Persona,
        related_name="default_capabilities",
        blank=True,
        help_text="Personas asked about this capability unless an assessment "
        "changes it.",
    )
    # Capabilities that must work first: advice never ranks this one above a
    # prerequisite that is itself below target. The catalogue file justifies
    # each edge; the loader rejects cycles.
    prerequisites = models.ManyToManyField(
        "self", symmetrical=False, related_name="dependents", blank=True
    )

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["version", "position"]
        verbose_name_plural = "capabilities"
        constraints = [
            models.UniqueConstraint(
                fields=["version", "slug"], name="assessment_capability_unique_slug"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def signs(self, level: int) -> list[str]:
        """Return the observable signs of a level (Crawl, Walk or Run)."""
        text = {
            Level.CRAWL: self.crawl_signs,
            Level.WALK: self.walk_signs,
            Level.RUN: self.run_signs,
        }.get(level, "")
        return [line.strip() for line in text.splitlines() if line.strip()]


class CapabilityAlias(models.Model):
    """An earlier framework name of a capability, for comparing old rounds."""

    capability = models.ForeignKey(Capability, models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=100)
    versions = models.CharField(
        max_length=60, help_text="Framework versions that used this name, e.g. 2024."
    )

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["capability", "name"]
        verbose_name_plural = "capability aliases"
        constraints = [
            models.UniqueConstraint(
                fields=["capability", "name"], name="assessment_alias_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.versions})"


class NextStep(models.Model):
    """A recommended action to move a capability up from one level."""

    capability = models.ForeignKey(
        Capability, models.CASCADE, related_name="next_steps"
    )
    from_level = models.PositiveSmallIntegerField(
        choices=[c for c in Level.choices if c[0] < Level.RUN]
    )
    position = models.PositiveSmallIntegerField()
    action = models.TextField()
    owner = models.ForeignKey(Persona, models.PROTECT, related_name="next_steps")
    kpi = models.CharField("KPI", max_length=200)
    # The action's identity: one action that moves several capabilities has a
    # row under each with the same key, so a plan can list it once.
    action_key = models.SlugField(max_length=80)
    first_round_only = models.BooleanField(
        default=False,
        help_text="Only makes sense before an organisation's first assessment "
        "round, e.g. running a first self-assessment.",
    )

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["capability", "from_level", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["capability", "from_level", "position"],
                name="assessment_nextstep_unique_position",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.capability}: {self.get_from_level_display()} -> {self.action}"

    @property
    def to_level(self) -> int:
        return self.from_level + 1


# ---------------------------------------------------------------------------
# Organisations
# ---------------------------------------------------------------------------


class Organisation(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner (FinOps team)"
        VIEWER = "viewer", "Viewer (leadership)"

    organisation = models.ForeignKey(
        Organisation, models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "user"], name="assessment_membership_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organisation} ({self.role})"


# ---------------------------------------------------------------------------
# Assessments
# ---------------------------------------------------------------------------


class Assessment(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    organisation = models.ForeignKey(
        Organisation, models.CASCADE, related_name="assessments"
    )
    framework = models.ForeignKey(
        FrameworkVersion, models.PROTECT, related_name="assessments"
    )
    title = models.CharField(max_length=150)
    scope_label = models.CharField(
        "business unit or scope",
        max_length=120,
        blank=True,
        help_text='For example "Platform BU" or "All of Acme".',
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    anonymity_threshold = models.PositiveSmallIntegerField(
        default=3,
        help_text="No breakdown is shown for a group with fewer respondents.",
    )
    opens_on = models.DateField(null=True, blank=True)
    closes_on = models.DateField(null=True, blank=True)
    previous = models.ForeignKey(
        "self",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="next_rounds",
        help_text="The earlier round this assessment is compared with.",
    )
    personas = models.ManyToManyField(
        Persona, related_name="assessments", help_text="Personas invited."
    )
    comments_published = models.BooleanField(
        default=False,
        help_text="Show participants' comments (never their names) to viewers.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    links_kept_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Participants' links work until then, even if the usual time "
        "after closing has passed.",
    )
    remind_every_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Remind those who have not submitted every this many days "
        "until closing; empty for no automatic reminders.",
    )
    # When the reminders job next runs; it claims a run by moving this on.
    reminders_next_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(anonymity_threshold__gte=1),
                name="assessment_assessment_threshold_positive",
            ),
            models.CheckConstraint(
                condition=Q(closes_on__isnull=True)
                | Q(opens_on__isnull=True)
                | Q(closes_on__gte=models.F("opens_on")),
                name="assessment_assessment_closes_after_opens",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("assessment:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    def days_left(self) -> int | None:
        """Return the days until the closing date; None without one or once closed.

        An assessment closed early keeps its planned closing date (reopening
        may use it again), but no page should count down to it any more.
        """
        if self.closes_on is None or self.is_closed:
            return None
        return max((self.closes_on - timezone.localdate()).days, 0)

    def closed_on(self) -> datetime.date | None:
        """Return the day it closed, in the site's time zone, once closed."""
        if not self.is_closed or self.closed_at is None:
            return None
        return timezone.localdate(self.closed_at)

    def links_expire_at(self) -> datetime.datetime | None:
        """Return when participants' links stop working; None until closed.

        SURVEY_LINK_DAYS_AFTER_CLOSE days after closing, or later if an owner
        kept them working longer.
        """
        if self.status != self.Status.CLOSED:
            return None
        # A closed assessment without a closing time predates the field.
        closed_at = self.closed_at or self.created_at
        usual = closed_at + datetime.timedelta(
            days=settings.SURVEY_LINK_DAYS_AFTER_CLOSE
        )
        return max(usual, self.links_kept_until or usual)

    def links_expired(self) -> bool:
        expires_at = self.links_expire_at()
        return expires_at is not None and expires_at <= timezone.now()


class ScopedCapability(models.Model):
    """A capability in an assessment's scope, with its target and routing."""

    assessment = models.ForeignKey(
        Assessment, models.CASCADE, related_name="scoped_capabilities"
    )
    capability = models.ForeignKey(Capability, models.PROTECT, related_name="+")

    class Importance(models.TextChoices):
        HIGH = "high", "High"
        NORMAL = "normal", "Normal"
        LOW = "low", "Low"

    target_level = models.PositiveSmallIntegerField(
        choices=Level.choices, default=Level.WALK
    )
    # How much closing this capability's gap matters to the organisation:
    # advice weighs each gap by it (`advice.IMPORTANCE_WEIGHTS`).
    importance = models.CharField(
        max_length=6, choices=Importance.choices, default=Importance.NORMAL
    )
    personas = models.ManyToManyField(
        Persona,
        related_name="+",
        blank=True,
        help_text="Personas asked about this capability in this assessment.",
    )

    class Meta:
        ordering = ["assessment", "capability__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "capability"],
                name="assessment_scope_one_per_capability",
            ),
            models.CheckConstraint(
                condition=Q(target_level__lte=Level.RUN),
                name="assessment_scope_target_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.capability} (target {self.get_target_level_display()})"


class OpenLink(models.Model):
    """A shared link that lets anyone with it join as one persona.

    The link's token is derived from `secret` and the site's SECRET_KEY
    (see `invitations.open_link_token`), so the owner's page can show it
    again while the database alone reveals no link: only its hash is
    looked up. Links made before `secret` existed have none and cannot be
    shown again.
    """

    assessment = models.ForeignKey(
        Assessment, models.CASCADE, related_name="open_links"
    )
    persona = models.ForeignKey(Persona, models.PROTECT, related_name="+")
    allow_persona_choice = models.BooleanField(
        "let participants choose their persona",
        default=False,
        help_text="Otherwise everyone who joins answers as the link's persona.",
    )
    token_hash = models.CharField(max_length=64, unique=True)
    secret = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["assessment", "persona__position"]

    def __str__(self) -> str:
        return f"Open link for {self.persona} in {self.assessment}"


class Invitation(models.Model):
    """One participant of an assessment.

    Open-link participants get an invitation of their own (without email) when
    they join, so every participant resumes through a personal link.
    """

    assessment = models.ForeignKey(
        Assessment, models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(blank=True)
    persona = models.ForeignKey(Persona, models.PROTECT, related_name="+")
    business_unit = models.CharField(max_length=120, blank=True)
    open_link = models.ForeignKey(
        OpenLink,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations",
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    reminder_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["assessment", "email"]
        indexes = [models.Index(fields=["assessment", "persona"])]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "email"],
                condition=~Q(email=""),
                name="assessment_invitation_unique_email",
            ),
        ]

    def __str__(self) -> str:
        # Not numbered by id: a global number would tell how many people
        # other assessments have. Pages number joiners per assessment.
        return self.email or "Open-link participant"


class InvitationToken(models.Model):
    """The hash of one personal link of an invitation.

    Raw tokens are never stored, so every email (invitation, reminder) has to
    carry a fresh link; earlier links keep working so that a bookmarked or
    first-emailed link still opens the participant's answers. Replacing the
    link on purpose deletes the old ones.
    """

    invitation = models.ForeignKey(Invitation, models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["invitation", "created_at"]

    def __str__(self) -> str:
        return f"Link of {self.invitation} created {self.created_at:%Y-%m-%d}"


class EmailSend(models.Model):
    """One click on "Send invitations", "Remind" or "Re-send" (or a schedule).

    Its emails go out from background jobs, one `EmailDelivery` per invitee;
    the owner follows their progress on the assessment's pages.
    """

    class Kind(models.TextChoices):
        INVITATION = "invitation", "Invitations"
        REMINDER = "reminder", "Reminders"
        RESEND = "resend", "Invitation sent again"

    assessment = models.ForeignKey(
        Assessment, models.CASCADE, related_name="email_sends"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Not sent before then (the opening date of a draft); None: at once.
    scheduled_for = models.DateTimeField(null=True, blank=True)
    # Reminders: skip invitees invited or reminded less than this ago.
    min_interval = models.DurationField(null=True, blank=True)
    # Set once its deliveries are listed; later clicks make new sends.
    prepared_at = models.DateTimeField(null=True, blank=True)
    # A job promises to have claimed more deliveries by then; past it, the
    # watchdog job takes over from a worker that vanished.
    expected_by = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Why nothing could be sent (the assessment closed, or failed to open).
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["assessment", "-created_at", "-pk"]
        indexes = [models.Index(fields=["assessment", "finished_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.assessment}"


class EmailDelivery(models.Model):
    """One email of a send to one invitee: exactly one per (invitee, send).

    The link's token is stored (hashed) before the message goes to the mail
    server, and the delivery is marked sent right after the server accepts
    it, so a job stopped half-way never leaves a dead link and a retried one
    skips what went out. A retried delivery emails the same link: its raw
    token is derived from `secret` and SECRET_KEY, as open links are, and the
    secret is cleared once sent.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    send = models.ForeignKey(EmailSend, models.CASCADE, related_name="deliveries")
    invitation = models.ForeignKey(
        Invitation, models.CASCADE, related_name="deliveries"
    )
    kind = models.CharField(max_length=10, choices=EmailSend.Kind.choices)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    token = models.ForeignKey(
        InvitationToken, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    secret = models.CharField(max_length=64, blank=True, editable=False)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["send", "pk"]
        indexes = [models.Index(fields=["send", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["invitation", "send"], name="assessment_delivery_once"
            ),
            # Two sends of the same kind never both wait to email one person.
            models.UniqueConstraint(
                fields=["invitation", "kind"],
                condition=Q(status__in=["queued", "sending"]),
                name="assessment_delivery_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind_label} to {self.invitation} ({self.status})"

    @property
    def kind_label(self) -> str:
        """What the email was, in the singular: "reminder"."""
        return {"invitation": "invitation", "reminder": "reminder"}.get(
            self.kind, "invitation sent again"
        )


class Response(models.Model):
    """A participant's answers; drafts never count in results."""

    class Status(models.TextChoices):
        DRAFT = "draft", "In progress"
        SUBMITTED = "submitted", "Submitted"

    invitation = models.OneToOneField(
        Invitation, models.CASCADE, related_name="response"
    )
    # Denormalised from the invitation so results aggregate without a join,
    # and because the participant confirms (or corrects) them on the landing
    # page.
    assessment = models.ForeignKey(Assessment, models.CASCADE, related_name="responses")
    persona = models.ForeignKey(Persona, models.PROTECT, related_name="+")
    business_unit = models.CharField(max_length=120, blank=True)
    extra_capabilities = models.ManyToManyField(
        Capability,
        related_name="+",
        blank=True,
        help_text="Capabilities outside the persona's routing the participant "
        "chose to answer.",
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submit_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["assessment", "started_at"]
        indexes = [models.Index(fields=["assessment", "status", "persona"])]

    def __str__(self) -> str:
        return f"Response to {self.assessment} ({self.get_status_display()})"

    @property
    def is_submitted(self) -> bool:
        return self.status == self.Status.SUBMITTED


class Answer(models.Model):
    class Value(models.IntegerChoices):
        NOT_STARTED = 0, "Not started"
        CRAWL = 1, "Crawl"
        WALK = 2, "Walk"
        RUN = 3, "Run"
        DONT_KNOW = -1, "Don't know"
        NOT_APPLICABLE = -2, "Not applicable"

    # Scored answers are exactly the non-negative values.
    SCORED = Q(value__gte=0)

    response = models.ForeignKey(Response, models.CASCADE, related_name="answers")
    capability = models.ForeignKey(Capability, models.PROTECT, related_name="+")
    value = models.SmallIntegerField(choices=Value.choices, null=True, blank=True)
    comment = models.TextField(max_length=2000, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["response", "capability__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["response", "capability"],
                name="assessment_answer_one_per_capability",
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__gte=-2, value__lte=3),
                name="assessment_answer_value_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.capability}: {self.get_value_display()}"


class ReportFile(models.Model):
    """A PDF report of one version of an assessment's published data.

    `key` digests everything the report reads (`reports.report_version`):
    the published snapshots, the evidence run, the catalogue's last change,
    the options and the code. One row per key: the first download of a
    version queues its render, later ones find the row. The PDF itself is in
    the default storage, shared by every web server and worker.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Being prepared"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    assessment = models.ForeignKey(
        Assessment, models.CASCADE, related_name="report_files"
    )
    key = models.CharField(max_length=64)
    version = models.JSONField(help_text="What the key digests, for reading.")
    paper = models.CharField(max_length=10, default="a4")
    include_comments = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    file = models.FileField(upload_to="reports/", blank=True)
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "key"], name="assessment_reportfile_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"Report of {self.assessment} ({self.key[:8]}, {self.status})"


# ---------------------------------------------------------------------------
# Audit trail
# ---------------------------------------------------------------------------


class AuditEvent(models.Model):
    """One thing a member did to an assessment (or the system did for them).

    `action` is a plain string with its wording in `assessment.audit`, so
    that a new kind of event needs no migration. The actor's name is copied,
    so the trail still reads after a user is deleted.
    """

    organisation = models.ForeignKey(
        Organisation, models.CASCADE, related_name="audit_events"
    )
    assessment = models.ForeignKey(
        Assessment,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["assessment", "-created_at"])]

    def __str__(self) -> str:
        return (
            f"{self.actor_name or 'System'}: {self.action} ({self.created_at:%Y-%m-%d})"
        )


# ---------------------------------------------------------------------------
# Evidence from cost data (FOCUS exports)
# ---------------------------------------------------------------------------


class EvidenceKpi(models.Model):
    """A KPI measured from cost data: the capability it evidences, its levels.

    Catalogue data (loaded with the framework, editable in the admin). The
    thresholds are shares (0.85 is 85%); a KPI without thresholds is shown
    for information and gets no level.
    """

    class Direction(models.TextChoices):
        HIGHER = "higher", "Higher is better"
        LOWER = "lower", "Lower is better"

    version = models.ForeignKey(
        FrameworkVersion, models.CASCADE, related_name="evidence_kpis"
    )
    key = models.SlugField(
        max_length=40, help_text="The figure the cost-data engine computes."
    )
    name = models.CharField(max_length=100)
    capability = models.ForeignKey(
        Capability, models.PROTECT, related_name="evidence_kpis"
    )
    direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.HIGHER
    )
    crawl_threshold = models.DecimalField(
        max_digits=6, decimal_places=4, null=True, blank=True,
        help_text="Share needed for Crawl, e.g. 0.70 for 70%.",
    )  # fmt: skip
    walk_threshold = models.DecimalField(
        max_digits=6, decimal_places=4, null=True, blank=True
    )
    run_threshold = models.DecimalField(
        max_digits=6, decimal_places=4, null=True, blank=True
    )
    position = models.PositiveSmallIntegerField(default=0)
    description = models.TextField(help_text="How the figure is computed.")

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["version", "position"]
        verbose_name = "evidence KPI"
        constraints = [
            models.UniqueConstraint(
                fields=["version", "key"], name="assessment_evidencekpi_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.capability})"

    @property
    def thresholds(self) -> list[tuple[int, float]]:
        """Return (level, threshold) from Run down to Crawl, where set."""
        pairs = [
            (Level.RUN, self.run_threshold),
            (Level.WALK, self.walk_threshold),
            (Level.CRAWL, self.crawl_threshold),
        ]
        return [(level, float(t)) for level, t in pairs if t is not None]

    def level(self, value: float | None) -> int | None:
        """Return the level a value reaches, or None without thresholds."""
        thresholds = self.thresholds
        if value is None or not thresholds:
            return None
        for level, threshold in thresholds:
            if self.direction == self.Direction.HIGHER and value >= threshold:
                return level
            if self.direction == self.Direction.LOWER and value <= threshold:
                return level
        return Level.NOT_STARTED

    def clean(self) -> None:
        values = [t for _, t in reversed(self.thresholds)]  # Crawl first
        ordered = values == sorted(values, reverse=self.direction == "lower")
        if not ordered:
            raise ValidationError(
                "Thresholds must rise from Crawl to Run (or fall, when lower "
                "is better)."
            )


class EvidenceRun(models.Model):
    """One processing of uploaded cost exports, with the owner's choices.

    Billing rows are never stored: only what the files say about themselves
    (versions, providers, months) and the computed figures.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting to start"
        RUNNING = "running", "Processing"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"

    assessment = models.ForeignKey(
        Assessment, models.CASCADE, related_name="evidence_runs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.WAITING
    )
    stage = models.CharField(max_length=300, blank=True)
    progress = models.FloatField(default=0.0, help_text="From 0 to 1.")
    error = models.TextField(blank=True)
    # The owner's choices.
    tag_keys = models.JSONField(default=list, blank=True)
    months = models.JSONField(default=list, blank=True)
    eligible_categories = models.JSONField(default=list, blank=True)
    forecasts = models.JSONField(default=dict, blank=True)
    forecast_currency = models.CharField(max_length=3, blank=True)
    # What the files said about themselves.
    rows = models.BigIntegerField(null=True, blank=True)
    versions = models.JSONField(default=list, blank=True)
    providers = models.JSONField(default=list, blank=True)
    currencies = models.JSONField(default=list, blank=True)
    months_present = models.JSONField(default=list, blank=True)
    latest_charge = models.DateField(null=True, blank=True)
    problems = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True)
    tag_keys_seen = models.JSONField(default=list, blank=True)
    categories_seen = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["assessment", "status", "-finished_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0, progress__lte=1),
                name="assessment_evidencerun_progress_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Cost data of {self.assessment} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("assessment:evidence_run", args=[self.assessment_id, self.pk])

    @property
    def is_pending(self) -> bool:
        return self.status in (self.Status.WAITING, self.Status.RUNNING)


class EvidenceFile(models.Model):
    """An uploaded export, kept in storage only until it has been processed."""

    run = models.ForeignKey(EvidenceRun, models.CASCADE, related_name="files")
    name = models.CharField(max_length=255, help_text="As the owner named it.")
    size = models.BigIntegerField()
    storage_name = models.CharField(max_length=500, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "pk"]

    def __str__(self) -> str:
        return self.name


class EvidenceFigure(models.Model):
    """A KPI computed from cost data, for one currency and period."""

    run = models.ForeignKey(EvidenceRun, models.CASCADE, related_name="figures")
    kpi_key = models.SlugField(max_length=40)
    currency = models.CharField(max_length=3)
    month = models.CharField(
        max_length=7, blank=True, help_text="Empty for the whole period."
    )
    period_start = models.DateField()
    period_end = models.DateField()
    value = models.FloatField(null=True, blank=True)
    numerator = models.FloatField(null=True, blank=True)
    denominator = models.FloatField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "currency", "month", "kpi_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "kpi_key", "currency", "month"],
                name="assessment_evidencefigure_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kpi_key} {self.currency} {self.month or 'period'}"


# ---------------------------------------------------------------------------
# Published results
# ---------------------------------------------------------------------------


class ResultsSnapshot(models.Model):
    """Results as published to viewers: aggregated counts, no raw answer.

    Viewers read the latest snapshot of an assessment, never live data, so
    that two looks around one submission cannot tell that person's answers.
    `data` holds `scoring.ResultsData` (answer counts per capability, persona
    and value; respondents per persona and business unit; comments for the
    appendix) and `participation` the participation aggregates per persona
    id (`participation.participation_counts`), as JSON. See `snapshots` for
    when one is taken.
    """

    class Reason(models.TextChoices):
        CLOSED = "closed", "The assessment closed"
        INTERIM = "interim", "Interim results published"
        REFRESHED = "refreshed", "Published again with the same answers"
        THRESHOLD = "threshold", "The anonymity threshold changed"

    assessment = models.ForeignKey(Assessment, models.CASCADE, related_name="snapshots")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    anonymity_threshold = models.PositiveSmallIntegerField()
    submissions = models.PositiveIntegerField(
        help_text="Submitted responses the snapshot counts."
    )
    last_submitted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Latest submission it counts: later ones are new.",
    )
    data = models.JSONField()
    participation = models.JSONField()
    # Set when the owner kept the last published results at closing
    # (`snapshots.snapshot_close`): the figures are that snapshot's, as they were.
    left_out = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Responses submitted since the kept results, not in the figures.",
    )
    figures_published_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the kept results were first published.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["assessment", "-pk"]
        get_latest_by = "pk"
        constraints = [
            models.CheckConstraint(
                condition=Q(anonymity_threshold__gte=1),
                name="assessment_snapshot_threshold_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Results of {self.assessment} published {self.created_at:%Y-%m-%d}"


class PlanAction(models.Model):
    """An action of an assessment's plan that the FinOps team tracks to done.

    Created from a plan action of the report (`action_key` names it; it is
    empty for an action written by hand); the next round shows its status
    beside the capabilities it moves.
    """

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        DROPPED = "dropped", "Dropped"

    assessment = models.ForeignKey(
        Assessment, models.CASCADE, related_name="plan_actions"
    )
    action_key = models.SlugField(max_length=80, blank=True)
    title = models.TextField(max_length=1000)
    kpi = models.CharField("KPI", max_length=200, blank=True)
    capabilities = models.ManyToManyField(Capability, related_name="+")
    owner_name = models.CharField(
        "owner",
        max_length=254,
        blank=True,
        help_text="A name, or the email address of an invitee.",
    )
    due_on = models.DateField("due", null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PLANNED
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["assessment", "created_at", "pk"]
        constraints = [
            # One tracked action per plan action: the button cannot add it twice.
            models.UniqueConstraint(
                fields=["assessment", "action_key"],
                condition=~Q(action_key=""),
                name="assessment_planaction_one_per_key",
            ),
        ]

    def __str__(self) -> str:
        return self.title[:80]
