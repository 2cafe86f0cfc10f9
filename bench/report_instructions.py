"""Count the instructions of one PDF render: a speed figure that does not vary.

    .venv/bin/python bench/report_instructions.py                 # N = 500
    .venv/bin/python bench/report_instructions.py --respondents 50

Wall time on a shared virtual machine varies by ±30% between runs of the
same code (bench/report.py prints it), which hides changes of a few percent.
valgrind's callgrind counts instructions instead, identically from run to run.
The script seeds a fresh database as bench/report.py does, saves the
report's HTML, then runs `weasyprint_pdf` (the layout, in process) under
callgrind once and twice in new processes: the difference is one warm render
(fonts and stylesheet already loaded). About five minutes; needs valgrind.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import setup_django  # noqa: E402


def save_report_html(respondents: int, html_path: Path) -> None:
    """Seed a temporary database and write the report's HTML to html_path."""
    with tempfile.TemporaryDirectory() as folder:
        setup_django(Path(folder) / "bench.sqlite3")
        from assessment import report_content
        from assessment.demo import demo_organisation_create, demo_rounds_create

        organisation, _ = demo_organisation_create()
        rounds = demo_rounds_create(
            organisation=organisation, respondents=respondents, seed=2026
        )
        html_path.write_text(
            report_content.report_html(rounds.current, report_content.ReportOptions())
        )


def render(html_path: Path, times: int) -> None:
    """Render the saved HTML `times` times (runs under callgrind)."""
    os.environ.update(DATABASE_URL="sqlite:///:memory:", DEBUG="false")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from assessment import pdf_engine, report_content

    html = html_path.read_text()
    for _ in range(times):
        pdf_engine.weasyprint_pdf(html, extra_css=report_content.heat_styles())


def instructions(html_path: Path, times: int) -> int:
    """Return the instructions of a process that renders `times` times."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--render",
            str(html_path),
            "--times",
            str(times),
        ]
        # Hash randomisation moves the count by about 2%: fix it.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        # The command is this script with a path and a number: no untrusted input.
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, env=env, check=True
        )
    return int(re.search(r"Collected : (\d+)", done.stderr).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=500)
    parser.add_argument("--render", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--times", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.render:
        render(args.render, args.times)
        return
    with tempfile.TemporaryDirectory() as folder:
        html_path = Path(folder) / "report.html"
        save_report_html(args.respondents, html_path)
        once = instructions(html_path, 1)
        twice = instructions(html_path, 2)
    figures = {
        "respondents": args.respondents,
        "process_with_one_render_g": round(once / 1e9, 3),
        "warm_render_g": round((twice - once) / 1e9, 3),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
