"""Two publications of one assessment never single out fewer than k people.

The rule (`assessment.looks`): between two published snapshots, every
figure a viewer can see in both changes by 0 people or by at least k. An
interim publication that breaks it is refused; the closing snapshot leaves
out what breaks it, and the close page says what and why.
"""

import json

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from assessment import disclosure, display, looks, snapshots
from assessment.lifecycle import (
    assessment_close,
    assessment_open,
    assessment_reopen,
    assessment_update,
)
from assessment.models import Answer, Invitation, Persona, Response
from assessment.responses import response_reopen, response_submit
from tests import anonymity_checker
from tests.factories import (
    AL,
    BU,
    DI,
    FC,
    create_answered_response,
    create_scoped_assessment,
)
from tests.pdf_reading import pdf_text

pytestmark = pytest.mark.django_db
FP, EN = "finops-practitioner", "engineering"


# --- The comparison of two looks, on its own ---------------------------------


def family(*blocks) -> looks.Family:
    return looks.Family("Allocation", tuple((b, frozenset(c)) for b, c in blocks))


def test_a_group_grown_by_one_falls_short_and_by_k_holds():
    shown = family(("Finance", {"F"}), ("Engineering", {"E"}))
    before = {"F": 5, "E": 5}
    one_more = looks.short_cuts(shown, shown, before, {"F": 6, "E": 5}, before, 3)
    assert one_more == [("Finance",)]
    k_more = looks.short_cuts(shown, shown, before, {"F": 8, "E": 5}, before, 3)
    assert k_more == []


def test_a_small_persona_moving_from_pool_to_pool_is_singled_out():
    # k=3. Before: Finance (2) and Security (1) pooled, Engineering (3) alone.
    # Then three Finance people arrive (k new in all): Finance stands alone,
    # and Security is pooled with Engineering. The pool now minus
    # Engineering before is Security's one answer.
    before = family(("Engineering", {"E"}), ("Other personas", {"F", "S"}))
    after = family(("Finance", {"F"}), ("Other personas", {"E", "S"}))
    earlier = {"F": 2, "S": 1, "E": 3}
    cuts = looks.short_cuts(
        before, after, earlier, {"F": 5, "S": 1, "E": 3}, earlier, 3
    )
    assert cuts == [("Other personas",)]


def test_a_changed_answer_falls_short_though_no_group_grew():
    shown = family(("Finance", {"F"}))
    # One of five resubmitted: the count is the same, the mean may not be.
    cuts = looks.short_cuts(shown, shown, {"F": 5}, {"F": 5}, {"F": 4}, 3)
    assert cuts == [("Finance",)]
    # With k new people beside them, the change is one of at least k.
    cuts = looks.short_cuts(shown, shown, {"F": 5}, {"F": 8}, {"F": 4}, 3)
    assert cuts == []


def test_a_group_shown_for_the_first_time_is_compared_with_the_whole():
    before = family(("", {"F", "E"}))
    after = family(("Finance", {"F"}), ("Engineering", {"E"}))
    earlier = {"F": 2, "E": 3}
    # Finance grew by 1 (now 3, shown alone): the whole grew by 1 as well.
    cuts = looks.short_cuts(before, after, earlier, {"F": 3, "E": 3}, earlier, 3)
    assert cuts == [("Engineering",)]
    # Finance grew by 3, but Engineering, now shown alone, is the same three
    # people: the whole before minus Engineering now is Finance's first two.
    cuts = looks.short_cuts(before, after, earlier, {"F": 5, "E": 3}, earlier, 3)
    assert cuts == [("Engineering",)]
    cuts = looks.short_cuts(before, after, earlier, {"F": 5, "E": 6}, earlier, 3)
    assert cuts == []


# --- Publishing and closing ------------------------------------------------------


@pytest.fixture
def assessment(organisation, framework):
    """An open assessment (k=3): three practitioners, three engineers,
    published (this module's own, unlike conftest's draft)."""
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=[DI, AL],
        targets={DI: 2, AL: 2},
        anonymity_threshold=3,
    )
    assessment_open(assessment=assessment)
    for value in (1, 1, 2):
        create_answered_response(
            assessment=assessment, persona=FP, answers={DI: value, AL: 1}
        )
        create_answered_response(
            assessment=assessment, persona=EN, answers={DI: value, AL: 2}
        )
    snapshots.snapshot_publish(assessment=assessment)
    return assessment


