"""Tracked actions: owners track plan actions, edit them, everyone exports them.

Viewers see them, owners change them, other organisations get a 404; the
next round shows them beside each capability's change.
"""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from assessment import advice
from assessment.disclosure import shown_results
from assessment.models import Capability, PlanAction
from tests.factories import create_invitation


@pytest.fixture
def plan(hand_example):
    shown = shown_results(hand_example, owner=False)
    found = advice.assessment_advice(shown.results, shown.participation)
    assert found.plan
    return found


def track(client, assessment, key):
    url = reverse("assessment:action_track", args=[assessment.pk])
    return client.post(url, {"action_key": key})


def test_an_owner_tracks_a_plan_action_once(client, owner, hand_example, plan):
    client.force_login(owner)
    item = plan.plan[-1]
    response = track(client, hand_example, item.key)
    action = PlanAction.objects.get(assessment=hand_example)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "assessment:action_edit", args=[hand_example.pk, action.pk]
    )
    assert (action.title, action.kpi, action.status) == (
        item.action,
        item.kpi,
        PlanAction.Status.PLANNED,
    )
    assert set(action.capabilities.all()) == set(item.capabilities)
    # Twice: still one, and the page says so.
    response = track(client, hand_example, item.key)
    assert PlanAction.objects.filter(assessment=hand_example).count() == 1
    page = client.get(reverse("assessment:actions", args=[hand_example.pk]))
    html = page.content.decode()
    assert "already tracked" in html
    assert "Planned" in html and "Download CSV" in html


def test_an_unknown_action_is_refused_with_a_message(client, owner, hand_example):
    client.force_login(owner)
    response = track(client, hand_example, "no-such-action")
    assert response.status_code == 302
    assert not PlanAction.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert "not in the current plan" in page


def test_an_owner_edits_an_action_with_clear_validation(
    client, owner, hand_example, plan
):
    client.force_login(owner)
    track(client, hand_example, plan.plan[0].key)
    action = PlanAction.objects.get()
    url = reverse("assessment:action_edit", args=[hand_example.pk, action.pk])
    data = {
        "title": action.title,
        "owner_name": "someone@nowhere.example",
        "due_on": "2001-01-01",
        "status": "in_progress",
    }
    html = client.post(url, data).content.decode()
    assert "No invitee of this assessment has this email address" in html
    assert "Choose a date on or after" in html
    create_invitation(assessment=hand_example, email="lead@acme.example")
    data |= {"owner_name": "lead@acme.example", "due_on": "2099-03-31"}
    response = client.post(url, data)
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.owner_name == "lead@acme.example"
    assert action.due_on == datetime.date(2099, 3, 31)
    assert action.status == PlanAction.Status.IN_PROGRESS
    data |= {"owner_name": "Platform team", "status": "bogus"}
    assert (
        "is not one of the available choices" in client.post(url, data).content.decode()
    )


def test_viewers_see_and_export_actions_but_never_change_them(
    client, owner, viewer, hand_example, plan
):
    client.force_login(owner)
    track(client, hand_example, plan.plan[0].key)
    action = PlanAction.objects.get()
    client.force_login(viewer)
    html = client.get(reverse("assessment:actions", args=[hand_example.pk]))
    assert action.title in html.content.decode()
    assert "action_key" not in html.content.decode()  # no Track buttons
    assert track(client, hand_example, plan.plan[1].key).status_code == 403
    edit = reverse("assessment:action_edit", args=[hand_example.pk, action.pk])
    assert client.get(edit).status_code == 403
    assert client.post(edit, {"title": "x", "status": "done"}).status_code == 403
    response = client.get(
        reverse("assessment:action_export", args=[hand_example.pk, "csv"])
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["Action", "Capabilities", "Owner", "Due", "Status"]
    assert rows[1][0] == action.title and rows[1][4] == "Planned"
    assert rows[1][1] == "; ".join(c.name for c in action.capabilities.all())


def test_other_organisations_get_a_404(client, outsider, owner, hand_example, plan):
    client.force_login(owner)
    track(client, hand_example, plan.plan[0].key)
    action = PlanAction.objects.get()
    client.force_login(outsider)
    urls = [
        reverse("assessment:actions", args=[hand_example.pk]),
        reverse("assessment:action_edit", args=[hand_example.pk, action.pk]),
        reverse("assessment:action_export", args=[hand_example.pk, "csv"]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404
    assert track(client, hand_example, plan.plan[1].key).status_code == 404


def test_an_action_of_another_assessment_is_a_404(
    client, owner, hand_example, assessment, plan
):
    client.force_login(owner)
    track(client, hand_example, plan.plan[0].key)
    action = PlanAction.objects.get()
    url = reverse("assessment:action_edit", args=[assessment.pk, action.pk])
    assert client.get(url).status_code == 404


def test_a_formula_in_an_action_is_neutralised_in_the_csv(client, owner, hand_example):
    action = PlanAction.objects.create(
        assessment=hand_example, title='=HYPERLINK("http://x")'
    )
    action.capabilities.add(Capability.objects.filter(slug="allocation").first())
    client.force_login(owner)
    response = client.get(
        reverse("assessment:action_export", args=[hand_example.pk, "csv"])
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][0].startswith("'=")


def test_the_next_rounds_dashboard_shows_last_rounds_actions(
    client, viewer, organisation
):
    from assessment.demo import demo_rounds_create

    rounds = demo_rounds_create(organisation=organisation, respondents=40, seed=7)
    PlanAction.objects.all().delete()  # the demo's own, for exact counts
    allocation = Capability.objects.get(
        version=rounds.previous.framework, slug="allocation"
    )
    for status in ("done", "done", "in_progress"):
        action = PlanAction.objects.create(
            assessment=rounds.previous, title=f"Action {status}", status=status
        )
        action.capabilities.add(allocation)
    client.force_login(viewer)
    html = client.get(
        reverse("assessment:results", args=[rounds.current.pk])
    ).content.decode()
    row = html[html.index('id="cap-allocation"') :].split("</tr>")[0]
    assert "2 of 3 actions done" in row
    assert "Decisions asked of leadership" in html
    page = client.get(reverse("assessment:actions", args=[rounds.current.pk]))
    assert "Last round's actions" in page.content.decode()


def test_an_owner_sets_importance_with_the_targets(client, owner, assessment):
    client.force_login(owner)
    url = reverse("assessment:scope", args=[assessment.pk])
    assert "Importance of Allocation" in client.get(url).content.decode()
    data = {}
    for item in assessment.scoped_capabilities.select_related("capability"):
        data[f"in_{item.capability_id}"] = "on"
        data[f"target_{item.capability_id}"] = str(item.target_level)
    allocation = assessment.scoped_capabilities.get(capability__slug="allocation")
    data[f"importance_{allocation.capability_id}"] = "high"
    assert client.post(url, data).status_code == 302
    allocation.refresh_from_db()
    assert allocation.importance == "high"
    # A form posted without importance keeps the one set.
    del data[f"importance_{allocation.capability_id}"]
    client.post(url, data)
    allocation.refresh_from_db()
    assert allocation.importance == "high"
    data[f"importance_{allocation.capability_id}"] = "urgent"
    html = client.post(url, data).content.decode()
    assert "is not one of the available choices" in html
