"""Deterministic, realistic, synthetic sample data in the data contract's tables.

``boardpack sample-data`` calls :func:`run`. :func:`generate` builds the tables in memory and
:func:`write` saves them: CSV for one ICB (what analysts supply), Parquet for the national
benchmark sample (all 42 ICBs). The same arguments give byte-identical files. Every value is
synthetic; docs/sample_data.md says how the figures are calibrated to the plan.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from helpers import contract
from helpers.extract import write_parquet
from helpers.quarters import Quarter, QuarterError, latest_complete, parse
from sampledata import cutoff, programme
from sampledata.activity import Density, studies_and_recruitment
from sampledata.orgs import get_icb, icb_codes, organisations

TABLES = contract.TABLES  # every table of the data contract
FIRST_TO = parse("2022/23 Q3")  # the plan's first quarter: deliverables are reported from then
LAST_TO = parse("2035/36 Q4")
# Data for any earlier quarter are cut from data simulated to this quarter (the sample pack's), so
# earlier quarters do not change when a later one is generated (docs/sample_data.md).
HORIZON = parse("2026/27 Q2")
# The national benchmark sample needs >= 10 million recruitment rows: about six times the recruiting
# sites per study and three times the participants of a realistic ICB (see docs/sample_data.md).
NATIONAL_DENSITY = Density(extra_sites=8.0, participants=3.0, concentrate_gp=False)


class SampleDataParams(BaseModel):
    """Arguments of the generator, checked before anything runs."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    icb: str = "QWU"
    to: Quarter = Field(default_factory=latest_complete)
    seed: int = Field(20221, ge=0)
    scale: Literal["icb", "national"] = "icb"

    @field_validator("icb", mode="before")
    @classmethod
    def _known_icb(cls, value: str) -> str:
        return get_icb(str(value)).code

    @field_validator("to", mode="before")
    @classmethod
    def _quarter(cls, value: str | Quarter | None) -> Quarter:
        quarter = latest_complete() if value is None else parse(value)
        if not FIRST_TO <= quarter <= LAST_TO:
            raise ValueError(f"--to must lie between {FIRST_TO} and {LAST_TO}, got {quarter}")
        return quarter


def _rng(seed: int, icb: str) -> np.random.Generator:
    # Seeded from (seed, ICB code): each ICB's data are the same whichever others are generated.
    return np.random.default_rng([seed, *icb.encode("ascii")])


def horizon(to: Quarter) -> Quarter:
    """The quarter the data are simulated to: ``to``, or :data:`HORIZON` if later."""
    return max(to, HORIZON)


def generate_icb(icb: str, to: Quarter, seed: int, density: Density = Density()) -> dict[str, pd.DataFrame]:
    """All tables for one ICB. ``recruitment``'s text columns are categorical (memory at national scale).

    Simulated to :func:`horizon` (``to`` or later) with the same draws whatever ``to`` is, then cut
    at ``to``'s end as an extract taken then (:func:`sampledata.cutoff.cut`: later rows absent,
    snapshot columns as they stood, a few late uploads of the last month). So a quarter's data
    are the next quarter's as they stood a quarter earlier.
    """
    simulated_to = horizon(to)
    tables = _simulate_icb(icb, simulated_to, seed, density)
    open_month = tables.pop("_open_month")["open_month"].to_numpy()
    if to == simulated_to:
        return tables
    area = get_icb(icb)
    late_rng = np.random.default_rng([seed, *area.code.encode("ascii"), *b"late", to.ordinal])
    return cutoff.cut(tables, open_month, to, late_rng)


