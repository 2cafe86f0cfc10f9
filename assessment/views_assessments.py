"""Pages of members: organisations' assessments and the owner's hub.

Every view taking an object id goes through an access helper: another
organisation's object is a 404, a viewer asking to change something a 403.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from . import audit, display, invitations, lifecycle, looks, mailing, reminders
from .access import get_assessment_for_user, get_organisation_for_user, memberships_of
from .disclosure import shown_participation, shown_participation_list
from .forms import (
    AssessmentForm,
    ClosingDateForm,
    ClosingForm,
    RoutingForm,
    ScopeForm,
)
from .models import (
    AuditEvent,
    Capability,
    FrameworkVersion,
    Membership,
)
from .participation import participation_summary
from .snapshots import latest_snapshot, publish_state


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send the user to their organisation's assessments, or let them choose."""
    memberships = list(memberships_of(request.user))
    if len(memberships) == 1:
        return redirect("assessment:list", org=memberships[0].organisation.slug)
    ctx = {"memberships": memberships}
    return render(request, "assessment/home.html", ctx)


@login_required
def assessment_list(request: HttpRequest, org: str) -> HttpResponse:
    organisation, membership = get_organisation_for_user(request, org)
    ctx = {
        "organisation": organisation,
        "membership": membership,
        "is_owner": membership.role == Membership.Role.OWNER,
        "assessments": shown_participation_list(
            organisation.assessments.all(),
            owner=membership.role == Membership.Role.OWNER,
        ),
    }
    return render(request, "assessment/assessment_list.html", ctx)


def _capabilities(framework: FrameworkVersion) -> list[Capability]:
    return list(framework.capabilities.select_related("domain"))


def _latest_framework() -> FrameworkVersion | None:
    return FrameworkVersion.objects.order_by("-slug").first()


@login_required
def assessment_create(request: HttpRequest, org: str) -> HttpResponse:
    organisation, _ = get_organisation_for_user(request, org, write=True)
    framework = _latest_framework()
    if framework is None:
        messages.error(request, "No framework is loaded yet: run load_catalogue.")
        return redirect("assessment:list", org=organisation.slug)
    if request.method == "POST":
        # The version chosen decides which personas and capabilities are valid;
        # a value that is not an id is left for the form to report.
        posted = request.POST.get("framework", "")
        if posted.isascii() and posted.isdigit():
            chosen = FrameworkVersion.objects.filter(pk=posted).first()
            framework = chosen or framework
    capabilities = _capabilities(framework)
    data = request.POST if request.method == "POST" else None
    form = AssessmentForm(data, framework=framework, editing=False)
    scope_form = ScopeForm(data, capabilities=capabilities)
    if request.method == "POST" and form.is_valid() and scope_form.is_valid():
        d = form.cleaned_data
        targets = scope_form.targets()
        assessment = lifecycle.assessment_create(
            organisation=organisation,
            framework=d["framework"],
            title=d["title"],
            created_by=request.user,
            scope_label=d["scope_label"],
            capabilities=[c for c in capabilities if c.pk in targets],
            personas=list(d["personas"]),
            targets=targets,
            importance=scope_form.importance(),
            anonymity_threshold=d["anonymity_threshold"],
            opens_on=d["opens_on"],
            closes_on=d["closes_on"],
        )
        reminders.reminders_set(
            assessment=assessment, every_days=d["remind_every_days"]
        )
        audit.record(
            assessment=assessment, action="assessment.created", user=request.user
        )
        messages.success(
            request, "Assessment created as a draft. Next: invite participants."
        )
        return redirect(assessment)
    ctx = {"organisation": organisation, "form": form, "scope_form": scope_form}
    return render(request, "assessment/assessment_form.html", ctx)


@login_required
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the owner's hub: status, scope, participation and next actions."""
    assessment, role = get_assessment_for_user(request, pk)
    is_owner = role == Membership.Role.OWNER
    scoped = assessment.scoped_capabilities.select_related("capability__domain")
    ctx = {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "is_owner": is_owner,
        "participation": shown_participation(assessment, owner=is_owner),
        "scoped": scoped,
        "previous": assessment.previous_id and assessment.previous,
        "next_rounds": assessment.next_rounds.only("pk", "title"),
    }
    if is_owner:
        ctx["unsent"] = (
            assessment.invitations.exclude(email="")
            .filter(sent_at__isnull=True)
            .count()
        )
        # The button says how many people it emails before anyone clicks.
        ctx["remind_count"] = invitations.reminder_candidates(
            assessment=assessment
        ).count()
        ctx["sending"] = mailing.sending_progress(assessment)
        reminders.reminders_keep_going(assessment)
        ctx["links_expire_at"] = assessment.links_expire_at()
        ctx["links_expired"] = assessment.links_expired()
        ctx["link_days"] = settings.SURVEY_LINK_DAYS_AFTER_CLOSE
    return render(request, "assessment/assessment_detail.html", ctx)


