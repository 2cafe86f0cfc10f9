"""Check, from what a viewer can see alone, that no figure rests on 1 to k-1 people.

A reusable test helper. It reads only viewer-visible outputs: the results JSON,
CSV and XLSX downloads, the dashboard's HTML and the PDF report's text. It
never looks at the database.

`check_json` solves the published figures for anything hidden:
- each group shown, and the group left over when the shown groups of a
  capability are subtracted from its respondents (the pooled one included);
- the capability score against the mean of its groups, the plain mean
  against the groups' sums, the answer counts against both;
- a domain score against its capabilities' scores, the overall score
  against the domains', a persona's domain score against its capability
  scores, the disagreement against the groups;
- the respondents per persona and per business unit against the total.
Any of these that leaves a figure over 1 to k-1 respondents is a problem.

`check_looks` compares the JSON of several publications of one assessment,
as a viewer who kept them all: what two of them show of the same people
must differ by 0 or at least k people.

`check_csv`, `check_xlsx`, `check_dashboard` and `check_pdf` then hold every
figure another surface shows against the JSON: a figure shown there and not
in the JSON (a hidden group, a count) is a problem too, since it could be
combined with the JSON's.

Each function returns a list of problems (empty when all is well);
`check_all` runs whichever surfaces it is given.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict
from html.parser import HTMLParser

from openpyxl import load_workbook

from assessment import display

TOLERANCE = 1e-9
VALUE_LABELS = [
    "Not started",
    "Crawl",
    "Walk",
    "Run",
    "Don't know",
    "Not applicable",
]
SCORES = {"Not started": 0, "Crawl": 1, "Walk": 2, "Run": 3}


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, abs_tol=TOLERANCE)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


# ---------------------------------------------------------------------------
# The JSON alone
# ---------------------------------------------------------------------------


def check_json(data: dict) -> list[str]:
    """Solve the JSON's figures for hidden groups; return the problems."""
    k = data["anonymity_threshold"]
    problems: list[str] = []

    def few(n: int | None) -> bool:
        return n is not None and 0 < n < k

    if few(data["respondents"]):
        problems.append(f"{data['respondents']} respondents in all, fewer than k={k}")
    for key in ("personas", "business_units"):
        problems += _check_breakdown(key, data[key], data["respondents"], few)
    by_slug = {cap["slug"]: cap for cap in data["capabilities"]}
    for cap in data["capabilities"]:
        problems += _check_capability(cap, k, few)
    for domain in data["domains"]:
        caps = [by_slug[slug] for slug in domain["capabilities"]]
        problems += _check_domain(domain, caps)
    shown = [d["score"] for d in data["domains"] if d["score"] is not None]
    overall = data["overall"]["score"]
    if overall is not None and not _close(overall, _mean(shown)):
        problems.append(
            "the overall score is not the mean of the domain scores shown: "
            "it would give a hidden domain's score"
        )
    return problems


def _check_breakdown(key: str, breakdown: dict, total: int | None, few) -> list:
    rows = breakdown["groups"] + ([breakdown["other"]] if breakdown["other"] else [])
    problems = [
        f"{key}: {row['name']} has {row['respondents']} respondents"
        for row in rows
        if few(row["respondents"])
    ]
    if rows:
        if total is None:
            problems.append(f"{key}: broken down while the total is withheld")
        else:
            left = total - sum(row["respondents"] for row in rows)
            if few(left):
                problems.append(
                    f"{key}: the total minus the groups shown leaves {left} respondents"
                )
    return problems


