"""The participant's side: personal and open links, no account needed.

The raw token in the URL is the participant's only credential; it is looked
up by hash. A questionnaire page costs three queries (participant, questions,
answers) whatever the number of participants, and renders its choice grid
with a plain template loop (see survey_forms).
"""

import functools
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from .invitations import invitation_for_token, join_allowed, open_link_for_token
from .models import (
    Answer,
    Assessment,
    Capability,
    Domain,
    Invitation,
    Level,
    OpenLink,
    Persona,
    Response,
    ScopedCapability,
)
from .progress import Progress
from .responses import (
    ResponseLocked,
    answers_save,
    closed_message,
    extras_set,
    fixed_persona,
    open_link_join,
    response_questions,
    response_reopen,
    response_start,
    response_submit,
)
from .security import client_ip
from .survey_forms import (
    COMMENT_MAX,
    DONT_KNOW_HINT,
    NOT_APPLICABLE_HINT,
    NOT_STARTED_HINT,
    ParticipantForm,
    parse_extras,
    parse_page,
    posted_extras,
)

# A browser that joined through an open link keeps its personal link in a
# signed cookie, one per assessment, so that it resumes instead of joining
# again (by another link of the same assessment too).
JOINED_COOKIE = "finops_joined_{}"
JOINED_SALT = "assessment.views_survey.joined"
JOINED_MAX_AGE = 365 * 24 * 3600


@dataclass
class Participant:
    """Whoever holds a personal link, with their response if started."""

    token: str
    invitation: Invitation
    response: Response | None

    @property
    def assessment(self) -> Assessment:
        return self.invitation.assessment

    @property
    def can_edit(self) -> bool:
        return (
            self.assessment.is_open
            and self.response is not None
            and not self.response.is_submitted
        )

    def url(self, name: str, *args) -> str:
        return reverse(f"assessment:{name}", args=[self.token, *args])


@dataclass
class Section:
    """One questionnaire page: a domain and the participant's questions in it."""

    domain: Domain
    questions: list[Capability] = field(default_factory=list)
    answered: int = 0


class LinkExpired(Exception):
    """The link is valid but its assessment closed too long ago."""

    def __init__(self, assessment: Assessment):
        super().__init__(assessment.title)
        self.assessment = assessment


def _link_page(view):
    """Answer an expired link with a page that says so (410 Gone)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, token: str, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, token, *args, **kwargs)
        except LinkExpired as expired:
            ctx = {
                "assessment": expired.assessment,
                "expired_at": expired.assessment.links_expire_at(),
            }
            return render(request, "assessment/survey/expired.html", ctx, status=410)

    return wrapper


def _check_not_expired(assessment: Assessment) -> None:
    if assessment.links_expired():
        raise LinkExpired(assessment)


def _participant(token: str) -> Participant:
    """Return the participant a personal link opens (one query), or 404."""
    invitation = invitation_for_token(token)
    if invitation is None:
        raise Http404("This link is not valid. Check that it was copied in full.")
    _check_not_expired(invitation.assessment)
    try:
        response = invitation.response
    except Response.DoesNotExist:
        response = None
    return Participant(token, invitation, response)


def _questions(participant: Participant) -> list[Capability]:
    """Return the participant's questions (one query)."""
    response = participant.response
    persona_id = response.persona_id if response else participant.invitation.persona_id
    return list(
        response_questions(
            assessment_id=participant.assessment.pk,
            persona_id=persona_id,
            response_id=response.pk if response else None,
        )
    )


def _answers(response: Response | None) -> dict[int, tuple[int | None, str]]:
    """Return capability id -> (value, comment) of a response (one query)."""
    if response is None:
        return {}
    # No ordering: the model's default one joins two tables for nothing.
    rows = (
        Answer.objects.filter(response=response)
        .order_by()
        .values_list("capability_id", "value", "comment")
    )
    return {capability_id: (value, comment) for capability_id, value, comment in rows}


def _sections(
    questions: list[Capability], answers: dict[int, tuple[int | None, str]]
) -> list[Section]:
    """Group questions by domain in catalogue order and count the answered."""
    sections: dict[int, Section] = {}
    for question in questions:
        section = sections.setdefault(question.domain_id, Section(question.domain))
        section.questions.append(question)
        if answers.get(question.pk, (None, ""))[0] is not None:
            section.answered += 1
    return sorted(sections.values(), key=lambda s: s.domain.position)


def _progress(sections: list[Section]) -> Progress:
    return Progress(
        answered=sum(s.answered for s in sections),
        total=sum(len(s.questions) for s in sections),
    )


