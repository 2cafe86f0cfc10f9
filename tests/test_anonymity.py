"""No figure a viewer sees rests on 1 to k-1 people, alone or by subtraction.

Random assessments (personas and business units of 1 to 12 respondents, k
from 1 to 10, Don't know and Not applicable mixed in) are published, then
read as a viewer reads them: the JSON, CSV and XLSX downloads, the dashboard
and, for a few, the PDF report. `tests.anonymity_checker` solves what they
show for hidden groups.
"""

import json
from collections import defaultdict

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessment.models import Answer, Invitation, Persona, Response
from tests import anonymity_checker
from tests.factories import AL, BU, DI, FC, create_scoped_assessment, publish_snapshot
from tests.pdf_reading import pdf_text

pytestmark = pytest.mark.django_db

PERSONAS = ["finops-practitioner", "engineering", "finance", "product", "security"]
UNITS = ["Platform", "Retail", "Data", "Not given"]
CAPABILITIES = [DI, AL, FC, BU]  # two domains of two capabilities
ANSWERS = [0, 1, 2, 3, 0, 1, 2, 3, -1, -2, None]  # None: left unanswered

SETTINGS = settings(
    max_examples=20,
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
def assessments(draw) -> dict:
    """Draw the people and answers of one assessment."""
    k = draw(st.integers(1, 10))
    slugs = draw(
        st.lists(st.sampled_from(PERSONAS), min_size=1, max_size=5, unique=True)
    )
    people = [slug for slug in slugs for _ in range(draw(st.integers(1, 12)))]
    units = draw(st.lists(st.sampled_from(UNITS), min_size=1, max_size=4, unique=True))
    unit_of = draw(
        st.lists(st.sampled_from(units), min_size=len(people), max_size=len(people))
    )
    capabilities = draw(
        st.lists(st.sampled_from(CAPABILITIES), min_size=2, max_size=4, unique=True)
    )
    answers = draw(
        st.lists(
            st.lists(
                st.sampled_from(ANSWERS),
                min_size=len(capabilities),
                max_size=len(capabilities),
            ),
            min_size=len(people),
            max_size=len(people),
        )
    )
    return {
        "k": k,
        "people": list(zip(people, unit_of, answers, strict=True)),
        "capabilities": capabilities,
    }


def build(organisation, framework, spec: dict):
    """Create and publish the drawn assessment (a handful of bulk inserts)."""
    assessment = create_scoped_assessment(
        organisation=organisation,
        framework=framework,
        capability_slugs=spec["capabilities"],
        targets=dict.fromkeys(spec["capabilities"], 2),
        anonymity_threshold=spec["k"],
    )
    personas = {p.slug: p for p in Persona.objects.filter(version=framework)}
    capabilities = {
        s.capability.slug: s.capability
        for s in assessment.scoped_capabilities.select_related("capability")
    }
    unit = {"Not given": ""}
    invitations = Invitation.objects.bulk_create(
        Invitation(
            assessment=assessment,
            persona=personas[slug],
            business_unit=unit.get(bu, bu),
        )
        for slug, bu, _ in spec["people"]
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
        Answer(response=response, capability=capabilities[slug], value=value)
        for response, (_, _, values) in zip(responses, spec["people"], strict=True)
        for slug, value in zip(spec["capabilities"], values, strict=True)
        if value is not None
    )
    publish_snapshot(assessment=assessment)
    return assessment


def viewer_get(client, assessment, name: str, *args: str) -> bytes:
    """Return what the logged-in viewer downloads from one of the pages."""
    response = client.get(reverse(f"assessment:{name}", args=[assessment.pk, *args]))
    assert response.status_code == 200
    return response.content


def viewer_outputs(client, assessment) -> dict:
    return {
        "data": json.loads(viewer_get(client, assessment, "export_results", "json")),
        "csv": viewer_get(client, assessment, "export_results", "csv"),
        "xlsx": viewer_get(client, assessment, "export_results", "xlsx"),
        "html": viewer_get(client, assessment, "results").decode(),
    }


def truth_problems(spec: dict, data: dict) -> list[str]:
    """Check what only the drawn answers tell: counts and persona domain scores.

    A persona's domain score must be shown only if the persona has its own
    group in every capability of the domain it gave a scored answer to; a
    viewer cannot know where it answered, so the checker cannot.
    """
    k, problems = data["anonymity_threshold"], []
    scored = defaultdict(lambda: defaultdict(int))  # capability -> persona -> n
    for slug, _, values in spec["people"]:
        for capability, value in zip(spec["capabilities"], values, strict=True):
            if value is not None and value >= 0:
                scored[capability][slug] += 1
    for cap in data["capabilities"]:
        total = sum(scored[cap["slug"]].values())
        if cap["scored"] not in (total, None) or (cap["scored"] is None and total >= k):
            problems.append(f"{cap['name']}: {cap['scored']} scored, truly {total}")
    caps = {c["slug"]: c for c in data["capabilities"]}
    for domain in data["domains"]:
        for persona in domain["persona_scores"]:
            for slug in domain["capabilities"]:
                own = {g["persona"] for g in caps[slug]["groups"]}
                if scored[slug][persona["persona"]] and persona["persona"] not in own:
                    problems.append(
                        f"{domain['name']}: {persona['name']}'s domain score "
                        f"includes {slug}, where it is pooled"
                    )
    return problems


@SETTINGS
@given(spec=assessments())
def test_no_viewer_output_reveals_a_group_smaller_than_k(
    client, viewer, organisation, framework, spec
):
    client.force_login(viewer)
    assessment = build(organisation, framework, spec)
    out = viewer_outputs(client, assessment)
    problems = anonymity_checker.check_all(
        out["data"], csv=out["csv"], xlsx=out["xlsx"], html=out["html"]
    )
    problems += truth_problems(spec, out["data"])
    assert problems == []


@pytest.mark.real_pdf
@settings(SETTINGS, max_examples=3)
@given(spec=assessments())
def test_the_pdf_report_reveals_no_group_smaller_than_k(
    client, viewer, organisation, framework, spec
):
    client.force_login(viewer)
    assessment = build(organisation, framework, spec)
    data = json.loads(viewer_get(client, assessment, "export_results", "json"))
    text = pdf_text(viewer_get(client, assessment, "report"))
    assert anonymity_checker.check_all(data, pdf_text=text) == []


# --- The checker finds what it looks for ---------------------------------------


@pytest.fixture
def published(client, viewer, organisation, framework):
    """A published assessment read as a viewer: k=3, a pooled group."""
    spec = {
        "k": 3,
        "capabilities": [DI, AL],
        "people": [("finops-practitioner", "Platform", [2, 3])] * 4
        + [("engineering", "Retail", [1, 1])] * 3
        + [("security", "Retail", [0, 0])]
        + [("finance", "Platform", [3, 2])] * 2,
    }
    client.force_login(viewer)
    return viewer_outputs(client, build(organisation, framework, spec))


def test_the_published_example_passes(published):
    assert (
        anonymity_checker.check_all(
            published["data"],
            csv=published["csv"],
            xlsx=published["xlsx"],
            html=published["html"],
        )
        == []
    )


def test_the_checker_solves_a_score_that_includes_a_hidden_persona(published):
    data = published["data"]
    cap = data["capabilities"][0]
    # The rule this replaced: persona means averaged, small personas hidden.
    pooled = cap["groups"].pop()
    cap["score"] = (sum(g["score"] for g in cap["groups"]) + 0.0 + 0.0) / 4
    problems = anonymity_checker.check_json(data)
    assert any("not the mean of its groups" in p for p in problems)
    assert any(f"leave {pooled['respondents']} respondents over" in p for p in problems)


def test_the_checker_flags_a_small_group_a_count_and_a_leaky_domain(published):
    data = published["data"]
    data["capabilities"][0]["groups"][0]["respondents"] = 2
    data["business_units"]["groups"][0]["respondents"] -= 1
    data["domains"][0]["score"] += 0.01
    problems = anonymity_checker.check_json(data)
    assert any("has 2 respondents" in p for p in problems)
    assert any("business_units" in p for p in problems)
    assert any("not the mean of its capability scores" in p for p in problems)


def test_the_checker_flags_a_figure_another_surface_shows(published):
    data, html = published["data"], published["html"]
    # A dashboard showing security's own score where the JSON pools it.
    cap = data["capabilities"][0]
    hidden = html.replace(
        f'data-capability="{cap["slug"]}"',
        f'data-capability="{cap["slug"]}" data-leak="1"',
    )
    data["capabilities"][0]["groups"] = data["capabilities"][0]["groups"][:-1]
    assert anonymity_checker.check_dashboard(hidden, data)
    assert anonymity_checker.check_csv(published["csv"], data)
