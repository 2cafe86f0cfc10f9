"""Benchmark the PDF report: time, memory, pages and bytes by respondents.

    .venv/bin/python bench/report.py                  # N = 50, 500, 5000
    .venv/bin/python bench/report.py --respondents 500 --runs 7
    .venv/bin/python bench/report.py --soak 50        # memory over 50 renders

Each N runs in a child process with a fresh temporary SQLite database
(migrate, load_catalogue, the demo organisation with N respondents over the
22 capabilities and every persona), so peak memory is that of one report's
process. A render is the full report without the cache: aggregation, charts
and HTML to PDF. The first render (fonts loading) is reported apart; the
median is over the runs after it.
"""

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    """Return the current resident memory of this process in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def setup_django(database: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_catalogue", verbosity=0, stdout=io.StringIO())


def child(respondents: int, runs: int, soak: int) -> dict:
    """Seed one database and measure its report (runs in a child process)."""
    with tempfile.TemporaryDirectory() as folder:
        setup_django(Path(folder) / "bench.sqlite3")
        import pypdfium2

        from assessment import report_content, reports
        from assessment.demo import demo_organisation_create, demo_rounds_create
        from assessment.models import Assessment

        organisation, _ = demo_organisation_create()
        rounds = demo_rounds_create(
            organisation=organisation, respondents=respondents, seed=2026
        )
        assessment = Assessment.objects.select_related("organisation", "framework").get(
            pk=rounds.current.pk
        )
        options = report_content.ReportOptions()

        started = time.perf_counter()
        pdf = reports.render_pdf(assessment, options)
        first = time.perf_counter() - started
        times, cpu_times, context_times = [], [], []
        for _ in range(runs):
            started = time.perf_counter()
            report_content.report_context(assessment, options)
            context_times.append(time.perf_counter() - started)
            started, cpu_started = time.perf_counter(), time.process_time()
            pdf = reports.render_pdf(assessment, options)
            times.append(time.perf_counter() - started)
            # CPU time too: on a shared machine, wall time includes waiting
            # for a core that another process holds.
            cpu_times.append(time.process_time() - cpu_started)
        result = {
            "respondents": respondents,
            "first_s": round(first, 3),
            "median_s": round(statistics.median(times), 3),
            "min_s": round(min(times), 3),
            "cpu_median_s": round(statistics.median(cpu_times), 3),
            "load_average": os.getloadavg()[0],
            "context_median_s": round(statistics.median(context_times), 3),
            "peak_mb": round(peak_mb(), 1),
            "pages": len(pypdfium2.PdfDocument(pdf)),
            "bytes": len(pdf),
        }
        if soak:
            readings = []
            for i in range(soak):
                reports.render_pdf(assessment, options)
                if i in (4, soak - 1):
                    readings.append(rss_mb())
            result["soak_renders"] = soak
            result["rss_after_5_mb"] = round(readings[0], 1)
            result[f"rss_after_{soak}_mb"] = round(readings[1], 1)
            result["growth_mb"] = round(readings[1] - readings[0], 1)
        return result


def run_child(respondents: int, runs: int, soak: int) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--respondents",
        str(respondents),
        "--runs",
        str(runs),
        "--soak",
        str(soak),
    ]
    # The command is this script with numbers: no untrusted input.
    output = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, action="append")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--soak", type=int, default=0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = child(args.respondents[0], args.runs, args.soak)
        print(json.dumps(result))
        return
    for respondents in args.respondents or [50, 500, 5000]:
        result = run_child(respondents, args.runs, args.soak)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
