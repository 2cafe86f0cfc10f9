"""`manage.py render_report`: the same PDF from the command line."""

import pytest
from django.core.management import CommandError, call_command

from assessment.models import ReportFile
from tests.factories import create_hand_example


def test_it_writes_the_pdf_to_the_given_file(organisation, framework, tmp_path):
    assessment = create_hand_example(organisation=organisation, framework=framework)
    target = tmp_path / "report.pdf"
    call_command("render_report", str(assessment.pk), "-o", str(target))
    assert target.read_bytes().startswith(b"%PDF")
    assert ReportFile.objects.filter(assessment=assessment).count() == 1


def test_an_unknown_assessment_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="No assessment with id 999999"):
        call_command("render_report", "999999", "-o", str(tmp_path / "x.pdf"))


def test_an_unwritable_file_is_a_clear_error(organisation, framework, tmp_path):
    assessment = create_hand_example(organisation=organisation, framework=framework)
    with pytest.raises(CommandError, match="Cannot write"):
        call_command(
            "render_report", str(assessment.pk), "-o", str(tmp_path / "no" / "x.pdf")
        )
