"""A PDF engine that never finishes in time, for the render time limit test.

The render process imports it by its dotted path
(`settings.REPORT_PDF_ENGINE`), so it stays free of test fixtures.
"""

import time


def never_done(html: str, *, extra_css: str = "") -> bytes:
    """Sleep far past any limit a test sets."""
    time.sleep(120)
    return b"%PDF too late"


def broken(html: str, *, extra_css: str = "") -> bytes:
    """Fail as a bug in the engine would."""
    raise RuntimeError("the engine broke")
