"""The action plan page: the 90-day plan and roadmap, and the actions tracked.

Owners turn a plan action into a tracked action (one per action), edit it
and export them all as CSV for a ticket tracker; viewers see them; other
organisations get a 404 (`access`). The plan comes from the published
results, as viewers see them (`disclosure`), so both read the same plan.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from . import advice, audit, display, exports
from .access import get_assessment_for_user
from .disclosure import shown_results
from .models import Assessment, Invitation, Membership, PlanAction


def _advice(assessment: Assessment) -> advice.Advice | None:
    """Return the advice on the published results (None before any)."""
    shown = shown_results(assessment, owner=False)
    if shown.results is None:
        return None
    return advice.assessment_advice(shown.results, shown.participation)


def _tracked(assessment: Assessment) -> list[PlanAction]:
    return list(
        assessment.plan_actions.prefetch_related("capabilities").order_by(
            "created_at", "pk"
        )
    )


@login_required
@require_GET
def action_list(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the tracked actions, then the plan and roadmap they come from."""
    assessment, role = get_assessment_for_user(request, pk)
    found = _advice(assessment)
    ctx = {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "is_owner": role == Membership.Role.OWNER,
        "advice": found,
        "tracked": _tracked(assessment),
        # The advice already read last round's actions; read them only without it.
        "previous": found.previous if found else advice.previous_actions(assessment),
    }
    return render(request, "assessment/actions/list.html", ctx)


@login_required
@require_POST
def action_track(request: HttpRequest, pk: int) -> HttpResponse:
    """Track one action of the plan or roadmap (owners; once per action)."""
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    key = request.POST.get("action_key", "")
    found = _advice(assessment)
    item = next((i for i in found.actions if i.key == key), None) if found else None
    if item is None:
        messages.error(
            request,
            "That action is not in the current plan (the published results may "
            "have changed): choose one from the list.",
        )
        return redirect("assessment:actions", pk=assessment.pk)
    try:
        with transaction.atomic():
            action = PlanAction.objects.create(
                assessment=assessment,
                action_key=item.key,
                title=item.action,
                kpi=item.kpi,
            )
            action.capabilities.set(item.capabilities)
    except IntegrityError:
        messages.info(request, "This action is already tracked.")
        return redirect("assessment:actions", pk=assessment.pk)
    audit.record(
        assessment=assessment,
        action="action.tracked",
        user=request.user,
        detail=item.action[:200],
    )
    messages.success(request, "Action tracked: give it a named owner and a due date.")
    return redirect("assessment:action_edit", pk=assessment.pk, action_pk=action.pk)


class PlanActionForm(forms.ModelForm):
    """A tracked action's owner, due date and status (and its wording)."""

    class Meta:
        model = PlanAction
        fields = ["title", "owner_name", "due_on", "status"]
        widgets = {
            "title": forms.Textarea(attrs={"rows": 3}),
            "due_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        labels = {"title": "Action"}

    def __init__(self, *args, assessment: Assessment, **kwargs):
        super().__init__(*args, **kwargs)
        self.assessment = assessment

    def clean_owner_name(self) -> str:
        """A name, or an invitee's email address (checked against the list)."""
        owner = " ".join(self.cleaned_data["owner_name"].split())
        if "@" in owner:
            invited = Invitation.objects.filter(
                assessment=self.assessment, email__iexact=owner
            ).exists()
            if not invited:
                raise forms.ValidationError(
                    "No invitee of this assessment has this email address: "
                    "write a person's or a team's name, or an invitee's email."
                )
        return owner

    def clean_due_on(self):
        due = self.cleaned_data["due_on"]
        started = timezone.localdate(self.assessment.created_at)
        if due is not None and due < started:
            raise forms.ValidationError(
                f"Choose a date on or after {display.date(started)}, when this "
                "assessment was created."
            )
        return due


def _action(assessment: Assessment, action_pk: int) -> PlanAction:
    """Return a tracked action of this assessment (another's is a 404)."""
    return get_object_or_404(PlanAction, pk=action_pk, assessment=assessment)


@login_required
def action_edit(request: HttpRequest, pk: int, action_pk: int) -> HttpResponse:
    """Edit a tracked action's wording, owner, due date and status (owners)."""
    assessment, _ = get_assessment_for_user(request, pk, write=True)
    action = _action(assessment, action_pk)
    data = request.POST if request.method == "POST" else None
    form = PlanActionForm(data, instance=action, assessment=assessment)
    if request.method == "POST" and form.is_valid():
        action = form.save(commit=False)
        action.updated_at = timezone.now()
        action.save()
        audit.record(
            assessment=assessment,
            action="action.changed",
            user=request.user,
            detail=f"{action.get_status_display()}: {action.title[:180]}",
        )
        messages.success(request, "Action saved.")
        return redirect("assessment:actions", pk=assessment.pk)
    ctx = {
        "assessment": assessment,
        "organisation": assessment.organisation,
        "action": action,
        "form": form,
    }
    return render(request, "assessment/actions/edit.html", ctx)


CSV_HEADER = [
    "Action",
    "Capabilities",
    "Owner",
    "Due",
    "Status",
    "KPI",
    "Action id",
    "Last changed",
]


def action_rows(actions: list[PlanAction]) -> list[list[str]]:
    """Return the tracked actions as CSV rows (dates as ISO for importers)."""
    return [
        [
            a.title,
            "; ".join(c.name for c in a.capabilities.all()),
            a.owner_name,
            a.due_on.isoformat() if a.due_on else "",
            a.get_status_display(),
            a.kpi,
            a.action_key,
            timezone.localtime(a.updated_at).date().isoformat(),
        ]
        for a in actions
    ]


@login_required
@require_GET
def action_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """Download the tracked actions as CSV (owners and viewers)."""
    if fmt != "csv":
        raise Http404("Tracked actions export as CSV.")
    assessment, _ = get_assessment_for_user(request, pk)
    content = exports.write_csv(CSV_HEADER, action_rows(_tracked(assessment)))
    return exports.download(
        content, "csv", exports.filename(assessment, "actions", "csv")
    )
