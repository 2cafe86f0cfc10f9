"""FOCUS cost exports read by DuckDB: checks first, then the KPIs, in SQL.

Billing rows never reach Python. Each file is checked (format, columns,
version, types) from its header or schema, then read once by one aggregate
query that folds its rows into a small table (`agg`: one row per currency,
day, provider, service and a few flags). Every KPI, the anomalies and the
data-quality figures are then computed from that small table, so the cost
is one scan of each file, with memory bounded by DuckDB's `memory_limit`
(spilling to `temp_directory` if the aggregate ever grows past it).

KPI definitions (also on the "How scores are computed" page):
- Allocation coverage: EffectiveCost of Usage and Purchase charges whose Tags
  hold a non-empty value for any chosen key, over all EffectiveCost of Usage
  and Purchase charges. Credits, taxes and adjustments are left out;
  corrections count with the usage they correct.
- Commitment discount coverage: EffectiveCost of eligible usage (Usage
  charges in the chosen service categories, unused commitment left out)
  priced by a commitment discount (PricingCategory Committed or
  Commitment-Based, or a CommitmentDiscountId), over all eligible usage.
- Commitment utilisation: used commitment cost over used plus unused
  (CommitmentDiscountStatus Used and Unused).
- Effective savings rate: 1 - EffectiveCost / ListCost over Usage charges.
- Cost with a resource: EffectiveCost of Usage charges with a ResourceId,
  over all Usage charges.
- Anomalies: see `ANOMALY_*` below.
- Forecast variance: mean over the months of |actual - forecast| / forecast,
  actual being all EffectiveCost of the month in the forecast's currency.
"""

from __future__ import annotations

import datetime
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

# ---------------------------------------------------------------------------
# The specification, as far as the app relies on it
# ---------------------------------------------------------------------------

SUPPORTED_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
# Columns the KPIs cannot do without (the provider column aside: it changed
# name in 1.3).
NEEDED = (
    "BillingCurrency",
    "ChargeCategory",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "EffectiveCost",
    "ListCost",
    "ServiceCategory",
    "ServiceName",
)
PROVIDER_COLUMNS = ("ProviderName", "ServiceProviderName")
# Other columns every FOCUS 1.x dataset must have: missing ones are reported
# as conformance problems, and the figures are still computed.
REQUIRED = (
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ContractedCost",
    "InvoiceIssuerName",
    "PricingQuantity",
    "PricingUnit",
    "PublisherName",
    "SubAccountId",
)
# Columns the specification forbids to be null, counted per file.
NOT_NULL = (
    "BilledCost",
    "BillingAccountId",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
)
CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
COST_COLUMNS = ("BilledCost", "ContractedCost", "EffectiveCost", "ListCost")
# Text columns the pass compares or groups by: read as text whatever a
# sniffer or a writer made of them (account or resource ids can look numeric).
TEXT_COLUMNS = (
    "BillingCurrency",
    "ChargeCategory",
    "ChargeClass",
    "CommitmentDiscountId",
    "CommitmentDiscountStatus",
    "PricingCategory",
    "ProviderName",
    "ResourceId",
    "ServiceCategory",
    "ServiceName",
    "ServiceProviderName",
    "Tags",
)
TIME_COLUMNS = (
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargePeriodEnd",
    "ChargePeriodStart",
)
# Columns that first appeared in a version: the newest present dates the file.
VERSION_MARKERS = {
    "1.3": ("ServiceProviderName", "HostProviderName"),
    "1.2": ("BillingAccountType", "InvoiceId", "PricingCurrency", "SubAccountType"),
    "1.1": (
        "CapacityReservationId",
        "CapacityReservationStatus",
        "CommitmentDiscountQuantity",
        "CommitmentDiscountUnit",
        "ServiceSubcategory",
        "SkuMeter",
        "SkuPriceDetails",
    ),
}
# Names of the 0.5 preview, which 1.0 renamed.
PRE_RELEASE_COLUMNS = ("AmortizedCost", "ChargeType", "Provider", "Region")

NUMERIC_TYPES = (
    "DECIMAL",
    "DOUBLE",
    "FLOAT",
    "REAL",
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "HUGEINT",
    "UBIGINT",
    "UINTEGER",
    "USMALLINT",
    "UTINYINT",
)
TIME_TYPES = ("TIMESTAMP", "DATE", "VARCHAR")

COMMITTED_PRICING = ("Committed", "Commitment-Based")
DEFAULT_ELIGIBLE = ("Compute",)

