"""The conventions a user checks first: a license matching pyproject, one version shown by
``chainrule --version``, a changelog, ``py.typed`` shipped."""

from __future__ import annotations

from pathlib import Path

import pytest

import chainrule
from chainrule._version import __version__
from chainrule.cli import main

tomllib = pytest.importorskip("tomllib", reason="tomllib is in Python >= 3.11")
ROOT = Path(__file__).parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_matches_pyproject():
    assert PYPROJECT["project"]["license"] == {"text": "MIT"}
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_one_version_defined_in_one_place(capsys):
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "chainrule._version.__version__"}
    assert chainrule.__version__ == __version__
    try:
        main(["--version"])
    except SystemExit as e:
        assert e.code == 0
    assert capsys.readouterr().out.strip() == f"chainrule {__version__}"


def test_changelog_and_typed_marker():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## Unreleased" in changelog and "## 0.1.0" in changelog
    assert (ROOT / "src" / "chainrule" / "py.typed").exists()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["chainrule"]