def _options(question: Capability, value: str) -> list[dict]:
    """Return the choices of one question with their descriptors."""
    choices = [
        (Level.NOT_STARTED, [NOT_STARTED_HINT]),
        (Level.CRAWL, question.signs(Level.CRAWL)),
        (Level.WALK, question.signs(Level.WALK)),
        (Level.RUN, question.signs(Level.RUN)),
        (Answer.Value.DONT_KNOW, [DONT_KNOW_HINT]),
        (Answer.Value.NOT_APPLICABLE, [NOT_APPLICABLE_HINT]),
    ]
    return [
        {
            "value": str(int(choice)),
            "label": _value_label(choice),
            "signs": signs,
            "checked": value == str(int(choice)),
            # Crawl, Walk and Run list their signs; the others have one hint.
            "listed": choice in (Level.CRAWL, Level.WALK, Level.RUN),
        }
        for choice, signs in choices
    ]


def _value_label(value: int | None) -> str:
    return Answer.Value(value).label if value is not None else ""


def _personas(participant: Participant):
    """Return the personas a participant may choose for this assessment."""
    if fixed_persona(participant.invitation) is not None:
        return Persona.objects.filter(pk=participant.invitation.persona_id)
    current = participant.response.persona_id if participant.response else None
    return Persona.objects.filter(
        Q(assessments=participant.assessment)
        | Q(pk__in=[participant.invitation.persona_id, current])
    ).distinct()


def _resume_url(request: HttpRequest, participant: Participant) -> str:
    return request.build_absolute_uri(participant.url("survey"))


def _first_open_page(participant: Participant, sections: list[Section]) -> str:
    """Return the first page with an unanswered question, else the review."""
    for section in sections:
        if section.answered < len(section.questions):
            return participant.url("survey_page", section.domain.slug)
    return participant.url("survey_review")


@require_http_methods(["GET", "POST"])
@_link_page
def landing(request: HttpRequest, token: str) -> HttpResponse:
    """Introduce the assessment and confirm the participant's persona."""
    participant = _participant(token)
    assessment = participant.assessment
    response = participant.response
    questions = _questions(participant)
    sections = _sections(questions, _answers(response))
    may_start = assessment.is_open and (response is None or not response.is_submitted)
    initial = {
        "persona": response.persona if response else participant.invitation.persona,
        "business_unit": (
            response.business_unit if response else participant.invitation.business_unit
        ),
    }
    form = ParticipantForm(
        request.POST or None,
        initial=initial,
        personas=_personas(participant),
        fixed_persona=fixed_persona(participant.invitation),
    )
    if request.method == "POST":
        if not may_start:
            messages.error(request, closed_message(assessment))
            return redirect(participant.url("survey"))
        if form.is_valid():
            try:
                response = response_start(
                    invitation=participant.invitation,
                    persona=form.cleaned_data["persona"],
                    business_unit=form.cleaned_data["business_unit"],
                )
            except ResponseLocked as error:
                messages.error(request, str(error))
                return redirect(participant.url("survey"))
            participant.response = response
            sections = _sections(_questions(participant), _answers(response))
            if not sections:
                return redirect(participant.url("survey_more"))
            return redirect(_first_open_page(participant, sections))
    ctx = {
        "participant": participant,
        "assessment": assessment,
        "response": response,
        "form": form,
        "may_start": may_start,
        "sections": sections,
        "progress": _progress(sections),
        "resume_url": _resume_url(request, participant),
        "continue_url": _first_open_page(participant, sections) if sections else "",
    }
    return render(request, "assessment/survey/landing.html", ctx)


@require_http_methods(["GET", "POST"])
@_link_page
def join(request: HttpRequest, token: str) -> HttpResponse:
    """Join through an open link: once per browser, then straight to the questions.

    The persona is the link's unless the owner let participants choose; the
    role and business unit asked here are not asked again. A browser that
    already joined this assessment is sent back to its own answers.
    """
    link = open_link_for_token(token)
    if link is None:
        raise Http404("This link is not valid or has been switched off.")
    assessment = link.assessment
    _check_not_expired(assessment)
    joined = _joined_token(request, assessment)
    if joined is not None:
        messages.info(
            request,
            "You have already joined from this browser: here are your answers.",
        )
        return redirect("assessment:survey", token=joined)
    personas = Persona.objects.filter(
        Q(assessments=assessment) | Q(pk=link.persona_id)
    ).distinct()
    form = ParticipantForm(
        request.POST or None,
        initial={"persona": link.persona},
        personas=personas,
        fixed_persona=None if link.allow_persona_choice else link.persona,
    )
    if request.method == "POST":
        if not assessment.is_open:
            messages.error(request, closed_message(assessment))
        elif form.is_valid():
            if not join_allowed(link=link, address=client_ip(request)):
                messages.error(
                    request,
                    "Many people have joined through this link in the last hour. "
                    "Please try again in an hour; if it keeps happening, ask the "
                    "FinOps team for a personal link.",
                )
            else:
                return _joined(request, link, token, form.cleaned_data)
    ctx = {"link": link, "assessment": assessment, "form": form}
    return render(request, "assessment/survey/join.html", ctx)


