"""Published results: when a snapshot is taken and what it holds.

Viewers never see live figures: comparing two looks around one submission
would tell that person's answers. They see the latest `ResultsSnapshot`,
taken when the assessment closes, or published by an owner once at least
k submissions arrived since the last one (k, the anonymity threshold).
Owners follow participation live and may preview live results.

A snapshot stores aggregated rows only (`scoring.ResultsData`), and its
figures are computed by the same functions as live ones.

Reopening a closed assessment keeps its snapshot: viewers go on seeing the
results published at closing until k new submissions allow an interim
publication, or the assessment closes again.

When closing would hold figures back (`looks`), the owner may keep the
last published results instead: the closing snapshot copies them, and says
how many responses submitted since are not in them (`left_out`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.db import transaction
from django.db.models import Count, Max, Q

from .models import Assessment, Response, ResultsSnapshot
from .participation import participation_counts
from .scoring import AssessmentResults, ResultsData, collect, results_from_data


def latest_snapshot(assessment: Assessment) -> ResultsSnapshot | None:
    """Return the results viewers see now, or None before any (one query)."""
    snapshot = (
        ResultsSnapshot.objects.filter(assessment=assessment).order_by("-pk").first()
    )
    if snapshot is not None:
        snapshot.assessment = assessment  # already loaded, with its framework
    return snapshot


def snapshot_results(
    snapshot: ResultsSnapshot, *, include_comments: bool = False
) -> AssessmentResults:
    """Compute a snapshot's figures, under the threshold it was published with."""
    data = ResultsData.from_json(snapshot.data)
    if not include_comments:
        data = replace(data, comments=None)
    return results_from_data(snapshot.assessment, data, k=snapshot.anonymity_threshold)


def _lock(assessment: Assessment) -> None:
    """Lock the assessment row: submitting and reopening a response lock it
    too (`responses._lock`), so a snapshot reads one set of responses."""
    Assessment.objects.select_for_update().filter(pk=assessment.pk).first()


def _store(
    *, assessment: Assessment, reason: str, data: ResultsData, user=None
) -> ResultsSnapshot:
    submitted = Response.objects.filter(
        assessment=assessment, status=Response.Status.SUBMITTED
    ).aggregate(n=Count("pk"), last=Max("submitted_at"))
    return ResultsSnapshot.objects.create(
        assessment=assessment,
        reason=reason,
        anonymity_threshold=assessment.anonymity_threshold,
        submissions=submitted["n"],
        last_submitted_at=submitted["last"],
        data=data.as_json(),
        participation=participation_counts(assessment=assessment),
        created_by=_created_by(user),
    )


@transaction.atomic
def snapshot_take(*, assessment: Assessment, reason: str, user=None) -> ResultsSnapshot:
    """Aggregate the live answers into a new snapshot, as they are (eight
    queries). Publishing and closing go through `snapshot_publish` and
    `snapshot_close`, which first hold it against the earlier snapshots."""
    _lock(assessment)
    data = collect(assessment, include_comments=True)
    return _store(assessment=assessment, reason=reason, data=data, user=user)


@transaction.atomic
def snapshot_close(
    *, assessment: Assessment, user=None, keep_published: bool = False
) -> ResultsSnapshot:
    """Take the closing snapshot: it always happens, and leaves out the
    figures that changed by fewer than k people since an earlier snapshot
    (`looks.hold_back`).

    With `keep_published`, when something would be left out, the closing
    snapshot is instead a copy of the latest published one (`_keep`).
    Nothing would be left out means every figure is safe: it holds them all.
    """
    from . import looks  # looks reads disclosure, which imports this module

    _lock(assessment)
    data = collect(assessment, include_comments=True)
    held_back, _ = looks.hold_back(assessment, data)
    latest = latest_snapshot(assessment)
    if held_back and keep_published and latest is not None:
        return _keep(latest, user=user)
    data = replace(data, held_back=held_back)
    return _store(
        assessment=assessment,
        reason=ResultsSnapshot.Reason.CLOSED,
        data=data,
        user=user,
    )


def _keep(latest: ResultsSnapshot, *, user=None) -> ResultsSnapshot:
    """Close with the latest published figures, as they were.

    A copy of the stored data, threshold, counts and participation, not a
    new computation: viewers comparing the two see the same figures, so
    comparing tells nothing. The responses submitted since (or submitted
    again) are counted in `left_out`; the next publication counts them as new.
    """
    return _copy(
        latest,
        reason=ResultsSnapshot.Reason.CLOSED,
        k=latest.anonymity_threshold,
        left_out=publish_state(latest.assessment, latest=latest).new,
        figures_published_at=latest.figures_published_at or latest.created_at,
        user=user,
    )


