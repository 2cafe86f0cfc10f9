"""The DuckDB engine: every KPI on hand-made files, and every bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import openpyxl
import pytest

from assessment.focus import Choices, EngineLimits, FocusError, analyse
from assessment.focus_synth import SynthOptions, write_export

from .focus_files import COLUMNS, KNOWN_ROWS, daily_rows, row, write_csv, write_parquet

KEYS = Choices(tag_keys=("team", "cost-center"))
LIMITS = EngineLimits(memory_limit="256MB", threads=1)


def run(tmp_path: Path, *names: str, choices: Choices = KEYS, limits=LIMITS):
    return analyse([(tmp_path / n, n) for n in names], choices, limits)


def whole(analysis, currency="USD"):
    return next(f for f in analysis.figures if f.currency == currency and not f.month)


@pytest.fixture(params=["csv", "csv.gz", "parquet", "parquet-map"])
def known_file(request, tmp_path) -> str:
    """The worked example, in each format the app reads."""
    kind = request.param
    if kind.startswith("parquet"):
        write_parquet(
            tmp_path / "known.parquet", KNOWN_ROWS, tags_as_map=kind != "parquet"
        )
        return "known.parquet"
    name = f"known.{kind}"
    write_csv(tmp_path / name, KNOWN_ROWS)
    return name


def test_it_computes_every_kpi_of_the_worked_example(tmp_path, known_file):
    analysis = run(tmp_path, known_file)
    figures = whole(analysis).figures
    assert figures["allocation_coverage"].value == pytest.approx(85 / 165)
    assert figures["commitment_coverage"].value == pytest.approx(60 / 95)
    assert figures["commitment_utilisation"].value == pytest.approx(0.75)
    assert figures["commitment_utilisation"].detail["unused"] == pytest.approx(20)
    assert figures["effective_savings_rate"].value == pytest.approx(1 - 165 / 185)
    assert figures["resource_id_share"].value == pytest.approx(135 / 165)
    assert whole(analysis).total_cost == pytest.approx(158)
    assert analysis.rows == len(KNOWN_ROWS)


def test_it_lists_the_services_with_most_untagged_cost(tmp_path):
    write_csv(tmp_path / "known.csv", KNOWN_ROWS)
    untagged = whole(run(tmp_path, "known.csv")).figures["allocation_coverage"]
    assert [
        (s["service"], round(s["cost"], 6))
        for s in untagged.detail["untagged_services"]
    ] == [("Amazon EC2", 60), ("Amazon S3", 10), ("Amazon VPC", 10)]
    assert untagged.detail["untagged_services"][0]["share"] == pytest.approx(0.75)


def test_a_single_tag_key_counts_only_its_own_values(tmp_path):
    write_csv(tmp_path / "known.csv", KNOWN_ROWS)
    analysis = run(tmp_path, "known.csv", choices=Choices(tag_keys=("cost-center",)))
    assert whole(analysis).figures["allocation_coverage"].value == pytest.approx(
        30 / 165
    )


def test_no_chosen_key_means_nothing_is_allocated(tmp_path):
    write_csv(tmp_path / "known.csv", KNOWN_ROWS)
    analysis = run(tmp_path, "known.csv", choices=Choices())
    assert whole(analysis).figures["allocation_coverage"].value == 0


def test_owners_choose_the_eligible_service_categories(tmp_path):
    write_csv(tmp_path / "known.csv", KNOWN_ROWS)
    choices = Choices(tag_keys=("team",), eligible_categories=("Compute", "Storage"))
    coverage = whole(run(tmp_path, "known.csv", choices=choices)).figures[
        "commitment_coverage"
    ]
    assert coverage.value == pytest.approx(60 / 135)


def test_it_reports_the_data_about_the_data(tmp_path):
    write_csv(tmp_path / "known.csv", KNOWN_ROWS)
    analysis = run(tmp_path, "known.csv")
    assert analysis.versions == ["1.0"]
    assert analysis.providers == ["AWS"]
    assert analysis.latest_charge.isoformat() == "2026-01-10"
    assert analysis.months == ["2026-01"]
    assert "team" in analysis.tag_keys_seen
    assert analysis.problems == []


def test_it_reports_nulls_the_specification_forbids(tmp_path):
    rows = [*KNOWN_ROWS, row(EffectiveCost=None, ListCost=5, ServiceName=None)]
    write_csv(tmp_path / "nulls.csv", rows)
    analysis = run(tmp_path, "nulls.csv")
    assert any(
        "EffectiveCost (1 rows)" in p["text"] and "ServiceName (1 rows)" in p["text"]
        for p in analysis.problems
    )


def test_missing_required_columns_are_a_conformance_problem(tmp_path):
    columns = [c for c in COLUMNS if c not in ("BilledCost", "PublisherName")]
    write_csv(tmp_path / "partial.csv", KNOWN_ROWS, columns)
    analysis = run(tmp_path, "partial.csv")
    assert analysis.problems == [
        {
            "file": "partial.csv",
            "text": "Lacks required columns: BilledCost, PublisherName.",
        }
    ]
    assert whole(analysis).figures["allocation_coverage"].value == pytest.approx(
        85 / 165
    )


def test_mixed_currencies_are_reported_per_currency(tmp_path):
    rows = [*KNOWN_ROWS, row(BillingCurrency="EUR", EffectiveCost=50, ListCost=50)]
    write_csv(tmp_path / "mixed.csv", rows)
    analysis = run(tmp_path, "mixed.csv")
    assert analysis.currencies == ["USD", "EUR"]
    assert "2 currencies (USD, EUR)" in analysis.notes[0]
    eur = whole(analysis, "EUR").figures
    assert eur["allocation_coverage"].value == 0
    assert eur["effective_savings_rate"].value == 0
    assert whole(analysis).figures["allocation_coverage"].value == pytest.approx(
        85 / 165
    )


def test_only_the_chosen_months_count(tmp_path):
    february = row(
        ChargePeriodStart="2026-02-03T00:00:00Z",
        EffectiveCost=100,
        ListCost=100,
        Tags='{"team": "web"}',
    )
    write_csv(tmp_path / "two.csv", [*KNOWN_ROWS, february])
    both = run(tmp_path, "two.csv")
    assert whole(both).figures["allocation_coverage"].value == pytest.approx(185 / 265)
    assert [f.month for f in both.figures if f.month] == ["2026-01", "2026-02"]
    january = run(
        tmp_path, "two.csv", choices=Choices(("team", "cost-center"), ("2026-01",))
    )
    assert whole(january).figures["allocation_coverage"].value == pytest.approx(
        85 / 165
    )
    assert whole(january).period_end.isoformat() == "2026-01-10"


def test_months_absent_from_the_files_are_refused(tmp_path):
    write_csv(tmp_path / "known.csv", KNOWN_ROWS)
    with pytest.raises(FocusError, match="None of the chosen months.*2026-01"):
        run(tmp_path, "known.csv", choices=Choices(months=("2025-06",)))


def test_several_files_add_up(tmp_path):
    write_csv(tmp_path / "a.csv", KNOWN_ROWS)
    write_parquet(tmp_path / "b.parquet", KNOWN_ROWS)
    analysis = run(tmp_path, "a.csv", "b.parquet")
    assert whole(analysis).total_cost == pytest.approx(316)
    assert whole(analysis).figures["allocation_coverage"].value == pytest.approx(
        85 / 165
    )


def test_forecast_variance_is_the_mean_absolute_miss(tmp_path):
    february = row(ChargePeriodStart="2026-02-03T00:00:00Z", EffectiveCost=100)
    write_csv(tmp_path / "two.csv", [*KNOWN_ROWS, february])
    choices = Choices(forecasts={"2026-01": 150, "2026-02": 125, "2026-03": 90})
    figure = whole(run(tmp_path, "two.csv", choices=choices)).figures[
        "forecast_variance"
    ]
    # January 158 vs 150, February 100 vs 125; March has no actual cost.
    assert figure.value == pytest.approx((8 / 150 + 25 / 125) / 2)
    assert [m["month"] for m in figure.detail["months"]] == ["2026-01", "2026-02"]


def test_a_spike_against_the_trailing_fortnight_is_an_anomaly(tmp_path):
    steady = [100.0] * 20
    steady[17] = 400.0  # day 18
    noisy = [90.0, 110.0] * 10
    noisy[16] = 130.0  # within half of its level: not an anomaly
    tiny = [0.1] * 20
    tiny[17] = 0.3  # a tripling, but below the floor
    rows = (
        daily_rows("Amazon EC2", steady)
        + daily_rows("Amazon RDS", noisy)
        + daily_rows("Amazon SNS", tiny)
    )
    write_csv(tmp_path / "daily.csv", rows)
    figure = whole(run(tmp_path, "daily.csv")).figures["anomaly_cost_share"]
    assert figure.detail["count"] == 1
    (day,) = figure.detail["days"]
    assert (day["service"], day["day"]) == ("Amazon EC2", "2026-01-18")
    assert day["baseline"] == pytest.approx(100)
    assert figure.numerator == pytest.approx(300)


def test_the_first_fortnight_is_not_judged(tmp_path):
    costs = [100.0] * 20
    costs[9] = 1000.0
    write_csv(tmp_path / "early.csv", daily_rows("Amazon EC2", costs))
    figure = whole(run(tmp_path, "early.csv")).figures["anomaly_cost_share"]
    assert figure.detail["count"] == 0


def test_the_synthetic_export_reads_in_every_format(tmp_path):
    options = SynthOptions(rows=3000, days=30, seed=7, currencies=("USD", "EUR"))
    for name in ("s.parquet", "s.csv", "s.csv.gz"):
        write_export(tmp_path / name, options)
    results = [run(tmp_path, name) for name in ("s.parquet", "s.csv", "s.csv.gz")]
    values = [round(whole(a).figures["allocation_coverage"].value, 9) for a in results]
    assert values[0] == values[1] == values[2]
    assert 0.5 < values[0] < 0.95
    assert results[0].currencies == ["USD", "EUR"]
    assert len(results[0].providers) == 4


def test_the_synthetic_export_is_the_same_for_the_same_seed(tmp_path):
    for name, seed in (("a.csv", 3), ("b.csv", 3), ("c.csv", 4)):
        write_export(tmp_path / name, SynthOptions(rows=2000, days=20, seed=seed))
    a, b, c = ((tmp_path / n).read_bytes() for n in ("a.csv", "b.csv", "c.csv"))
    assert a == b
    assert a != c


def test_the_synthetic_export_has_commitment_waste_credits_and_gaps(tmp_path):
    write_export(tmp_path / "s.parquet", SynthOptions(rows=20_000, days=30))
    figures = whole(run(tmp_path, "s.parquet")).figures
    assert 0.8 < figures["commitment_utilisation"].value < 0.97
    assert 0.3 < figures["commitment_coverage"].value < 0.8
    assert figures["allocation_coverage"].detail["untagged_services"]
    assert 0.05 < figures["effective_savings_rate"].value < 0.4


def test_synthetic_versions_are_detected(tmp_path):
    for version in ("1.0", "1.1", "1.2", "1.3"):
        name = f"v{version}.csv"
        write_export(tmp_path / name, SynthOptions(rows=200, days=5, version=version))
        assert run(tmp_path, name).versions == [version]


# ---------------------------------------------------------------------------
# Bad input: one clear message each
# ---------------------------------------------------------------------------


def refused(tmp_path, name, **kwargs) -> str:
    with pytest.raises(FocusError) as caught:
        run(tmp_path, name, **kwargs)
    return str(caught.value)


def test_a_file_that_is_not_focus_lists_the_missing_columns(tmp_path):
    (tmp_path / "sales.csv").write_text("region,amount\nnorth,12\n")
    message = refused(tmp_path, "sales.csv")
    assert message.startswith("sales.csv is not a FOCUS export: it lacks the columns")
    assert "EffectiveCost" in message and "BillingCurrency" in message


def test_a_file_missing_a_few_needed_columns_names_them(tmp_path):
    columns = [c for c in COLUMNS if c != "ListCost"]
    write_csv(tmp_path / "nolist.csv", KNOWN_ROWS, columns)
    assert refused(tmp_path, "nolist.csv") == (
        "nolist.csv lacks FOCUS columns the figures need: ListCost."
    )


def test_the_preview_version_is_unsupported(tmp_path):
    (tmp_path / "old.csv").write_text(
        "AmortizedCost,BilledCost,ChargeType,Provider,Region\n1,1,Usage,AWS,eu\n"
    )
    message = refused(tmp_path, "old.csv")
    assert "FOCUS 0.5 preview" in message and "1.0 to 1.3" in message


def test_text_in_a_cost_column_names_the_column_and_line(tmp_path):
    rows = [*KNOWN_ROWS[:2], row(EffectiveCost="twelve")]
    write_csv(tmp_path / "typed.csv", rows)
    assert refused(tmp_path, "typed.csv") == (
        "typed.csv: EffectiveCost must hold numbers (it holds “twelve”) on line 4."
    )


def test_a_date_that_is_not_a_date_is_refused(tmp_path):
    rows = [*KNOWN_ROWS[:2], row(ChargePeriodStart="last tuesday")]
    write_csv(tmp_path / "dates.csv", rows)
    message = refused(tmp_path, "dates.csv")
    assert "ChargePeriodStart must hold dates and times" in message


def test_a_parquet_cost_column_of_text_is_refused(tmp_path):
    import duckdb

    write_csv(tmp_path / "src.csv", KNOWN_ROWS)
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * REPLACE (CAST(ListCost AS VARCHAR) AS ListCost) "
            f"FROM read_csv('{tmp_path / 'src.csv'}')) "
            f"TO '{tmp_path / 'text.parquet'}' (FORMAT parquet)"
        )
    assert refused(tmp_path, "text.parquet") == (
        "text.parquet has columns of the wrong type: ListCost holds varchar, "
        "not numbers."
    )


def test_tags_that_are_not_json_are_refused(tmp_path):
    write_csv(tmp_path / "tags.csv", [row(Tags="team=payments")])
    assert refused(tmp_path, "tags.csv") == (
        "tags.csv: Tags holds text that is not a JSON object."
    )


def test_an_empty_file_is_refused(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    assert refused(tmp_path, "empty.csv") == "empty.csv is empty."


def test_headings_without_rows_are_refused(tmp_path):
    write_csv(tmp_path / "headings.csv", [])
    assert refused(tmp_path, "headings.csv") == (
        "headings.csv has column headings but no rows."
    )


def test_a_truncated_gzip_is_refused(tmp_path):
    write_export(tmp_path / "full.csv.gz", SynthOptions(rows=20_000, days=10))
    data = (tmp_path / "full.csv.gz").read_bytes()
    (tmp_path / "cut.csv.gz").write_bytes(data[: len(data) // 2])
    assert refused(tmp_path, "cut.csv.gz") == (
        "cut.csv.gz is a truncated or damaged gzip file: download it again."
    )


def test_a_gzip_that_is_not_gzip_inside_is_refused(tmp_path):
    (tmp_path / "bad.csv.gz").write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    assert "truncated or damaged gzip" in refused(tmp_path, "bad.csv.gz")


def test_a_truncated_parquet_file_is_refused(tmp_path):
    write_parquet(tmp_path / "full.parquet", KNOWN_ROWS)
    data = (tmp_path / "full.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    assert refused(tmp_path, "cut.parquet") == (
        "cut.parquet is a truncated or damaged Parquet file: download it again."
    )


def test_a_damaged_parquet_file_is_refused(tmp_path):
    write_export(tmp_path / "full.parquet", SynthOptions(rows=20_000, days=10))
    data = bytearray((tmp_path / "full.parquet").read_bytes())
    # Most of the column chunks, so that the columns the figures read are hit.
    start, end = len(data) // 10, len(data) * 8 // 10
    data[start:end] = bytes(end - start)
    (tmp_path / "broken.parquet").write_bytes(bytes(data))
    assert refused(tmp_path, "broken.parquet") == (
        "broken.parquet is a truncated or damaged Parquet file: download it again."
    )


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    write_csv(tmp_path / "big.csv", KNOWN_ROWS)
    limits = EngineLimits(max_file_bytes=1024)
    message = refused(tmp_path, "big.csv", limits=limits)
    assert message.startswith("big.csv is ") and "at most 1.0 KB" in message


def test_a_spreadsheet_renamed_to_csv_is_refused(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(COLUMNS)
    book.save(tmp_path / "costs.csv")
    assert "costs.csv is a spreadsheet" in refused(tmp_path, "costs.csv")


def test_an_old_excel_file_renamed_to_csv_is_refused(tmp_path):
    (tmp_path / "costs.csv").write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
    )
    assert "costs.csv is a spreadsheet" in refused(tmp_path, "costs.csv")


def test_a_bad_file_among_good_ones_is_named(tmp_path):
    write_csv(tmp_path / "good.csv", KNOWN_ROWS)
    with gzip.open(tmp_path / "second.csv.gz", "wb") as handle:
        handle.write(b"region,amount\nnorth,1\n")
    with pytest.raises(FocusError, match="^second.csv.gz is not a FOCUS export"):
        run(tmp_path, "good.csv", "second.csv.gz")


@pytest.mark.parametrize(
    ("tags", "allocated"),
    [
        ('{ "team" : "web" }', True),
        ('{"env":"prod","team":"web"}', True),
        ('{"team": 42}', True),
        ('{"team": "   "}', False),
        ('{"team": null}', False),
        ('{"Team": "web"}', False),  # keys are case-sensitive, as in FOCUS
        ('{"note": "\\"team\\": \\"web\\""}', False),  # the key inside a value
        ('{"teams": "web"}', False),
    ],
)
def test_tag_values_count_only_when_not_blank(tmp_path, tags, allocated):
    write_csv(tmp_path / "tags.csv", [row(EffectiveCost=10, Tags=tags)])
    figure = whole(run(tmp_path, "tags.csv")).figures["allocation_coverage"]
    assert figure.value == (1.0 if allocated else 0.0)


def test_parquet_nulls_are_read_from_the_footer(tmp_path):
    rows = [*KNOWN_ROWS, row(EffectiveCost=None, ListCost=5, ServiceName=None)]
    write_parquet(tmp_path / "nulls.parquet", rows)
    analysis = run(tmp_path, "nulls.parquet")
    assert analysis.files[0].known_nulls["EffectiveCost"] == 1
    assert any(
        "EffectiveCost (1 rows)" in p["text"] and "ServiceName (1 rows)" in p["text"]
        for p in analysis.problems
    )


def test_repeated_tag_sets_are_tested_once_each_with_the_same_result(tmp_path):
    from assessment import focus

    rows = KNOWN_ROWS * 30  # 5 distinct tag texts over 300 rows
    write_parquet(tmp_path / "many.parquet", rows)
    write_csv(tmp_path / "many.csv", rows)
    limits = EngineLimits()
    con = focus.connect(limits)
    info = focus.inspect_file(con, tmp_path / "many.parquet", "many.parquet", limits)
    assert focus.use_tag_map(con, info, KEYS.tag_keys)
    mapped, plain = (run(tmp_path, n) for n in ("many.parquet", "many.csv"))
    assert whole(mapped).figures["allocation_coverage"].value == pytest.approx(85 / 165)
    assert whole(plain).figures["allocation_coverage"].value == pytest.approx(85 / 165)
    assert whole(mapped).figures["allocation_coverage"].detail == (
        whole(plain).figures["allocation_coverage"].detail
    )


def test_ids_that_look_numeric_at_first_are_read_as_text(tmp_path):
    # The CSV sniffer samples the first 20,480 rows: ids there are all digits.
    numeric = [
        row(EffectiveCost=1, ListCost=1, ResourceId=str(n)) for n in range(25_000)
    ]
    write_csv(
        tmp_path / "ids.csv", [*numeric, row(ResourceId="i-0abc", EffectiveCost=1)]
    )
    figures = whole(run(tmp_path, "ids.csv")).figures
    assert figures["resource_id_share"].value == 1.0


def test_numeric_ids_in_parquet_are_read_as_text(tmp_path):
    import duckdb

    write_csv(tmp_path / "src.csv", [row(EffectiveCost=2, ResourceId="123")])
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * REPLACE (CAST(ResourceId AS BIGINT) AS ResourceId) "
            f"FROM read_csv('{tmp_path / 'src.csv'}', "
            "types={'ResourceId': 'VARCHAR'})) "
            f"TO '{tmp_path / 'ids.parquet'}' (FORMAT parquet)"
        )
    figures = whole(run(tmp_path, "ids.parquet")).figures
    assert figures["resource_id_share"].value == 1.0
