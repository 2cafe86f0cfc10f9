"""Two looks at published results must not single out fewer than k people.

A viewer who keeps every published snapshot can subtract one from another.
If Finance's group for a capability grew from 5 to 6 respondents, the two
means give the sixth person's answer. So, beside "k new submissions since the
last publication" (`snapshots.publish_state`), every snapshot is held against
every earlier one of its assessment before viewers see it:

    Between two published snapshots, every figure a viewer can see in both
    changes by 0 people or by at least k, alone or combined with the other
    figures of the two snapshots.

An interim publication that breaks the rule is refused, saying which groups
fell short (`refusal`). The closing snapshot must happen, so it leaves out
what breaks the rule (`hold_back`): a capability first loses its persona
breakdown (its score becomes the plain mean of everyone), and if that is not
enough, shows no figure at all; a breakdown of respondents by persona or
business unit is dropped, then the count of respondents. The owner sees the
list on the close confirmation page (`close_plan`), and may instead keep the
last published results: the closing snapshot is then a copy of them, the
same look, which no comparison can split (`snapshots.snapshot_close`).

What a viewer can see, and what it can be combined with
--------------------------------------------------------
We reuse `disclosure.disclose` on both snapshots: the figures it lets through
are exactly those a viewer reads. They fall into families over the same
people: a capability's score and its groups (scored answers), its answer
counts (every answer), the respondents per persona, the respondents per
business unit. In one snapshot a family splits its categories (personas or
units) into blocks, each a figure with its size: a persona's own group, the
pooled "other personas", or one block for the whole capability. Scores are
means, so with the sizes shown a viewer has each block's sum.

Across two snapshots a viewer can add and subtract any blocks of both. Split
the people of a category into those counted by both snapshots unchanged
(`clean`: still submitted, last submitted before the earlier snapshot's
latest submission), those only the earlier one counted (withdrawn, or
counted before a resubmission) and those only the later one counts (new, or
resubmitted). For a set U of blocks of either snapshot, the combination
"sum of U's blocks, earlier minus later" depends on:
- clean people whose block is in U in one snapshot and not in the other,
- people only the earlier snapshot counted, whose earlier block is in U,
- people only the later snapshot counts, whose later block is in U.
Any signed combination of the blocks depends on at least the people of one
such cut (pick the blocks sharing one coefficient), so checking every U is
enough: no non-empty cut may hold 1 to k-1 people. A resubmitted response is
both "only earlier" and "only later": it counts once if its answer changed,
not at all if not, so a cut with such people must hold at least k even when
all of them kept their answers, or be empty. Cuts add up over groups of
blocks that share no category, so each connected group of blocks is checked
on its own (and refused outright beyond `MOST_BLOCKS`, which pooling never
reaches in practice).

This catches more than a group growing by 1 to k-1: a small persona moving
from one pool to another between two snapshots would be singled out by
subtracting the groups around it, and so is refused too. A group shown for
the first time is compared with the pool it came from in the same way.

Limits, on purpose: the check compares pairs of snapshots (every earlier
one, not only the latest, so a figure hidden for one snapshot and shown
again is still compared); it does not solve three snapshots together, nor
combine a capability's groups with the respondents per persona. A raised
threshold republishes the same answers in coarser groups
(`snapshots.snapshot_rethreshold`) and is not checked; a lowered one waits
for the next publication, which is. Round comparisons show each round's own published
snapshots, so each round's snapshots follow the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import combinations

from . import display
from .disclosure import disclose
from .models import Assessment, Persona, ResultsSnapshot
from .scoring import (
    NO_UNIT,
    OTHER_PERSONAS,
    OTHER_UNITS,
    AssessmentResults,
    HeldBack,
    ResultsData,
    collect,
    results_from_data,
)

SCORES = "scores"  # a capability's score and groups: scored answers
ANSWERS = "answers"  # a capability's answer counts: every answer
PERSONAS = "personas"  # respondents per persona
UNITS = "units"  # respondents per business unit
WHOLE = ""  # the label of a family shown as one block
# Blocks of both snapshots linked by shared categories; beyond this many the
# cuts are not enumerated and the family is treated as falling short.
MOST_BLOCKS = 14

Block = tuple[str, frozenset]  # (label, categories)
Key = tuple[str, int | None]  # (family kind, capability id or None)


@dataclass(frozen=True)
class Family:
    """The figures of one family a viewer sees in one snapshot."""

    name: str  # the capability's name ("" for respondents)
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Look:
    """What a viewer sees of one snapshot, and how many people are behind it."""

    families: dict[Key, Family]
    sizes: dict[Key, dict]  # family -> category -> people


@dataclass(frozen=True)
class Shortfall:
    """A family whose figures changed by 1 to k-1 people since `since`."""

    key: Key
    name: str
    labels: tuple[str, ...]  # the blocks involved (later snapshot's if any)
    broken_down: bool  # the later snapshot splits the family into blocks
    since: ResultsSnapshot


# ---------------------------------------------------------------------------
# Looks (pure)
# ---------------------------------------------------------------------------


def look(results: AssessmentResults, data: ResultsData, personas: Mapping) -> Look:
    """Describe the figures `disclose` lets through, with their sizes."""
    sizes = _sizes(data, personas)
    families: dict[Key, Family] = {}
    for cap in results.capabilities:
        pk, name = cap.capability.pk, cap.capability.name
        if cap.exact_score is not None:
            families[(SCORES, pk)] = Family(name, _capability_blocks(cap))
        if cap.answered:  # None when withheld
            answering = frozenset(sizes.get((ANSWERS, pk), {}))
            families[(ANSWERS, pk)] = Family(name, ((WHOLE, answering),))
    if results.respondents:
        for key, breakdown, other in (
            ((PERSONAS, None), results.personas, OTHER_PERSONAS),
            ((UNITS, None), results.business_units, OTHER_UNITS),
        ):
            everyone = frozenset(c for c, n in sizes.get(key, {}).items() if n)
            families[key] = Family("", _breakdown_blocks(breakdown, everyone, other))
    return Look(families, sizes)


def _capability_blocks(cap) -> tuple[Block, ...]:
    if not cap.broken_down:
        return ((WHOLE, cap.scoring_personas),)
    own = [(g.label, frozenset({g.persona.pk})) for g in cap.persona_scores]
    shown = {g.persona.pk for g in cap.persona_scores}
    if cap.other_personas:
        own.append((OTHER_PERSONAS, cap.scoring_personas - shown))
    return tuple(own)


def _breakdown_blocks(breakdown, everyone: frozenset, other: str) -> tuple:
    if not breakdown.groups:
        return ((WHOLE, everyone),)
    own = [(g.label, frozenset({g.label})) for g in breakdown.groups]
    if breakdown.other:
        own.append((other, everyone - {g.label for g in breakdown.groups}))
    return tuple(own)


def _sizes(data: ResultsData, personas: Mapping) -> dict[Key, dict]:
    """People per category of each family, from the aggregated rows."""
    sizes: dict[Key, dict] = {}

    def add(key, category, n):
        family = sizes.setdefault(key, {})
        family[category] = family.get(category, 0) + n

    for capability, persona, value, n in data.answers:
        add((ANSWERS, capability), persona, n)
        if value >= 0:
            add((SCORES, capability), persona, n)
    for persona, unit, n in data.respondents:
        add((PERSONAS, None), personas[persona].name, n)
        add((UNITS, None), unit or NO_UNIT, n)
    return sizes


def short_cuts(
    before: Family,
    after: Family,
    earlier: Mapping,
    later: Mapping,
    clean: Mapping,
    k: int,
) -> list[tuple[str, ...]]:
    """Return, for each group of linked blocks, the labels of the first
    combination that singles out 1 to k-1 people (none when all hold 0 or
    at least k). Labels are the later snapshot's blocks, if any.

    `earlier`, `later`, `clean`: people per category in the earlier
    snapshot, the later one, and counted unchanged by both.
    """
    blocks = [*before.blocks, *after.blocks]
    first = len(before.blocks)
    where1 = {c: i for i, (_, cats) in enumerate(before.blocks) for c in cats}
    where2 = {c: first + j for j, (_, cats) in enumerate(after.blocks) for c in cats}

    def labels(indices) -> tuple[str, ...]:
        later_ones = [blocks[i][0] for i in indices if i >= first]
        return tuple(later_ones or [blocks[i][0] for i in indices])

    found = []
    for group in _linked(len(blocks), where1, where2):
        if len(group) > MOST_BLOCKS:
            found.append(labels(group))
            continue
        categories = {c for i in group for c in blocks[i][1]}
        cuts = (
            set(cut)
            for size in range(1, len(group) + 1)
            for cut in combinations(group, size)
        )
        for cut in cuts:
            most, fewest = _cut(cut, categories, where1, where2, earlier, later, clean)
            if most and fewest < k:
                found.append(labels(sorted(cut)))
                break
    return found


def _cut(chosen, categories, where1, where2, earlier, later, clean):
    """Return the most and fewest people a combination of `chosen` rests on."""
    most = resubmitted = 0
    for category in categories:
        n1, n2 = earlier.get(category, 0), later.get(category, 0)
        same = min(clean.get(category, 0), n1, n2)
        only1, only2 = n1 - same, n2 - same
        in1 = where1.get(category) in chosen
        in2 = where2.get(category) in chosen
        most += same * (in1 != in2) + only1 * in1 + only2 * in2
        if in1 and in2:
            # One resubmitted response is in both: it counts twice in `most`,
            # and not at all if its answer did not change.
            resubmitted += min(only1, only2)
    return most, most - 2 * resubmitted


def _linked(count: int, where1: Mapping, where2: Mapping) -> list[list[int]]:
    """Group the blocks that share a category, transitively."""
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for category, i in where1.items():
        if category in where2:
            parent[root(i)] = root(where2[category])
    groups: dict[int, list[int]] = {}
    for i in range(count):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def compare(before: Look, after: Look, clean: Look, k: int) -> list[tuple]:
    """Return (key, name, labels, broken_down) for each group of figures
    that falls short between two looks."""
    found = []
    for key in before.families.keys() & after.families.keys():
        family = after.families[key]
        for labels in short_cuts(
            before.families[key],
            family,
            before.sizes.get(key, {}),
            after.sizes.get(key, {}),
            clean.sizes.get(key, {}),
            k,
        ):
            found.append((key, family.name, labels, len(family.blocks) > 1))
    return sorted(found, key=lambda f: (f[0][0], f[1], f[2]))


# ---------------------------------------------------------------------------
# An assessment's earlier snapshots
# ---------------------------------------------------------------------------


class Looks:
    """An assessment's published snapshots, to hold a new one against.

    Reading them costs five queries per distinct snapshot (two for the
    catalogue, three for the responses it still counts unchanged).
    """

    def __init__(self, assessment: Assessment) -> None:
        self.assessment = assessment
        self.k = assessment.anonymity_threshold
        self.personas = {
            p.pk: p for p in Persona.objects.filter(version=assessment.framework_id)
        }
        self.earlier: list[tuple[ResultsSnapshot, Look, Look]] = []
        seen: list[tuple[int, dict]] = []
        snapshots = ResultsSnapshot.objects.filter(assessment=assessment)
        for snapshot in snapshots.order_by("-pk"):
            same = (snapshot.anonymity_threshold, snapshot.data)
            if same in seen:  # published again as it was: the same look
                continue
            seen.append(same)
            data = ResultsData.from_json(snapshot.data)
            shown = self._look(data, k=snapshot.anonymity_threshold)
            clean = ResultsData([], [], [])
            if snapshot.last_submitted_at is not None:
                clean = collect(assessment, submitted_by=snapshot.last_submitted_at)
            self.earlier.append(
                (snapshot, shown, Look({}, _sizes(clean, self.personas)))
            )

    def _look(self, data: ResultsData, *, k: int) -> Look:
        results = disclose(results_from_data(self.assessment, data, k=k))
        return look(results, data, self.personas)

    def shortfalls(self, data: ResultsData) -> list[Shortfall]:
        """Hold a candidate snapshot's data against every earlier snapshot."""
        candidate = self._look(data, k=self.k)
        found, keys = [], set()
        for snapshot, before, clean in self.earlier:
            for key, name, labels, broken_down in compare(
                before, candidate, clean, self.k
            ):
                if (key, labels) not in keys:  # the latest snapshot only
                    keys.add((key, labels))
                    found.append(Shortfall(key, name, labels, broken_down, snapshot))
        return found


