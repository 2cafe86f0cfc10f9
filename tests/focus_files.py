"""Small hand-made FOCUS files whose figures are worked out by hand."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import duckdb

COLUMNS = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountId",
    "CommitmentDiscountStatus",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ResourceId",
    "ServiceCategory",
    "ServiceName",
    "SubAccountId",
    "Tags",
]

DEFAULTS = {
    "BilledCost": 0,
    "BillingAccountId": "acct-1",
    "BillingAccountName": "Main",
    "BillingCurrency": "USD",
    "BillingPeriodEnd": "2026-02-01T00:00:00Z",
    "BillingPeriodStart": "2026-01-01T00:00:00Z",
    "ChargeCategory": "Usage",
    "ChargeClass": "",
    "ChargeDescription": "usage",
    "ChargeFrequency": "Usage-Based",
    "ChargePeriodEnd": "2026-01-11T00:00:00Z",
    "ChargePeriodStart": "2026-01-10T00:00:00Z",
    "CommitmentDiscountId": "",
    "CommitmentDiscountStatus": "",
    "ContractedCost": 0,
    "EffectiveCost": 0,
    "InvoiceIssuerName": "AWS",
    "ListCost": 0,
    "PricingCategory": "Standard",
    "PricingQuantity": 1,
    "PricingUnit": "Hours",
    "ProviderName": "AWS",
    "PublisherName": "AWS",
    "ResourceId": "",
    "ServiceCategory": "Compute",
    "ServiceName": "Amazon EC2",
    "SubAccountId": "sub-1",
    "Tags": "{}",
}

COMMITTED = {"PricingCategory": "Committed", "CommitmentDiscountId": "sp-1"}

# January 2026, USD. Worked figures (chosen keys: team, cost-center):
# - allocation: usage and purchases 60+40+20+30+10-5+0+10 = 165, allocated
#   60+30-5 = 85 -> 85/165
# - commitment coverage (Compute usage, unused left out): 60 of 60+40-5 = 95
# - utilisation: used 60, unused 20 -> 0.75
# - savings rate over usage: 1 - 165/185
# - cost with a resource: 60+40+30-5+10 = 135 of 165
# - untagged: Amazon EC2 60 (40 + 20 unused), Amazon S3 10, Amazon VPC 10
# - all cost of the month: 165 - 15 credit + 8 tax = 158
KNOWN_ROWS = [
    # committed and used, tagged
    {**COMMITTED, "CommitmentDiscountStatus": "Used", "EffectiveCost": 60,
     "ListCost": 100, "Tags": '{"team": "payments"}', "ResourceId": "i-1"},
    # on demand, untagged
    {"EffectiveCost": 40, "BilledCost": 40, "ListCost": 40, "ResourceId": "i-2"},
    # unused commitment: waste, no resource
    {**COMMITTED, "CommitmentDiscountStatus": "Unused", "EffectiveCost": 20},
    {"ServiceCategory": "Storage", "ServiceName": "Amazon S3", "EffectiveCost": 30,
     "ListCost": 30, "Tags": '{"cost-center": "CC-1"}', "ResourceId": "bucket-1"},
    # an empty tag value is no owner
    {"ServiceCategory": "Storage", "ServiceName": "Amazon S3", "EffectiveCost": 10,
     "ListCost": 10, "Tags": '{"team": "", "env": "prod"}'},
    {"ChargeCategory": "Credit", "EffectiveCost": -15, "BilledCost": -15,
     "PricingCategory": ""},
    # a correction of an earlier period, with the usage it corrects
    {"ChargeClass": "Correction", "EffectiveCost": -5, "ListCost": -5,
     "Tags": '{"team": "payments"}', "ResourceId": "i-1"},
    {"ChargeCategory": "Purchase", "BilledCost": 500, "PricingCategory": "",
     **{k: v for k, v in COMMITTED.items() if k != "PricingCategory"}},
    {"ChargeCategory": "Tax", "EffectiveCost": 8, "BilledCost": 8,
     "PricingCategory": ""},
    # Tags empty altogether (null)
    {"ServiceCategory": "Networking", "ServiceName": "Amazon VPC",
     "EffectiveCost": 10, "ListCost": 10, "Tags": None, "ResourceId": "vpc-1"},
]  # fmt: skip


def row(**values) -> dict:
    return {**DEFAULTS, **values}


def write_csv(path: Path, rows: list[dict], columns: list[str] | None = None) -> Path:
    """Write rows (defaults filled in) as a FOCUS CSV; None is an empty cell."""
    columns = columns or COLUMNS
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for values in rows:
            full = {**DEFAULTS, **values}
            writer.writerow(
                ["" if full.get(c) is None else full.get(c) for c in columns]
            )
    return path


def write_parquet(path: Path, rows: list[dict], *, tags_as_map: bool = False) -> Path:
    """Write the same rows as Parquet, with proper types, through DuckDB."""
    csv_path = write_csv(path.with_suffix(".tmp.csv"), rows)
    tags = "Tags"
    if tags_as_map:
        tags = "json_transform(Tags, '\"MAP(VARCHAR, VARCHAR)\"')"
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * REPLACE ({tags} AS Tags) FROM read_csv('{csv_path}', "
            "types={'EffectiveCost': 'DOUBLE', 'ListCost': 'DOUBLE', "
            "'BilledCost': 'DOUBLE', 'ContractedCost': 'DOUBLE'})) "
            f"TO '{path}' (FORMAT parquet)"
        )
    csv_path.unlink()
    return path


def daily_rows(service: str, costs: list[float], **values) -> list[dict]:
    """Return one usage row per day from 2026-01-01 with the given costs."""
    rows = []
    for day, cost in enumerate(costs, start=1):
        month, dom = (1, day) if day <= 31 else (2, day - 31)
        start = f"2026-{month:02d}-{dom:02d}T00:00:00Z"
        rows.append(
            {
                "ServiceName": service,
                "EffectiveCost": cost,
                "ListCost": cost,
                "ChargePeriodStart": start,
                "ChargePeriodEnd": start,
                "Tags": json.dumps({"team": "a"}),
                **values,
            }
        )
    return rows
