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


MAX_LINES = 500  # a module a newcomer can read through; the sandbox's stand-ins are exempt


def test_no_module_outgrows_a_reading() -> None:
    modules = [
        *ROOT.glob("cli.py"),
        *(p for p in (ROOT / "adoffboard").rglob("*.py") if "sandbox" not in p.parts),
        *(ROOT / "connectors").rglob("*.py"),
        *(ROOT / "commands").rglob("*.py"),
    ]
    assert len(modules) > 100
    long = {
        str(p.relative_to(ROOT)): n
        for p in modules
        if not p.is_symlink() and (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these modules (over {MAX_LINES} lines): {long}"
