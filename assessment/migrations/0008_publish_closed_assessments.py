"""Publish the results of assessments already closed.

Viewers now read published snapshots only; without this, a closed
assessment would show them nothing. The aggregation is written out here, as
migrations must not depend on code that later changes (see
`scoring.collect` and `participation.participation_summary`).
"""

from django.db import migrations
from django.db.models import Count, Max, Q


def publish_closed(apps, schema_editor):
    Assessment = apps.get_model("assessment", "Assessment")
    Answer = apps.get_model("assessment", "Answer")
    Response = apps.get_model("assessment", "Response")
    ResultsSnapshot = apps.get_model("assessment", "ResultsSnapshot")
    closed = Assessment.objects.filter(status="closed", snapshots__isnull=True)
    for assessment in closed:
        submitted = Response.objects.filter(assessment=assessment, status="submitted")
        answers = Answer.objects.filter(response__in=submitted)
        targets = list(
            assessment.scoped_capabilities.order_by("capability__position").values_list(
                "capability_id", "target_level"
            )
        )
        data = {
            "targets": [list(row) for row in targets],
            "answers": [
                list(row)
                for row in answers.filter(value__isnull=False)
                .values_list("capability_id", "response__persona_id", "value")
                .annotate(n=Count("id"))
                .order_by("capability_id", "response__persona_id", "value")
            ],
            "respondents": [
                list(row)
                for row in submitted.values_list("persona_id", "business_unit")
                .annotate(n=Count("id"))
                .order_by("persona_id", "business_unit")
            ],
            "comments": [
                list(row)
                for row in answers.filter(capability_id__in=[pk for pk, _ in targets])
                .exclude(comment="")
                .order_by("capability__position", "pk")
                .values_list("capability_id", "comment")
            ],
        }
        joined = Q(email="")
        done = Q(response__status="submitted")
        participation = {
            str(row.pop("persona")): row
            for row in assessment.invitations.order_by("persona")
            .values("persona")
            .annotate(
                n_people=Count("pk"),
                n_started=Count("response"),
                n_submitted=Count("response", filter=done),
                n_joined=Count("pk", filter=joined),
                n_joined_started=Count("response", filter=joined),
                n_joined_submitted=Count("response", filter=joined & done),
            )
        }
        totals = submitted.aggregate(n=Count("pk"), last=Max("submitted_at"))
        ResultsSnapshot.objects.create(
            assessment=assessment,
            reason="closed",
            anonymity_threshold=assessment.anonymity_threshold,
            submissions=totals["n"],
            last_submitted_at=totals["last"],
            data=data,
            participation=participation,
        )


class Migration(migrations.Migration):
    dependencies = [("assessment", "0007_results_snapshot_open_link_secret")]

    operations = [migrations.RunPython(publish_closed, migrations.RunPython.noop)]
