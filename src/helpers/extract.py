"""One ICB's rows of a data folder that covers several ICBs, as a data folder of its own.

Regional and national teams hold one folder for all 42 ICBs (the national extract). A pack is
built from its ICB's rows only, so the same ICB gives the same pack whichever other ICBs share the
folder, and each section reads a few hundred thousand rows instead of twelve million.

The rows kept are those :func:`helpers.kpi_common.icb_slice` gives every KPI, plus the rows they
refer to (a study led from another ICB that recruits here, and its lead organisation), so the
extract meets the data contract on its own. Tables are written as Parquet with
:func:`write_parquet`, which the sample-data generator uses too.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from helpers import contract
from helpers.contract import CONTRACT, TABLES
from helpers.kpi_common import icb_slice
from helpers.loading import Data

# Deterministic files: same frame, same bytes (statistics on, no timestamps in Parquet metadata).
PARQUET_OPTIONS = dict(
    compression="zstd",
    compression_level=3,
    use_dictionary=True,
    write_statistics=True,
    row_group_size=1_000_000,
    version="2.6",
    data_page_version="1.0",
)


def write_parquet(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write ``frame`` (no index) as Parquet, text columns as plain strings so readers get text back."""
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [pa.field(f.name, pa.string()) if pa.types.is_dictionary(f.type) else f for f in arrow.schema]
    arrow = arrow.cast(pa.schema(fields, metadata=arrow.schema.metadata))
    pq.write_table(arrow, path, **PARQUET_OPTIONS)
    return Path(path)


def icbs_in(data: Data) -> list[str]:
    """The ICB codes of the organisations table, sorted (needs ``organisations`` loaded)."""
    if data.organisations is None:
        raise ValueError("the organisations table is needed to tell which ICBs a data folder covers")
    return sorted(set(data.organisations["IcbCode"].dropna().astype(str)))


def icb_tables(data: Data, icb: str) -> dict[str, pd.DataFrame]:
    """Every loaded table cut to ``icb``'s rows and the rows they refer to, in the contract's dtypes.

    Rows keep the order they had in ``data``.
    """
    sliced = icb_slice(data, icb)
    kept: dict[str, pd.DataFrame] = {}
    for name in TABLES:
        frame = getattr(sliced, name)
        if frame is not None:
            kept[name] = frame
    _add_referenced_rows(data, kept)
    out = {}
    for name, frame in kept.items():
        typed = {c.name: frame[c.name].astype(contract.typed_dtype(c)) for c in CONTRACT[name].columns}
        out[name] = pd.DataFrame(typed).sort_index(kind="stable").reset_index(drop=True)
    return out


def _add_referenced_rows(data: Data, kept: dict[str, pd.DataFrame]) -> None:
    """Add the parent rows (by key) that kept rows refer to, until nothing more is needed."""
    changed = True
    while changed:
        changed = False
        for name in list(kept):
            for column in CONTRACT[name].columns:
                if not column.references or column.references == contract.ICB_REFERENCE:
                    continue
                parent, key = column.references.split(".")
                source = getattr(data, parent, None)
                if source is None:
                    continue
                have = kept.get(parent, source.iloc[0:0])
                wanted = pd.Index(kept[name][column.name].dropna().astype(str).unique())
                missing = wanted.difference(pd.Index(have[key].astype(str)))
                if len(missing):
                    extra = source[source[key].astype(str).isin(missing)]
                    kept[parent] = pd.concat([have, extra]) if parent in kept else extra
                    changed = True


def write_icb_tables(tables: dict[str, pd.DataFrame], folder: Path | str) -> list[Path]:
    """Write ``tables`` as ``<table>.parquet`` files in ``folder`` (created); returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_parquet(tables[name], folder / f"{name}.parquet") for name in CONTRACT if name in tables]


def read_icb_tables(folder: Path | str, tables: list[str] | tuple[str, ...]) -> Data:
    """The tables of an extract written by :func:`write_icb_tables`, typed as the contract types
    them (the inverse of :func:`write_parquet`'s plain strings): no check runs again, because the
    folder they were cut from passed every check."""
    folder = Path(folder)
    data = Data()
    for name in tables:
        path = folder / f"{name}.parquet"
        frame = pd.read_parquet(path, engine="pyarrow")
        typed = {c.name: frame[c.name].astype(contract.typed_dtype(c)) for c in CONTRACT[name].columns}
        setattr(data, name, pd.DataFrame(typed))
        data.files[name] = path
    return data


__all__ = ["PARQUET_OPTIONS", "write_parquet", "icbs_in", "icb_tables", "write_icb_tables", "read_icb_tables"]