def viewer_json(client, assessment) -> dict:
    url = reverse("assessment:export_results", args=[assessment.pk, "json"])
    return json.loads(client.get(url).content)


def test_an_interim_publication_is_refused_while_a_group_grew_by_fewer_than_k(
    client, owner, viewer, assessment
):
    client.force_login(viewer)
    first = viewer_json(client, assessment)
    # Three new responses in all, but two practitioners and one engineer.
    for persona in (FP, FP, EN):
        create_answered_response(
            assessment=assessment, persona=persona, answers={DI: 3, AL: 3}
        )
    with pytest.raises(snapshots.PublishRefused) as refused:
        snapshots.snapshot_publish(assessment=assessment)
    message = str(refused.value)
    assert "FinOps Practitioner's group for 2 capabilities" in message
    assert "Engineering's group for 2 capabilities" in message
    assert "the respondents of FinOps Practitioner" in message
    assert "changed by fewer than 3 people" in message
    assert "Publish when each of these has changed by at least 3 people" in message
    # The owner reads the same on the page.
    client.force_login(owner)
    page = client.post(reverse("assessment:publish", args=[assessment.pk]), follow=True)
    assert "Engineering&#x27;s group for 2 capabilities" in page.content.decode()
    # One more practitioner and two more engineers: each grew by three.
    for persona in (FP, EN, EN):
        create_answered_response(
            assessment=assessment, persona=persona, answers={DI: 0, AL: 0}
        )
    snapshots.snapshot_publish(assessment=assessment)
    client.force_login(viewer)
    second = viewer_json(client, assessment)
    assert second["respondents"] == 12
    assert anonymity_checker.check_looks([first, second]) == []


def test_the_close_page_says_which_figures_closing_would_leave_out(
    client, owner, assessment
):
    create_answered_response(assessment=assessment, persona=EN, answers={DI: 3, AL: 3})
    client.force_login(owner)
    page = client.get(reverse("assessment:close", args=[assessment.pk])).content
    text = " ".join(page.decode().split())
    assert "Including them leaves these figures out of the published results" in text
    assert "<strong>Allocation: no figures</strong>" in text
    assert (
        "Engineering&#x27;s group and the answer counts changed by fewer than 3 "
        "people" in text
    )
    assert "<strong>The number of respondents</strong>" in text


def test_the_close_page_warns_of_nothing_when_every_group_grew_by_k(
    client, owner, assessment
):
    for persona in (FP, FP, FP, EN, EN, EN):
        create_answered_response(
            assessment=assessment, persona=persona, answers={DI: 3, AL: 3}
        )
    client.force_login(owner)
    page = client.get(reverse("assessment:close", args=[assessment.pk])).content
    assert "close-warning" not in page.decode()
    assert "close-choice" not in page.decode()


def test_closing_after_one_response_holds_back_what_it_would_reveal(
    client, viewer, assessment
):
    client.force_login(viewer)
    first = viewer_json(client, assessment)
    create_answered_response(assessment=assessment, persona=EN, answers={DI: 3, AL: 3})
    assessment_close(assessment=assessment)
    final = viewer_json(client, assessment)
    assert final["respondents"] is None
    assert all(c["held_back"] and c["score"] is None for c in final["capabilities"])
    assert anonymity_checker.check_json(final) == []
    assert anonymity_checker.check_looks([first, final]) == []
    html = client.get(reverse("assessment:results", args=[assessment.pk])).content
    html = html.decode()
    assert "held back" in html and "number of responses held back" in html
    assert "7 submitted" not in html
    assert anonymity_checker.check_dashboard(html, final) == []
    # Nor does the list of assessments count them.
    url = reverse("assessment:list", args=[assessment.organisation.slug])
    listing = client.get(url).content.decode()
    assert "7 / 7" not in listing and "6 / 6" not in listing
    # Nor the assessment page; its owner still counts them live.
    assert disclosure.shown_participation(assessment, owner=False) is None
    owner_sees = disclosure.shown_participation(assessment, owner=True)
    assert owner_sees.total.submitted == 7


