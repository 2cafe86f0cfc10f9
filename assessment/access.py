"""Who may see or change what: one helper per object type.

Another organisation's object is a 404 (its existence is not revealed); a
viewer asking to change something is a 403.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest

from .models import Assessment, Membership, Organisation


def memberships_of(user) -> QuerySet[Membership]:
    """Return the user's memberships with their organisations (one query)."""
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("organisation")


def get_organisation_for_user(
    request: HttpRequest, slug: str, *, write: bool = False
) -> tuple[Organisation, Membership]:
    """Return an organisation the user belongs to, and their membership."""
    membership = memberships_of(request.user).filter(organisation__slug=slug).first()
    if membership is None:
        raise Http404("No such organisation.")
    if write and membership.role != Membership.Role.OWNER:
        raise PermissionDenied("Only owners of the organisation can change this.")
    return membership.organisation, membership


def get_assessment_for_user(
    request: HttpRequest, pk: int, *, write: bool = False
) -> tuple[Assessment, str]:
    """Return an assessment of one of the user's organisations, and the role.

    One query: the user's role is read in a subquery of the assessment's.
    """
    role = Membership.objects.filter(
        organisation=OuterRef("organisation"), user_id=request.user.pk
    ).values("role")[:1]
    assessment = (
        Assessment.objects.select_related("organisation", "framework")
        .annotate(user_role=Subquery(role))
        .filter(pk=pk, user_role__isnull=False)
        .first()
    )
    if assessment is None:
        raise Http404("No such assessment.")
    if write and assessment.user_role != Membership.Role.OWNER:
        raise PermissionDenied("Only owners of the organisation can change this.")
    return assessment, assessment.user_role
