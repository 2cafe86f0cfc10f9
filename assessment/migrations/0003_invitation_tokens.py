import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def move_token_hashes(apps, schema_editor):
    # Keep every link already sent working: its hash becomes the first token.
    Invitation = apps.get_model("assessment", "Invitation")
    InvitationToken = apps.get_model("assessment", "InvitationToken")
    InvitationToken.objects.bulk_create(
        InvitationToken(invitation_id=pk, token_hash=token_hash)
        for pk, token_hash in Invitation.objects.values_list("pk", "token_hash")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("assessment", "0002_cache_table"),
    ]

    operations = [
        migrations.CreateModel(
            name="InvitationToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("token_hash", models.CharField(max_length=64, unique=True)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now),
                ),
                (
                    "invitation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tokens",
                        to="assessment.invitation",
                    ),
                ),
            ],
            options={
                "ordering": ["invitation", "created_at"],
            },
        ),
        migrations.RunPython(move_token_hashes, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="invitation",
            name="token_hash",
        ),
    ]
