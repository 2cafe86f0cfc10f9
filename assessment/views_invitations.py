"""Invitations pages (owners only): invitees, emails and open links.

Viewers see participation counts on the assessment page, never who was
invited.
"""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from . import audit, display, invitations, invitee_list, mailing
from .access import get_assessment_for_user
from .forms import InviteeFilterForm, InviteeImportForm, OpenLinkForm
from .models import Assessment, EmailSend, Invitation, OpenLink, Response


def _invitations_page(
    request: HttpRequest,
    assessment: Assessment,
    *,
    form: InviteeImportForm | None = None,
    link_form: OpenLinkForm | None = None,
    parsed: invitations.ParsedInvitees | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render the page: one page of the list, its filters and the forms.

    The same queries whatever the size of the list (see invitee_list).
    """
    state = _list_state(request)
    personas = list(assessment.personas.all())
    counts = invitee_list.invitee_counts(assessment=assessment, personas=personas)
    filter_form = InviteeFilterForm(state, personas=personas, counts=counts)
    filters = filter_form.filters()
    page = invitee_list.invitee_page(
        invitee_list.invitees_matching(assessment=assessment, **filters),
        state.get("page"),
    )
    state = _with_page(state, page.number)
    ctx = {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "form": form or InviteeImportForm(),
        "link_form": link_form or OpenLinkForm(assessment=assessment),
        "parsed": parsed,
        "filter_form": filter_form,
        "filtered": bool(filters),
        "page": page,
        "page_links": _page_links(assessment, state, page),
        "list_state": state.urlencode(),
        "invited_count": counts["invited"],
        "joined_count": counts["joined"],
        "open_links": _open_links(assessment),
        "remind_count": invitations.reminder_candidates(assessment=assessment).count(),
        "sending": mailing.sending_progress(assessment),
    }
    return render(request, "assessment/invitations/list.html", ctx, status=status)


def _list_state(request: HttpRequest) -> QueryDict:
    """Return the list's filters and page: the address's, or a form's `list`.

    Every form of the page carries the list's state in a `list` field, so an
    action, or the page rendered again after a post (an import with bad
    lines), keeps them.
    """
    if request.method == "POST":
        return invitee_list.list_state(QueryDict(request.POST.get("list", "")))
    return invitee_list.list_state(request.GET)


def _with_page(state: QueryDict, number: int) -> QueryDict:
    """Return the state showing page `number` (the first has no parameter)."""
    state = state.copy()
    state.pop("page", None)
    if number > 1:
        state["page"] = str(number)
    return state


def _page_links(
    assessment: Assessment, state: QueryDict, page: Page
) -> list[tuple[str, str | None, bool]]:
    """Return (label, address or None for a gap, is current) per page link."""
    base = reverse("assessment:invitations", args=[assessment.pk])
    links = []
    for number in page.paginator.get_elided_page_range(page.number):
        if number == page.paginator.ELLIPSIS:
            links.append((number, None, False))
            continue
        query = _with_page(state, number).urlencode()
        address = f"{base}?{query}" if query else base
        links.append((str(number), address, number == page.number))
    return links


def _returns_to_list(view):
    """Send an action posted from the list back to the same filtered page.

    The list's forms carry its state (filters, page) in a `list` field; when
    the view redirects to the bare list, the state is added back.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, pk: int, *args, **kwargs) -> HttpResponse:
        response = view(request, pk, *args, **kwargs)
        state = _list_state(request).urlencode()
        if state and isinstance(response, HttpResponseRedirect):
            address, hash_, fragment = response.url.partition("#")
            if address == reverse("assessment:invitations", args=[pk]):
                response["Location"] = f"{address}?{state}{hash_}{fragment}"
        return response

    return wrapper


def _open_links(assessment: Assessment) -> list[OpenLink]:
    """Return the active open links with their address, joins and submissions."""
    submitted = Q(invitations__response__status=Response.Status.SUBMITTED)
    links = list(
        assessment.open_links.filter(is_active=True)
        .select_related("persona")
        .annotate(
            joined=Count("invitations"),
            submitted=Count("invitations", filter=submitted),
        )
    )
    for link in links:
        link.url = invitations.open_link_url(link)
    return links


