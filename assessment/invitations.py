"""Inviting participants: personal links, open links and their emails."""

from .models import Assessment, Invitation, Persona
from .tokens import new_token


def invitation_create(
    *,
    assessment: Assessment,
    persona: Persona,
    email: str = "",
    business_unit: str = "",
    open_link=None,
) -> tuple[Invitation, str]:
    """Create an invitation and return it with its raw token (shown once)."""
    token, token_hash = new_token()
    invitation = Invitation.objects.create(
        assessment=assessment,
        persona=persona,
        email=email,
        business_unit=business_unit,
        open_link=open_link,
        token_hash=token_hash,
    )
    return invitation, token
