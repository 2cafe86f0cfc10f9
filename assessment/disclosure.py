"""What each audience may see of an assessment's results: the one place.

The dashboard, the JSON/CSV/XLSX aggregates, the PDF report, the round
comparison and the assessment page all call `shown_results` (or
`shown_participation`); no template decides on its own what to hide.

The rules (k is the anonymity threshold; see also the "How scores are
computed" page):

- Viewers see the latest published snapshot (`snapshots`), never live data.
  Owners see the same by default and may preview live figures, with the
  same suppression.
- Every figure shown is the mean or count of at least k respondents, or of
  none, alone or by subtraction: groups of fewer than k are pooled
  (`scoring.pool_groups`); a capability with fewer than k scored answers
  has no score, and its answer counts and rates are withheld too
  ("fewer than k answers"), as are those of any row answered by fewer
  than k people.
- A persona's domain score is shown only when the persona is shown on its
  own for every capability of the domain it gave a scored answer to.
- Participation: owners see it live, per persona; viewers see the published
  totals and the pooled respondents per persona and business unit.
- The number of respondents is itself withheld below k.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace

from django.db.models import OuterRef, QuerySet, Subquery

from .models import Assessment, ResultsSnapshot
from .participation import (
    Participation,
    ParticipationSummary,
    participation_summary,
    total_of_counts,
    with_participation,
)
from .scoring import (
    AssessmentResults,
    CapabilityResult,
    Comparison,
    DomainResult,
    HeldBack,
    PersonaDomainScore,
    assessment_results,
    mean,
    round_comparison,
)
from .snapshots import latest_snapshot, snapshot_results


@dataclass(frozen=True)
class ShownResults:
    """What one audience sees of an assessment's results, ready to render.

    `results` is None when nothing is published yet (and not previewing);
    `snapshot` is the published snapshot shown, None for a live preview.
    """

    assessment: Assessment
    results: AssessmentResults | None
    snapshot: ResultsSnapshot | None
    live: bool
    participation: ParticipationSummary | None
    comparison: Comparison | None

    @property
    def published(self) -> bool:
        return self.snapshot is not None and not self.live


def shown_results(
    assessment: Assessment,
    *,
    owner: bool,
    live: bool = False,
    comments: bool = False,
    latest: ResultsSnapshot | None | bool = True,
) -> ShownResults:
    """Return the results an owner or a viewer sees (and may download).

    `live` (owners only) previews live figures instead of the published
    ones. `comments` asks for participants' comments: viewers get them
    only once the owner has published them. `latest` may pass the latest
    snapshot already fetched (or None), to save its query.
    """
    if live and not owner:
        raise ValueError("Only owners preview live results.")
    snapshot = latest_snapshot(assessment) if latest is True else latest
    comments = comments and (owner or assessment.comments_published)
    results = None
    if live:
        results = assessment_results(assessment, include_comments=comments)
    elif snapshot is not None:
        results = snapshot_results(snapshot, include_comments=comments)
    results = disclose(results) if results is not None else None
    return ShownResults(
        assessment=assessment,
        results=results,
        snapshot=snapshot,
        live=live,
        participation=shown_participation(
            assessment, owner=owner, snapshot=None if live else snapshot
        ),
        comparison=_comparison(results),
    )


def shown_participation(
    assessment: Assessment,
    *,
    owner: bool,
    snapshot: ResultsSnapshot | None | bool = True,
) -> ParticipationSummary | None:
    """Return participation: live and per persona for owners; for viewers,
    the published totals only (None before any publication, or while
    fewer than k responses are counted).

    Viewers read submissions per persona and business unit from the
    results' pooled breakdowns, which count by the persona people answered
    as: a per-persona table by invitation beside them could be subtracted
    from it.
    """
    if owner:
        return participation_summary(assessment=assessment)
    if snapshot is True:
        snapshot = latest_snapshot(assessment)
    if snapshot is None:
        return None
    total = _published_total(
        snapshot.participation,
        k=snapshot.anonymity_threshold,
        held_back=HeldBack.from_json(snapshot.data.get("held_back")).respondents,
    )
    if total is None:
        return None
    return ParticipationSummary(
        personas=[], total=total, days_left=assessment.days_left()
    )


def shown_participation_list(
    assessments: QuerySet[Assessment], *, owner: bool
) -> list[tuple[Assessment, Participation | None]]:
    """Return each assessment with the participation totals one may see.

    Owners: live. Viewers: those of the latest published results (None
    before any, or below k submissions). One query either way.
    """
    if owner:
        return with_participation(assessments)
    latest = ResultsSnapshot.objects.filter(assessment=OuterRef("pk")).order_by("-pk")
    rows = assessments.annotate(
        published=Subquery(latest.values("participation")[:1]),
        published_k=Subquery(latest.values("anonymity_threshold")[:1]),
        held_back=Subquery(latest.values("data__held_back__respondents")[:1]),
    )
    return [
        (
            assessment,
            None
            if assessment.published is None
            else _published_total(
                assessment.published,
                k=assessment.published_k,
                held_back=bool(assessment.held_back),
            ),
        )
        for assessment in rows
    ]


def _published_total(
    counts: Mapping[str, Mapping[str, int]], *, k: int, held_back: bool
) -> Participation | None:
    """Return a snapshot's participation total as viewers see it: None below
    k submissions, or when the count was held back at closing (`looks`),
    like the results' count of respondents."""
    total = total_of_counts(counts.values())
    if held_back or 0 < total.submitted < k:
        return None
    return total