@login_required
@_returns_to_list
def invitation_list(request: HttpRequest, pk: int) -> HttpResponse:
    """List invitees with their status; add more from pasted lines or a CSV."""
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    if request.method != "POST":
        return _invitations_page(request, assessment)
    form = InviteeImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _invitations_page(request, assessment, form=form)
    text = form.text()
    parsed = invitations.parse_invitees(
        text,
        personas=list(assessment.personas.all()),
        catalogue=list(assessment.framework.personas.all()),
    )
    if not parsed.invitees and not parsed.errors:
        form.add_error(
            None,
            "No participants found: the lines are blank, comments or a header. "
            "Give one “email, persona” per line.",
        )
        return _invitations_page(request, assessment, form=form)
    result = invitations.invitations_import(
        assessment=assessment, invitees=parsed.invitees
    )
    summary = _import_message(result, merged=len(parsed.merged))
    if result.added or result.updated:
        audit.record(
            assessment=assessment,
            action="invitations.imported",
            user=request.user,
            detail=f"{result.added} added, {result.updated} updated.",
        )
    if not parsed.errors:
        messages.success(request, summary)
        return redirect("assessment:invitations", pk=assessment.pk)
    if summary:
        messages.success(request, summary)
    # Keep the text (an uploaded file's too) so the owner fixes the bad lines
    # in place; importing it again merges the lines already added.
    form = InviteeImportForm(initial={"lines": text})
    return _invitations_page(request, assessment, form=form, parsed=parsed)


def _import_message(result: invitations.ImportResult, *, merged: int) -> str:
    parts = []
    if result.added:
        parts.append(
            ngettext("%s participant added", "%s participants added", result.added)
            % display.count(result.added)
        )
    if result.updated:
        parts.append(f"{display.count(result.updated)} updated")
    if result.unchanged + merged:
        already = display.count(result.unchanged + merged)
        parts.append(f"{already} already on the list (merged)")
    return "; ".join(parts) + "." if parts else ""