# ---------------------------------------------------------------------------
# Interim: refuse, saying why
# ---------------------------------------------------------------------------


def _what(shortfall: Shortfall) -> str:
    """Name the figures that fell short, in words."""
    kind, labels = shortfall.key[0], shortfall.labels
    if kind == ANSWERS:
        return "the answer counts"
    if labels == (WHOLE,):
        return "the score" if kind == SCORES else "the number of respondents"
    names = [_label(label) for label in labels if label != WHOLE]
    groups = " and ".join(names)
    if kind in (PERSONAS, UNITS):
        together = " together" if len(names) > 1 else ""
        return f"the respondents of {groups}{together}"
    if len(names) == 1:
        return (
            f"{groups}'s group"
            if labels[0] != OTHER_PERSONAS
            else f"the {groups} group"
        )
    return f"the groups {groups} together"


def _label(label: str) -> str:
    return f"“{label}”" if label in (OTHER_PERSONAS, OTHER_UNITS) else label


def _capabilities(names: list[str]) -> str:
    shown = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
    return f"{len(names)} capabilit{'y' if len(names) == 1 else 'ies'} ({shown})"


def describe(shortfalls: Iterable[Shortfall]) -> list[str]:
    """Return one phrase per kind of figure, capabilities gathered."""
    by_what: dict[str, list[str]] = {}
    # Capabilities first, then respondents (whose family has no name).
    for shortfall in sorted(shortfalls, key=lambda s: not s.name):
        by_what.setdefault(_what(shortfall), []).append(shortfall.name)
    return [
        f"{what} for {_capabilities(names)}" if any(names) else what
        for what, names in by_what.items()
    ]


