"""A stored report stands for one version of what it reads, and only that."""

import pytest
from django.contrib.auth import get_user_model
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from assessment.models import (
    Answer,
    Domain,
    NextStep,
    Persona,
    PlanAction,
    ReportFile,
)
from assessment.report_content import ReportOptions
from assessment.reports import report_key, report_version
from tests.factories import create_hand_example, publish_snapshot


@pytest.fixture
def assessment(organisation, framework):
    return create_hand_example(organisation=organisation, framework=framework)


def key(assessment, options: ReportOptions | None = None) -> str:
    assessment.refresh_from_db()
    return report_key(report_version(assessment, options or ReportOptions()))


@pytest.fixture
def admin_client(db):
    """A browser of its own, logged in to the admin."""
    admin = get_user_model().objects.create_superuser("root", password="pw")
    client = Client()
    client.force_login(admin)
    return client


def admin_rename(client, obj, name: str) -> None:
    """Change a catalogue row's name through its admin page."""
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    data = {k: v for k, v in model_to_dict(obj).items() if v is not None}
    data["name"] = name
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    obj.refresh_from_db()
    assert obj.name == name


def test_unchanged_data_keeps_its_key(assessment):
    assert key(assessment) == key(assessment)


def test_each_option_has_its_own_key(assessment):
    assert key(assessment) != key(assessment, ReportOptions(paper="letter"))
    assert key(assessment) != key(assessment, ReportOptions(include_comments=True))


@pytest.mark.parametrize("model", [Persona, Domain])
def test_renaming_in_the_admin_changes_the_key(
    admin_client, assessment, framework, model
):
    before = key(assessment)
    row = model.objects.filter(version=framework).first()
    # Same length: a digest of text lengths would miss it.
    admin_rename(admin_client, row, row.name[::-1])
    assert key(assessment) != before


def test_a_removed_next_step_changes_the_key(assessment, framework):
    before = key(assessment)
    NextStep.objects.filter(capability__version=framework).last().delete()
    assert key(assessment) != before


def test_a_new_publication_changes_the_key(assessment):
    before = key(assessment)
    publish_snapshot(assessment=assessment)
    assert key(assessment) != before


def test_a_comment_edited_to_the_same_length_shows_once_published(
    client, owner, assessment
):
    assessment.comments_published = True
    assessment.save()
    with_comments = ReportOptions(include_comments=True)
    before = key(assessment, with_comments)
    answer = Answer.objects.exclude(comment="").get(response__assessment=assessment)
    answer.comment = answer.comment.upper()
    answer.save()
    # Viewers (and the report) see published results: not changed yet...
    assert key(assessment, with_comments) == before
    publish_snapshot(assessment=assessment)
    # ...and changed once published again.
    assert key(assessment, with_comments) != before


def test_publishing_comments_changes_the_key(assessment):
    before = key(assessment, ReportOptions(include_comments=True))
    assessment.comments_published = True
    assessment.save()
    assert key(assessment, ReportOptions(include_comments=True)) != before


def test_the_previous_rounds_publication_changes_the_key(organisation, framework):
    earlier = create_hand_example(organisation=organisation, framework=framework)
    current = create_hand_example(organisation=organisation, framework=framework)
    current.previous = earlier
    current.save()
    before = key(current)
    publish_snapshot(assessment=earlier)
    assert key(current) != before


def test_a_renamed_persona_is_downloaded_anew(
    client, admin_client, owner, assessment, framework
):
    url = reverse("assessment:report", args=[assessment.pk])
    client.force_login(owner)
    client.get(url)
    persona = Persona.objects.get(version=framework, slug="engineering")
    admin_rename(admin_client, persona, "Engineers!!")
    client.get(url)
    assert ReportFile.objects.filter(status=ReportFile.Status.READY).count() == 2
    client.get(url)
    assert ReportFile.objects.count() == 2  # unchanged data: no new render


def test_a_changed_importance_changes_the_key(assessment):
    before = key(assessment)
    scoped = assessment.scoped_capabilities.first()
    scoped.importance = "high" if scoped.importance != "high" else "low"
    scoped.save()
    assert key(assessment) != before


def test_tracking_an_action_and_moving_it_on_change_the_key(client, owner, assessment):
    before = key(assessment)
    action = PlanAction.objects.create(
        assessment=assessment, action_key="charter", title="Write the charter"
    )
    tracked = key(assessment)
    assert tracked != before
    client.force_login(owner)
    url = reverse("assessment:action_edit", args=[assessment.pk, action.pk])
    response = client.post(url, {"title": action.title, "status": "done"})
    assert response.status_code == 302
    assert key(assessment) != tracked
