"""Time the test suite against an earlier commit's, on the same machine.

Usage: .venv/bin/python bench/test_suite.py BASELINE [--rounds N]
       [--whole | --whole-only]

BASELINE is a commit (for instance the one where the suite was slow). The
script checks it out in a temporary git worktree (sharing this checkout's
.venv when both pin the same packages, with its own `make venv` when they
differ), then times, alternately and N times (default 2), the baseline's suite
run as it was run then (one process) and this checkout's as `make test` runs
it (PYTEST_ARGS of the Makefile), each side with its Makefile's TEST_ENV; the
baseline goes first in odd rounds, this checkout in even ones.
The machine is shared and noisy, so the figure to read is the ratio within
each round, and their median.

By default both run the tests they have in common (test functions present
in both, by file and name), which compares like with like; --whole runs each
side's whole suite as well, --whole-only the whole suites alone.
"""

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GIT = shutil.which("git") or "/usr/bin/git"
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")
BASELINE_ARGS = ["-p", "no:xdist", "-p", "no:randomly"]


def makefile_words(checkout: Path, assignment: str) -> list[str]:
    """Return the words a Makefile line such as `PYTEST_ARGS ?=` assigns."""
    text = (checkout / "Makefile").read_text()
    found = re.search(rf"^{re.escape(assignment)} (.*)$", text, re.MULTILINE)
    return shlex.split(found.group(1)) if found else []


def makefile_test_env(checkout: Path) -> dict[str, str]:
    """Return the environment the checkout's `make test` gives pytest."""
    pairs = makefile_words(checkout, "TEST_ENV :=")
    return {**os.environ, **dict(pair.split("=", 1) for pair in pairs)}


def pytest(checkout: Path) -> str:
    return str(checkout / ".venv" / "bin" / "pytest")


def baseline_venv(base: Path) -> None:
    """Give the baseline the packages it pinned, as `make venv` installs them."""
    if all((base / f).read_bytes() == (ROOT / f).read_bytes() for f in REQUIREMENTS):
        (base / ".venv").symlink_to(ROOT / ".venv")
        return
    print("baseline: its own .venv (its pinned packages differ)", flush=True)
    made = subprocess.run(  # noqa: S603 (the baseline's own Makefile)
        ["make", "--no-print-directory", "venv"],  # noqa: S607
        cwd=base,
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        sys.exit(f"baseline: make venv failed:\n{made.stdout}{made.stderr}")


def test_functions(checkout: Path) -> set[str]:
    """Return `file::function` of every test the checkout collects."""
    listing = subprocess.run(  # noqa: S603 (the project's own pytest)
        [pytest(checkout), "--collect-only", "-q", "-p", "no:xdist"],
        cwd=checkout,
        env=makefile_test_env(checkout),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        re.sub(r"\[.*$", "", line.strip())
        for line in listing.splitlines()
        if "::" in line
    }


def timed_run(checkout: Path, args: list[str]) -> tuple[float, str]:
    """Run pytest; return its wall time and its summary line."""
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 (the project's own pytest)
        [pytest(checkout), "-q", *args],
        cwd=checkout,
        env=makefile_test_env(checkout),
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    summary = (result.stdout.strip().splitlines() or [""])[-1]
    return elapsed, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--whole", action="store_true", help="whole suites too")
    parser.add_argument("--whole-only", action="store_true", help="whole suites only")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "baseline"
        subprocess.run(  # noqa: S603 (git, on this repository)
            [GIT, "worktree", "add", "--detach", str(base), options.baseline],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            baseline_venv(base)
            compare(base, options)
        finally:
            subprocess.run(  # noqa: S603 (git, on this repository)
                [GIT, "worktree", "remove", "--force", str(base)],
                cwd=ROOT,
                check=False,
            )


def compare(base: Path, options: argparse.Namespace) -> None:
    common = sorted(test_functions(base) & test_functions(ROOT))
    ids = base.parent / "common.txt"
    ids.write_text("\n".join(common) + "\n")
    current_args = makefile_words(ROOT, "PYTEST_ARGS ?=")
    print(f"baseline {options.baseline}: {' '.join(BASELINE_ARGS)}")
    print(f"this checkout: {' '.join(current_args)}")
    print(f"{len(common)} test functions in common\n")
    suites = [] if options.whole_only else [("common", [f"@{ids}"])]
    if options.whole or options.whole_only:
        suites.append(("whole", []))
    for name, selection in suites:
        ratios = []
        for number in range(1, options.rounds + 1):
            # Each side goes first in every other round, so that neither
            # always runs on a machine the other has just warmed or tired.
            sides = [("before", base, BASELINE_ARGS), ("after", ROOT, current_args)]
            if number % 2 == 0:
                sides.reverse()
            timed = {
                side: timed_run(checkout, args + selection)
                for side, checkout, args in sides
            }
            before, before_summary = timed["before"]
            after, after_summary = timed["after"]
            for summary in (before_summary, after_summary):
                if " passed" not in summary or re.search(r"failed|error", summary):
                    sys.exit(f"{name} round {number}: a run did not pass: {summary}")
            ratios.append(after / before)
            print(f"{name} round {number}: baseline {before:.1f} s ({before_summary})")
            print(f"{name} round {number}: now      {after:.1f} s ({after_summary})")
            print(f"{name} round {number}: now/baseline {after / before:.2f}")
        median = statistics.median(ratios)
        print(f"{name}: median now/baseline {median:.2f} ({1 - median:.0%} faster)\n")


if __name__ == "__main__":
    sys.exit(main())