# A service's day is an anomaly when its Usage cost departs from the mean of
# the previous ANOMALY_WINDOW days (missing days count as zero) by more than
# ANOMALY_THRESHOLD of that mean and by more than three standard deviations
# of those days, and by at least ANOMALY_FLOOR of the average daily cost of
# the currency (so that noise on small services is not reported). Only days
# with a full window in the file are judged.
ANOMALY_WINDOW = 14
ANOMALY_THRESHOLD = 0.5
ANOMALY_SIGMAS = 3
ANOMALY_FLOOR = 0.005
TOP_UNTAGGED = 5
TOP_ANOMALIES = 10
# Tag keys offered to the owner: the most frequent keys in the first rows.
TAG_KEY_SAMPLE_ROWS = 50_000
TAG_KEY_CHOICES = 20
# Test tags per distinct text when the sample has at most this share of
# distinct texts (repeated tag sets, the common case).
TAG_MAP_MAX_SHARE = 0.05

MAGIC_PARQUET = b"PAR1"
MAGIC_GZIP = b"\x1f\x8b"
MAGIC_ZIP = b"PK\x03\x04"  # xlsx, ods
MAGIC_OLE = b"\xd0\xcf\x11\xe0"  # xls


class FocusError(Exception):
    """A file the app cannot use; the message says why, in plain words."""


@dataclass(frozen=True)
class EngineLimits:
    memory_limit: str = "512MB"
    threads: int = 2
    temp_directory: str | None = None
    max_file_bytes: int = 5 * 1024**3


@dataclass(frozen=True)
class Choices:
    """What the owner chose: tag keys, months, eligible categories, forecasts."""

    tag_keys: tuple[str, ...] = ()
    months: tuple[str, ...] = ()  # "2026-01"; empty means every month
    eligible_categories: tuple[str, ...] = DEFAULT_ELIGIBLE
    forecasts: dict[str, float] = field(default_factory=dict)  # month -> amount
    forecast_currency: str = ""


@dataclass
class FileInfo:
    path: Path
    name: str  # as the owner named it
    format: str  # "parquet", "csv" or "csv.gz"
    version: str
    columns: dict[str, str]
    rows: int = 0
    # Nulls per column read from the Parquet footer's statistics, so the
    # pass need not read those columns at all.
    known_nulls: dict[str, int] = field(default_factory=dict)

    @property
    def provider_column(self) -> str:
        return next(c for c in PROVIDER_COLUMNS if c in self.columns)


@dataclass(frozen=True)
class Figure:
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    detail: dict = field(default_factory=dict)


@dataclass
class CurrencyFigures:
    currency: str
    month: str  # "" for the whole period, else "2026-01"
    period_start: datetime.date
    period_end: datetime.date  # last day with a charge
    total_cost: float
    rows: int
    figures: dict[str, Figure]


@dataclass
class Analysis:
    files: list[FileInfo]
    versions: list[str]
    providers: list[str]
    currencies: list[str]
    months: list[str]  # every month in the files
    latest_charge: datetime.date | None
    # Conformance problems (the figures still stand): {"file": name, "text":
    # what is wrong}, apart so that viewers can be shown them without names.
    problems: list[dict[str, str]]
    notes: list[str]
    tag_keys_seen: list[str]
    categories_seen: list[str]
    figures: list[CurrencyFigures]

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


Progress = Callable[[float, str], None]


# ---------------------------------------------------------------------------
# Connection
# ---------------------------------------------------------------------------


def connect(limits: EngineLimits) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB with bounded memory and threads."""
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{_memory_setting(limits.memory_limit)}'")
    con.execute(f"SET threads = {int(limits.threads)}")
    if limits.temp_directory:
        con.execute("SET temp_directory = ?", [limits.temp_directory])
    con.execute("SET TimeZone = 'UTC'")
    # The aggregate needs no row order; dropping it saves memory.
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    return con


def _memory_setting(value: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)", value.strip()):
        raise ValueError(f"memory_limit must look like 512MB, got {value!r}.")
    return value.strip()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ---------------------------------------------------------------------------
# Checking a file
# ---------------------------------------------------------------------------


def sniff_format(path: Path, name: str, limits: EngineLimits) -> str:
    """Return "parquet", "csv" or "csv.gz" from the file's first bytes."""
    size = path.stat().st_size
    if size == 0:
        raise FocusError(f"{name} is empty.")
    if size > limits.max_file_bytes:
        raise FocusError(
            f"{name} is {_size(size)}; files may be at most "
            f"{_size(limits.max_file_bytes)}."
        )
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(MAGIC_PARQUET):
        return "parquet"
    if head.startswith(MAGIC_GZIP):
        return "csv.gz"
    if head.startswith((MAGIC_ZIP, MAGIC_OLE)):
        raise FocusError(
            f"{name} is a spreadsheet (Excel or similar), not a CSV file, "
            "whatever its name says. Upload the provider's CSV or Parquet "
            "export, or save the sheet as CSV."
        )
    if b"\x00" in head:
        raise FocusError(f"{name} is neither CSV nor Parquet.")
    return "csv"


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # unreachable


