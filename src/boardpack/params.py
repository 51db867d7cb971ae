"""Build parameters: defaults + the quarter's file + command-line values, validated before anything runs.

Notebook parameter names are pasted into code by papermill, so only the names of :class:`PackParams`
are accepted (a name carrying code is simply not a known name). Codes stay text; paths are resolved
and must stay inside the project (or, for inputs, the given data folder), except the publish folder
named on the command line: the user may publish anywhere (a shared drive, a web server's folder).
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from helpers import paths, quarters
from helpers.quarters import BASELINE_PERIOD

DEFAULTS_FILE_NAME = "defaults.yml"


class ParamsError(ValueError):
    """Parameters that cannot be used; the message names the parameter (and file) at fault."""


class PackParams(BaseModel):
    """Every setting of one pack build, as read from files and the command line (before resolving)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quarter: str = Field(description="Quarter reported, e.g. '2026/27 Q2'.")
    icb: str = Field("QWU", strict=True, description="ICB ODS code, e.g. 'QWU' (text: '00123' stays '00123').")
    data_dir: str | None = Field(None, description="Folder of the quarter's tables; default: the sample data.")
    out_dir: str = Field(
        "reports",
        description="Where packs are published: inside the project when set in a "
        "parameter file, anywhere when given on the command line.",
    )
    targets_file: str | None = Field(None, description="YAML of KPI targets, inside the project or data folder.")
    commentary_dir: str = Field("params/commentary", description="Analyst commentary: <dir>/<quarter id>/<section>.md.")
    baseline_period: str = Field(BASELINE_PERIOD, description="Pre-Covid baseline quarters.")
    execution_timeout: int = Field(600, gt=0, description="Seconds one cell may run.")
    run_timeout: int = Field(
        3600, gt=0, description="Seconds one pack's build may run, from its start (in a batch too)."
    )
    stale_after_days: int = Field(
        45,
        ge=0,
        description="A table whose data stop more than this many days before the quarter's end is "
        "flagged stale (helpers.freshness).",
    )
    previous_pack: str | None = Field(
        None,
        description="The previous quarter's published pack folder to compare with (its manifest.json "
        "record); default: <out_dir>/<ICB>/<previous quarter id> when published.",
    )
    engine: Literal["fork", "kernel"] = Field(
        "fork",
        description="How sections run: fork (a child of a warm worker, in-process IPython) or kernel "
        "(a Jupyter kernel per section). Both give the same pack.",
    )

    peers: str | list[str] = Field(
        "england",
        description="Peer group of the KPIs compared with other ICBs: 'england' (every ICB), 'region' "
        "(the ICB's NHS England region) or ICB codes (a YAML list, or comma-separated on the command line).",
    )

    @field_validator("peers")
    @classmethod
    def _peer_group(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str):
            choice = value.strip().lower()
            if choice in ("england", "region"):
                return choice
            value = value.split(",")
        codes = sorted({str(code).strip().upper() for code in value if str(code).strip()})
        unknown = [code for code in codes if code not in _icb_codes()]
        if not codes or unknown:
            raise ValueError(
                "use 'england', 'region' or ICB ODS codes such as 'QWU'"
                + (f"; unknown code(s): {', '.join(unknown)}" if unknown else "")
            )
        return codes

    @field_validator("quarter")
    @classmethod
    def _quarter_label(cls, value: str) -> str:
        return quarters.parse(value).label

    @field_validator("icb")
    @classmethod
    def _known_icb(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in _icb_codes():
            raise ValueError(
                f"unknown ICB code {value!r}: use an ICB ODS code such as 'QWU' "
                f"(column icb22_code_h of {paths.REFERENCE_DATA_DIR / 'icb22_population_mid2020.csv'})"
            )
        return code

    @field_validator("baseline_period")
    @classmethod
    def _baseline(cls, value: str) -> str:
        period = quarters.parse_range(value)
        return f"{period[0].id}..{period[-1].id}"


class ResolvedParams(BaseModel):
    """Parameters after resolving: absolute, checked paths; what the build and the notebooks use."""

    model_config = ConfigDict(frozen=True)

    quarter: str
    quarter_id: str
    icb: str
    data_dir: Path
    sample_data: bool
    out_dir: Path
    targets_file: Path | None
    commentary_dir: Path
    baseline_period: str
    execution_timeout: int
    run_timeout: int
    engine: str
    peers: str | list[str] = "england"
    root: Path
    stale_after_days: int = 45
    previous_pack: Path | None = None
    sources: list[str] = Field(default_factory=list, description="Files the values were read from.")

    @property
    def cache_dir(self) -> Path:
        return self.root / ".cache"

    def notebook_parameters(self) -> dict[str, Any]:
        """The values injected into every section notebook: plain JSON-able values, absolute paths."""
        return {
            "quarter": self.quarter,
            "icb": self.icb,
            "data_dir": str(self.data_dir),
            "targets_file": str(self.targets_file) if self.targets_file else "",
            "commentary_dir": str(self.commentary_dir),
            "baseline_period": self.baseline_period,
            "sample_data": self.sample_data,
            "peers": self.peers,
            "stale_after_days": self.stale_after_days,
        }

    def log_dict(self) -> dict[str, Any]:
        """Every resolved value as JSON-able data (for the log and the manifest)."""
        return json.loads(self.model_dump_json())


def _icb_codes() -> set[str]:
    # csv, not pandas: resolving parameters must stay fast for an unchanged rebuild
    import csv

    with open(paths.REFERENCE_DATA_DIR / "icb22_population_mid2020.csv", encoding="utf-8", newline="") as handle:
        return {row["icb22_code_h"] for row in csv.DictReader(handle)}


def _read_yaml(path: Path) -> dict[str, Any]:
    # BaseLoader keeps every scalar as text (so `icb: 00123` stays '00123'); pydantic converts types.
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected 'name: value' lines, got {type(data).__name__}")
    return data


def _check_names(values: dict[str, Any], source: str) -> None:
    known = list(PackParams.model_fields)
    for name in values:
        if name not in known:
            hint = difflib.get_close_matches(str(name), known, n=1)
            suggestion = f"; did you mean {hint[0]!r}?" if hint else "."
            raise ParamsError(f"{source}: unknown parameter {name!r}{suggestion} Known parameters: {', '.join(known)}")


def _absolute(value: str, base: Path) -> Path:
    path = Path(value).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


def _confine(value: str, name: str, roots: list[Path], base: Path, hint: str = "") -> Path:
    path = _absolute(value, base)
    if not any(path == root or path.is_relative_to(root) for root in roots):
        allowed = " or ".join(str(r) for r in roots)
        raise ParamsError(f"parameter {name!r} = {value!r} resolves to {path}, outside {allowed}{hint}")
    return path


def _out_dir(value: str, from_command_line: bool, root: Path) -> Path:
    # The user chose this folder when typing it, so it may be anywhere, relative to where they are.
    # A parameter file is shared and read on every build: it stays inside the project.
    if from_command_line:
        return _absolute(value, Path.cwd())
    return _confine(value, "out_dir", [root], root, "; name a folder outside the project with --out")


def resolve(
    cli_values: dict[str, Any] | None = None,
    *,
    root: Path | None = None,
    params_dir: Path | None = None,
) -> ResolvedParams:
    """Merge ``params/defaults.yml``, ``params/<quarter id>.yml`` and ``cli_values``; validate; resolve paths.

    ``cli_values`` left as ``None`` are ignored. Raises :class:`ParamsError` naming the bad parameter.
    """
    root = Path(root or paths.PROJ_ROOT).resolve()
    params_dir = Path(params_dir) if params_dir else root / "params"
    cli = {k: v for k, v in (cli_values or {}).items() if v is not None}
    _check_names(cli, "command line")
    sources: list[str] = []

    merged: dict[str, Any] = {}
    defaults_file = params_dir / DEFAULTS_FILE_NAME
    if defaults_file.is_file():
        defaults = _read_yaml(defaults_file)
        _check_names(defaults, str(defaults_file))
        merged.update(defaults)
        sources.append(str(defaults_file))
    quarter_text = cli.get("quarter") or merged.get("quarter") or quarters.latest_complete().label
    try:
        quarter = quarters.parse(quarter_text)
    except quarters.QuarterError as exc:
        raise ParamsError(f"parameter 'quarter': {exc}") from exc
    quarter_file = params_dir / f"{quarter.id}.yml"
    if quarter_file.is_file():
        for_quarter = _read_yaml(quarter_file)
        _check_names(for_quarter, str(quarter_file))
        merged.update(for_quarter)
        sources.append(str(quarter_file))
    merged.update(cli)
    merged["quarter"] = quarter.label

    try:
        given = PackParams(**merged)
    except ValidationError as exc:
        problems = "; ".join(
            f"parameter {'.'.join(str(p) for p in err['loc']) or '?'!r}: {err['msg']} (got {err.get('input')!r})"
            for err in exc.errors()
        )
        raise ParamsError(f"invalid parameters ({', '.join(sources + ['command line'])}): {problems}") from None

    sample = given.data_dir is None
    if sample:
        data_dir = root / "data" / "sample" / given.icb / quarter.id
    else:
        data_dir = Path(given.data_dir).expanduser()
        data_dir = (data_dir if data_dir.is_absolute() else Path.cwd() / data_dir).resolve()
        if not data_dir.is_dir():
            raise ParamsError(f"parameter 'data_dir': no such folder {data_dir}")
    input_roots = [root, data_dir]
    targets = given.targets_file
    return ResolvedParams(
        quarter=quarter.label,
        quarter_id=quarter.id,
        icb=given.icb,
        data_dir=data_dir,
        sample_data=sample,
        out_dir=_out_dir(given.out_dir, "out_dir" in cli, root),
        targets_file=_confine(targets, "targets_file", input_roots, root) if targets else None,
        commentary_dir=_confine(given.commentary_dir, "commentary_dir", input_roots, root),
        baseline_period=given.baseline_period,
        execution_timeout=given.execution_timeout,
        run_timeout=given.run_timeout,
        engine=given.engine,
        peers=given.peers,
        stale_after_days=given.stale_after_days,
        root=root,
        sources=sources,
        previous_pack=_previous_pack(given.previous_pack, "previous_pack" in cli, root),
    )


def _previous_pack(value: str | None, from_command_line: bool, root: Path) -> Path | None:
    # A published pack may be anywhere (a shared drive); relative to where the user is when typed.
    if value in (None, ""):
        return None
    path = _absolute(value, Path.cwd() if from_command_line else root)
    if not path.is_dir():
        raise ParamsError(f"parameter 'previous_pack' (--previous): no such pack folder {path}")
    return path


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """Read ``NAME=VALUE`` pairs from the command line (names are checked by :func:`resolve`)."""
    values: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ParamsError(f"--param {pair!r}: write it as NAME=VALUE")
        name, value = pair.split("=", 1)
        values[name.strip() if name.strip().isidentifier() else name] = value
    return values
