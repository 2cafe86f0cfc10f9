"""Time the cost-evidence pass over synthetic FOCUS exports, beside a plain scan.

Usage: .venv/bin/python bench/evidence.py [--parquet-rows N] [--csv-rows N]
       [--memory-limit 512MB] [--threads 2] [--repeat 3]

Writes (once, then reuses) a seeded synthetic export per size under
bench/out/: 10 million rows as Parquet and 2 million as CSV.gz by default.
For each file, in separate worker processes, it times:
- the plain scan: DuckDB's `SELECT sum(EffectiveCost)` over the file;
- the plain scan of every column the KPI pass reads (for Parquet, the scan
  above reads one column only);
- the KPI pass: `focus.analyse`, checks included, with the same memory
  limit and threads;
and prints the best of `--repeat` runs, the ratio of the pass to the scans,
and each worker's peak resident memory (RSS), with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from assessment import focus  # noqa: E402
from assessment.focus_synth import SynthOptions, write_export  # noqa: E402

SEED = 2026
CHOICES = focus.Choices(tag_keys=("team", "cost-center"))


def export(rows: int, suffix: str) -> Path:
    path = OUT / f"focus-{rows}-seed{SEED}.{suffix}"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        # The suffix picks the format: keep it on the partial file.
        partial = path.with_name("partial-" + path.name)
        write_export(partial, SynthOptions(rows=rows, days=90, seed=SEED))
        partial.rename(path)
        print(
            f"  wrote {path.name} ({path.stat().st_size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - started:.1f} s"
        )
    return path


# ---------------------------------------------------------------------------
# Worker: one measurement per process, so that its peak RSS is its own
# ---------------------------------------------------------------------------


def worker(kind: str, path: str, memory_limit: str, threads: int) -> None:
    limits = focus.EngineLimits(memory_limit=memory_limit, threads=threads)
    started = time.perf_counter()
    if kind == "kpi":
        analysis = focus.analyse([(Path(path), Path(path).name)], CHOICES, limits)
        figure = next(f for f in analysis.figures if not f.month)
        check = figure.figures["allocation_coverage"].value
    else:
        con = focus.connect(limits)
        info = focus.inspect_file(con, Path(path), Path(path).name, limits)
        source = focus._source(info)
        if kind == "scan":
            sql = f"SELECT sum(EffectiveCost) FROM {source}"
        else:
            columns = [
                c
                for c in (
                    *focus.NEEDED,
                    *focus.NOT_NULL,
                    info.provider_column,
                    "Tags",
                    "PricingCategory",
                    "CommitmentDiscountId",
                    "CommitmentDiscountStatus",
                    "ChargeClass",
                    "ResourceId",
                )
                if c in info.columns
            ]
            # hash() reads every value: count() could be answered from the
            # Parquet footer's statistics alone.
            hashed = ", ".join(focus._ident(c) for c in sorted(set(columns)))
            sql = f"SELECT bit_xor(hash({hashed})) FROM {source}"
        check = con.execute(sql).fetchone()[0]
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "rss_mb": peak_rss_mb(), "check": check}))


def peak_rss_mb() -> float:
    """Return this process's peak resident memory (VmHWM) in MB.

    Not getrusage's ru_maxrss: on Linux that survives exec, so a worker
    started by a parent holding a large file in memory would report the
    parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("No VmHWM in /proc/self/status.")


def measure(kind: str, path: Path, args) -> tuple[float, float]:
    """Run one worker; return (seconds, peak RSS in MB)."""
    process = subprocess.Popen(  # noqa: S603 (this very script, as a worker)
        [
            sys.executable,
            __file__,
            "--worker",
            kind,
            str(path),
            args.memory_limit,
            str(args.threads),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    output, _ = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"The {kind} worker failed on {path.name}.")
    figures = json.loads(output.strip().splitlines()[-1])
    return figures["seconds"], figures["rss_mb"]


def bench_file(label: str, path: Path, args) -> None:
    rows = {}
    for kind in ("scan", "columns", "kpi"):
        runs = [measure(kind, path, args) for _ in range(args.repeat)]
        rows[kind] = (min(s for s, _ in runs), max(r for _, r in runs))
    scan, columns, kpi = rows["scan"][0], rows["columns"][0], rows["kpi"][0]
    print(f"\n{label}: {path.name}, {path.stat().st_size / 1e6:.0f} MB")
    for kind, text in (
        ("scan", "plain scan sum(EffectiveCost)  "),
        ("columns", "scan of the KPI pass's columns "),
        ("kpi", "KPI pass (checks + figures)    "),
    ):
        seconds, rss = rows[kind]
        print(f"  {text} {seconds:6.2f} s   worker peak RSS {rss:5.0f} MB")
    print(f"  ratio KPI pass / plain scan            {kpi / scan:5.2f}x")
    print(f"  ratio KPI pass / scan of its columns   {kpi / columns:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parquet-rows", type=int, default=10_000_000)
    parser.add_argument("--csv-rows", type=int, default=2_000_000)
    parser.add_argument("--memory-limit", default="512MB")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"memory_limit {args.memory_limit}, threads {args.threads}, ", end="")
    print(f"best of {args.repeat}")
    files = []
    if args.parquet_rows:
        files.append(
            (
                f"{args.parquet_rows:,} rows Parquet",
                export(args.parquet_rows, "parquet"),
            )
        )
    if args.csv_rows:
        files.append(
            (f"{args.csv_rows:,} rows CSV.gz", export(args.csv_rows, "csv.gz"))
        )
    for label, path in files:
        bench_file(label, path, args)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main()