def _joined(
    request: HttpRequest, link: OpenLink, token: str, data: dict
) -> HttpResponse:
    """Create the joiner's response, remember it in this browser, and start.

    The personal token travels in the redirect and the signed cookie only,
    never in a message or the session.
    """
    try:
        _, personal_token = open_link_join(
            open_link=link, persona=data["persona"], business_unit=data["business_unit"]
        )
    except ResponseLocked as error:
        messages.error(request, str(error))
        return redirect("assessment:join", token=token)
    participant = _participant(personal_token)
    sections = _sections(_questions(participant), {})
    messages.success(
        request,
        "You have joined. Bookmark this page to come back to your answers: its "
        "address is your personal link.",
    )
    target = (
        _first_open_page(participant, sections)
        if sections
        else participant.url("survey_more")
    )
    reply = redirect(target)
    reply.set_signed_cookie(
        JOINED_COOKIE.format(link.assessment_id),
        personal_token,
        salt=JOINED_SALT,
        max_age=JOINED_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return reply


def _joined_token(request: HttpRequest, assessment: Assessment) -> str | None:
    """Return the personal token this browser joined the assessment with."""
    try:
        token = request.get_signed_cookie(
            JOINED_COOKIE.format(assessment.pk),
            salt=JOINED_SALT,
            max_age=JOINED_MAX_AGE,
        )
    except (KeyError, signing.BadSignature):
        return None
    invitation = invitation_for_token(token)
    if invitation is None or invitation.assessment_id != assessment.pk:
        return None  # removed since, or a cookie from elsewhere
    return token


def _after_save(participant: Participant, sections: list[Section], index: int, go):
    """Return where a saved page's button leads."""
    if go == "later":
        return participant.url("survey")
    if go == "review":
        return participant.url("survey_review")
    if go == "more":
        return participant.url("survey_more")
    if go.startswith("domain:"):
        return participant.url("survey_page", go.removeprefix("domain:"))
    if go == "next" and index + 1 < len(sections):
        return participant.url("survey_page", sections[index + 1].domain.slug)
    if go == "next":
        return participant.url("survey_review")
    if go == "prev" and index > 0:
        return participant.url("survey_page", sections[index - 1].domain.slug)
    if go == "prev":
        return participant.url("survey")
    return participant.url("survey_page", sections[index].domain.slug)


@require_http_methods(["GET", "POST"])
@_link_page
def questionnaire(request: HttpRequest, token: str, domain: str) -> HttpResponse:
    """Show and save one page (domain) of the participant's questions."""
    participant = _participant(token)
    response = participant.response
    if response is None:
        return redirect(participant.url("survey"))
    answers = _answers(response)
    sections = _sections(_questions(participant), answers)
    index = next((i for i, s in enumerate(sections) if s.domain.slug == domain), None)
    if index is None:
        raise Http404("This page is not part of your questionnaire.")
    section = sections[index]
    values = {
        pk: "" if value is None else str(value) for pk, (value, _) in answers.items()
    }
    comments = {pk: comment for pk, (_, comment) in answers.items()}
    errors: list[str] = []
    field_errors: dict[int, str] = {}
    if request.method == "POST":
        page = parse_page(
            request.POST, section.questions, {s.domain.slug for s in sections}
        )
        # Show what was typed, whatever happens next: nothing is lost.
        values.update(page.values)
        comments.update(page.comments)
        errors, field_errors = page.errors, page.field_errors
        if not participant.can_edit:
            errors = [_locked_message(participant)]
        elif page.is_valid:
            try:
                answers_save(response=response, answers=page.answers)
            except ResponseLocked as error:
                errors = [str(error)]
            else:
                if page.go == "later":
                    messages.success(request, "Your answers are saved.")
                return redirect(_after_save(participant, sections, index, page.go))
    rows = [
        {
            "capability": question,
            "options": _options(question, values.get(question.pk, "")),
            "comment": comments.get(question.pk, ""),
            "error": field_errors.get(question.pk, ""),
        }
        for question in section.questions
    ]
    ctx = {
        "participant": participant,
        "assessment": participant.assessment,
        "response": response,
        "sections": sections,
        "section": section,
        "index": index,
        "is_last": index == len(sections) - 1,
        "rows": rows,
        "shown": ",".join(str(q.pk) for q in section.questions),
        "errors": errors,
        "has_field_errors": bool(field_errors),
        "progress": _progress(sections),
        "editable": participant.can_edit,
        "comment_max": COMMENT_MAX,
    }
    return render(request, "assessment/survey/page.html", ctx)


def _locked_message(participant: Participant) -> str:
    if not participant.assessment.is_open:
        return closed_message(participant.assessment)
    return "You have already submitted your answers. Reopen them to make changes."


def _answer_rows(sections: list[Section], answers) -> list[dict]:
    """Return each section with its questions' answers, for review pages."""
    return [
        {
            "section": section,
            "items": [
                {
                    "capability": question,
                    "value": value,
                    "label": _value_label(value),
                    "comment": comment,
                }
                for question in section.questions
                for value, comment in [answers.get(question.pk, (None, ""))]
            ],
        }
        for section in sections
    ]


@require_http_methods(["GET", "POST"])
@_link_page
def review(request: HttpRequest, token: str) -> HttpResponse:
    """List unanswered questions, then submit."""
    participant = _participant(token)
    response = participant.response
    if response is None:
        return redirect(participant.url("survey"))
    if request.method == "POST":
        try:
            response_submit(response=response)
        except ResponseLocked as error:
            messages.error(request, str(error))
            return redirect(participant.url("survey_review"))
        # A replayed submit lands here too: the response is submitted once.
        return redirect(participant.url("survey_thanks"))
    answers = _answers(response)
    sections = _sections(_questions(participant), answers)
    groups = _answer_rows(sections, answers)
    unanswered = [
        {"section": group["section"], "item": item}
        for group in groups
        for item in group["items"]
        if item["value"] is None
    ]
    ctx = {
        "participant": participant,
        "assessment": participant.assessment,
        "response": response,
        "sections": sections,
        "groups": groups,
        "unanswered": unanswered,
        "progress": _progress(sections),
        "editable": participant.can_edit,
    }
    return render(request, "assessment/survey/review.html", ctx)


@require_http_methods(["GET"])
@_link_page
def thanks(request: HttpRequest, token: str) -> HttpResponse:
    """Thank the participant and show a copy of their answers."""
    participant = _participant(token)
    response = participant.response
    if response is None:
        return redirect(participant.url("survey"))
    answers = _answers(response)
    sections = _sections(_questions(participant), answers)
    ctx = {
        "participant": participant,
        "assessment": participant.assessment,
        "response": response,
        "groups": _answer_rows(sections, answers),
        "progress": _progress(sections),
        "resume_url": _resume_url(request, participant),
    }
    return render(request, "assessment/survey/thanks.html", ctx)


@require_POST
@_link_page
def reopen(request: HttpRequest, token: str) -> HttpResponse:
    """Turn submitted answers back into a draft while the assessment is open."""
    participant = _participant(token)
    if participant.response is None:
        return redirect(participant.url("survey"))
    try:
        response_reopen(response=participant.response)
    except ResponseLocked as error:
        messages.error(request, str(error))
        return redirect(participant.url("survey_thanks"))
    messages.info(
        request,
        "Your answers are open for changes. Submit them again when you are done; "
        "until then the previous submission does not count.",
    )
    return redirect(participant.url("survey_review"))


@require_http_methods(["GET", "POST"])
@_link_page
def more(request: HttpRequest, token: str) -> HttpResponse:
    """Let a participant answer capabilities outside their persona's routing."""
    participant = _participant(token)
    response = participant.response
    if response is None:
        return redirect(participant.url("survey"))
    routed = ScopedCapability.objects.filter(
        assessment=participant.assessment, personas=response.persona_id
    ).values("capability_id")
    available = list(
        ScopedCapability.objects.filter(assessment=participant.assessment)
        .exclude(capability_id__in=routed)
        .select_related("capability__domain")
        .order_by("capability__position")
    )
    chosen = set(response.extra_capabilities.values_list("pk", flat=True))
    error = ""
    if request.method == "POST":
        if not participant.can_edit:
            error = _locked_message(participant)
        else:
            picked, error = parse_extras(
                request.POST, {item.capability_id for item in available}
            )
            if not error:
                try:
                    extras_set(response=response, capability_ids=picked)
                except ResponseLocked as locked:
                    error = str(locked)
                else:
                    messages.success(
                        request,
                        "Your questions are updated. Added capabilities are marked "
                        "“added by you” on their page.",
                    )
                    return redirect(participant.url("survey_review"))
        chosen = posted_extras(request.POST)
    ctx = {
        "participant": participant,
        "assessment": participant.assessment,
        "response": response,
        "available": available,
        "chosen": chosen,
        "error": error,
        "editable": participant.can_edit,
    }
    return render(request, "assessment/survey/more.html", ctx)