def _check_capability(cap: dict, k: int, few) -> list[str]:
    name, problems = cap["name"], []
    scored, answered, score = cap["scored"], cap["answered"], cap["score"]
    for label, n in (("scored answers", scored), ("answers", answered)):
        if few(n):
            problems.append(f"{name}: {n} {label} shown, fewer than k={k}")
    if score is not None and (scored is None or scored < k):
        problems.append(f"{name}: a score over {scored} scored answers")
    counts = cap["counts"]
    if counts is not None and any(counts.values()):
        if answered is None or answered < k or few(scored):
            problems.append(f"{name}: answer counts over fewer than k respondents")
        if answered is not None and sum(counts.values()) != answered:
            problems.append(f"{name}: the counts do not add up to the answers")
    groups = cap["groups"]
    for group in groups:
        if few(group["respondents"]):
            problems.append(
                f"{name}: group {group['name']} has {group['respondents']} respondents"
            )
    if not groups:
        # One group: the score is the plain mean of everyone, nothing else.
        if score is not None and not _close(score, cap["respondent_mean"]):
            problems.append(f"{name}: not broken down, yet the score is not the mean")
        return problems
    # Subtract the groups shown from the whole capability: what is left over
    # is a group a viewer can solve for, and it must hold nobody.
    left = (scored or 0) - sum(g["respondents"] for g in groups)
    if left:
        problems.append(
            f"{name}: the groups shown leave {left} respondents over, whose "
            "answers can be worked out"
        )
    group_mean = _mean([g["score"] for g in groups])
    if score is not None and not _close(score, group_mean):
        problems.append(
            f"{name}: the score is not the mean of its groups: it gives a hidden "
            "group's score by subtraction"
        )
    total = sum(g["score"] * g["respondents"] for g in groups)
    mean = cap["respondent_mean"]
    if mean is not None and scored and not _close(mean * scored, total):
        problems.append(f"{name}: the plain mean holds answers of no group shown")
    if counts:
        from_counts = sum(SCORES.get(label, 0) * n for label, n in counts.items())
        if not _close(from_counts, total):
            problems.append(f"{name}: the counts hold answers of no group shown")
    # The disagreement is taken between the group scores as shown.
    spread = cap["disagreement"]
    scores = [_shown(g["score"]) for g in groups]
    expected = max(scores) - min(scores) if len(scores) > 1 else None
    if spread is not None and not _close(spread, expected):
        problems.append(f"{name}: the disagreement involves a hidden group")
    return problems


def _check_domain(domain: dict, caps: list[dict]) -> list[str]:
    name, problems = domain["name"], []
    shown = [c["score"] for c in caps if c["score"] is not None]
    if domain["score"] is not None and not _close(domain["score"], _mean(shown)):
        problems.append(
            f"{name}: the domain score is not the mean of its capability scores "
            "shown: it gives a hidden capability's score by subtraction"
        )
    for persona in domain["persona_scores"]:
        own = [
            g["score"]
            for c in caps
            for g in c["groups"]
            if g["persona"] == persona["persona"]
        ]
        if not own or not _close(persona["score"], _mean(own)):
            problems.append(
                f"{name}: {persona['name']}'s domain score holds a capability "
                "where it is not shown on its own"
            )
    return problems


# ---------------------------------------------------------------------------
# Other surfaces, held against the JSON
# ---------------------------------------------------------------------------


def _number(value) -> float | None:
    if value in (None, ""):
        return None
    return float(value)


def check_csv(content: bytes, data: dict) -> list[str]:
    text = content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    return _check_rows(rows, data, "CSV")


def check_xlsx(content: bytes, data: dict) -> list[str]:
    """Hold the workbook's Data sheet (full precision) and Summary sheet (as
    shown) against the JSON."""
    book = load_workbook(io.BytesIO(content), read_only=True)
    problems = _check_rows(_sheet_rows(book["Data"]), data, "XLSX data")
    return problems + _check_summary(_sheet_rows(book["Summary"]), data)


def _sheet_rows(sheet) -> list[list]:
    rows = [
        ["" if v is None else v for v in row]
        for row in sheet.iter_rows(values_only=True)
    ]
    # Trailing empty cells may be left out of a row: pad to the longest.
    width = max(len(row) for row in rows)
    return [row + [""] * (width - len(row)) for row in rows]


def _shown(value) -> float | None:
    """Return a figure as displayed (one decimal, half-up), as a float."""
    shown = display.shown_score(value)
    return None if shown is None else float(shown)


