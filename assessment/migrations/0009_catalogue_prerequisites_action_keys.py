from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("assessment", "0008_publish_closed_assessments"),
    ]

    operations = [
        migrations.AddField(
            model_name="capability",
            name="prerequisites",
            field=models.ManyToManyField(
                blank=True, related_name="dependents", to="assessment.capability"
            ),
        ),
        # Rows loaded before actions had identities get theirs (and the
        # file's steps) on the next `load_catalogue`; see catalogue.py.
        migrations.AddField(
            model_name="nextstep",
            name="action_key",
            field=models.SlugField(default="", max_length=80),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="nextstep",
            name="first_round_only",
            field=models.BooleanField(
                default=False,
                help_text="Only makes sense before an organisation's first "
                "assessment round, e.g. running a first self-assessment.",
            ),
        ),
    ]