def _source(info: FileInfo, typed: bool = True) -> str:
    """Return the table function reading the file (types fixed for CSV)."""
    path = _literal(str(info.path))
    if info.format == "parquet":
        return f"read_parquet({path})"
    compression = "gzip" if info.format == "csv.gz" else "none"
    options = f"header = true, compression = '{compression}'"
    if typed:
        types = {c: "DOUBLE" for c in COST_COLUMNS if c in info.columns}
        types |= {c: "TIMESTAMP" for c in TIME_COLUMNS if c in info.columns}
        types |= {c: "VARCHAR" for c in TEXT_COLUMNS if c in info.columns}
        if types:
            pairs = ", ".join(f"{_literal(c)}: '{t}'" for c, t in types.items())
            options += f", types = {{{pairs}}}"
    return f"read_csv({path}, {options})"


def inspect_file(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, limits: EngineLimits
) -> FileInfo:
    """Check a file's format, columns, version and types; read no rows."""
    info = FileInfo(path, name, sniff_format(path, name, limits), "", {})
    try:
        described = con.execute(
            f"DESCRIBE SELECT * FROM {_source(info, typed=False)}"
        ).fetchall()
    except duckdb.Error as exc:
        raise FocusError(read_error(info, exc)) from None
    info.columns = {row[0]: row[1] for row in described}
    info.version = focus_version(info.columns, name)
    check_types(info)
    if info.format == "parquet":
        info.known_nulls = footer_null_counts(con, info)
    return info


def footer_null_counts(con: duckdb.DuckDBPyConnection, info: FileInfo) -> dict:
    """Return the null count of each required column that every row group's
    statistics give (a writer may leave statistics out)."""
    rows = con.execute(
        "SELECT path_in_schema, sum(stats_null_count), "
        "count(*) = count(stats_null_count) "
        f"FROM parquet_metadata({_literal(str(info.path))}) GROUP BY path_in_schema"
    ).fetchall()
    return {
        column: int(nulls)
        for column, nulls, complete in rows
        if complete and column in NOT_NULL
    }


def focus_version(columns: dict[str, str], name: str) -> str:
    """Return the FOCUS version the columns say, or raise FocusError."""
    present = set(columns)
    if not present & set(PROVIDER_COLUMNS + NEEDED) and present & set(
        PRE_RELEASE_COLUMNS
    ):
        found = sorted(present & set(PRE_RELEASE_COLUMNS))
        raise FocusError(
            f"{name} uses the columns of the FOCUS 0.5 preview ({', '.join(found)}). "
            f"The app reads FOCUS {SUPPORTED_VERSIONS[0]} to "
            f"{SUPPORTED_VERSIONS[-1]}: export the data again in a current "
            "FOCUS version."
        )
    missing = [c for c in NEEDED if c not in present]
    if not present & set(PROVIDER_COLUMNS):
        missing.append("ProviderName")
    if missing:
        if len(missing) > len(NEEDED) // 2:
            raise FocusError(
                f"{name} is not a FOCUS export: it lacks the columns "
                f"{', '.join(missing)}."
            )
        raise FocusError(
            f"{name} lacks FOCUS columns the figures need: {', '.join(missing)}."
        )
    for version, markers in VERSION_MARKERS.items():
        if present & set(markers):
            return version
    return "1.0"


def check_types(info: FileInfo) -> None:
    """Refuse a file whose costs are not numbers or dates not dates."""
    wrong = []
    for column in COST_COLUMNS:
        kind = info.columns.get(column)
        # A CSV column the sniffer took for text fails on its first bad
        # value when read as DOUBLE, with its line: see read_error.
        if kind and info.format == "parquet" and not kind.startswith(NUMERIC_TYPES):
            wrong.append(f"{column} holds {kind.lower()}, not numbers")
    for column in TIME_COLUMNS:
        kind = info.columns.get(column)
        if kind and not kind.startswith(TIME_TYPES):
            wrong.append(f"{column} holds {kind.lower()}, not dates and times")
    tags = info.columns.get("Tags")
    if tags and not (tags in ("VARCHAR", "JSON") or tags.startswith("MAP(VARCHAR")):
        wrong.append(f"Tags holds {tags.lower()}, not a JSON object of key-value pairs")
    if wrong:
        raise FocusError(
            f"{info.name} has columns of the wrong type: {'; '.join(wrong)}."
        )


