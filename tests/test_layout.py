"""The package is the checkout: what the tests import is the working tree, links included."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_tests_import_the_working_tree() -> None:
    import adoffboard.cli
    import adoffboard.connectors
    import adoffboard.connectors.base
    import adoffboard.runbook

    assert Path(adoffboard.runbook.__file__).resolve() == ROOT / "adoffboard" / "runbook.py"
    assert Path(adoffboard.connectors.__file__).resolve() == ROOT / "connectors" / "__init__.py"
    assert Path(adoffboard.connectors.base.__file__).resolve() == ROOT / "connectors" / "base.py"
    assert Path(adoffboard.cli.__file__).resolve() == ROOT / "cli.py"


def test_the_runbooks_are_the_checkouts() -> None:
    from importlib import resources

    shipped = resources.files("adoffboard") / "runbooks" / "sem-cancellation.yaml"
    assert shipped.read_text() == (ROOT / "runbooks" / "sem-cancellation.yaml").read_text()