def _check_summary(rows: list[list], data: dict) -> list[str]:
    """Hold the Summary sheet's shown figures against the JSON."""
    start = next(i for i, row in enumerate(rows) if row[0] == "Domain")
    header, problems = [str(h) for h in rows[start]], []
    col = {name: i for i, name in enumerate(header)}
    groups = [h for h in header if h.startswith("Persona: ") or h == "Other personas"]
    caps = {c["name"]: c for c in data["capabilities"]}
    domains = {d["name"]: d for d in data["domains"]}
    for row in rows[start + 1 :]:
        if row[1] in caps:
            cap = caps[row[1]]
            where = f"XLSX summary {cap['name']}"
            for cell, expected in (
                ("Score", _shown(cap["score"])),
                ("Answers", cap["answered"]),
                ("Mean of all respondents", _shown(cap["respondent_mean"])),
                ("Median answer", _shown(cap["median"])),
            ):
                if not _close(_number(row[col[cell]]), expected):
                    problems.append(f"{where}: {cell} differs from the JSON")
            expected = {
                (
                    "Other personas"
                    if g["persona"] is None
                    else f"Persona: {g['name']}"
                ): (_shown(g["score"]))
                for g in cap["groups"]
            }
            problems += _check_group_cells(row, col, groups, expected, where)
        elif row[0] in domains and row[1] == "":
            domain = domains[row[0]]
            expected = {
                f"Persona: {p['name']}": _shown(p["score"])
                for p in domain["persona_scores"]
            }
            problems += _check_group_cells(
                row, col, groups, expected, f"XLSX summary {domain['name']}"
            )
    return problems


def _check_rows(rows: list[list], data: dict, surface: str) -> list[str]:
    """Hold each figure of the aggregate sheet against the JSON's."""
    header, problems = [str(h) for h in rows[0]], []
    col = {name: i for i, name in enumerate(header)}
    groups = [h for h in header if h.startswith("Persona: ") or h == "Other personas"]
    caps = {c["name"]: c for c in data["capabilities"]}
    domains = {d["name"]: d for d in data["domains"]}
    for row in rows[1:]:
        kind = row[col["Row"]]
        if kind == "capability":
            cap = caps[row[col["Capability"]]]
            where = f"{surface} {cap['name']}"
            pairs = [
                ("score", cap["score"]),
                ("answers", cap["answered"]),
                ("scored", cap["scored"]),
                ("respondent mean", cap["respondent_mean"]),
                ("median", cap["median"]),
                ("don't know rate", cap["dont_know_rate"]),
            ]
            cells = [
                "Score",
                "Answers",
                "Scored answers",
                "Respondent mean",
                "Median",
                "Don't know rate",
            ]
            for (label, expected), cell in zip(pairs, cells, strict=True):
                if not _close(_number(row[col[cell]]), expected):
                    problems.append(f"{where}: {label} differs from the JSON")
            counts = cap["counts"] or {}
            for label in VALUE_LABELS:
                shown = _number(row[col[label]])
                if not _close(shown, counts.get(label) if counts else None):
                    problems.append(f"{where}: the {label} count differs from the JSON")
            expected = {
                (
                    "Other personas"
                    if g["persona"] is None
                    else f"Persona: {g['name']}"
                ): g["score"]
                for g in cap["groups"]
            }
            problems += _check_group_cells(row, col, groups, expected, where)
        elif kind == "domain":
            domain = domains[row[col["Domain"]]]
            where = f"{surface} {domain['name']}"
            if not _close(_number(row[col["Score"]]), domain["score"]):
                problems.append(f"{where}: the domain score differs from the JSON")
            expected = {
                f"Persona: {p['name']}": p["score"] for p in domain["persona_scores"]
            }
            problems += _check_group_cells(row, col, groups, expected, where)
        elif kind == "overall" and not _close(
            _number(row[col["Score"]]), data["overall"]["score"]
        ):
            problems.append(f"{surface}: the overall score differs from the JSON")
    return problems