def test_closing_drops_a_breakdown_when_the_whole_grew_by_k(client, viewer, assessment):
    client.force_login(viewer)
    first = viewer_json(client, assessment)
    for persona in (FP, FP, EN):
        create_answered_response(
            assessment=assessment, persona=persona, answers={DI: 3, AL: 3}
        )
    assessment_close(assessment=assessment)
    final = viewer_json(client, assessment)
    data_ingestion = final["capabilities"][0]
    assert not data_ingestion["held_back"] and not data_ingestion["broken_down"]
    # The plain mean of everyone: 1, 1, 2, 1, 1, 2, then 3, 3, 3.
    assert data_ingestion["score"] == pytest.approx(17 / 9)
    assert final["respondents"] == 9 and final["personas"]["groups"] == []
    assert anonymity_checker.check_json(final) == []
    assert anonymity_checker.check_looks([first, final]) == []
    html = client.get(reverse("assessment:results", args=[assessment.pk])).content
    assert "not broken down at closing" in html.decode()


# --- Closing: keep the last published results, or hold back ---------------------


def figures(data: dict) -> dict:
    """A viewer's JSON without what says when and why it was published."""
    return {k: v for k, v in data.items() if k not in ("assessment", "published")}


def close(client, assessment, **choice):
    return client.post(reverse("assessment:close", args=[assessment.pk]), choice)


@pytest.fixture
def late(assessment):
    """Two engineers submit after the interim results (k=3)."""
    for value in (3, 0):
        create_answered_response(
            assessment=assessment, persona=EN, answers={DI: value, AL: value}
        )
    return assessment


def test_the_close_page_offers_to_keep_the_last_published_results(client, owner, late):
    client.force_login(owner)
    page = client.get(reverse("assessment:close", args=[late.pk])).content.decode()
    text = " ".join(page.split())
    published = display.date(snapshots.latest_snapshot(late).created_at)
    assert (
        f"Since the results published on {published}, fewer than 3 people "
        "submitted or changed answers (2 responses submitted)" in text
    )
    assert 'value="keep" id="final-keep" checked' in text
    assert "Keep the last published results as the final results for viewers" in text
    assert "Include them and hold back the figures that would reveal them" in text
    # What would be held back stays listed, under the second choice.
    assert text.index("final-include") < text.index("close-warning")


def test_the_close_page_says_when_enough_people_submitted_but_a_group_did_not(
    client, owner, assessment
):
    # Three submitted since (k=3), but Engineering changed by one person.
    for persona in (FP, FP, EN):
        create_answered_response(
            assessment=assessment, persona=persona, answers={DI: 3, AL: 3}
        )
    client.force_login(owner)
    page = client.get(reverse("assessment:close", args=[assessment.pk]))
    text = " ".join(page.content.decode().split())
    published = display.date(snapshots.latest_snapshot(assessment).created_at)
    assert (
        f"Since the results published on {published}, 3 responses were submitted, "
        "but some figures changed by fewer than 3 people." in text
    )
    assert "fewer than 3 people submitted" not in text
    assert 'value="keep" id="final-keep" checked' in text


def test_closing_with_the_last_published_results_kept(client, owner, viewer, late):
    client.force_login(viewer)
    interim = viewer_json(client, late)
    client.force_login(owner)
    assert close(client, late, final="keep").status_code == 302
    late.refresh_from_db()
    assert late.status == "closed"
    snapshot = snapshots.latest_snapshot(late)
    assert snapshot.reason == "closed" and snapshot.left_out == 2
    event = late.audit_events.get(action="assessment.closed")
    assert "2 later responses are not in them" in event.detail
    client.force_login(viewer)
    final = viewer_json(client, late)
    assert figures(final) == figures(interim)
    assert final["published"]["left_out"] == 2
    assert anonymity_checker.check_json(final) == []
    assert anonymity_checker.check_looks([interim, final]) == []
    html = client.get(reverse("assessment:results", args=[late.pk])).content.decode()
    text = " ".join(html.split())
    published = display.date(snapshot.figures_published_at)
    assert (
        f"2 responses submitted after {published} are not in these figures: fewer "
        "than 3 people, so including them would reveal their answers. Owners see "
        "them in the raw answers export." in text
    )
    assert "held back" not in text
    assert anonymity_checker.check_dashboard(html, final) == []