def _simulate_icb(icb: str, to: Quarter, seed: int, density: Density) -> dict[str, pd.DataFrame]:
    """All tables for one ICB simulated to ``to`` (and the studies' opening months, ``_open_month``)."""
    area = get_icb(icb)
    rng = _rng(seed, area.code)
    orgs = organisations(area, rng)
    tables = {"organisations": orgs}
    tables.update(studies_and_recruitment(area, orgs, to, rng, density))
    recruiting = set(tables["recruitment"]["OrganisationCode"].unique().astype(str))
    active_gp = sorted(
        c for c in orgs.loc[orgs["OrganisationType"] == "gp_practice", "OrganisationCode"] if c in recruiting
    )
    tables["finance"] = programme.finance(area, orgs, to, active_gp, rng)
    tables["workforce"] = programme.workforce(area, orgs, to, active_gp, rng)
    tables["innovations"], tables["innovation_benefits"] = programme.innovations(area, orgs, to, rng)
    tables["engagement"] = programme.engagement(area, to, rng)
    tables["deliverables"] = programme.deliverables(area, to)
    return {name: tables[name] for name in [*TABLES, "_open_month"]}


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack one table across ICBs, merging categorical columns without turning them into objects."""
    first = parts[0]
    columns = {}
    for column in first.columns:
        if isinstance(first[column].dtype, pd.CategoricalDtype):
            columns[column] = pd.api.types.union_categoricals([p[column] for p in parts])
        else:
            columns[column] = pd.concat([p[column] for p in parts], ignore_index=True)
    return pd.DataFrame(columns)


def generate(
    icb: str = "QWU",
    to: str | Quarter | None = None,
    seed: int = 20221,
    scale: str = "icb",
    icbs: Sequence[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """The contract's tables, keyed by table name.

    ``scale='icb'``: one realistic ICB. ``scale='national'``: all 42 ICBs stacked (``icbs`` picks a
    subset, for tests), with the benchmark density (``NATIONAL_DENSITY``).
    """
    params = SampleDataParams(icb=icb, to=to, seed=seed, scale=scale)
    if params.scale == "icb":
        return generate_icb(params.icb, params.to, params.seed)
    chosen = icb_codes() if icbs is None else [get_icb(code).code for code in icbs]
    per_icb = [generate_icb(code, params.to, params.seed, NATIONAL_DENSITY) for code in chosen]
    return {name: _concat([tables[name] for tables in per_icb]) for name in TABLES}


def write(tables: dict[str, pd.DataFrame], out_dir: Path | str, fmt: str = "csv") -> list[Path]:
    """Write each table as ``<table>.csv`` (UTF-8, no index) or ``<table>.parquet``; returns the paths."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet', got {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in tables:
        clashes = [
            p.name
            for p in sorted(out_dir.glob(f"{name}.*"))
            if p.suffix in (".csv", ".xlsx", ".parquet") and p.suffix != f".{fmt}"
        ]
        if clashes:
            raise ValueError(
                f"{out_dir} already holds {', '.join(clashes)}: a data folder holds one file per table; "
                f"write to an empty folder or remove them"
            )
    paths = []
    for name in TABLES:
        if name not in tables:
            continue
        path = out_dir / f"{name}.{fmt}"
        if fmt == "csv":
            tables[name].to_csv(path, index=False, encoding="utf-8", lineterminator="\n", float_format="%.2f")
        else:
            write_parquet(tables[name], path)
        paths.append(path)
    return paths


def run(
    out: Path | str,
    icb: str = "QWU",
    to: str | None = None,
    scale: str = "icb",
    seed: int = 20221,
    icbs: Sequence[str] | None = None,
) -> int:
    """The ``sample-data`` command: generate and write; exit code 0, or 2 for invalid arguments.

    ``icbs``: with ``scale='national'``, only these ICBs (each ICB's rows are the same either way).
    """
    try:
        params = SampleDataParams(icb=icb, to=to, seed=seed, scale=scale)
        if icbs and params.scale != "national":
            raise ValueError("--icbs picks ICBs of the national sample: use it with --scale national")
        chosen = [get_icb(code.strip()).code for code in icbs] if icbs else None
    except (ValidationError, QuarterError, ValueError, KeyError) as error:
        print(f"sample-data: invalid arguments: {error}", file=sys.stderr)
        return 2
    tables = generate(params.icb, params.to, params.seed, params.scale, icbs=chosen)
    try:
        paths = write(tables, out, "csv" if params.scale == "icb" else "parquet")
    except ValueError as error:
        print(f"sample-data: {error}", file=sys.stderr)
        return 2
    what = params.icb if params.scale == "icb" else (", ".join(chosen) if chosen else "all 42 ICBs")
    print(
        f"Synthetic sample data for {what}, 2018/19 Q1 to {params.to}, seed {params.seed}: "
        f"{len(tables['recruitment']):,} recruitment rows, {len(paths)} files in {out}"
    )
    return 0


__all__ = [
    "generate",
    "generate_icb",
    "write",
    "run",
    "SampleDataParams",
    "TABLES",
    "NATIONAL_DENSITY",
    "HORIZON",
    "horizon",
]