def _check_group_cells(row, col, groups, expected, where) -> list[str]:
    problems = []
    for name in groups:
        shown = _number(row[col[name]])
        if shown is None and name not in expected:
            continue
        if name not in expected:
            problems.append(f"{where}: {name} shows a score the JSON withholds")
        elif not _close(shown, expected[name]):
            problems.append(f"{where}: {name} differs from the JSON")
    return problems


class _Tables(HTMLParser):
    """Collect the dashboard's table rows: attributes and cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[dict, list[str], str]] = []  # attrs, cells, table
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._row: tuple[dict, list[str], str] | None = None
        self._caption: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append({"class": attrs.get("class", ""), "caption": ""})
        elif tag == "caption":
            self._caption = []
        elif tag == "tr":
            table = self.tables[-1]["class"] if self.tables else ""
            self._row = (attrs, [], table)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption" and self._caption is not None:
            self.tables[-1]["caption"] = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None and self._row:
            self._row[1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            caption = self.tables[-1]["caption"] if self.tables else ""
            self.rows.append((self._row[0], self._row[1], self._row[2] + "|" + caption))
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._caption is not None:
            self._caption.append(data)


def check_dashboard(html: str, data: dict) -> list[str]:
    """Hold the dashboard's figures against the JSON, at display precision."""
    k, problems = data["anonymity_threshold"], []
    parser = _Tables()
    parser.feed(html)
    caps = {c["slug"]: c for c in data["capabilities"]}
    domains = {d["slug"]: d for d in data["domains"]}
    persona_header: list[str] = []
    breakdowns = {"persona": data["personas"], "business unit": data["business_units"]}
    seen = defaultdict(list)
    for attrs, cells, table in parser.rows:
        row_id = attrs.get("id", "")
        if row_id.startswith("cap-"):
            cap = caps[row_id.removeprefix("cap-")]
            where = f"dashboard {cap['name']}"
            expected = (
                f"fewer than {k} answers"
                if cap["too_few"]
                else "held back"
                if cap["held_back"]
                else display.score(cap["score"])
            )
            if cells[1] != expected:
                problems.append(f"{where}: shows score {cells[1]!r}, not {expected!r}")
            problems += _check_answer_details(cells[6], cap, k, where)
        elif "persona-table" in table and not attrs and cells and not persona_header:
            persona_header = cells[1:]
        elif "data-capability" in attrs:
            cap = caps[attrs["data-capability"]]
            expected = {g["name"]: display.score(g["score"]) for g in cap["groups"]}
            problems += _check_cells(
                persona_header, cells[1:], expected, f"dashboard {cap['name']} groups"
            )
        elif "data-domain" in attrs:
            domain = domains[attrs["data-domain"]]
            expected = {
                p["name"]: display.score(p["score"]) for p in domain["persona_scores"]
            }
            problems += _check_cells(
                persona_header, cells[1:], expected, f"dashboard {domain['name']}"
            )
        elif "breakdown" in table and len(cells) == 2:
            kind = "persona" if table.endswith("per persona") else "business unit"
            seen[kind].append((cells[0], int(cells[1])))
        elif (
            "participation" in table
            and cells
            and cells[0] not in ("", "Persona", "Total")
        ):
            problems.append(f"dashboard: participation of {cells[0]} shown")
    for kind, breakdown in breakdowns.items():
        rows = breakdown["groups"] + (
            [breakdown["other"]] if breakdown["other"] else []
        )
        expected = [(row["name"], row["respondents"]) for row in rows]
        if seen[kind] != expected:
            problems.append(f"dashboard: respondents per {kind} differ from the JSON")
    for shown in re.findall(r"(fewer than )?(\d+) submitted responses?", html):
        if shown[0] and data["respondents"] is not None:
            problems.append("dashboard: says fewer than k respondents, unlike the JSON")
        if not shown[0] and int(shown[1]) != data["respondents"]:
            problems.append(
                "dashboard: the number of respondents differs from the JSON"
            )
    return problems