def read_error(info: FileInfo, exc: duckdb.Error) -> str:
    """Turn DuckDB's error while reading a file into a plain message."""
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, duckdb.OutOfMemoryException):
        return (
            f"Reading {info.name} needed more memory than the worker may use. "
            "Split the export into smaller files (for example one per month)."
        )
    if "malformed json" in lowered:
        return f"{info.name}: Tags holds text that is not a JSON object."
    if "gzip" in lowered or "zlib" in lowered or "inflate" in lowered:
        return f"{info.name} is a truncated or damaged gzip file: download it again."
    if info.format == "parquet" and (
        "magic bytes" in lowered
        or "decompression" in lowered
        or "parquet" in lowered
        or "thrift" in lowered
        or "tprotocol" in lowered
        or "invalid data" in lowered
        or "corrupt" in lowered
    ):
        return f"{info.name} is a truncated or damaged Parquet file: download it again."
    converting = re.search(r'converting column "([^"]+)"', text)
    if converting or isinstance(exc, duckdb.ConversionException):
        column = converting.group(1) if converting else "a column"
        line = re.search(r"Line: (\d+)", text)
        where = f" on line {line.group(1)}" if line else ""
        value = re.search(r'Could not convert string "([^"]{0,40})', text)
        held = f" (it holds “{value.group(1)}”)" if value else ""
        kind = "dates and times" if column in TIME_COLUMNS else "numbers"
        if column == "a column":
            return f"{info.name} has a value of the wrong type{where}."
        return f"{info.name}: {column} must hold {kind}{held}{where}."
    if "csv" in lowered:
        line = re.search(r"Line: (\d+)", text)
        where = f" near line {line.group(1)}" if line else ""
        return f"{info.name} is not a well-formed CSV file{where}."
    return f"{info.name} could not be read: {text.splitlines()[0][:200]}"


# ---------------------------------------------------------------------------
# The one pass over each file
# ---------------------------------------------------------------------------

AGG_TABLE = """
CREATE OR REPLACE TEMP TABLE agg (
    file_no INTEGER, currency VARCHAR, day DATE, provider VARCHAR,
    service VARCHAR, category VARCHAR, charge_category VARCHAR,
    is_correction BOOLEAN, is_committed BOOLEAN, status VARCHAR,
    is_allocated BOOLEAN, has_resource BOOLEAN,
    rows BIGINT, effective DOUBLE, list DOUBLE, latest_end TIMESTAMP,
    {null_columns}
)
"""


def _null_column(column: str) -> str:
    return f"nulls_{column}"


def create_agg(con: duckdb.DuckDBPyConnection) -> None:
    null_columns = ", ".join(f"{_null_column(c)} BIGINT" for c in NOT_NULL)
    con.execute(AGG_TABLE.format(null_columns=null_columns))


def _text(column: str) -> str:
    """Return a column as text (a no-op on text columns)."""
    return f"CAST({_ident(column)} AS VARCHAR)"


def _allocated_sql(info: FileInfo, tag_keys: Sequence[str]) -> str:
    """Return the SQL test: do the Tags hold a non-empty value for a chosen key?

    A JSON object (text) is matched with one regular expression rather than
    parsed: half the cost of JSON parsing per row, and exact for well-formed
    JSON, where a quote inside a value is escaped and so cannot open a key.
    A value counts when it is a string with a non-blank character, or a
    number, boolean, list or object; "" and null do not. Malformed JSON is
    caught on the sample read for the tag keys (see `tag_keys_sql`).
    """
    if "Tags" not in info.columns or not tag_keys:
        return "false"
    if info.columns["Tags"].startswith("MAP"):
        return (
            "("
            + " OR ".join(
                f"coalesce(trim(map_extract_value(Tags, {_literal(k)})), '') <> ''"
                for k in tag_keys
            )
            + ")"
        )
    keys = "|".join(re.escape(json.dumps(k)) for k in tag_keys)
    pattern = rf'(?:^|[{{,])\s*(?:{keys})\s*:\s*(?:"\s*[^"\s]|[-0-9tf\[{{])'
    return f"coalesce(regexp_matches(Tags, {_literal(pattern)}), false)"


