"""The suite's stand-in for WeasyPrint (tests/conftest.py) and its opt-out."""

import io

import pypdf
import pytest

from assessment import pdf


def _text(document: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(document))
    return " ".join(page.extract_text() for page in reader.pages)


def test_tests_get_a_valid_one_page_pdf_without_layout():
    document = pdf.html_to_pdf("<p>Zoë</p>", seconds=30)
    assert len(pypdf.PdfReader(io.BytesIO(document)).pages) == 1
    assert "Zoë" not in _text(document)


@pytest.mark.real_pdf
def test_a_real_pdf_test_lays_out_the_html_with_weasyprint():
    assert "Zoë" in _text(pdf.html_to_pdf("<p>Zoë</p>"))