def _check_answer_details(text: str, cap: dict, k: int, where: str) -> list[str]:
    """Hold a capability's answers cell (count, then its details) to the JSON."""
    if cap["withheld"]:
        if text != ("held back" if cap["held_back"] else f"fewer than {k} answers"):
            return [f"{where}: shows answers {text!r}, withheld in the JSON"]
        return []
    if text == "No answers":
        return [] if not cap["answered"] else [f"{where}: shows no answers"]
    problems = []
    answers = re.match(r"(\d+) answers?", text)
    if answers is None or int(answers.group(1)) != cap["answered"]:
        problems.append(f"{where}: shows another number of answers")
    counts = cap["counts"] or {}
    for label in VALUE_LABELS:
        shown = re.search(rf"(?<![\w']){re.escape(label)} (\d+) \(", text)
        if shown and int(shown.group(1)) != counts.get(label):
            problems.append(f"{where}: shows {label} {shown.group(1)}")
    for label, key in (
        ("Mean of all respondents", "respondent_mean"),
        ("Median answer", "median"),
    ):
        shown = re.search(rf"{label} (\S+)", text)
        if shown and shown.group(1) != display.score(cap[key]):
            problems.append(f"{where}: shows {label.lower()} {shown.group(1)}")
    return problems


def _check_cells(header, cells, expected, where) -> list[str]:
    problems = []
    for name, text in zip(header, cells, strict=True):
        if text == display.MISSING and name not in expected:
            continue
        if name not in expected:
            problems.append(f"{where}: {name} shows {text}, withheld in the JSON")
        elif text != expected[name]:
            problems.append(f"{where}: {name} shows {text}, not {expected[name]}")
    return problems


NUMBER = re.compile(r"^\d+\.\d$")


def check_pdf(text: str, data: dict) -> list[str]:
    """Hold the report's capability tables, persona heatmaps, contested groups
    and respondents per group against the JSON (PDF text: a table row is
    a line)."""
    k, problems = data["anonymity_threshold"], []
    caps = {c["name"]: c for c in data["capabilities"]}
    section = None
    seen = defaultdict(list)
    for line in (line.strip() for line in text.splitlines()):
        if line.startswith("Score Level Target Gap Spread Answers"):
            section = "capabilities"
        elif line.startswith("How each persona sees"):
            section = "heatmap"
        elif line.startswith("Capability Spread Scores by persona group"):
            section = "contested"
        elif line in ("Persona Respondents", "Business unit Respondents"):
            section = "personas" if line.startswith("Persona") else "business_units"
        elif line.startswith(
            ("Bars:", "Mean score per persona group", "Acme", "Not broken down")
        ):
            section = None
        elif section in ("personas", "business_units"):
            match = re.fullmatch(r"(.+) (\d+)", line)
            if match:
                seen[section].append((match.group(1), int(match.group(2))))
            else:
                section = None  # the table ended
        elif section:
            name = next(
                (n for n in caps if line == n or line.startswith(n + " ")), None
            )
            if name is not None:
                rest = line[len(name) :].split()
                problems += _check_pdf_row(section, caps[name], rest, line, k)
    for key in ("personas", "business_units"):
        breakdown = data[key]
        rows = breakdown["groups"] + (
            [breakdown["other"]] if breakdown["other"] else []
        )
        if seen[key] != [(row["name"], row["respondents"]) for row in rows]:
            problems.append(f"PDF: respondents per {key} differ from the JSON")
    return problems


