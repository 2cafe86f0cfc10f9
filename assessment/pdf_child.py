"""The PDF render's own process: `python -m assessment.pdf_child`.

Reads a JSON job on stdin (engine's dotted path, HTML, extra CSS), writes
the PDF on stdout and exits 0; on failure, writes the error on stderr and
exits 1. Started and killed at its time limit by `pdf.html_to_pdf`.
"""

import json
import os
import sys


def main() -> int:
    # A render is background work: web requests on the same machine come
    # first when the CPU is short.
    os.nice(10)
    pdf_out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but the PDF goes to the parent's pipe
    # Settings only, no django.setup(): the engine reads the static folders,
    # and loading every app would add a good part of a second to each render.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.utils.module_loading import import_string

    job = json.load(sys.stdin)
    engine = import_string(job["engine"])
    pdf_out.write(engine(job["html"], extra_css=job["extra_css"]))
    pdf_out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
