import copy
import io

import pytest
from django.core.management import call_command

from assessment.catalogue import catalogue_files, load_catalogue, read_catalogue
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
