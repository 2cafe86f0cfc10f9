import copy
import io
import re

import pytest
from django.core.management import call_command

from assessment.catalogue import (
    CatalogueError,
    catalogue_files,
    load_catalogue,
    read_catalogue,
    validate_catalogue,
)
from assessment.models import (
    Capability,
    CapabilityAlias,
    Domain,
    FrameworkVersion,
    Level,
    NextStep,
    Persona,
)

EXPECTED = {
    "Understand Usage & Cost": [
        "Data Ingestion",
        "Allocation",
        "Reporting & Analytics",
        "Anomaly Management",
    ],
    "Quantify Business Value": [
        "Planning & Estimating",
        "Forecasting",
        "Budgeting",
        "KPIs & Benchmarking",
        "Unit Economics",
    ],
    "Optimize Usage & Cost": [
        "Architecting & Workload Placement",
        "Rate Optimization",
        "Usage Optimization",
        "Sustainability",
        "Licensing & SaaS",
    ],
    "Manage the FinOps Practice": [
        "FinOps Practice Operations",
        "Governance, Policy & Risk",
        "FinOps Assessment",
        "Automation, Tools, & Services",
        "FinOps Education & Enablement",
        "Invoicing & Chargeback",
        "Intersecting Disciplines",
        "Executive Strategy Alignment",
    ],
}
CORE = ["FinOps Practitioner", "Engineering", "Finance", "Product", "Procurement"]
CORE_AND_LEADERSHIP = [*CORE, "Leadership (executives)"]
ALLIED = ["ITAM", "ITFM/TBM", "ITSM/ITIL", "Security", "Sustainability"]


def catalogue_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (FrameworkVersion, Domain, Capability, Persona, NextStep)
    }


def test_it_ships_22_capabilities_in_4_domains_in_framework_order(framework):
    domains = list(framework.domains.order_by("position"))
    assert [d.name for d in domains] == list(EXPECTED)
    for domain in domains:
        names = list(domain.capabilities.order_by("position").values_list("name"))
        assert [n for (n,) in names] == EXPECTED[domain.name]
    positions = framework.capabilities.values_list("position", flat=True)
    assert sorted(positions) == list(range(1, 23))


def test_it_ships_the_six_core_and_five_allied_personas(framework):
    core = framework.personas.filter(kind=Persona.Kind.CORE)
    allied = framework.personas.filter(kind=Persona.Kind.ALLIED)
    assert sorted(core.values_list("name", flat=True)) == sorted(CORE_AND_LEADERSHIP)
    assert sorted(allied.values_list("name", flat=True)) == sorted(ALLIED)
    assert framework.personas.filter(name="Operations").exists()


@pytest.mark.parametrize("level", [Level.CRAWL, Level.WALK, Level.RUN])
def test_every_capability_describes_each_level_with_2_to_4_signs(framework, level):
    for capability in framework.capabilities.all():
        assert len(capability.description.split()) >= 40, capability.name
        assert 2 <= len(capability.signs(level)) <= 4, (capability.name, level)


def test_every_capability_has_3_to_5_next_steps_per_transition(framework):
    for capability in framework.capabilities.prefetch_related("next_steps"):
        steps = list(capability.next_steps.all())
        for from_level in (Level.NOT_STARTED, Level.CRAWL, Level.WALK):
            transition = [s for s in steps if s.from_level == from_level]
            assert 3 <= len(transition) <= 5, (capability.name, from_level)
            assert all(s.action and s.kpi and s.owner_id for s in transition)


def test_every_core_persona_is_routed_to_at_least_three_capabilities(framework):
    for persona in framework.personas.filter(kind=Persona.Kind.CORE):
        assert persona.default_capabilities.count() >= 3, persona.name


def test_the_practitioner_is_asked_about_every_capability(framework):
    practitioner = framework.personas.get(slug="finops-practitioner")
    assert practitioner.default_capabilities.count() == 22


def test_renamed_capabilities_keep_their_earlier_names(framework):
    def alias_of(name: str) -> str:
        return CapabilityAlias.objects.get(name=name).capability.name

    assert alias_of("Workload Optimization") == "Usage Optimization"
    assert alias_of("Benchmarking") == "KPIs & Benchmarking"
    assert alias_of("Cloud Policy & Governance") == "Governance, Policy & Risk"
    assert alias_of("Onboarding Workloads") == "Architecting & Workload Placement"