def aggregate_sql(
    info: FileInfo, file_no: int, tag_keys: Sequence[str], *, tag_map: bool = False
) -> str:
    """Return the INSERT that folds one file into `agg`.

    With `tag_map`, the allocation test is looked up in `tag_map` (see
    `tag_map_sql`) instead of being evaluated on every row.
    """
    allocated = _allocated_sql(info, tag_keys)
    source = _source(info)
    if tag_map:
        allocated = "coalesce(tag_map.tag_allocated, false)"
        source += " LEFT JOIN tag_map USING (Tags)"
    committed_pricing = ", ".join(_literal(p) for p in COMMITTED_PRICING)
    committed = "false"
    if "PricingCategory" in info.columns:
        committed = (
            f"coalesce({_text('PricingCategory')} IN ({committed_pricing}), false)"
        )
    if "CommitmentDiscountId" in info.columns:
        committed += f" OR coalesce({_text('CommitmentDiscountId')}, '') <> ''"
    correction = "false"
    if "ChargeClass" in info.columns:
        correction = f"coalesce({_text('ChargeClass')} = 'Correction', false)"
    status = "NULL"
    if "CommitmentDiscountStatus" in info.columns:
        status = _text("CommitmentDiscountStatus")
    resource = "false"
    if "ResourceId" in info.columns:
        resource = f"coalesce({_text('ResourceId')}, '') <> ''"
    null_counts = ", ".join(
        f"count(*) - count({_ident(c)})"
        if c in info.columns and c not in info.known_nulls
        else "0"
        for c in NOT_NULL
    )
    return f"""
INSERT INTO agg
SELECT
    {file_no}, {_text("BillingCurrency")}, CAST(ChargePeriodStart AS DATE),
    {_text(info.provider_column)}, {_text("ServiceName")},
    {_text("ServiceCategory")}, {_text("ChargeCategory")},
    {correction}, {committed},
    {status},
    {allocated}, {resource},
    count(*), sum(CAST(EffectiveCost AS DOUBLE)), sum(CAST(ListCost AS DOUBLE)),
    max(CAST(ChargePeriodEnd AS TIMESTAMP)),
    {null_counts}
FROM {source}
GROUP BY ALL
"""


def tag_map_sql(info: FileInfo, tag_keys: Sequence[str]) -> str:
    """Return the table of each distinct Tags text and its allocation test.

    Exports repeat the same few tag sets on many rows: testing each
    distinct text once and joining costs far less than testing every row.
    Reading the Tags column alone is cheap in Parquet, where columns are
    stored apart; a CSV file is never read twice for it.
    """
    return f"""
CREATE OR REPLACE TEMP TABLE tag_map AS
SELECT Tags, {_allocated_sql(info, tag_keys)} AS tag_allocated
FROM (SELECT DISTINCT Tags FROM {_source(info)} WHERE Tags IS NOT NULL)
"""


def tag_sample_sql(info: FileInfo) -> str:
    """Return (distinct Tags texts, Tags texts) among the file's first rows."""
    return (
        f"SELECT count(DISTINCT Tags), count(Tags) FROM "
        f"(SELECT Tags FROM {_source(info)} LIMIT {TAG_KEY_SAMPLE_ROWS})"
    )


def use_tag_map(con, info: FileInfo, tag_keys: Sequence[str]) -> bool:
    """Say whether to test tags per distinct text (see `tag_map_sql`)."""
    if info.format != "parquet" or not tag_keys:
        return False
    if info.columns.get("Tags") not in ("VARCHAR", "JSON"):
        return False
    distinct, present = con.execute(tag_sample_sql(info)).fetchone()
    return present > 0 and distinct <= TAG_MAP_MAX_SHARE * present


def tag_keys_sql(info: FileInfo) -> str | None:
    """Return a query of the most frequent tag keys in the file's first rows."""
    kind = info.columns.get("Tags")
    if kind is None:
        return None
    keys = "map_keys(Tags)" if kind.startswith("MAP") else "json_keys(Tags)"
    return f"""
SELECT key FROM (
    SELECT unnest({keys}) AS key
    FROM (SELECT Tags FROM {_source(info)} LIMIT {TAG_KEY_SAMPLE_ROWS})
    WHERE Tags IS NOT NULL
)
GROUP BY key ORDER BY count(*) DESC, key LIMIT {TAG_KEY_CHOICES}
"""


PROGRESS_THREAD = "duckdb-progress"