@login_required
def assessment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    initial = {
        "title": assessment.title,
        "scope_label": assessment.scope_label,
        "personas": list(assessment.personas.all()),
        "anonymity_threshold": assessment.anonymity_threshold,
        "opens_on": assessment.opens_on,
        "closes_on": assessment.closes_on,
        "remind_every_days": assessment.remind_every_days,
        "comments_published": assessment.comments_published,
    }
    data = request.POST if request.method == "POST" else None
    form = AssessmentForm(
        data, initial=initial, framework=assessment.framework, editing=True
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        was_published = assessment.comments_published
        # Publishing comments has an audit action of its own.
        changed = [
            form[name].label
            for name in form.changed_data
            if name != "comments_published"
        ]
        try:
            lifecycle.assessment_update(
                assessment=assessment,
                title=d["title"],
                scope_label=d["scope_label"],
                personas=list(d["personas"]),
                anonymity_threshold=d["anonymity_threshold"],
                opens_on=d["opens_on"],
                closes_on=d["closes_on"],
                comments_published=d["comments_published"],
                user=request.user,
            )
        except lifecycle.LifecycleError as error:
            form.add_error(None, str(error))
        else:
            reminders.reminders_set(
                assessment=assessment, every_days=d["remind_every_days"]
            )
            mailing.scheduled_follow_opening(assessment)
            if d["comments_published"] != was_published:
                audit.record(
                    assessment=assessment,
                    action="comments.published"
                    if d["comments_published"]
                    else "comments.unpublished",
                    user=request.user,
                )
            if changed:
                audit.record(
                    assessment=assessment,
                    action="assessment.settings",
                    user=request.user,
                    detail="Changed: " + ", ".join(changed) + ".",
                )
            messages.success(request, "Settings saved.")
            return redirect(assessment)
    ctx = {"assessment": assessment, "organisation": assessment.organisation}
    ctx["form"] = form
    return render(request, "assessment/assessment_form.html", ctx)


@login_required
def assessment_scope(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit capabilities in scope and targets; confirm removing answered ones."""
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    capabilities = _capabilities(assessment.framework)
    scoped = assessment.scoped_capabilities.values_list(
        "capability_id", "target_level", "importance"
    )
    current = {pk: target for pk, target, _ in scoped}
    importance = {pk: weight for pk, _, weight in scoped}
    data = request.POST if request.method == "POST" else None
    form = ScopeForm(
        data, capabilities=capabilities, targets=current, importance=importance
    )
    at_risk = []
    if request.method == "POST" and form.is_valid():
        targets = form.targets()
        removed = set(current) - set(targets)
        at_risk = lifecycle.answered_capabilities(
            assessment=assessment, capability_ids=removed
        )
        if not at_risk or request.POST.get("confirm_removal") == "yes":
            weights = form.importance()
            lifecycle.assessment_set_scope(
                assessment=assessment, targets=targets, importance=weights
            )
            detail = _scope_change(current, targets, importance, weights)
            if detail:
                audit.record(
                    assessment=assessment,
                    action="assessment.scope",
                    user=request.user,
                    detail=detail,
                )
            messages.success(request, "Scope and targets saved.")
            return redirect(assessment)
    ctx = {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "form": form,
        "at_risk": at_risk,
    }
    return render(request, "assessment/assessment_scope.html", ctx)


def _scope_change(
    before: dict[int, int],
    after: dict[int, int],
    importance_before: dict[int, str],
    importance_after: dict[int, str],
) -> str:
    """Describe a scope change for the audit trail ("" when nothing changed)."""
    added = len(after.keys() - before.keys())
    removed = len(before.keys() - after.keys())
    kept = after.keys() & before.keys()
    retargeted = sum(1 for pk in kept if after[pk] != before[pk])
    reweighted = sum(
        1 for pk in kept if importance_after[pk] != importance_before.get(pk)
    )
    parts = [
        f"{count} {what}"
        for count, what in (
            (added, "added to scope"),
            (removed, "removed from scope"),
            (retargeted, "with a new target"),
            (reweighted, "with a new importance"),
        )
        if count
    ]
    if not parts:
        return ""
    return "Capabilities: " + "; ".join(parts) + "."


@login_required
def assessment_routing(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit which personas are asked about each capability in scope."""
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    scoped = list(
        assessment.scoped_capabilities.select_related(
            "capability__domain"
        ).prefetch_related("personas")
    )
    personas = list(assessment.personas.all())
    data = request.POST if request.method == "POST" else None
    form = RoutingForm(data, scoped=scoped, personas=personas)
    if request.method == "POST" and form.is_valid():
        routes = form.routes()
        lifecycle.assessment_set_routing(assessment=assessment, routes=routes)
        changed = sum(
            1
            for item in scoped
            if routes[item.pk] != {p.pk for p in item.personas.all()}
        )
        if changed:
            audit.record(
                assessment=assessment,
                action="assessment.routing",
                user=request.user,
                detail=f"Personas changed for {changed} "
                f"capabilit{'y' if changed == 1 else 'ies'}.",
            )
        messages.success(request, "Routing saved.")
        return redirect(assessment)
    ctx = {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "form": form,
    }
    return render(request, "assessment/assessment_routing.html", ctx)


@login_required
@require_POST
def assessment_open(request: HttpRequest, pk: int) -> HttpResponse:
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    try:
        lifecycle.assessment_open(assessment=assessment)
    except lifecycle.LifecycleError as error:
        messages.error(request, str(error))
    else:
        audit.record(
            assessment=assessment, action="assessment.opened", user=request.user
        )
        messages.success(request, "The assessment is open: participants can answer.")
    return redirect(assessment)


@login_required
def assessment_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for confirmation, then close: answers stop and results are final.

    When closing would hold figures back, the owner chooses between keeping
    the last published results and holding back (`snapshots.snapshot_close`).
    """
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    form = ClosingForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            snapshot = lifecycle.assessment_close(
                assessment=assessment,
                user=request.user,
                keep_published=form.keep_published,
            )
        except lifecycle.LifecycleError as error:
            messages.error(request, str(error))
        else:
            audit.record(
                assessment=assessment,
                action="assessment.closed",
                user=request.user,
                detail=_closing_detail(snapshot),
            )
            messages.success(request, "The assessment is closed; results are final.")
        return redirect(assessment)
    latest = latest_snapshot(assessment)
    ctx = {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "participation": participation_summary(assessment=assessment),
        "left_out": looks.close_plan(assessment),
        "latest": latest,
        "late": publish_state(assessment, latest=latest).new,
        "form": form,
        "action": "close",
    }
    return render(request, "assessment/assessment_confirm.html", ctx)


def _closing_detail(snapshot) -> str:
    if snapshot.left_out is None:
        return ""
    return (
        "Kept the results published on "
        f"{display.date(snapshot.figures_published_at)}: {snapshot.left_out} "
        "later responses are not in them."
    )


@login_required
def assessment_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for confirmation (and maybe a later closing date), then reopen."""
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    data = request.POST if request.method == "POST" else None
    form = ClosingDateForm(data)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.assessment_reopen(
                assessment=assessment, closes_on=form.cleaned_data["closes_on"]
            )
        except lifecycle.LifecycleError as error:
            form.add_error("closes_on", str(error))
        else:
            reminders.reminders_keep_going(assessment)
            closes_on = assessment.closes_on
            audit.record(
                assessment=assessment,
                action="assessment.reopened",
                user=request.user,
                detail=f"Closes on {date_format(closes_on)}." if closes_on else "",
            )
            messages.success(request, "The assessment is open again.")
            return redirect(assessment)
    ctx = {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "form": form,
        "action": "reopen",
        "closing_date_passed": assessment.closes_on is not None
        and assessment.closes_on < timezone.localdate(),
    }
    return render(request, "assessment/assessment_confirm.html", ctx)


@login_required
@require_POST
def assessment_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    new = lifecycle.assessment_duplicate(assessment=assessment, created_by=request.user)
    audit.record(
        assessment=new,
        action="assessment.created",
        user=request.user,
        detail=f"Next round of “{assessment.title}”.",
    )
    messages.success(
        request,
        "Next round created as a draft with the same scope, targets and invitees. "
        "Check its title and dates.",
    )
    return redirect("assessment:edit", pk=new.pk)


@login_required
@require_POST
def assessment_keep_links(request: HttpRequest, pk: int) -> HttpResponse:
    """Keep participants' links of a closed assessment working longer."""
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    days = settings.SURVEY_LINK_DAYS_AFTER_CLOSE
    try:
        until = lifecycle.assessment_keep_links(assessment=assessment, days=days)
    except lifecycle.LifecycleError as error:
        messages.error(request, str(error))
    else:
        until_text = date_format(timezone.localtime(until))
        audit.record(
            assessment=assessment,
            action="links.kept",
            user=request.user,
            detail=f"Links work until {until_text}.",
        )
        messages.success(request, f"Participants' links now work until {until_text}.")
    return redirect(assessment)


AUDIT_PAGE_SIZE = 50


@login_required
def assessment_audit(request: HttpRequest, pk: int) -> HttpResponse:
    """List who did what to the assessment, newest first (owners only)."""
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    events = AuditEvent.objects.filter(assessment=assessment)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    ctx = {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "page": page,
        "events": [(event, audit.action_text(event.action)) for event in page],
    }
    return render(request, "assessment/assessment_audit.html", ctx)


def framework(request: HttpRequest) -> HttpResponse:
    """Show the current framework's capabilities, level signs and next steps."""
    version = FrameworkVersion.objects.order_by("-slug").first()
    capabilities = []
    if version is not None:
        capabilities = (
            Capability.objects.filter(version=version)
            .select_related("domain")
            .prefetch_related(
                "aliases",
                "default_personas",
                "prerequisites",
                Prefetch("next_steps__owner"),
            )
        )
    ctx = {"version": version, "capabilities": capabilities}
    return render(request, "assessment/framework.html", ctx)