@login_required
@require_POST
@_returns_to_list
def invitations_send(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue the invitations not sent yet, or schedule them for the opening.

    Returns at once: a background job emails them, and the pages show how
    far it has got.
    """
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    try:
        when = mailing.invitations_when(assessment)
    except mailing.NotNow as refusal:
        messages.error(request, str(refusal))
        return redirect("assessment:invitations", pk=assessment.pk)
    unsent = mailing.unsent(assessment).count()
    if not unsent:
        messages.info(request, "Everyone on the list has been sent an invitation.")
        return redirect("assessment:invitations", pk=assessment.pk)
    people = ngettext("%s person", "%s people", unsent) % display.count(unsent)
    if when is None:
        action, detail = "invitations.sent", f"Sending to {people}."
        message = f"Sending invitations to {people}."
    else:
        day = display.date(when)
        action = "invitations.scheduled"
        detail = f"For {day}, the opening date ({people} so far)."
        message = (
            f"Invitations scheduled for {day}, the opening date: the assessment "
            "opens that morning and everyone not sent an invitation by then is "
            "emailed."
        )
    # One commit for the send, its jobs and the audit line: the click returns
    # at once whatever the number of invitees.
    with transaction.atomic():
        mailing.invitations_send(assessment=assessment, user=request.user)
        audit.record(
            assessment=assessment, action=action, user=request.user, detail=detail
        )
    messages.success(request, message)
    return redirect("assessment:invitations", pk=assessment.pk)


@login_required
@require_POST
@_returns_to_list
def invitations_remind(request: HttpRequest, pk: int) -> HttpResponse:
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    if not assessment.is_open:
        messages.error(request, "Reminders go out only while the assessment is open.")
        return redirect("assessment:invitations", pk=assessment.pk)
    count = invitations.reminder_candidates(assessment=assessment).count()
    if not count:
        messages.info(request, "Nobody to send a reminder to.")
        return redirect("assessment:invitations", pk=assessment.pk)
    people = ngettext("%s person", "%s people", count) % display.count(count)
    with transaction.atomic():
        mailing.invitations_remind(assessment=assessment, user=request.user)
        audit.record(
            assessment=assessment,
            action="invitations.reminded",
            user=request.user,
            detail=f"Sending to {people}.",
        )
    messages.success(request, f"Sending reminders to {people}.")
    return redirect("assessment:invitations", pk=assessment.pk)


@login_required
@require_POST
@_returns_to_list
def invitation_resend(
    request: HttpRequest, pk: int, invitation_pk: int
) -> HttpResponse:
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    invitation = get_object_or_404(
        assessment.invitations.exclude(email=""), pk=invitation_pk
    )
    if not assessment.is_open:
        messages.error(request, mailing.NOT_OPEN_FOR_EMAILS[assessment.status])
        return redirect("assessment:invitations", pk=assessment.pk)
    if mailing.waiting(invitation=invitation, kind=EmailSend.Kind.RESEND):
        messages.info(
            request, f"A new link is already on its way to {invitation.email}."
        )
        return redirect("assessment:invitations", pk=assessment.pk)
    with transaction.atomic():
        mailing.send_start(
            assessment=assessment,
            kind=EmailSend.Kind.RESEND,
            user=request.user,
            invitation=invitation,
        )
        audit.record(
            assessment=assessment,
            action="invitations.sent",
            user=request.user,
            detail="1 sent again with a new link.",
        )
    messages.success(
        request,
        f"Invitation being sent again to {invitation.email} with a new link; "
        "the earlier link no longer works once it has gone out.",
    )
    return redirect("assessment:invitations", pk=assessment.pk)


@login_required
@require_POST
@_returns_to_list
def emails_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue again every email of the assessment that failed."""
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    back = request.POST.get("next") == "detail"
    target = assessment.get_absolute_url() if back else None
    if not assessment.is_open:
        messages.error(request, mailing.NOT_OPEN_FOR_EMAILS[assessment.status])
    else:
        count = mailing.failed_retry(assessment=assessment, user=request.user)
        if count:
            audit.record(
                assessment=assessment,
                action="invitations.retried",
                user=request.user,
                detail=f"{display.count(count)} queued again.",
            )
            messages.success(
                request,
                ngettext("%s email queued again.", "%s emails queued again.", count)
                % display.count(count),
            )
        else:
            messages.info(request, "No failed email to retry.")
    return redirect(target or reverse("assessment:invitations", args=[assessment.pk]))


@login_required
def sending_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The sending progress panel alone, polled by static/js/sending.js."""
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    ctx = {
        "assessment": assessment,
        "sending": mailing.sending_progress(assessment),
        "back": request.GET.get("from") == "detail",
    }
    response = render(request, "assessment/invitations/_sending.html", ctx)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
@_returns_to_list
def invitation_delete(
    request: HttpRequest, pk: int, invitation_pk: int
) -> HttpResponse:
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    invitation = get_object_or_404(
        Invitation.objects.filter(assessment=assessment), pk=invitation_pk
    )
    if Response.objects.filter(invitation=invitation).exists():
        messages.error(
            request, f"{invitation} has started answering, so stays on the list."
        )
    else:
        invitation.delete()
        audit.record(
            assessment=assessment,
            action="invitations.removed",
            user=request.user,
            detail=f"{invitation} removed.",
        )
        messages.success(request, f"{invitation} removed; their link no longer works.")
    return redirect("assessment:invitations", pk=assessment.pk)


@login_required
@require_POST
@_returns_to_list
def open_link_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Create (or replace) a persona's open link; the list shows its address."""
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    form = OpenLinkForm(request.POST, assessment=assessment)
    if not form.is_valid():
        return _invitations_page(request, assessment, link_form=form, status=400)
    persona = form.cleaned_data["persona"]
    invitations.open_link_create(
        assessment=assessment,
        persona=persona,
        allow_persona_choice=form.cleaned_data["allow_persona_choice"],
    )
    audit.record(
        assessment=assessment,
        action="links.open_created",
        user=request.user,
        detail=f"For {persona.name}.",
    )
    messages.success(
        request,
        f"Open link for {persona.name} created: copy it from the list of open "
        "links below.",
    )
    return redirect(reverse("assessment:invitations", args=[assessment.pk]) + "#links")


@login_required
@require_POST
@_returns_to_list
def open_link_deactivate(request: HttpRequest, pk: int, link_pk: int) -> HttpResponse:
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    link = get_object_or_404(
        assessment.open_links.select_related("persona"), pk=link_pk
    )
    link.is_active = False
    link.save(update_fields=["is_active"])
    audit.record(
        assessment=assessment,
        action="links.open_deactivated",
        user=request.user,
        detail=f"For {link.persona.name}.",
    )
    messages.success(
        request,
        f"The open link for {link.persona} no longer works. People who already "
        "joined keep their personal links.",
    )
    return redirect("assessment:invitations", pk=assessment.pk)
