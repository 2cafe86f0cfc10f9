"""The permission matrix: owner / viewer / other organisation / anonymous.

Every view that takes an object id has a row in ROWS. To cover a new view, add
a row: the URL name, how to build its arguments from the `world` objects, the
method, whether it changes anything (viewers get a 403) and what an owner
gets. A member of another organisation always gets a 404 (existence is not
revealed) and an anonymous visitor is sent to the login page.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core import mail
from django.forms.models import model_to_dict
from django.urls import reverse

from assessment.invitations import open_link_create
from assessment.models import (
    Assessment,
    FrameworkVersion,
    Invitation,
    Membership,
    OpenLink,
    Organisation,
    ResultsSnapshot,
    ScopedCapability,
)
from tests.factories import (
    AL,
    DI,
    create_invitation,
    create_member,
    create_scoped_assessment,
    kept_for_module,
    publish_snapshot,
    set_assessment_status,
)


@dataclass(frozen=True)
class Row:
    url_name: str
    args: Callable[[dict], list]
    method: str = "get"
    write: bool = False
    owner_status: int = 200
    data: Callable[[dict], dict] | None = None
    # Reads only owners may make (raw answers, comments): viewers get a 403.
    owners_only: bool = False
    label: str = ""


def _a(w: dict) -> list:
    return [w["assessment"].pk]


def _inv(w: dict) -> list:
    return [w["assessment"].pk, w["invitation"].pk]


def _link(w: dict) -> list:
    return [w["assessment"].pk, w["open_link"].pk]


def _fmt(fmt: str) -> Callable[[dict], list]:
    return lambda w: [w["assessment"].pk, fmt]


ROWS = [
    Row("assessment:list", lambda w: [w["assessment"].organisation.slug]),
    Row("assessment:create", lambda w: [w["assessment"].organisation.slug], write=True),
    Row("assessment:detail", _a),
    Row("assessment:edit", _a, write=True),
    Row("assessment:edit", _a, "post", write=True),
    Row("assessment:scope", _a, write=True),
    Row("assessment:scope", _a, "post", write=True),
    Row("assessment:routing", _a, write=True),
    # An empty grid asks nobody about anything: refused, shown again.
    Row("assessment:routing", _a, "post", write=True),
    Row("assessment:open", _a, "post", write=True, owner_status=302),
    Row("assessment:close", _a, write=True),
    Row("assessment:close", _a, "post", write=True, owner_status=302),
    Row("assessment:reopen", _a, write=True),
    Row("assessment:reopen", _a, "post", write=True),
    Row("assessment:duplicate", _a, "post", write=True, owner_status=302),
    Row("assessment:keep_links", _a, "post", write=True, owner_status=302),
    # The activity log is for owners only, though it changes nothing.
    Row("assessment:audit", _a, write=True),
    Row("assessment:invitations", _a, write=True),
    Row(
        "assessment:invitations",
        _a,
        "post",
        write=True,
        owner_status=302,
        data=lambda w: {"lines": "new@x.io, finance"},
    ),
    Row("assessment:invitations_send", _a, "post", write=True, owner_status=302),
    Row("assessment:remind", _a, "post", write=True, owner_status=302),
    Row("assessment:invitation_resend", _inv, "post", write=True, owner_status=302),
    Row("assessment:sending", _a, write=True),
    Row("assessment:emails_retry", _a, "post", write=True, owner_status=302),
    Row("assessment:invitation_delete", _inv, "post", write=True, owner_status=302),
    Row(
        "assessment:open_link_create",
        _a,
        "post",
        write=True,
        owner_status=302,
        data=lambda w: {"persona": w["invitation"].persona_id},
    ),
    Row("assessment:open_link_deactivate", _link, "post", write=True, owner_status=302),
    # Results, exports and the report (issues 5 and 6).
    Row("assessment:results", _a),
    Row("assessment:results", _a, data=lambda w: {"live": "1"}, label="live"),
    Row("assessment:publish", _a, "post", write=True, owner_status=302),
    *(
        Row("assessment:export_results", _fmt(fmt), label=fmt)
        for fmt in ("csv", "xlsx", "json")
    ),
    *(
        Row("assessment:export_answers", _fmt(fmt), owners_only=True, label=fmt)
        for fmt in ("csv", "xlsx")
    ),
    Row("assessment:report", _a),
    Row(
        "assessment:report",
        _a,
        owners_only=True,
        data=lambda w: {"comments": "on"},
        label="comments",
    ),
]
IDS = [
    "-".join(filter(None, [r.method, r.url_name.split(":")[1], r.label])) for r in ROWS
]


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker) -> dict:
    """The people and the world of every test here, built once for the module."""

    def build() -> dict:
        framework = FrameworkVersion.objects.get(slug="2026")
        organisation = Organisation.objects.create(name="Acme", slug="acme")
        other = Organisation.objects.create(name="Globex", slug="globex")
        owner, viewer = Membership.Role.OWNER, Membership.Role.VIEWER
        people = {
            "owner": create_member(
                organisation=organisation, username="olivia", role=owner
            ),
            "viewer": create_member(
                organisation=organisation, username="victor", role=viewer
            ),
            "outsider": create_member(organisation=other, username="oscar", role=owner),
        }
        # Two capabilities are enough for every page and cheaper to show.
        assessment = create_scoped_assessment(
            organisation=organisation,
            framework=framework,
            capability_slugs=[DI, AL],
            targets={DI: 2, AL: 3},
        )
        set_assessment_status(assessment=assessment, status=Assessment.Status.OPEN)
        invitation, _ = create_invitation(
            assessment=assessment, email="ana@x.io", persona="finance"
        )
        link, _ = open_link_create(assessment=assessment, persona=invitation.persona)
        publish_snapshot(assessment=assessment)
        found = {"assessment": assessment, "invitation": invitation, "open_link": link}
        return {name: (type(obj), obj.pk) for name, obj in {**people, **found}.items()}

    yield from kept_for_module(django_db_blocker, build)


def _fresh(built: dict, name: str):
    model, pk = built[name]
    return model.objects.get(pk=pk)


@pytest.fixture
def owner(db, built):
    return _fresh(built, "owner")


@pytest.fixture
def viewer(db, built):
    return _fresh(built, "viewer")


@pytest.fixture
def outsider(db, built):
    return _fresh(built, "outsider")


@pytest.fixture
def world(db, built) -> dict:
    """An open assessment of Acme with an invitee, an open link and published
    results; what a test changes is undone before the next one."""
    return {
        name: _fresh(built, name) for name in ("assessment", "invitation", "open_link")
    }


def _request(client, row: Row, world: dict):
    url = reverse(row.url_name, args=row.args(world))
    data = row.data(world) if row.data else {}
    return getattr(client, row.method)(url, data)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_an_owner_may_see_and_change(client, owner, world, row):
    client.force_login(owner)
    assert _request(client, row, world).status_code == row.owner_status


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_a_viewer_may_see_but_not_change(client, viewer, world, row):
    client.force_login(viewer)
    expected = 403 if row.write or row.owners_only else 200
    assert _request(client, row, world).status_code == expected


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_another_organisations_member_gets_not_found(client, outsider, world, row):
    client.force_login(outsider)
    assert _request(client, row, world).status_code == 404


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_an_anonymous_visitor_is_sent_to_log_in(client, world, row):
    response = _request(client, row, world)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def _snapshot() -> list:
    """Return every row an owner's action could change."""
    return [
        [model_to_dict(obj) for obj in model.objects.order_by("pk")]
        for model in (
            Assessment,
            ScopedCapability,
            Invitation,
            OpenLink,
            ResultsSnapshot,
        )
    ] + [list(ScopedCapability.personas.through.objects.values_list())]


def test_a_viewer_cannot_change_anything(client, viewer, world):
    client.force_login(viewer)
    before = _snapshot()
    for row in ROWS:
        if row.write:
            _request(client, row, world)
    assert _snapshot() == before
    assert mail.outbox == []
