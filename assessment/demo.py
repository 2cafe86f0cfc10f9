"""The demo organisation that `make run` shows a new user."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Membership, Organisation

DEMO_ORGANISATION = "Acme Corp (demo)"
DEMO_SLUG = "acme-demo"
DEMO_USERS = {
    # username: (password, role, full name)
    "owner": ("finops-demo-owner", Membership.Role.OWNER, "Olivia Owner"),
    "viewer": ("finops-demo-viewer", Membership.Role.VIEWER, "Victor Viewer"),
}


@dataclass
class DemoLogin:
    username: str
    password: str
    role: str


@transaction.atomic
def demo_organisation_create() -> tuple[Organisation, list[DemoLogin]]:
    """Create or refresh the demo organisation with an owner and a viewer."""
    organisation, _ = Organisation.objects.update_or_create(
        slug=DEMO_SLUG, defaults={"name": DEMO_ORGANISATION}
    )
    logins = []
    User = get_user_model()
    for username, (password, role, full_name) in DEMO_USERS.items():
        first, last = full_name.split(" ", 1)
        user, _ = User.objects.get_or_create(username=username)
        user.first_name, user.last_name = first, last
        user.email = f"{username}@acme.example"
        user.set_password(password)
        user.save()
        Membership.objects.update_or_create(
            organisation=organisation, user=user, defaults={"role": role}
        )
        logins.append(DemoLogin(username, password, role))
    return organisation, logins
