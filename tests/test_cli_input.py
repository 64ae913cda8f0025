"""Bad input gets one clear line, a documented exit code, and changes nothing anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import Cli, edit_manifest

from adoffboard.cli import EXIT_AUTH, EXIT_INPUT, EXIT_SAFETY, EXIT_USAGE
from adoffboard.sandbox import Sandbox


def one_line_error(result, code: int, fragment: str) -> None:
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("adoffboard: error:")]
    assert len(errors) == 1 and fragment in errors[0], result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args,code,fragment",
    [
        (["plan", "nobody", "-r", "sem-cancellation"], EXIT_INPUT, "unknown client 'nobody'"),
        (["plan", "Bad_Slug!", "-r", "sem-cancellation"], EXIT_INPUT, "not a valid slug"),
        (["plan", "lakeside-powersports", "-r", "nope"], EXIT_INPUT, "unknown runbook 'nope'"),
        (
            ["plan", "lakeside-powersports", "-r", "sem-cancellation", "--effective", "2026-13-40"],
            EXIT_INPUT,
            "is not a date",
        ),
        (
            ["plan", "lakeside-powersports", "-r", "sem-cancellation", "--effective", "tomorrow"],
            EXIT_INPUT,
            "is not a date",
        ),
        (["verify", "lakeside-powersports"], EXIT_INPUT, "has no run yet"),
        (["resume", "r-unknown"], EXIT_INPUT, "unknown run"),
        (["history", "nobody"], EXIT_INPUT, "unknown client"),
        (["clients", "show", "nobody"], EXIT_INPUT, "unknown client"),
    ],
    ids=[
        "unknown-client",
        "bad-slug",
        "unknown-runbook",
        "impossible-date",
        "not-a-date",
        "verify-without-run",
        "unknown-run",
        "history-unknown",
        "show-unknown",
    ],
)
def test_bad_arguments(cli: Cli, sandbox: Sandbox, args, code, fragment) -> None:
    one_line_error(cli(*args), code, fragment)
    assert sandbox.log.mutating() == []


def test_bad_scope_is_a_usage_error(cli: Cli) -> None:
    result = cli("plan", "lakeside-powersports", "-r", "sem-cancellation", "--scope", "all")
    assert result.exit_code == EXIT_USAGE


@pytest.mark.parametrize(
    "change,fragment",
    [
        ({"google_ads__customer_id": "12-34"}, "google_ads.customer_id"),
        ({"google_ads__manager_id": "abc-def-ghij"}, "google_ads.manager_id"),
        ({"account_manager__email": "not-an-email"}, "account_manager.email"),
        ({"departments": ["SEO"]}, "departments"),
        ({"slug": "someone-else"}, "differs from the file name"),
        ({"surprise": 1}, "unknown field"),
    ],
    ids=[
        "short-customer-id",
        "letters-in-manager-id",
        "bad-email",
        "bad-department",
        "slug-mismatch",
        "unknown-field",
    ],
)
def test_malformed_manifest(cli: Cli, workspace: Path, sandbox: Sandbox, change, fragment):
    edit_manifest(workspace, "lakeside-powersports", **change)
    one_line_error(
        cli("plan", "lakeside-powersports", "-r", "sem-cancellation"), EXIT_INPUT, fragment
    )
    assert sandbox.log.mutating() == [] and len(sandbox.log) == 0


def test_validate_reports_every_problem_at_once(cli: Cli, workspace: Path) -> None:
    edit_manifest(
        workspace,
        "lakeside-powersports",
        google_ads__customer_id="1",
        account_manager__email="x",
        departments=[],
    )
    result = cli("clients", "validate")
    assert result.exit_code == EXIT_INPUT
    for field in ("google_ads.customer_id", "account_manager.email", "departments"):
        assert field in result.output
    assert "hint:" in result.output
    assert "2 manifest(s) checked, 3 problem(s)" in result.output


def test_yaml_syntax_error(cli: Cli, workspace: Path) -> None:
    (workspace / "clients" / "lakeside-powersports.yaml").write_text("slug: [unclosed\n")
    one_line_error(
        cli("plan", "lakeside-powersports", "-r", "sem-cancellation"), EXIT_INPUT, "not valid YAML"
    )


def test_malformed_runbook_in_workspace(cli: Cli, workspace: Path, sandbox: Sandbox) -> None:
    (workspace / "runbooks").mkdir()
    (workspace / "runbooks" / "sem-cancellation.yaml").write_text("name: x\nversion: zero\n")
    one_line_error(
        cli("plan", "lakeside-powersports", "-r", "sem-cancellation"), EXIT_INPUT, "runbook"
    )
    assert len(sandbox.log) == 0


@pytest.mark.parametrize(
    "content,code,fragment",
    [
        ("{not json", EXIT_INPUT, "not valid JSON"),
        ('{"a": 1}', EXIT_INPUT, "not an adoffboard plan"),
    ],
    ids=["not-json", "not-a-plan"],
)
def test_malformed_plan_file(cli: Cli, tmp_path: Path, sandbox: Sandbox, content, code, fragment):
    path = tmp_path / "plan.json"
    path.write_text(content)
    one_line_error(cli("apply", str(path)), code, fragment)
    assert sandbox.log.mutating() == []


def test_missing_plan_file(cli: Cli, tmp_path: Path) -> None:
    one_line_error(cli("apply", str(tmp_path / "absent.json")), EXIT_INPUT, "cannot read plan")


def test_tampered_plan_is_refused(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> None:
    out = tmp_path / "plan.json"
    assert (
        cli("plan", "lakeside-powersports", "-r", "sem-cancellation", "-o", str(out)).exit_code == 0
    )
    data = json.loads(out.read_text())
    data["steps"][-1]["title"] = "something else"
    out.write_text(json.dumps(data))
    one_line_error(cli("apply", str(out)), EXIT_SAFETY, "modified after it was made")
    assert sandbox.log.mutating() == []


def test_plan_refused_after_manifest_change(
    cli: Cli, workspace: Path, tmp_path: Path, sandbox: Sandbox
) -> None:
    out = tmp_path / "plan.json"
    assert (
        cli("plan", "lakeside-powersports", "-r", "sem-cancellation", "-o", str(out)).exit_code == 0
    )
    edit_manifest(workspace, "lakeside-powersports", departments=["SEM"])
    one_line_error(cli("apply", str(out)), EXIT_SAFETY, "manifest of lakeside-powersports changed")
    assert sandbox.log.mutating() == []


def test_no_workspace(tmp_path: Path) -> None:
    result = Cli(tmp_path / "empty")("clients", "list")
    one_line_error(result, EXIT_INPUT, "no adoffboard.toml")


def test_bad_credential_reference(cli: Cli, workspace: Path) -> None:
    toml = workspace / "adoffboard.toml"
    toml.write_text(
        toml.read_text().replace('developer_token = "sandbox:"', 'developer_token = "hunter2"')
    )
    one_line_error(cli("clients", "list"), EXIT_INPUT, "platforms.google_ads.developer_token")


def test_sandbox_credentials_never_leave_loopback(cli: Cli, workspace: Path) -> None:
    toml = workspace / "adoffboard.toml"
    text = re.sub(
        r'endpoint = "[^"]+"', 'endpoint = "googleads.googleapis.com:443"', toml.read_text()
    )
    toml.write_text(text)
    one_line_error(
        cli("plan", "lakeside-powersports", "-r", "sem-cancellation"),
        EXIT_AUTH,
        "only works with a loopback endpoint",
    )