def _check_pdf_row(section: str, cap: dict, rest: list[str], line: str, k: int):
    name = cap["name"]
    groups = sorted(display.score(g["score"]) for g in cap["groups"])
    if section == "heatmap":
        numbers = sorted(t for t in rest if NUMBER.match(t))
        if numbers != groups:
            return [f"PDF heatmap {name}: shows {numbers}, not {groups}"]
        return []
    if section == "contested":
        numbers = sorted(t for t in rest[1:] if NUMBER.match(t))
        if numbers != groups:
            return [f"PDF contested {name}: shows {numbers}, not {groups}"]
        return []
    problems = []
    expected = f"< {k}" if cap["too_few"] else display.score(cap["score"])
    if cap["held_back"]:
        expected = "held back"
    two = rest[:1] in (["<"], ["held"])
    shown = " ".join(rest[:2]) if two else (rest[:1] or [""])[0]
    if shown != expected:
        problems.append(f"PDF {name}: shows score {shown}, not {expected}")
    answers = re.search(r"(\d+) answers?$", line)
    ending = "held back" if cap["held_back"] else f"fewer than {k}"
    if cap["withheld"] and not line.endswith(ending):
        problems.append(f"PDF {name}: answers shown, withheld in the JSON")
    elif answers and int(answers.group(1)) != cap["answered"]:
        problems.append(f"PDF {name}: shows {answers.group(1)} answers")
    return problems


def check_all(
    data: dict,
    *,
    csv: bytes | None = None,
    xlsx: bytes | None = None,
    html: str | None = None,
    pdf_text: str | None = None,
) -> list[str]:
    """Run the JSON's own checks, then hold each surface given against it."""
    problems = check_json(data)
    if csv is not None:
        problems += check_csv(csv, data)
    if xlsx is not None:
        problems += check_xlsx(xlsx, data)
    if html is not None:
        problems += check_dashboard(html, data)
    if pdf_text is not None:
        problems += check_pdf(pdf_text, data)
    return problems


# ---------------------------------------------------------------------------
# A sequence of looks: the JSON of each publication, in order
# ---------------------------------------------------------------------------


def check_looks(looks: list[dict]) -> list[str]:
    """Compare every two publications' JSON, as a viewer who kept them all.

    For each family of figures over the same people (a capability's groups,
    its answers, the respondents per persona, per business unit), a viewer
    can subtract what two looks show of the same people: a persona's group
    shown in both, the whole, and the rest (the pooled group together with
    the personas shown on their own in one look only: the same personas in
    both). Each such difference must be 0 or at least k people.
    """
    problems = []
    for i, before in enumerate(looks):
        for j in range(i + 1, len(looks)):
            after = looks[j]
            k = after["anonymity_threshold"]
            one, two = _look_families(before), _look_families(after)
            for name in one.keys() & two.keys():
                for label, change in _changes(one[name], two[name]):
                    if 0 < abs(change) < k:
                        problems.append(
                            f"{name}: {label} changed by {change} between "
                            f"look {i + 1} and look {j + 1} (k={k})"
                        )
    return problems


def _look_families(data: dict) -> dict[str, tuple[dict, int]]:
    """Return each family a viewer sees: (people per label, total people).

    A label of None is the pooled group ("other personas" or "other units").
    """
    families = {}
    for cap in data["capabilities"]:
        if cap["score"] is not None:
            groups = {g["persona"]: g["respondents"] for g in cap["groups"]}
            families[f"{cap['name']} groups"] = (groups, cap["scored"])
        if cap["answered"]:
            families[f"{cap['name']} answers"] = ({}, cap["answered"])
    if data["respondents"]:
        for key in ("personas", "business_units"):
            breakdown = data[key]
            groups = {g["name"]: g["respondents"] for g in breakdown["groups"]}
            if breakdown["other"]:
                groups[None] = breakdown["other"]["respondents"]
            families[key] = (groups, data["respondents"])
    return families


def _changes(one: tuple[dict, int], two: tuple[dict, int]):
    """Yield (what, change) for each figure comparable between two looks.

    Compared: each group shown in both looks, the whole, and the rest. Not
    compared: a group pooled in one look set against groups shown alone in
    the other (the hand-built cases of tests/test_looks.py cover those).
    """
    (groups1, total1), (groups2, total2) = one, two
    both = {label for label in groups1.keys() & groups2.keys() if label is not None}
    for label in sorted(both):
        yield f"group {label}", groups2[label] - groups1[label]
    yield "the whole", total2 - total1
    rest1 = total1 - sum(groups1[label] for label in both)
    rest2 = total2 - sum(groups2[label] for label in both)
    if both:
        yield "the rest (pooled, or shown in one look only)", rest2 - rest1