def _comparison(results: AssessmentResults | None) -> Comparison | None:
    """Compare with the previous round as its viewers see it (published).

    Only a previous round of the same organisation counts (the admin could
    link any assessment), and only once it has published results.
    """
    if results is None or results.assessment.previous_id is None:
        return None
    assessment = results.assessment
    previous = (
        ResultsSnapshot.objects.select_related("assessment__framework")
        .filter(
            assessment_id=assessment.previous_id,
            assessment__organisation_id=assessment.organisation_id,
        )
        .order_by("-pk")
        .first()
    )
    if previous is None:
        return None
    return round_comparison(results, disclose(snapshot_results(previous)))


# ---------------------------------------------------------------------------
# Suppression (pure: no queries)
# ---------------------------------------------------------------------------


def disclose(results: AssessmentResults) -> AssessmentResults:
    """Withhold every figure that rests on 1 to k-1 respondents.

    Scores already follow the pooling (scoring); this withholds the answer
    counts and rates of small rows and adds the personas' domain scores
    where they are safe.
    """
    k = results.k
    capabilities = {c.capability.pk: _capability(c, k) for c in results.capabilities}

    def swap(items: list[CapabilityResult]) -> list[CapabilityResult]:
        return [capabilities[c.capability.pk] for c in items]

    domains = [
        _domain(replace(d, capabilities=swap(d.capabilities))) for d in results.domains
    ]
    respondents = results.respondents
    return replace(
        results,
        respondents=None
        if respondents is not None and 0 < respondents < k
        else respondents,
        capabilities=swap(results.capabilities),
        domains=domains,
        priorities=swap(results.priorities),
        contested=swap(results.contested),
    )


def counts_shown(capability: CapabilityResult, k: int) -> bool:
    """Answer counts and rates need k respondents, and a score if any is scored.

    A capability held back at closing (`looks`) shows none.
    """
    return capability.answered >= k and not (capability.too_few or capability.held_back)


def _capability(capability: CapabilityResult, k: int) -> CapabilityResult:
    if capability.answered == 0 or counts_shown(capability, k):
        return capability
    return replace(
        capability,
        counts={},
        answered=None,
        scored=None if capability.scored else 0,
        dont_know_rate=None,
        not_applicable_rate=None,
        withheld=True,
    )


def _domain(domain: DomainResult) -> DomainResult:
    """Add each persona's domain score where it reveals nothing new.

    The score is the mean of the persona's group scores in the domain; it
    is shown only if the persona is its own group in every capability it
    gave a scored answer to, so it is a mean of figures already shown.
    """
    shown = defaultdict(list)
    for capability in domain.capabilities:
        for group in capability.persona_scores:
            shown[group.persona.pk].append(group)
    scores = []
    for groups in shown.values():
        persona = groups[0].persona
        scored_in = sum(persona.pk in c.scoring_personas for c in domain.capabilities)
        if len(groups) == scored_in:
            exact = mean(g.exact_score for g in groups)
            scores.append(PersonaDomainScore(persona, float(exact), exact))
    scores.sort(key=lambda s: s.persona.position)
    return replace(domain, persona_scores=scores)
