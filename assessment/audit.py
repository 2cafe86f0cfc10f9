"""The audit trail: who did what to an assessment, and when.

Call `record` from the view or job that did the thing, after it succeeded.
Actions are plain strings; their wording for owners is in ACTIONS.
"""

from __future__ import annotations

from .models import Assessment, AuditEvent

ACTIONS = {
    "assessment.created": "created the assessment",
    "assessment.opened": "opened the assessment",
    "assessment.closed": "closed the assessment",
    "assessment.reopened": "reopened the assessment",
    "assessment.settings": "changed the settings",
    "assessment.scope": "changed the scope, targets or importance",
    "action.tracked": "tracked an action of the plan",
    "action.changed": "changed a tracked action",
    "assessment.routing": "changed the routing",
    "invitations.imported": "added invitees",
    "comments.published": "showed participants' comments to viewers",
    "comments.unpublished": "hid participants' comments from viewers",
    "invitations.sent": "sent invitations",
    "invitations.reminded": "sent reminders",
    "invitations.scheduled": "scheduled invitations",
    "invitations.retried": "retried emails that failed",
    "invitations.removed": "removed an invitee",
    "links.open_created": "created an open link",
    "links.open_deactivated": "switched off an open link",
    "links.kept": "kept participants' links working longer",
    "answers.exported": "exported raw answers",
    "results.published": "published interim results",
    "report.downloaded": "downloaded the report",
    "evidence.uploaded": "uploaded cost data",
}


def record(
    *,
    assessment: Assessment,
    action: str,
    user=None,
    detail: str = "",
) -> AuditEvent:
    """Record an action on an assessment; `user` None means the system."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown audit action {action!r}: add it to ACTIONS.")
    name = ""
    if user is not None and user.is_authenticated:
        name = user.get_full_name() or user.get_username()
    return AuditEvent.objects.create(
        organisation_id=assessment.organisation_id,
        assessment=assessment,
        actor=user if user is not None and user.is_authenticated else None,
        actor_name=name,
        action=action,
        detail=detail[:300],
    )


def action_text(action: str) -> str:
    """Return what an action key means to owners ("closed the assessment")."""
    return ACTIONS.get(action, action)


def describe(event: AuditEvent) -> str:
    """Return an event as a sentence fragment: "Olivia Owner closed the assessment"."""
    return f"{event.actor_name or 'The system'} {action_text(event.action)}"