def test_loading_twice_changes_nothing(framework):
    before = catalogue_counts()
    edited = framework.capabilities.get(slug="allocation")
    edited.description = "Corrected in the admin."
    edited.save()

    call_command("load_catalogue", stdout=io.StringIO())

    assert catalogue_counts() == before
    edited.refresh_from_db()
    assert edited.description == "Corrected in the admin."


def test_a_later_version_is_added_beside_the_old_one(framework):
    data = copy.deepcopy(read_catalogue(catalogue_files()[0]))
    data["version"]["slug"] = "2027"
    data["version"]["name"] = "FinOps Framework 2027"
    data["domains"][0]["capabilities"][0]["name"] = "Data Ingestion and Normalisation"
    old_ids = set(framework.capabilities.values_list("pk", flat=True))

    result = load_catalogue(data)

    assert result.created
    assert FrameworkVersion.objects.count() == 2
    assert set(framework.capabilities.values_list("pk", flat=True)) == old_ids
    assert framework.capabilities.get(slug="data-ingestion").name == "Data Ingestion"
    newer = FrameworkVersion.objects.get(slug="2027")
    assert newer.capabilities.count() == 22


def test_refreshing_texts_keeps_row_identity(framework):
    capability = framework.capabilities.get(slug="forecasting")
    capability.description = "stale"
    capability.save()

    load_catalogue(read_catalogue(catalogue_files()[0]), refresh_texts=True)

    refreshed = Capability.objects.get(pk=capability.pk)
    assert refreshed.description != "stale"
    assert NextStep.objects.filter(capability=refreshed).count() >= 9


# ---------------------------------------------------------------------------
# Prerequisites, action identities and KPI targets
# ---------------------------------------------------------------------------


def shipped() -> dict:
    return copy.deepcopy(read_catalogue(catalogue_files()[0]))


def capability_data(data: dict, slug: str) -> dict:
    return next(
        c for d in data["domains"] for c in d["capabilities"] if c["slug"] == slug
    )


def test_the_shipped_catalogue_is_valid():
    validate_catalogue(shipped())


def test_a_prerequisite_cycle_is_rejected_naming_the_cycle():
    data = shipped()
    capability_data(data, "data-ingestion")["prerequisites"] = ["reporting-analytics"]
    data["prerequisites_rationale"]["data-ingestion"] = "A test edge."

    with pytest.raises(CatalogueError, match="cycle") as caught:
        validate_catalogue(data)

    message = str(caught.value)
    for slug in ("data-ingestion", "allocation", "reporting-analytics"):
        assert slug in message


def test_an_unknown_prerequisite_is_rejected():
    data = shipped()
    capability_data(data, "budgeting")["prerequisites"].append("cost-allocation")

    with pytest.raises(CatalogueError, match="budgeting.*cost-allocation"):
        validate_catalogue(data)


def test_a_prerequisite_without_a_reason_is_rejected():
    data = shipped()
    capability_data(data, "sustainability")["prerequisites"] = ["data-ingestion"]

    with pytest.raises(CatalogueError, match="sustainability.*rationale"):
        validate_catalogue(data)


def test_one_action_id_with_different_texts_is_rejected():
    data = shipped()
    first = capability_data(data, "allocation")["next_steps"]["to_walk"][0]
    other = capability_data(data, "budgeting")["next_steps"]["to_walk"][0]
    other["id"] = first["id"]

    with pytest.raises(CatalogueError, match=f"{first['id']}.*one action"):
        validate_catalogue(data)


def test_a_kpi_without_a_numeric_target_is_rejected():
    data = shipped()
    step = capability_data(data, "forecasting")["next_steps"]["to_run"][0]
    step["kpi"] = "Forecasts refreshed automatically, as often as possible"

    with pytest.raises(CatalogueError, match="no numeric target"):
        validate_catalogue(data)


def test_a_kpi_written_with_ascii_comparison_is_rejected():
    data = shipped()
    step = capability_data(data, "forecasting")["next_steps"]["to_run"][0]
    step["kpi"] = "Forecast spend refreshed weekly: >=90%"

    with pytest.raises(CatalogueError, match="≥"):
        validate_catalogue(data)


