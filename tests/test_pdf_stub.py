"""The suite's stand-in for WeasyPrint (tests/conftest.py).

The `real_pdf` tests (report text and layout) fail if it stays on for them.
"""

from assessment import pdf
from tests.pdf_reading import pdf_read


def test_tests_get_a_valid_one_page_pdf_without_layout():
    document = pdf.html_to_pdf("<p>Zoë</p>", seconds=30)
    read = pdf_read(document)
    assert read.sizes == [(595, 842)]
    assert "Zoë" not in read.text
