"""``acme.yml`` (the conda environment) matches ``pyproject.toml``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _name(requirement: str) -> str:
    """The normalised project name of a pip or conda requirement string."""
    match = _NAME.match(requirement)
    assert match is not None, f"cannot parse requirement {requirement!r}"
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


@pytest.fixture(scope="module")
def env() -> dict[str, Any]:
    with (ROOT / "acme.yml").open(encoding="utf-8") as stream:
        data = yaml.safe_load(stream)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    tomllib = pytest.importorskip("tomllib")
    with (ROOT / "pyproject.toml").open("rb") as stream:
        data: dict[str, Any] = tomllib.load(stream)["project"]
    return data


def _conda_specs(env: dict[str, Any]) -> list[str]:
    return [entry for entry in env["dependencies"] if isinstance(entry, str)]


def test_name_and_channel(env: dict[str, Any]) -> None:
    assert env["name"] == "acme"
    assert env["channels"] == ["conda-forge"]


def test_same_runtime_dependencies(
    env: dict[str, Any], project: dict[str, Any]
) -> None:
    conda = [_name(spec) for spec in _conda_specs(env)]
    runtime = [name for name in conda if name not in {"python", "pip"}]
    expected = [_name(requirement) for requirement in project["dependencies"]]
    assert len(runtime) == len(set(runtime)), f"duplicates in acme.yml: {runtime}"
    assert sorted(runtime) == sorted(expected)


def test_python_and_pip_listed(env: dict[str, Any], project: dict[str, Any]) -> None:
    specs = {_name(spec): spec for spec in _conda_specs(env)}
    assert "pip" in specs
    assert "python" in specs
    python = specs["python"].replace(" ", "")
    assert python == "python" + project["requires-python"].replace(" ", "")


def test_ends_with_editable_install(env: dict[str, Any]) -> None:
    last = env["dependencies"][-1]
    assert isinstance(last, dict), "the last dependency must be the pip section"
    assert list(last) == ["pip"]
    assert last["pip"][-1].split() == ["-e", "."]
