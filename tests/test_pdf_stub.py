"""The suite's stand-in for WeasyPrint (tests/conftest.py).

The `real_pdf` tests (report text and layout) fail if it stays on for them.
"""

import io

import pypdf

from assessment import pdf


def _text(document: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(document))
    return " ".join(page.extract_text() for page in reader.pages)


def test_tests_get_a_valid_one_page_pdf_without_layout():
    document = pdf.html_to_pdf("<p>Zoë</p>", seconds=30)
    assert len(pypdf.PdfReader(io.BytesIO(document)).pages) == 1
    assert "Zoë" not in _text(document)
