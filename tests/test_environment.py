"""The environment files agree: pyproject (what we need), requirements.lock (exact pins), environment.yml (conda)."""

import re
import tomllib

import yaml
from packaging.version import Version

from helpers.paths import PROJ_ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _lock() -> dict[str, str]:
    pins = {}
    for line in (PROJ_ROOT / "requirements.lock").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if match:
            pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def _direct_dependencies() -> set[str]:
    project = tomllib.loads((PROJ_ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return {_name(r) for r in requirements}


def _environment_pins() -> dict[str, str]:
    environment = yaml.safe_load((PROJ_ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    pins = {}
    for entry in pip_section:
        if entry.startswith("-e"):
            continue
        name, _, version = entry.partition("==")
        assert version, f"environment.yml: {entry!r} is not pinned with =="
        pins[_name(name)] = version
    return pins


def test_every_lock_line_is_an_exact_pin():
    body = [
        line
        for line in (PROJ_ROOT / "requirements.lock").read_text().splitlines()
        if line and not line.lstrip().startswith("#")
    ]
    assert body, "requirements.lock is empty"
    assert all("==" in line for line in body), [line for line in body if "==" not in line]


def test_environment_yml_lists_the_same_packages_as_pyproject():
    assert set(_environment_pins()) == _direct_dependencies()


def test_environment_yml_versions_equal_the_lock():
    lock = _lock()
    mismatched = {n: (v, lock.get(n)) for n, v in _environment_pins().items() if lock.get(n) != v}
    assert not mismatched, f"environment.yml differs from requirements.lock: {mismatched}"


def test_every_direct_dependency_is_locked():
    assert _direct_dependencies() <= set(_lock())


def test_nbconvert_is_pinned_at_or_above_the_html_xss_fixes():
    # nbconvert 7.17.1 fixed CVE-2026-39377/39378 (script injection in HTML output).
    assert Version(_lock()["nbconvert"]) >= Version("7.17.1")