def test_an_invalid_file_writes_nothing(framework):
    data = shipped()
    data["version"]["slug"] = "2027"
    capability_data(data, "budgeting")["prerequisites"].append("nowhere")

    with pytest.raises(CatalogueError):
        load_catalogue(data)

    assert not FrameworkVersion.objects.filter(slug="2027").exists()


REQUIRED_EDGES = [
    ("allocation", "data-ingestion"),
    ("reporting-analytics", "allocation"),
    ("unit-economics", "allocation"),
    ("invoicing-chargeback", "allocation"),
    ("budgeting", "allocation"),
    ("forecasting", "allocation"),
]


@pytest.mark.parametrize(("capability", "prerequisite"), REQUIRED_EDGES)
def test_the_shipped_graph_puts_foundations_first(framework, capability, prerequisite):
    item = framework.capabilities.get(slug=capability)
    assert prerequisite in item.prerequisites.values_list("slug", flat=True)
    needed = framework.capabilities.get(slug=prerequisite)
    assert item in needed.dependents.all()


def test_every_prerequisite_is_explained_in_the_file():
    data = shipped()
    explained = set(data["prerequisites_rationale"])
    with_needs = {
        c["slug"]
        for d in data["domains"]
        for c in d["capabilities"]
        if c["prerequisites"]
    }
    assert explained == with_needs


def test_every_next_step_kpi_has_a_numeric_target(framework):
    for step in NextStep.objects.filter(capability__version=framework):
        assert re.search(r"\d", step.kpi), (step.action_key, step.kpi)
        assert ">=" not in step.kpi and "<=" not in step.kpi, step.kpi


def test_one_action_id_means_the_same_action_everywhere(framework):
    steps = NextStep.objects.filter(capability__version=framework)
    content: dict[str, set] = {}
    for step in steps:
        content.setdefault(step.action_key, set()).add(
            (step.action, step.owner_id, step.kpi, step.first_round_only)
        )
    assert all(step.action_key for step in steps)
    assert {key: len(texts) for key, texts in content.items() if len(texts) > 1} == {}


def test_a_first_self_assessment_is_marked_first_round_only(framework):
    first = NextStep.objects.filter(
        capability__version=framework, first_round_only=True
    )
    assert first.filter(capability__slug="finops-assessment").exists()
    assert all("first" in step.action.lower() for step in first)


def test_refreshing_sets_prerequisites_and_step_identities(framework):
    allocation = framework.capabilities.get(slug="allocation")
    allocation.prerequisites.clear()
    step = allocation.next_steps.first()
    NextStep.objects.filter(pk=step.pk).update(action_key="stale", kpi="stale")

    load_catalogue(shipped(), refresh_texts=True)

    assert list(allocation.prerequisites.values_list("slug", flat=True)) == [
        "data-ingestion"
    ]
    step.refresh_from_db()
    assert step.action_key != "stale" and step.kpi != "stale"


def test_a_version_loaded_before_prerequisites_and_ids_gains_them(framework):
    Capability.prerequisites.through.objects.filter(
        from_capability__version=framework
    ).delete()
    NextStep.objects.filter(capability__version=framework).update(action_key="")
    before = catalogue_counts()

    load_catalogue(shipped())

    assert catalogue_counts() == before
    forecasting = framework.capabilities.get(slug="forecasting")
    assert forecasting.prerequisites.filter(slug="allocation").exists()
    assert not NextStep.objects.filter(action_key="").exists()


# ---------------------------------------------------------------------------
# Shipped content
# ---------------------------------------------------------------------------

# Words by which an action can name its owner's own persona.
OWNER_WORDS = {
    "finops-practitioner": ["finops practitioner", "finops lead", "finops team"],
    "engineering": ["engineering", "engineers"],
    "operations": ["operations"],
    "finance": ["finance"],
    "product": [
        "product manager",
        "product managers",
        "product owners",
        "product leads",
    ],
    "procurement": ["procurement"],
    "leadership": ["leadership", "executives", "business unit leaders"],
    "itam": ["it asset management", "asset management team", "itam"],
    "itfm-tbm": ["it finance", "itfm", "tbm team"],
    "itsm-itil": ["itsm team", "service management team"],
    "security": ["security", "security team"],
    "sustainability": ["sustainability team"],
}
WITH_OWNER = (
    r"\b((agree|review|confirm)\w* (\w+ )?|sign-off |reported (back )?|at )?"
    r"(with|to|from|at|ask|have) (the |each )?({words})\b"
)


