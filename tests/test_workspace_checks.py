"""Workspace mistakes that would silently do the wrong thing are refused, by `clients validate`
and when the file is loaded (the same check), with file, field and a hint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w
import yaml
from conftest import Cli, edit_manifest

from adoffboard.cli import EXIT_INPUT
from adoffboard.sandbox import Sandbox

CLIENT = "lakeside-powersports"
OTHER = "harbor-marine"
PLAN = ("plan", OTHER, "-r", "sem-cancellation")


def refused(result: Any, *fragments: str) -> None:
    assert result.exit_code == EXIT_INPUT, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    for fragment in fragments:
        assert fragment in result.output, (fragment, result.output)


def _share(section: str, field: str, value: Any) -> Callable[[Path], None]:
    """Give harbor-marine the same `section.field` as lakeside-powersports."""

    def change(workspace: Path) -> None:
        path = workspace / "clients" / f"{OTHER}.yaml"
        data = yaml.safe_load(path.read_text())
        data.setdefault(section, {})[field] = value
        if section == "meta":
            data[section].setdefault("expected_name", "Harbor Marine Center")
        path.write_text(yaml.safe_dump(data))

    return change


@pytest.mark.parametrize(
    "change,field,shown",
    [
        (
            _share("google_ads", "customer_id", "1234567890"),
            "google_ads.customer_id",
            "Google Ads customer 123-456-7890 is also in lakeside-powersports.yaml",
        ),
        (
            _share("meta", "ad_account_id", "act_1029384756"),
            "meta.ad_account_id",
            "Meta ad account act_1029384756 is also in lakeside-powersports.yaml",
        ),
        (
            _share("ga4", "account_id", "100200300"),
            "ga4.account_id",
            "GA4 account 100200300 is also in",
        ),
        (
            _share("sharpspring", "account_id", "7A3F9C21D0"),
            "sharpspring.account_id",
            "SharpSpring account 7A3F9C21D0 is also in",
        ),
    ],
    ids=["google-ads-customer", "meta-ad-account", "ga4-account", "sharpspring-account"],
)
def test_an_account_in_two_manifests_is_refused(
    cli: Cli, workspace: Path, sandbox: Sandbox, change, field, shown
) -> None:
    change(workspace)
    result = cli("clients", "validate")
    refused(
        result,
        f"{OTHER}.yaml: {field}: {shown}",
        f"{CLIENT}.yaml: {field}:",
        "hint: an account belongs to one client",
    )
    refused(cli(*PLAN), f"{OTHER}.yaml: {field}: {shown}")
    refused(cli("plan", CLIENT, "-r", "sem-cancellation"), f"{CLIENT}.yaml: {field}:")
    assert len(sandbox.log) == 0


def test_validating_one_client_compares_it_with_the_others(cli: Cli, workspace: Path) -> None:
    _share("google_ads", "customer_id", "123-456-7890")(workspace)
    refused(cli("clients", "validate", OTHER), "google_ads.customer_id", "1 problem(s)")


def test_manager_id_equal_to_customer_id_is_refused(
    cli: Cli, workspace: Path, sandbox: Sandbox
) -> None:
    edit_manifest(workspace, OTHER, google_ads__manager_id="234-567-8901")
    expected = (
        f"{OTHER}.yaml: google_ads.manager_id: is the client's own customer id "
        "(hint: the agency's manager (MCC) account"
    )
    refused(cli("clients", "validate"), expected)
    refused(cli(*PLAN), expected)
    assert len(sandbox.log) == 0


def _workspace_runbook(workspace: Path, file_name: str, edit: Callable[[str], str]) -> None:
    packaged = Path(__file__).parent.parent / "runbooks" / "sem-cancellation.yaml"
    folder = workspace / "runbooks"
    folder.mkdir(exist_ok=True)
    (folder / file_name).write_text(edit(packaged.read_text()))


def test_if_manifest_typo_is_refused(cli: Cli, workspace: Path, sandbox: Sandbox) -> None:
    _workspace_runbook(
        workspace,
        "sem-cancellation.yaml",
        lambda text: text.replace("if_manifest: meta", "if_manifest: facebook"),
    )
    refused(
        cli("clients", "validate"),
        "sem-cancellation.yaml: steps.",
        ".if_manifest: 'facebook' is not a manifest platform: google_ads, microsoft_ads, meta",
    )
    refused(cli(*PLAN), "if_manifest: 'facebook' is not a manifest platform")
    assert len(sandbox.log) == 0


def test_workspace_runbook_named_unlike_its_file_is_refused(
    cli: Cli, workspace: Path, sandbox: Sandbox
) -> None:
    _workspace_runbook(workspace, "sem-offboarding.yaml", lambda text: text)
    expected = (
        "sem-offboarding.yaml: name: 'sem-cancellation' differs from the file name "
        "(hint: rename the file to sem-cancellation.yaml or set name: sem-offboarding)"
    )
    refused(cli("clients", "validate"), expected)
    refused(cli("plan", OTHER, "-r", "sem-offboarding"), expected)
    assert len(sandbox.log) == 0


def _approval(**values: Any) -> Callable[[Path], None]:
    def change(workspace: Path) -> None:
        import tomllib

        path = workspace / "adoffboard.toml"
        data = tomllib.loads(path.read_text())
        data["approval"].update(values)
        path.write_text(tomli_w.dumps(data))

    return change


@pytest.mark.parametrize(
    "change,fragment",
    [
        (_approval(chain=[]), "approval.chain: the approval chain is empty"),
        (_approval(chain=["approver_1", "boss"]), "approval.chain: unknown role(s) ['boss']"),
        (
            _approval(chain=["approver_1", "approver_1"]),
            "approval.chain: role(s) ['approver_1'] appear twice",
        ),
        (
            _approval(chain=["approver_1", "accounting"]),
            "processing_role 'accounting' is also in the chain",
        ),
        (_approval(chain=["approver_1", "finance"]), "finance_role 'finance' is also in the chain"),
        (
            _approval(finance_role="accounting"),
            "finance_role and processing_role are both 'accounting'",
        ),
    ],
    ids=[
        "empty",
        "unknown-role",
        "duplicate",
        "processing-in-chain",
        "finance-in-chain",
        "finance-is-processing",
    ],
)
def test_approval_chain_nonsense_is_refused(cli: Cli, workspace: Path, change, fragment):
    change(workspace)
    for args in (("clients", "validate"), ("cr", "list"), PLAN):
        result = cli(*args)
        refused(result, "adoffboard.toml: approval", fragment)
        assert len(result.output.strip().splitlines()) == 1


@pytest.mark.fresh_store  # the refused command must not create the store
def test_an_empty_chain_no_longer_lets_accounting_alone_approve(cli: Cli, workspace: Path):
    _approval(chain=[])(workspace)
    result = cli(
        "cr", "new", CLIENT, "--type", "cancellation", "--effective", "2030-01-01", "--as", "dana"
    )
    refused(result, "the approval chain is empty")
    assert not (workspace / ".adoffboard" / "state.db").exists()