class ProgressPoller:
    """Report DuckDB's progress on the running query every second or so."""

    def __init__(self, con, report: Callable[[float], None], every: float = 1.0):
        self.con, self.report, self.every = con, report, every
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name=PROGRESS_THREAD, daemon=True
        )

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            percent = self.con.query_progress()
            if percent >= 0:
                self.report(percent / 100)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def analyse(
    files: Sequence[tuple[Path, str]],
    choices: Choices,
    limits: EngineLimits,
    progress: Progress | None = None,
) -> Analysis:
    """Check and read every file once, then compute the figures.

    Raises FocusError naming the first unusable file; nothing is returned
    then, so earlier figures stay as they were.
    """
    progress = progress or (lambda fraction, stage: None)
    con = connect(limits)
    try:
        infos = []
        for number, (path, name) in enumerate(files, start=1):
            progress(0.0, f"Checking {name} ({number} of {len(files)})")
            infos.append(inspect_file(con, Path(path), name, limits))
        create_agg(con)
        tag_keys: list[str] = []
        for number, info in enumerate(infos):
            stage = f"Reading {info.name} ({number + 1} of {len(infos)})"
            progress(number / len(infos), stage)

            def report(fraction, number=number, stage=stage):
                progress((number + fraction) / len(infos), stage)

            try:
                # The sample comes first: malformed tags fail before the pass.
                sample = tag_keys_sql(info)
                if sample:
                    tag_keys += [k for (k,) in con.execute(sample).fetchall()]
                mapped = use_tag_map(con, info, choices.tag_keys)
                if mapped:
                    con.execute(tag_map_sql(info, choices.tag_keys))
                with ProgressPoller(con, report):
                    con.execute(
                        aggregate_sql(info, number, choices.tag_keys, tag_map=mapped)
                    )
            except duckdb.Error as exc:
                raise FocusError(read_error(info, exc)) from None
            (info.rows,) = con.execute(
                "SELECT coalesce(sum(rows), 0) FROM agg WHERE file_no = ?", [number]
            ).fetchone()
            if info.rows == 0:
                raise FocusError(f"{info.name} has column headings but no rows.")
        progress(1.0, "Computing the figures")
        return summarise(con, infos, choices, list(dict.fromkeys(tag_keys)))
    finally:
        con.close()


# ---------------------------------------------------------------------------
# Figures from the small table
# ---------------------------------------------------------------------------


def _in_months(months: Sequence[str]) -> str:
    if not months:
        return "true"
    return f"strftime(day, '%Y-%m') IN ({', '.join(_literal(m) for m in months)})"


def _in_list(values: Sequence[str]) -> str:
    return ", ".join(_literal(v) for v in values) or "NULL"


