"""The generic `http` step: manual by default, one call on the wire when an endpoint is enabled.

Also the runbook mechanism behind it (`action_if_configured`): a manual step that becomes an
automated one in a workspace that configures (and, for `http`, enables) the connector.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import tomli_w
from conftest import Cli, approved_cr

from adoffboard.cli import EXIT_OK, EXIT_SAFETY
from adoffboard.config import load_workspace
from adoffboard.connectors.http.declaration import HttpEndpoint
from adoffboard.engine import Env
from adoffboard.models import OutcomeStatus
from adoffboard.sandbox.core import FaultRule

TOKEN = "flu-token-31c9aa-SECRET"


def edit_platforms(workspace: Path, edit) -> None:
    path = workspace / "adoffboard.toml"
    data = tomllib.loads(path.read_text())
    edit(data["platforms"])
    path.write_bytes(tomli_w.dumps(data).encode())


def enable(workspace: Path, *names: str, token_ref: str = "") -> None:
    def edit(platforms):
        for name in names:
            endpoint = platforms["http"]["endpoints"][name]
            endpoint["enabled"] = True
            if token_ref:
                endpoint["headers"] = {"Authorization": f"Bearer {token_ref}"}

    edit_platforms(workspace, edit)


def plan(cli: Cli, tmp_path: Path, scope: str = "dm") -> tuple[Path, dict]:
    out = tmp_path / f"plan-{scope}.json"
    result = cli(
        "plan", "lakeside-powersports", "-r", "sem-cancellation", "--scope", scope, "-o", str(out)
    )
    assert result.exit_code == EXIT_OK, result.output
    data = json.loads(out.read_text())
    return out, {s["step_id"]: s for s in data["steps"]}


def test_disabled_endpoint_leaves_the_step_manual_and_sends_nothing(cli, tmp_path, sandbox):
    _, steps = plan(cli, tmp_path, "platform")
    assert "Account Hold" in steps["fluency-hold"]["manual"]["instructions"]
    for step_id in ("fluency-hold", "juniper-ninjacat"):
        assert steps[step_id]["kind"] == "manual"
        assert any("enable [platforms.http.endpoints" in n for n in steps[step_id]["notes"])
    assert sandbox.log.entries("http") == []  # the connector was not even built


def test_unconfigured_connectors_keep_their_steps_manual(cli, tmp_path, sandbox, workspace):
    edit_platforms(workspace, lambda p: [p.pop(k) for k in ("http", "trello", "sharpspring")])
    _, steps = plan(cli, tmp_path)
    assert steps["juniper-trello"]["kind"] == "manual"
    assert steps["fluency-hold"]["kind"] == "manual"
    assert sandbox.log.entries("trello") == []


def test_enabled_endpoint_plans_reads_applies_once_and_verifies(cli, tmp_path, sandbox, workspace):
    enable(workspace, "fluency_hold")
    out, steps = plan(cli, tmp_path)
    step = steps["fluency-hold"]
    assert step["kind"] == "automated" and step["action"] == "call"
    [change] = step["changes"]
    assert change["resource"] == f"POST {sandbox.http.url}/accounts/FL-20417/hold"
    assert (change["before"], change["after"], change["phase"]) == (False, True, "visibility")
    assert [e.method for e in sandbox.log.entries("http")] == ["accounts.get"]
    assert sandbox.log.mutating("http") == []

    approved_cr(cli, "lakeside-powersports", scope="dm")
    result = cli("--json", "apply", str(out))
    assert result.exit_code == EXIT_OK, result.output
    assert [e.method for e in sandbox.log.mutating("http")] == ["accounts.hold"]
    assert sandbox.http.accounts["FL-20417"]["hold"] is True
    assert sandbox.http.accounts["FL-20533"]["hold"] is False  # the other client untouched
    outcome = next(
        c["outcome"]
        for s in json.loads(result.output)["steps"]
        for c in s["changes"]
        if c["platform"] == "http"
    )
    assert outcome["status"] == "applied" and outcome["request_id"].startswith("req-")

    checks = {
        c["step_id"]: c
        for c in json.loads(cli("--json", "verify", "lakeside-powersports").output)["checks"]
    }
    assert checks["fluency-hold"]["status"] == "PASS"
    assert "hold = True" in checks["fluency-hold"]["detail"]

    again = cli("--json", "apply", str(out))
    assert again.exit_code == EXIT_OK
    assert len(sandbox.log.mutating("http")) == 1  # already on hold: not sent again


def test_header_reference_is_resolved_when_sending_and_never_written(
    cli, tmp_path, sandbox, workspace, monkeypatch
):
    monkeypatch.setenv("FLUENCY_TOKEN", TOKEN)
    sandbox.http.section["token"] = TOKEN  # the stand-in accepts this token only
    enable(workspace, "fluency_hold", token_ref="env:FLUENCY_TOKEN")
    out, _ = plan(cli, tmp_path)
    approved_cr(cli, "lakeside-powersports", scope="dm")
    result = cli("--json", "apply", str(out))
    assert result.exit_code == EXIT_OK, result.output
    assert sandbox.http.accounts["FL-20417"]["hold"] is True
    written = "".join(
        p.read_text(errors="replace")
        for p in workspace.rglob("*")
        if p.is_file() and p.suffix in (".json", ".md", ".html", ".toml", ".yaml")
    )
    written += (workspace / ".adoffboard" / "state.db").read_bytes().decode("latin-1")
    written += result.output + repr([vars(e) for e in sandbox.log])
    assert TOKEN not in written
    assert "env:FLUENCY_TOKEN" in (workspace / "adoffboard.toml").read_text()


def test_wrong_token_is_refused_without_echoing_it(cli, tmp_path, sandbox, workspace, monkeypatch):
    monkeypatch.setenv("FLUENCY_TOKEN", TOKEN)
    sandbox.http.section["token"] = "another-token"
    enable(workspace, "fluency_hold", token_ref="env:FLUENCY_TOKEN")
    result = cli("plan", "lakeside-powersports", "-r", "sem-cancellation")
    assert result.exit_code == 5 and "401" in result.output and TOKEN not in result.output


@pytest.mark.parametrize(
    "fault",
    [
        FaultRule(
            kind="partial_failure", platform="http", match={"resource": "account", "id": "FL-20417"}
        ),
        FaultRule(kind="unavailable", platform="http", method="accounts.hold"),
    ],
    ids=["refused", "unavailable"],
)
def test_failed_call_is_reported_and_never_repeated(cli, tmp_path, sandbox, workspace, fault):
    enable(workspace, "fluency_hold")
    out, _ = plan(cli, tmp_path)
    sandbox.faults.add(fault)
    approved_cr(cli, "lakeside-powersports", scope="dm")
    result = cli("--json", "apply", str(out))
    assert result.exit_code == 11, result.output
    outcome = next(
        c["outcome"]
        for s in json.loads(result.output)["steps"]
        for c in s["changes"]
        if c["platform"] == "http"
    )
    assert outcome["status"] == "failed" and outcome["message"]
    assert len(sandbox.log.mutating("http")) == 1  # sent once, not retried


def test_ninjacat_removal_runs_in_the_access_phase_and_verifies_gone(
    cli, tmp_path, sandbox, workspace
):
    enable(workspace, "ninjacat_remove")
    out, steps = plan(cli, tmp_path, "platform")
    [change] = steps["juniper-ninjacat"]["changes"]
    assert (change["before"], change["after"], change["phase"]) == ("present", "gone", "access")
    assert change["resource"].startswith("DELETE ")
    approved_cr(cli, "lakeside-powersports", scope="platform")
    assert cli("apply", str(out)).exit_code == EXIT_OK
    assert "NC-88123" not in sandbox.http.advertisers and "NC-88190" in sandbox.http.advertisers
    checks = {
        c["step_id"]: c
        for c in json.loads(cli("--json", "verify", "lakeside-powersports").output)["checks"]
    }
    assert checks["juniper-ninjacat"]["status"] == "PASS"
    assert checks["juniper-ninjacat"]["detail"].startswith("presence = 'gone'")


def test_tenant_guard_reads_the_vendor_name(cli, sandbox, workspace):
    enable(workspace, "fluency_hold")
    sandbox.http.accounts["FL-20417"]["name"] = "Someone Else Marine"
    result = cli("plan", "lakeside-powersports", "-r", "sem-cancellation")
    assert result.exit_code == EXIT_SAFETY and "Someone Else Marine" in result.output
    assert sandbox.log.mutating() == []


def test_dry_run_transport_refuses_the_call(sandbox, tmp_path, workspace):
    from adoffboard.errors import DryRunViolation

    enable(workspace, "fluency_hold")
    env = Env(load_workspace(workspace))
    conn = env.connector("http", read_only=True)
    manifest = env.workspace.load_client("lakeside-powersports").model
    changes = conn.plan(
        "call", {"endpoint": "fluency_hold"}, conn.read_state(manifest), "fluency-hold"
    ).changes
    with pytest.raises(DryRunViolation, match="POST /accounts/FL-20417/hold"):
        conn.apply(changes, _NullJournal())
    assert sandbox.log.mutating() == [] and sandbox.http.accounts["FL-20417"]["hold"] is False


class _NullJournal:
    def intend(self, changes):
        pass

    def record(self, outcomes):
        assert all(o.status != OutcomeStatus.APPLIED for o in outcomes)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"headers": {"Authorization": "Bearer abc123"}}, "header Authorization"),
        ({"url": "https://vendor.example/hold?token=abc"}, "not in the URL"),
        ({"verify_json_path": ""}, "exactly one of verify_json_path"),
        ({"verify_gone": True}, "exactly one of verify_json_path"),
    ],
    ids=["literal-secret-header", "secret-in-url", "no-verification", "two-verifications"],
)
def test_endpoint_settings_are_validated(change, message):
    from pydantic import ValidationError

    good = {
        "manifest_key": "fluency",
        "url": "https://vendor.example/a/{account_id}/hold",
        "verify_url": "https://vendor.example/a/{account_id}",
        "verify_json_path": "hold",
        "verify_equals": True,
        "headers": {"Authorization": "Bearer env:FLUENCY_TOKEN"},
    }
    HttpEndpoint.model_validate(good)
    with pytest.raises(ValidationError, match=message):
        HttpEndpoint.model_validate({**good, **change})


def test_sandbox_references_need_a_loopback_url(sandbox, tmp_path, workspace):
    from adoffboard.errors import AuthError

    def point_away(platforms):
        platforms["http"]["endpoints"]["fluency_hold"].update(
            enabled=True, verify_url="https://api.fluency.example/accounts/{account_id}"
        )

    edit_platforms(workspace, point_away)
    env = Env(load_workspace(workspace))
    conn = env.connector("http", read_only=True)
    with pytest.raises(AuthError, match="loopback"):
        conn.read_state(env.workspace.load_client("lakeside-powersports").model)
    assert sandbox.log.entries("http") == []


def test_runbook_rejects_action_if_configured_on_an_action_step():
    from adoffboard.runbook import parse_runbook

    text = (
        b"name: x\nversion: 1\ntitle: t\ndepartment: SEM\nprocess: cancellation\nsource: s\n"
        b"steps:\n- {id: a1, title: t, department: SEM, owner: juniper, timing: immediately,"
        b" action: {connector: trello, name: archive_card},"
        b" action_if_configured: {connector: http, name: call}, verify: v}\n"
    )
    book, problems = parse_runbook(text, "rb.yaml")
    assert book is None and any("belongs on a manual step" in str(p) for p in problems)
