"""A synthetic FOCUS cost export, deterministic by seed, made in DuckDB.

Feeds the demo, the tests and the benchmark. Every value is a function of
the seed and the row number through DuckDB's `hash()`, so the file does not
depend on thread scheduling, and DuckDB writes it straight to CSV, CSV.gz or
Parquet without a row passing through Python.

What the rows look like:
- one row per resource and day (`rows / days` resources, each with a stable
  provider, service, account, tags and pricing), over `days` days from
  `start`;
- four providers and a score of services, compute taking most of the spend;
- tags with gaps: some services are mostly untagged, a few values are empty;
- commitment discounts on part of the eligible compute and databases, with
  some unused commitment (waste), on-demand and spot usage beside them;
- a few cost anomalies (a service's cost several times its usual level for a
  day), credits, corrections of earlier periods, taxes and purchases;
- `currencies=("USD", "EUR")` bills one provider's account in euros.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import duckdb

FORMATS = ("parquet", "csv", "csv.gz")
VERSIONS = ("1.0", "1.1", "1.2", "1.3")

# provider, service, category, weight (share of resources), cost factor,
# commitment share of its resources, tagged share, resource type
SERVICES = [
    ("AWS", "Amazon EC2", "Compute", 16, 1.0, 0.7, 0.92, "Instance"),
    ("AWS", "Amazon RDS", "Databases", 6, 1.2, 0.5, 0.9, "DB Instance"),
    ("AWS", "Amazon S3", "Storage", 8, 0.3, 0.0, 0.75, "Bucket"),
    ("AWS", "AWS Lambda", "Compute", 5, 0.2, 0.3, 0.85, "Function"),
    ("AWS", "Amazon CloudFront", "Networking", 3, 0.4, 0.0, 0.5, "Distribution"),
    ("AWS", "Amazon Bedrock", "AI and Machine Learning", 2, 1.5, 0.0, 0.6, "Model"),
    ("AWS", "AWS Support", "Other", 1, 2.0, 0.0, 0.0, ""),
    ("Microsoft", "Virtual Machines", "Compute", 10, 1.0, 0.55, 0.85, "VM"),
    ("Microsoft", "Azure SQL Database", "Databases", 4, 1.1, 0.4, 0.8, "Database"),
    ("Microsoft", "Storage", "Storage", 5, 0.3, 0.0, 0.6, "Storage Account"),
    (
        "Microsoft",
        "Azure OpenAI",
        "AI and Machine Learning",
        2,
        1.8,
        0.0,
        0.55,
        "Model",
    ),
    ("Microsoft", "Bandwidth", "Networking", 2, 0.3, 0.0, 0.3, ""),
    ("Google Cloud", "Compute Engine", "Compute", 7, 1.0, 0.35, 0.8, "VM"),
    ("Google Cloud", "BigQuery", "Analytics", 4, 0.9, 0.0, 0.7, "Dataset"),
    ("Google Cloud", "Cloud Storage", "Storage", 3, 0.25, 0.0, 0.65, "Bucket"),
    (
        "Google Cloud",
        "Vertex AI",
        "AI and Machine Learning",
        2,
        1.4,
        0.0,
        0.5,
        "Endpoint",
    ),
    ("Oracle", "Compute", "Compute", 2, 0.9, 0.0, 0.7, "Instance"),
    ("Oracle", "Autonomous Database", "Databases", 1, 1.3, 0.0, 0.6, "Database"),
]
TEAMS = ["payments", "search", "checkout", "data-platform", "mobile", "ml", "web"]
COST_CENTRES = ["CC-1001", "CC-1002", "CC-2001", "CC-3001", "CC-3002"]
ENVIRONMENTS = ["prod", "prod", "staging", "dev"]
# Number of anomalies (service-days several times their usual cost).
ANOMALIES = 3


@dataclass(frozen=True)
class SynthOptions:
    rows: int = 100_000
    days: int = 90
    start: datetime.date = datetime.date(2026, 1, 1)
    seed: int = 1
    version: str = "1.2"
    currencies: tuple[str, ...] = ("USD",)
    # Multipliers of each service's tagged and committed shares, to make an
    # organisation that tags or commits more (or less) than the default one.
    tagging: float = 1.0
    commitments: float = 1.0

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            raise ValueError(f"FOCUS version must be one of {VERSIONS}.")
        if self.rows < 1 or self.days < 1:
            raise ValueError("Rows and days must be positive.")


def _sql_list(values) -> str:
    items = ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)
    return f"[{items}]"


def _services_sql() -> tuple[str, int]:
    """Return the service table as a list literal, one entry per weight unit.

    Indexing a constant list by a hash picks a service with the right
    probability without a join.
    """
    entries = []
    for index, (
        provider,
        name,
        category,
        weight,
        factor,
        commit,
        tagged,
        kind,
    ) in enumerate(SERVICES, start=1):
        entry = (
            f"{{'idx': {index}, 'provider': '{provider}', 'name': '{name}', "
            f"'category': '{category}', 'factor': {factor}, 'commit': {commit}, "
            f"'tagged': {tagged}, 'kind': '{kind}'}}"
        )
        entries.extend([entry] * weight)
    return "[" + ", ".join(entries) + "]", sum(s[3] for s in SERVICES)


def synth_query(options: SynthOptions) -> str:
    """Return the SELECT that produces the export's rows."""
    services, weights = _services_sql()
    seed = int(options.seed)
    per_day = -(-options.rows // options.days)  # ceiling
    v10 = options.version == "1.0"
    standard, committed = (
        ("On-Demand", "Commitment-Based")
        if v10
        else (
            "Standard",
            "Committed",
        )
    )
    provider_column = (
        "ServiceProviderName" if options.version == "1.3" else "ProviderName"
    )
    eur = "EUR" in options.currencies
    # Anomalies: a service-day whose cost is several times the usual level.
    anomaly_terms = " ".join(
        f"WHEN svc.idx = 1 + hash({seed}, {j}, 'anomaly-service') % {len(SERVICES)} "
        f"AND d = 20 + hash({seed}, {j}, 'anomaly-day') % "
        f"{max(options.days - 20, 1)} THEN {3 + j}.0"
        for j in range(ANOMALIES)
    )
    extra_columns = ""
    if options.version in ("1.1", "1.2", "1.3"):
        extra_columns += (
            ", NULL::VARCHAR AS CapacityReservationId"
            ", NULL::VARCHAR AS CapacityReservationStatus"
            ", svc.category AS ServiceSubcategory"
        )
    if options.version in ("1.2", "1.3"):
        extra_columns += (
            ", 'Enterprise' AS BillingAccountType"
            ", 'INV-' || strftime(BillingPeriodStart, '%Y%m') AS InvoiceId"
            ", BillingCurrency AS PricingCurrency"
        )
    if options.version == "1.3":
        extra_columns += ", svc.provider AS HostProviderName"
    return f"""
WITH base AS (
    SELECT
        i,
        i // {per_day} AS d,
        i % {per_day} AS r,
        {services}[CAST(1 + hash({seed}, i % {per_day}, 'service') % {
        weights
    } AS BIGINT)] AS svc,
        (hash({seed}, i, 'kind') % 10000) / 10000.0 AS k,
        (hash({seed}, i % {per_day}, 'pricing') % 10000) / 10000.0 AS p,
        (hash({seed}, i % {per_day}, 'tag') % 10000) / 10000.0 AS t,
        (hash({seed}, i % {per_day}, 'account') % 2) AS acct,
        exp(1.0 + 3.0 * (hash({seed}, i % {per_day}, 'size') % 10000) / 10000.0)
            * (0.85 + 0.3 * (hash({seed}, i, 'noise') % 10000) / 10000.0) AS size
    FROM range({options.rows}) AS rows(i)
),
kinds AS (
    SELECT
        *,
        CASE
            WHEN k < 0.003 THEN 'Credit'
            WHEN k < 0.005 THEN 'Correction'
            WHEN k < 0.007 THEN 'Tax'
            WHEN k < 0.008 THEN 'Purchase'
            ELSE 'Usage'
        END AS kind,
        p < svc.commit * {float(options.commitments)} AS is_committed,
        svc.category = 'Compute' AND p > 0.92 AS is_spot,
        p < svc.commit * {float(options.commitments)}
            AND (hash({seed}, i, 'unused') % 100) < 9 AS is_unused,
        CASE {anomaly_terms} ELSE 1.0 END AS surge,
        DATE '{options.start.isoformat()}' + CAST(d AS INTEGER) AS day
    FROM base
),
priced AS (
    SELECT
        *,
        round(size * svc.factor * surge, 6) AS list_cost,
        CASE
            WHEN is_committed THEN 0.62
            WHEN is_spot THEN 0.35
            ELSE 0.95
        END AS rate,
        {
        "svc.provider = 'Oracle' OR (svc.provider = 'Microsoft' AND acct = 1)"
        if eur
        else "false"
    } AS in_eur,
        date_trunc('month', day) AS BillingPeriodStart
    FROM kinds
)
SELECT
    round(CASE
        WHEN kind = 'Credit' THEN -0.2 * list_cost
        WHEN kind = 'Correction' THEN -0.3 * list_cost * rate
        WHEN kind = 'Tax' THEN 0.08 * list_cost
        WHEN kind = 'Purchase' THEN 30 * list_cost
        WHEN is_committed THEN 0
        ELSE list_cost * rate
    END, 6) AS BilledCost,
    svc.provider || '-billing-' || acct AS BillingAccountId,
    svc.provider || ' billing ' || (acct + 1) AS BillingAccountName,
    CASE WHEN in_eur THEN 'EUR' ELSE 'USD' END AS BillingCurrency,
    BillingPeriodStart + INTERVAL 1 MONTH AS BillingPeriodEnd,
    BillingPeriodStart,
    CASE WHEN kind IN ('Usage', 'Correction') THEN 'Usage' ELSE kind END
        AS ChargeCategory,
    CASE WHEN kind = 'Correction' THEN 'Correction' END AS ChargeClass,
    svc.name || CASE
        WHEN kind = 'Credit' THEN ' promotional credit'
        WHEN kind = 'Tax' THEN ' tax'
        WHEN kind = 'Purchase' THEN ' commitment purchase'
        ELSE ' usage'
    END AS ChargeDescription,
    CASE WHEN kind = 'Purchase' THEN 'Recurring' ELSE 'Usage-Based' END
        AS ChargeFrequency,
    CAST(day AS TIMESTAMP) + INTERVAL 1 DAY AS ChargePeriodEnd,
    CAST(day AS TIMESTAMP) AS ChargePeriodStart,
    CASE WHEN is_committed AND kind IN ('Usage', 'Purchase') THEN 'Spend' END
        AS CommitmentDiscountCategory,
    CASE WHEN is_committed AND kind IN ('Usage', 'Purchase')
        THEN svc.provider || '-commitment-' || svc.idx END AS CommitmentDiscountId,
    CASE WHEN is_committed AND kind IN ('Usage', 'Purchase')
        THEN svc.name || ' savings plan' END AS CommitmentDiscountName,
    CASE WHEN is_committed AND kind = 'Usage'
        THEN CASE WHEN is_unused THEN 'Unused' ELSE 'Used' END END
        AS CommitmentDiscountStatus,
    CASE WHEN is_committed AND kind IN ('Usage', 'Purchase') THEN 'Savings Plan' END
        AS CommitmentDiscountType,
    round(size, 3) AS ConsumedQuantity,
    'Hours' AS ConsumedUnit,
    round(CASE
        WHEN kind IN ('Usage', 'Correction') AND NOT is_unused THEN list_cost * 0.95
        ELSE 0 END, 6) AS ContractedCost,
    round(list_cost * 0.95 / greatest(size, 0.001), 6) AS ContractedUnitPrice,
    round(CASE
        WHEN kind = 'Credit' THEN -0.2 * list_cost
        WHEN kind = 'Correction' THEN -0.3 * list_cost * rate
        WHEN kind = 'Tax' THEN 0.08 * list_cost
        WHEN kind = 'Purchase' THEN 0
        ELSE list_cost * rate
    END, 6) AS EffectiveCost,
    svc.provider AS InvoiceIssuerName,
    round(CASE
        WHEN kind IN ('Usage', 'Correction') AND NOT is_unused THEN list_cost
        ELSE 0 END, 6) AS ListCost,
    round(list_cost / greatest(size, 0.001), 6) AS ListUnitPrice,
    CASE
        WHEN kind NOT IN ('Usage', 'Correction') THEN NULL
        WHEN is_committed THEN '{committed}'
        WHEN is_spot THEN 'Dynamic'
        ELSE '{standard}'
    END AS PricingCategory,
    round(size, 3) AS PricingQuantity,
    'Hours' AS PricingUnit,
    svc.provider AS {provider_column},
    svc.provider AS PublisherName,
    ['eu-west-1', 'us-east-1', 'westeurope', 'europe-west1'][1 + r % 4] AS RegionId,
    ['Ireland', 'N. Virginia', 'West Europe', 'Belgium'][1 + r % 4] AS RegionName,
    CASE WHEN svc.kind = '' OR is_unused OR kind IN ('Tax', 'Purchase') THEN NULL
        ELSE lower(replace(svc.kind, ' ', '-')) || '-' || to_hex(hash({seed}, r, 'id'))
    END AS ResourceId,
    CASE WHEN svc.kind = '' OR is_unused OR kind IN ('Tax', 'Purchase') THEN NULL
        ELSE svc.kind || ' ' || r END AS ResourceName,
    nullif(svc.kind, '') AS ResourceType,
    svc.category AS ServiceCategory,
    svc.name AS ServiceName,
    'SKU-' || svc.idx AS SkuId,
    'SKU-' || svc.idx || '-' || CAST(is_committed AS INTEGER) AS SkuPriceId,
    svc.provider || '-account-' || (r % 12) AS SubAccountId,
    'Account ' || (r % 12) AS SubAccountName,
    CASE
        WHEN is_unused OR kind IN ('Tax', 'Purchase')
            OR t >= svc.tagged * {float(options.tagging)} THEN
            '{{"env":"' || {_sql_list(ENVIRONMENTS)}[1 + r % 4] || '"}}'
        WHEN t < svc.tagged * {
        float(options.tagging)
    } * 0.03 THEN '{{"team":"","env":"prod"}}'
        ELSE '{{"team":"' || {_sql_list(TEAMS)}[CAST(1 + hash({seed}, r, 'team') % {
        len(TEAMS)
    } AS BIGINT)]
            || '","cost-center":"'
            || {_sql_list(COST_CENTRES)}[CAST(1 + hash({seed}, r, 'cc') % {
        len(COST_CENTRES)
    } AS BIGINT)]
            || '","env":"' || {_sql_list(ENVIRONMENTS)}[1 + r % 4] || '"}}'
    END AS Tags
    {extra_columns}
FROM priced
"""


def write_export(path: Path | str, options: SynthOptions | None = None) -> Path:
    """Write a synthetic FOCUS export; the format follows the file's suffix."""
    options = options or SynthOptions()
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".parquet"):
        copy_options = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880"
    elif name.endswith(".csv.gz"):
        copy_options = "FORMAT csv, HEADER, COMPRESSION gzip"
    elif name.endswith(".csv"):
        copy_options = "FORMAT csv, HEADER"
    else:
        raise ValueError(f"Name the file .parquet, .csv or .csv.gz, not {path.name}.")
    timestamps = (
        ", TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%SZ'" if "csv" in copy_options else ""
    )
    with duckdb.connect() as con:
        # Row order is part of the output: keep it whatever the threads do.
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET enable_progress_bar = false")
        con.execute(
            f"COPY ({synth_query(options)}) TO '{_quoted(path)}' "
            f"({copy_options}{timestamps})"
        )
    return path


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