def test_closing_with_the_late_responses_holds_back_as_before(
    client, owner, viewer, late
):
    client.force_login(viewer)
    interim = viewer_json(client, late)
    client.force_login(owner)
    close(client, late, final="include")
    assert snapshots.latest_snapshot(late).left_out is None
    client.force_login(viewer)
    final = viewer_json(client, late)
    assert final["respondents"] is None
    assert any(c["held_back"] for c in final["capabilities"])
    assert final["published"]["left_out"] is None
    assert anonymity_checker.check_json(final) == []
    assert anonymity_checker.check_looks([interim, final]) == []
    html = client.get(reverse("assessment:results", args=[late.pk])).content.decode()
    assert "kept-results" not in html


def test_a_wrong_choice_closes_nothing(client, owner, late):
    client.force_login(owner)
    page = close(client, late, final="both")
    assert page.status_code == 200 and "Choose one of the two" in page.content.decode()
    late.refresh_from_db()
    assert late.status == "open"


def test_another_organisation_cannot_close(client, outsider, late):
    client.force_login(outsider)
    assert close(client, late, final="keep").status_code == 404
    url = reverse("assessment:close", args=[late.pk])
    assert client.get(url).status_code == 404
    late.refresh_from_db()
    assert late.status == "open"


def test_closing_again_with_k_more_includes_them(client, owner, viewer, late):
    client.force_login(viewer)
    seen = [viewer_json(client, late)]
    client.force_login(owner)
    close(client, late, final="keep")
    client.force_login(viewer)
    seen.append(viewer_json(client, late))
    late.refresh_from_db()
    assessment_reopen(assessment=late)
    # With the two late engineers, each persona has grown by three.
    for persona in (EN, FP, FP, FP):
        create_answered_response(
            assessment=late, persona=persona, answers={DI: 2, AL: 2}
        )
    client.force_login(owner)
    page = client.get(reverse("assessment:close", args=[late.pk])).content.decode()
    assert "close-choice" not in page  # nothing would be held back
    close(client, late, final="keep")
    client.force_login(viewer)
    seen.append(viewer_json(client, late))
    assert seen[-1]["respondents"] == 12
    assert seen[-1]["published"]["left_out"] is None
    assert not any(c["held_back"] for c in seen[-1]["capabilities"])
    assert anonymity_checker.check_looks(seen) == []


def test_a_resubmitted_answer_blocks_an_interim_publication(assessment):
    for _ in range(3):
        create_answered_response(
            assessment=assessment, persona=FP, answers={DI: 3, AL: 3}
        )
    engineer = assessment.responses.filter(persona__slug=EN).first()
    response_reopen(response=engineer)
    engineer.answers.filter(capability__slug=DI).update(value=Answer.Value.RUN)
    response_submit(response=engineer)
    with pytest.raises(snapshots.PublishRefused) as refused:
        snapshots.snapshot_publish(assessment=assessment)
    assert "Engineering's group" in str(refused.value)


# --- Random assessments, random publications -------------------------------------

PERSONAS = ["finops-practitioner", "engineering", "finance", "product", "security"]
UNITS = ["Platform", "Retail", "Not given"]
CAPABILITIES = [DI, AL, FC, BU]
ANSWERS = [0, 1, 2, 3, 0, 1, 2, 3, -1, -2, None]  # None: left unanswered

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@st.composite
def histories(draw) -> dict:
    """Draw an assessment and the batches of people who submit, in order."""
    k = draw(st.integers(1, 6))
    slugs = draw(
        st.lists(st.sampled_from(PERSONAS), min_size=1, max_size=4, unique=True)
    )
    capabilities = draw(
        st.lists(st.sampled_from(CAPABILITIES), min_size=1, max_size=3, unique=True)
    )
    person = st.tuples(
        st.sampled_from(slugs),
        st.sampled_from(UNITS),
        st.lists(
            st.sampled_from(ANSWERS),
            min_size=len(capabilities),
            max_size=len(capabilities),
        ),
    )
    batches = draw(
        st.lists(st.lists(person, min_size=1, max_size=6), min_size=1, max_size=5)
    )
    keep = draw(st.booleans())  # the owner's choice at closing
    return {"k": k, "capabilities": capabilities, "batches": batches, "keep": keep}