def test_no_owner_is_told_to_work_with_themselves(framework):
    for step in NextStep.objects.filter(capability__version=framework).select_related(
        "owner"
    ):
        words = "|".join(map(re.escape, OWNER_WORDS[step.owner.slug]))
        found = re.search(WITH_OWNER.format(words=words), step.action.lower())
        assert found is None, (step.owner.slug, step.action)


def test_the_owner_check_catches_the_old_wording():
    action = "agree with finance the cost center hierarchy."
    words = "|".join(OWNER_WORDS["finance"])
    assert re.search(WITH_OWNER.format(words=words), action)


@pytest.mark.parametrize(
    "action_key",
    [
        "agree-shared-cost-rules",
        "set-budget-alerts-largest-accounts",
        "write-finops-charter",
        "send-monthly-showback",
    ],
)
def test_repeated_actions_share_one_identity(framework, action_key):
    steps = NextStep.objects.filter(
        capability__version=framework, action_key=action_key
    )
    assert steps.values("capability").distinct().count() >= 2
    assert steps.values("action", "owner", "kpi").distinct().count() == 1


def test_shared_cost_rules_serve_allocation_and_chargeback(framework):
    slugs = NextStep.objects.filter(
        capability__version=framework, action_key="agree-shared-cost-rules"
    ).values_list("capability__slug", flat=True)
    assert set(slugs) == {"allocation", "invoicing-chargeback"}


WIDENED = {
    "finops-education-enablement": [
        "finops-practitioner",
        "engineering",
        "operations",
        "finance",
        "product",
        "procurement",
        "leadership",
        "itam",
        "itfm-tbm",
        "itsm-itil",
        "security",
        "sustainability",
    ],
    "reporting-analytics": ["engineering", "finance", "product", "leadership"],
    "governance-policy-risk": ["engineering", "finance", "procurement"],
    "licensing-saas": ["finance"],
    "unit-economics": ["leadership", "engineering"],
    "data-ingestion": ["engineering", "finance"],
}


@pytest.mark.parametrize(("capability", "personas"), WIDENED.items())
def test_routing_reaches_the_people_who_can_judge(framework, capability, personas):
    routed = framework.capabilities.get(slug=capability).default_personas
    assert set(personas) <= set(routed.values_list("slug", flat=True))


@pytest.mark.parametrize(
    ("name", "capability"),
    [
        ("Cost Allocation", "Allocation"),
        ("Managing Shared Cost", "Allocation"),
        ("Managing Anomalies", "Anomaly Management"),
        ("Data Analysis and Showback", "Reporting & Analytics"),
        ("Measuring Unit Costs", "Unit Economics"),
        ("Resource Utilization & Efficiency", "Usage Optimization"),
        ("Managing Commitment Based Discounts", "Rate Optimization"),
        ("Data Ingestion & Normalization", "Data Ingestion"),
        ("Budget Management", "Budgeting"),
        ("Chargeback & Finance Integration", "Invoicing & Chargeback"),
    ],
)
def test_2022_names_lead_to_todays_capability(framework, name, capability):
    alias = CapabilityAlias.objects.get(capability__version=framework, name=name)
    assert alias.capability.name == capability
    assert "2022" in alias.versions


def test_assessment_levels_follow_the_foundations_cadence(framework):
    assessment = framework.capabilities.get(slug="finops-assessment")
    assert "once a year" in assessment.signs(Level.CRAWL)[0]
    walk = " ".join(assessment.signs(Level.WALK))
    assert "every six months or every quarter" in walk
    assert "at least yearly" not in walk
    assert "continuous" in assessment.signs(Level.RUN)[0]


def test_signs_stay_on_their_own_capability(framework):
    def signs(slug: str) -> str:
        item = framework.capabilities.get(slug=slug)
        return " ".join(
            sign.lower() for level in Level if level for sign in item.signs(level)
        )

    assert "unit" not in signs("reporting-analytics")
    assert "forecast" not in signs("executive-strategy-alignment")
    assert "decision" in signs("executive-strategy-alignment")
    assert "estimate-to-actual" not in signs("architecting-workload-placement")
    assert "estimated versus actual" not in signs("architecting-workload-placement")
