"""The audit trail records who did what to an assessment."""

import pytest

from assessment import audit
from assessment.models import AuditEvent


def test_it_records_the_actor_by_name_and_describes_the_event(assessment, owner):
    owner.first_name, owner.last_name = "Olivia", "Owner"
    event = audit.record(assessment=assessment, action="assessment.closed", user=owner)
    assert event.organisation_id == assessment.organisation_id
    assert audit.describe(event) == "Olivia Owner closed the assessment"


def test_an_action_by_the_system_has_no_actor(assessment):
    event = audit.record(assessment=assessment, action="invitations.sent")
    assert event.actor is None
    assert audit.describe(event) == "The system sent invitations"


def test_an_unknown_action_is_refused(assessment):
    with pytest.raises(ValueError, match="Unknown audit action"):
        audit.record(assessment=assessment, action="assessment.deleted")
    assert not AuditEvent.objects.exists()