def submit(assessment, personas, capabilities, batch) -> None:
    """Submit a batch of responses at once (a few bulk inserts)."""
    invitations = Invitation.objects.bulk_create(
        Invitation(
            assessment=assessment,
            persona=personas[slug],
            business_unit="" if unit == "Not given" else unit,
        )
        for slug, unit, _ in batch
    )
    now = timezone.now()
    responses = Response.objects.bulk_create(
        Response(
            invitation=invitation,
            assessment=assessment,
            persona=invitation.persona,
            business_unit=invitation.business_unit,
            status=Response.Status.SUBMITTED,
            submitted_at=now,
            submit_count=1,
        )
        for invitation in invitations
    )
    Answer.objects.bulk_create(
        Answer(response=response, capability=capability, value=value)
        for response, (_, _, values) in zip(responses, batch, strict=True)
        for capability, value in zip(capabilities, values, strict=True)
        if value is not None
    )


@SETTINGS
@given(history=histories())
def test_no_two_looks_single_out_fewer_than_k_people(
    client, viewer, organisation, framework, history
):
    """Publish after each batch when allowed, then close (keeping the last
    published results or not); compare every two publications from the
    viewer's JSON alone (what `anonymity_checker.check_looks` compares)."""
    client.force_login(viewer)
    slugs = history["capabilities"]
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=slugs,
        targets=dict.fromkeys(slugs, 2),
        anonymity_threshold=history["k"],
    )
    assessment_open(assessment=assessment)
    personas = {p.slug: p for p in Persona.objects.filter(version=framework)}
    capabilities = {
        s.capability.slug: s.capability
        for s in assessment.scoped_capabilities.select_related("capability")
    }
    seen = []
    for batch in history["batches"]:
        submit(assessment, personas, [capabilities[s] for s in slugs], batch)
        try:
            snapshots.snapshot_publish(assessment=assessment)
        except snapshots.PublishRefused:
            continue
        seen.append(viewer_json(client, assessment))
    assessment_close(assessment=assessment, keep_published=history["keep"])
    seen.append(viewer_json(client, assessment))
    note(f"{len(seen)} looks")
    problems = anonymity_checker.check_looks(seen)
    for data in seen:
        problems += anonymity_checker.check_json(data)
    assert problems == []


def test_the_method_page_states_the_rule(client, viewer):
    client.force_login(viewer)
    page = client.get(reverse("assessment:method")).content.decode()
    assert "No working it out by comparing two publications" in page
    assert "has changed by nobody or by at least <em>k</em> people" in page
    assert "may instead keep the last published results as the final ones" in page


def test_a_lowered_threshold_waits_for_a_checked_publication(
    client, viewer, assessment
):
    published = snapshots.latest_snapshot(assessment)
    assessment_update(
        assessment=assessment,
        title=assessment.title,
        scope_label="",
        personas=list(assessment.personas.all()),
        anonymity_threshold=2,
        opens_on=None,
        closes_on=None,
    )
    # Finer groups of the same answers are not published on their own...
    assert snapshots.latest_snapshot(assessment).pk == published.pk
    client.force_login(viewer)
    assert viewer_json(client, assessment)["anonymity_threshold"] == 3
    # ...but by publishing again, which the rule checks under k=2.
    snapshots.snapshot_publish(assessment=assessment)
    assert viewer_json(client, assessment)["anonymity_threshold"] == 2


def report_text(client, assessment) -> str:
    """The PDF report's text, as the logged-in client downloads it."""
    response = client.get(reverse("assessment:report", args=[assessment.pk]))
    return pdf_text(response.content)


@pytest.mark.real_pdf
@pytest.mark.parametrize("late", [(EN,), (FP, FP, EN)], ids=["held", "merged"])
def test_the_closing_report_shows_what_the_json_shows(client, viewer, assessment, late):
    for persona in late:
        create_answered_response(
            assessment=assessment, persona=persona, answers={DI: 3, AL: 3}
        )
    assessment_close(assessment=assessment)
    client.force_login(viewer)
    data = viewer_json(client, assessment)
    text = report_text(client, assessment)
    assert anonymity_checker.check_all(data, pdf_text=text) == []
    if late == (EN,):  # everything held back; else shown without breakdown
        assert "Number of respondents held back" in text


@pytest.mark.real_pdf
def test_the_report_of_kept_results_says_so(client, viewer, late):
    assessment_close(assessment=late, keep_published=True)
    client.force_login(viewer)
    data = viewer_json(client, late)
    text = report_text(client, late)
    assert anonymity_checker.check_all(data, pdf_text=text) == []
    text = " ".join(text.split())
    assert "the FinOps team kept the results published on" in text
    assert "2 responses submitted after that are not in them" in text