def _copy(
    latest: ResultsSnapshot,
    *,
    reason: str,
    k: int,
    left_out: int,
    figures_published_at,
    user,
) -> ResultsSnapshot:
    """Store the latest snapshot's figures again, as they were, under `reason`."""
    return ResultsSnapshot.objects.create(
        assessment=latest.assessment,
        reason=reason,
        anonymity_threshold=k,
        submissions=latest.submissions,
        last_submitted_at=latest.last_submitted_at,
        data=latest.data,
        participation=latest.participation,
        left_out=left_out,
        figures_published_at=figures_published_at,
        created_by=_created_by(user),
    )


def _created_by(user):
    """The user to record, or None for a job or an anonymous caller."""
    return user if user is not None and user.is_authenticated else None


def snapshot_rethreshold(
    *, assessment: Assessment, user=None
) -> ResultsSnapshot | None:
    """Publish the latest snapshot's figures again under a raised threshold.

    Called when an owner changes k: a raised threshold protects published
    results at once, with the answers already published and coarser groups.
    A lowered one waits for the next publication ("publish again with the
    same responses" will do), which `looks` checks under it: finer groups of
    the same answers could be set against an older snapshot's. Nothing
    happens before a first snapshot.
    """
    latest = latest_snapshot(assessment)
    if latest is None or assessment.anonymity_threshold <= latest.anonymity_threshold:
        return None
    return _copy(
        latest,
        reason=ResultsSnapshot.Reason.THRESHOLD,
        k=assessment.anonymity_threshold,
        left_out=latest.left_out,  # still the kept results, if they were
        figures_published_at=latest.figures_published_at,
        user=user,
    )


# ---------------------------------------------------------------------------
# Interim publication
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishState:
    """What an owner may publish now, and why (or why not)."""

    latest: ResultsSnapshot | None
    new: int  # responses submitted (or submitted again) since `latest`
    withdrawn: int  # responses in `latest` reopened and not submitted again
    k: int

    @property
    def may_publish(self) -> bool:
        """At least k new submissions, or the same answers as published."""
        return self.new >= self.k or self.unchanged

    @property
    def unchanged(self) -> bool:
        return self.latest is not None and self.new == 0 and self.withdrawn == 0

    @property
    def missing(self) -> int:
        """Return how many more submissions an interim publication needs."""
        return max(self.k - self.new, 0)


def publish_state(
    assessment: Assessment, *, latest: ResultsSnapshot | None | bool = True
) -> PublishState:
    """Count the submissions since the latest snapshot (two queries).

    A response reopened and submitted again counts as new: its answers may
    have changed. One reopened and not submitted again is "withdrawn".
    Counting by the snapshot's latest submission time errs on the safe
    side: a submission stamped earlier by a skewed clock is not counted.
    `latest` may pass the latest snapshot already fetched (or None).
    """
    if latest is True:
        latest = latest_snapshot(assessment)
    submitted = Response.objects.filter(
        assessment=assessment, status=Response.Status.SUBMITTED
    )
    if latest is None or latest.last_submitted_at is None:
        new, kept = submitted.count(), 0
    else:
        after = Q(submitted_at__gt=latest.last_submitted_at)
        counts = submitted.aggregate(
            new=Count("pk", filter=after), kept=Count("pk", filter=~after)
        )
        new, kept = counts["new"], counts["kept"]
    return PublishState(
        latest=latest,
        new=new,
        withdrawn=(latest.submissions - kept) if latest else 0,
        k=assessment.anonymity_threshold,
    )


class PublishRefused(ValueError):
    """Publishing now would let someone compare around a few submissions."""


@transaction.atomic
def snapshot_publish(*, assessment: Assessment, user=None) -> ResultsSnapshot:
    """Publish interim results if the rules allow it, else raise PublishRefused.

    Two rules: k new submissions in all since the last publication, and
    no figure a viewer saw before changed by 1 to k-1 people (`looks`).
    """
    from . import looks  # looks reads disclosure, which imports this module

    _lock(assessment)
    state = publish_state(assessment)
    if not state.may_publish:
        raise PublishRefused(
            f"Results can be published again once {state.k} new responses have "
            f"been submitted since the last publication ({state.new} so far), "
            "so that nobody's answers can be worked out by comparing the two."
        )
    data = collect(assessment, include_comments=True)
    shortfalls = looks.Looks(assessment).shortfalls(data)
    if shortfalls:
        raise PublishRefused(looks.refusal(shortfalls, k=state.k))
    reason = (
        ResultsSnapshot.Reason.REFRESHED
        if state.unchanged
        else ResultsSnapshot.Reason.INTERIM
    )
    return _store(assessment=assessment, reason=reason, data=data, user=user)