def summarise(
    con: duckdb.DuckDBPyConnection,
    infos: list[FileInfo],
    choices: Choices,
    tag_keys_seen: list[str],
) -> Analysis:
    """Compute every figure from `agg` (a few thousand rows at most)."""
    months_all = [
        m
        for (m,) in con.execute(
            "SELECT DISTINCT strftime(day, '%Y-%m') FROM agg "
            "WHERE day IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    chosen = [m for m in choices.months if m in months_all] if choices.months else []
    if choices.months and not chosen:
        raise FocusError(
            "None of the chosen months is in the files, which cover "
            f"{_month_span(months_all)}."
        )
    scope = _in_months(chosen)
    providers = [
        p
        for (p,) in con.execute(
            "SELECT provider FROM agg WHERE provider IS NOT NULL GROUP BY provider "
            "ORDER BY sum(effective) DESC"
        ).fetchall()
    ]
    (latest,) = con.execute("SELECT max(latest_end) FROM agg").fetchone()
    categories = [
        c
        for (c,) in con.execute(
            "SELECT DISTINCT category FROM agg WHERE category IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    figures = kpi_figures(con, scope, choices)
    currencies = list(dict.fromkeys(f.currency for f in figures))
    notes = []
    if len(currencies) > 1:
        notes.append(
            f"The files bill in {len(currencies)} currencies "
            f"({', '.join(currencies)}): every figure is given per currency."
        )
    return Analysis(
        files=infos,
        versions=sorted({i.version for i in infos}),
        providers=providers,
        currencies=currencies,
        months=months_all,
        latest_charge=(latest - datetime.timedelta(microseconds=1)).date()
        if latest
        else None,
        problems=conformance_problems(con, infos),
        notes=notes,
        tag_keys_seen=tag_keys_seen,
        categories_seen=categories,
        figures=figures,
    )


def _month_span(months: list[str]) -> str:
    if not months:
        return "no month"
    return months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"


KPI_SQL = """
SELECT
    currency,
    coalesce(month, '') AS month,
    GROUPING(month) AS whole,
    min(day), max(day), sum(effective), sum(rows),
    sum(effective) FILTER (WHERE usage_or_purchase AND is_allocated),
    sum(effective) FILTER (WHERE usage_or_purchase),
    sum(effective) FILTER (WHERE eligible AND is_committed),
    sum(effective) FILTER (WHERE eligible),
    sum(effective) FILTER (WHERE status = 'Used'),
    sum(effective) FILTER (WHERE status IN ('Used', 'Unused')),
    sum(effective) FILTER (WHERE charge_category = 'Usage'),
    sum(list) FILTER (WHERE charge_category = 'Usage'),
    sum(effective) FILTER (WHERE charge_category = 'Usage' AND has_resource),
    sum(effective) FILTER (WHERE status = 'Unused')
FROM (
    SELECT *,
        strftime(day, '%Y-%m') AS month,
        charge_category IN ('Usage', 'Purchase') AS usage_or_purchase,
        charge_category = 'Usage' AND category IN ({eligible})
            AND coalesce(status, '') <> 'Unused' AS eligible
    FROM agg WHERE currency IS NOT NULL AND day IS NOT NULL AND {scope}
)
GROUP BY GROUPING SETS ((currency), (currency, month))
ORDER BY whole DESC, CASE WHEN whole = 1 THEN -sum(effective) END, currency, month
"""


def _share(numerator, denominator) -> Figure:
    """Return numerator / denominator, or no value without a positive base."""
    if not denominator or denominator <= 0:
        return Figure(None, numerator, denominator)
    return Figure(numerator / denominator if numerator else 0.0, numerator, denominator)


def kpi_figures(con, scope: str, choices: Choices) -> list[CurrencyFigures]:
    """Return the figures per currency for the period, then per month."""
    sql = KPI_SQL.format(eligible=_in_list(choices.eligible_categories), scope=scope)
    rows = con.execute(sql).fetchall()
    results = []
    for row in rows:
        (currency, month, _whole, start, end, total, count, alloc, alloc_base,
         covered, eligible, used, commitment, usage_eff, usage_list, resourced,
         unused) = row  # fmt: skip
        figures = {
            "allocation_coverage": _share(alloc, alloc_base),
            "commitment_coverage": _share(covered, eligible),
            "commitment_utilisation": _share(used, commitment),
            "effective_savings_rate": _savings(usage_eff, usage_list),
            "resource_id_share": _share(resourced, usage_eff),
        }
        figures["commitment_utilisation"].detail["unused"] = unused or 0.0
        results.append(
            CurrencyFigures(currency, month, start, end, total or 0.0, count, figures)
        )
    whole = [r for r in results if not r.month]
    for item in whole:
        item.figures["allocation_coverage"].detail["untagged_services"] = (
            untagged_services(con, scope, item.currency)
        )
        item.figures["anomaly_cost_share"] = anomalies(con, scope, item)
        if choices.forecasts and item.currency == (
            choices.forecast_currency or whole[0].currency
        ):
            monthly = {
                r.month: r.total_cost
                for r in results
                if r.currency == item.currency and r.month
            }
            item.figures["forecast_variance"] = forecast_variance(
                monthly, choices.forecasts
            )
    return results


def _savings(effective, listed) -> Figure:
    if not listed or listed <= 0:
        return Figure(None, effective, listed)
    return Figure(1 - (effective or 0.0) / listed, effective, listed)


def untagged_services(con, scope: str, currency: str) -> list[dict]:
    """Return the services with the most unallocated cost, with their share."""
    rows = con.execute(
        f"""
        SELECT service, sum(effective) AS cost,
            sum(effective) / sum(sum(effective)) OVER () AS share
        FROM agg
        WHERE currency = ? AND {scope} AND day IS NOT NULL
            AND charge_category IN ('Usage', 'Purchase') AND NOT is_allocated
        GROUP BY service HAVING sum(effective) > 0
        ORDER BY cost DESC, service LIMIT {TOP_UNTAGGED}
        """,
        [currency],
    ).fetchall()
    return [
        {"service": service or "(no service name)", "cost": cost, "share": share}
        for service, cost, share in rows
    ]


ANOMALY_SQL = f"""
WITH daily AS (
    SELECT service, day, sum(effective) AS cost
    FROM agg
    WHERE currency = $currency AND charge_category = 'Usage' AND day IS NOT NULL
    GROUP BY service, day
),
days AS (
    SELECT CAST(d AS DATE) AS day
    FROM generate_series(
        (SELECT min(day) FROM daily), (SELECT max(day) FROM daily), INTERVAL 1 DAY
    ) AS t(d)
),
filled AS (
    SELECT s.service, days.day, coalesce(daily.cost, 0) AS cost
    FROM (SELECT DISTINCT service FROM daily) AS s
    CROSS JOIN days
    LEFT JOIN daily ON daily.service IS NOT DISTINCT FROM s.service
        AND daily.day = days.day
),
judged AS (
    SELECT *,
        avg(cost) OVER w AS baseline,
        stddev_pop(cost) OVER w AS spread,
        count(*) OVER w AS window_days
    FROM filled
    WINDOW w AS (PARTITION BY service ORDER BY day
        ROWS BETWEEN {ANOMALY_WINDOW} PRECEDING AND 1 PRECEDING)
),
floor AS (
    SELECT {ANOMALY_FLOOR} * sum(cost) / count(DISTINCT day) AS amount FROM filled
)
SELECT service, day, cost, baseline, cost - baseline AS impact
FROM judged, floor
WHERE window_days = {ANOMALY_WINDOW}
    AND abs(cost - baseline) > {ANOMALY_THRESHOLD} * baseline
    AND abs(cost - baseline) > {ANOMALY_SIGMAS} * spread
    AND abs(cost - baseline) >= floor.amount
ORDER BY day, service
"""


def anomalies(con, scope: str, item: CurrencyFigures) -> Figure:
    """Return the anomalies in the period: their count, impact and share of cost."""
    rows = con.execute(
        f"SELECT * FROM ({ANOMALY_SQL}) WHERE {scope}", {"currency": item.currency}
    ).fetchall()
    impact = sum(r[4] for r in rows)
    listed = sorted(rows, key=lambda r: -abs(r[4]))[:TOP_ANOMALIES]
    detail = {
        "count": len(rows),
        "impact": impact,
        "days": [
            {
                "service": service,
                "day": day.isoformat(),
                "cost": cost,
                "baseline": baseline,
                "impact": change,
            }
            for service, day, cost, baseline, change in sorted(
                listed, key=lambda r: r[1]
            )
        ],
    }
    total = item.total_cost
    share = abs(impact) / total if total and total > 0 else None
    return Figure(share, impact, total, detail)


def forecast_variance(actual: dict[str, float], forecasts: dict[str, float]) -> Figure:
    """Return the mean absolute variance of actual cost against the forecasts."""
    months = sorted(m for m in forecasts if m in actual and forecasts[m] > 0)
    if not months:
        return Figure(None, detail={"months": []})
    rows = [
        {
            "month": m,
            "forecast": forecasts[m],
            "actual": actual[m],
            "variance": abs(actual[m] - forecasts[m]) / forecasts[m],
        }
        for m in months
    ]
    value = sum(r["variance"] for r in rows) / len(rows)
    return Figure(value, detail={"months": rows})


def conformance_problems(con, infos: list[FileInfo]) -> list[dict[str, str]]:
    """List what the files do that FOCUS forbids; the figures still stand."""
    problems = []
    for number, info in enumerate(infos):
        missing = [c for c in REQUIRED if c not in info.columns]
        if missing:
            problems.append(
                {
                    "file": info.name,
                    "text": f"Lacks required columns: {', '.join(missing)}.",
                }
            )
        sums = ", ".join(f"sum({_null_column(c)})" for c in NOT_NULL)
        counts = con.execute(
            f"SELECT {sums} FROM agg WHERE file_no = ?", [number]
        ).fetchone()
        empty = [
            f"{column} ({count + info.known_nulls.get(column, 0):,} rows)"
            for column, count in zip(NOT_NULL, counts, strict=True)
            if count + info.known_nulls.get(column, 0)
        ]
        if empty:
            problems.append(
                {
                    "file": info.name,
                    "text": "Leaves columns empty that FOCUS requires: "
                    f"{', '.join(empty)}.",
                }
            )
        unknown = [
            value
            for (value,) in con.execute(
                "SELECT DISTINCT charge_category FROM agg WHERE file_no = ? "
                f"AND charge_category NOT IN ({_in_list(CHARGE_CATEGORIES)}) "
                "ORDER BY 1",
                [number],
            ).fetchall()
        ]
        if unknown:
            problems.append(
                {
                    "file": info.name,
                    "text": "Has ChargeCategory values FOCUS does not define: "
                    f"{', '.join(unknown[:5])}.",
                }
            )
    return problems