def refusal(shortfalls: list[Shortfall], *, k: int) -> str:
    """The message of a refused interim publication."""
    since = max((s.since for s in shortfalls), key=lambda s: s.pk)
    parts = describe(shortfalls)
    listed = "; ".join(parts[:-1]) + ("; and " if len(parts) > 1 else "") + parts[-1]
    return (
        f"Not published: since the results published on "
        f"{display.date(since.created_at)}, {listed} changed by fewer than {k} "
        "people, so viewers who compare the two could work out what those few "
        f"people answered. Publish when each of these has changed by at least {k} "
        "people, or close the assessment: the closing results leave out the "
        "figures that still fall short."
    )


# ---------------------------------------------------------------------------
# Closing: leave out what falls short
# ---------------------------------------------------------------------------


def hold_back(
    assessment: Assessment, data: ResultsData
) -> tuple[HeldBack, dict[Key, list[Shortfall]]]:
    """Decide what the closing snapshot leaves out, and why.

    Each round widens what is held back for each family still short: a
    capability loses its breakdown, then every figure; respondents lose
    their breakdown, then their count. Every round holds back more, and a
    family held back entirely cannot fall short, so this ends.
    """
    earlier = Looks(assessment)
    held, why = HeldBack(), {}
    while found := earlier.shortfalls(replace(data, held_back=held)):
        for shortfall in {s.key: s for s in found}.values():  # once per family
            held = _widen(held, shortfall)
        for shortfall in found:
            why.setdefault(shortfall.key, []).append(shortfall)
    return held, why


def _widen(held: HeldBack, shortfall: Shortfall) -> HeldBack:
    kind, pk = shortfall.key
    if kind in (SCORES, ANSWERS):
        if kind == SCORES and shortfall.broken_down and pk not in held.merged:
            return replace(held, merged=held.merged | {pk})
        return replace(held, withheld=held.withheld | {pk})
    if shortfall.broken_down:
        return replace(held, breakdowns=held.breakdowns | {kind})
    return replace(held, respondents=True)


@dataclass(frozen=True)
class LeftOut:
    """One line of the close confirmation page's warning."""

    what: str
    why: str


def close_plan(assessment: Assessment) -> list[LeftOut]:
    """What closing now would leave out of the published results, and why."""
    held, why = hold_back(assessment, collect(assessment))
    k = assessment.anonymity_threshold
    names = dict(
        assessment.scoped_capabilities.values_list("capability_id", "capability__name")
    )

    def reason(*keys: Key) -> str:
        found = [s for key in keys for s in why.get(key, [])]
        whats = list(dict.fromkeys(_what(s) for s in found))
        said = f"{' and '.join(whats)} changed by fewer than {k} people"
        return said[:1].upper() + said[1:]

    def by_name(pks):
        return sorted(pks, key=lambda pk: names.get(pk, ""))

    lines = [
        LeftOut(f"{names.get(pk)}: no figures", reason((SCORES, pk), (ANSWERS, pk)))
        for pk in by_name(held.withheld)
    ]
    lines += [
        LeftOut(f"{names.get(pk)}: no breakdown by persona", reason((SCORES, pk)))
        for pk in by_name(held.merged - held.withheld)
    ]
    if held.respondents:
        lines.append(
            LeftOut(
                "The number of respondents", reason((PERSONAS, None), (UNITS, None))
            )
        )
    for kind, what in ((PERSONAS, "persona"), (UNITS, "business unit")):
        if kind in held.breakdowns and not held.respondents:
            lines.append(LeftOut(f"Respondents per {what}", reason((kind, None))))
    return lines
