"""Plans bound to what may be applied: only plans this workspace signed, and within them only what
each runbook step would do now.

Every forged plan below is tried twice against the sandbox: as edited on disk (its signature no
longer checks) and re-signed with the workspace's own key (what an insider, or a bug, could
produce), where the check of every change against a fresh plan of its step refuses it. Either way:
exit 4 and not one mutating request on any platform.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, approved_cr

from adoffboard import signing
from adoffboard.cli import EXIT_INPUT, EXIT_OK, EXIT_SAFETY
from adoffboard.config import load_workspace
from adoffboard.models import canonical_text, content_hash
from adoffboard.sandbox import Sandbox
from adoffboard.store import Store

CLIENT, CID, HARBOR = "lakeside-powersports", "1234567890", "2345678901"

Plan = dict[str, Any]


def _changes(plan: Plan, step: str) -> list[dict[str, Any]]:
    return next(s for s in plan["steps"] if s["step_id"] == step)["changes"]


def retarget_to_another_client(plan: Plan) -> None:
    """A campaign pause aimed at Harbor Marine's account under Lakeside's approval."""
    change = _changes(plan, "google-ads-pause")[0]
    change.update(account=HARBOR, entity_id="9101", resource=f"customers/{HARBOR}/campaigns/9101")


def retarget_with_a_new_id(plan: Plan) -> None:
    change = _changes(plan, "google-ads-pause")[0]
    change.update(
        id=f"google_ads:{HARBOR}:campaign:9101:status",
        account=HARBOR,
        entity_id="9101",
        resource=f"customers/{HARBOR}/campaigns/9101",
    )


def switch_a_paused_campaign_on(plan: Plan) -> None:
    template = _changes(plan, "google-ads-pause")[0]
    _changes(plan, "google-ads-pause").append(
        {
            **template,
            "id": f"google_ads:{CID}:campaign:9009:status",
            "entity_id": "9009",
            "name": "Display - Remarketing",
            "before": "PAUSED",
            "after": "ENABLED",
            "shown_before": "PAUSED",
            "shown_after": "ENABLED",
            "resource": f"customers/{CID}/campaigns/9009",
        }
    )


def set_a_budget_to_999999_a_day(plan: Plan) -> None:
    change = next(c for c in _changes(plan, "google-ads-budgets") if c["field"] == "amount_micros")
    change.update(after=999_999_000_000, shown_after="999,999.00 USD/day")


def run_the_removal_first(plan: Plan) -> None:
    """The manager link's end moved to the ads phase: before the check that guards it."""
    change = _changes(plan, "juniper-google-ads")[0]
    change["phase"] = "ads"


def relabel_as_a_restore(plan: Plan) -> None:
    plan["runbook"] = "restore"


def relabel_as_a_restore_with_its_hash(plan: Plan, workspace: Path) -> None:
    from adoffboard.runbook import load_runbook

    plan["runbook"] = "restore"
    plan["runbook_hash"] = load_runbook("restore", workspace).sha256


FORGERIES: dict[str, Callable[..., None]] = {
    "retarget-another-client": retarget_to_another_client,
    "retarget-with-new-id": retarget_with_a_new_id,
    "paused-campaign-on": switch_a_paused_campaign_on,
    "budget-999999": set_a_budget_to_999999_a_day,
    "removal-before-check": run_the_removal_first,
    "relabel-restore": relabel_as_a_restore,
}

RESIGNED_REASONS = {
    "retarget-another-client": "its account is '2345678901'",
    # a change its step does not plan at all, whose value still is the before-value
    "retarget-with-new-id": "its step would not change it now",
    "paused-campaign-on": "its step would not change it now",
    "budget-999999": "it sets 999,999.00 USD/day",
    "removal-before-check": "its phase is 'ads' where the step plans 'access'",
    "relabel-restore": "runbook restore changed since plan",
}


def _approved_plan(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> tuple[Path, Plan]:
    approved_cr(cli, CLIENT, scope="platform", sandbox=sandbox)
    out = tmp_path / "plan.json"
    made = cli("plan", CLIENT, "-r", "sem-cancellation", "-o", str(out))
    assert made.exit_code == EXIT_OK, made.output
    return out, json.loads(out.read_text())


def _resign(workspace: Path, document: Plan) -> Plan:
    """The document re-hashed and signed with the workspace's own key."""
    body = {k: v for k, v in document.items() if k not in ("sha256", "signature")}
    with Store.open(load_workspace(workspace).store_url) as store:
        key = store.plan_key()
    return {**body, "sha256": content_hash(body), "signature": signing.sign(key, body)}


def _rehash(document: Plan) -> Plan:
    """What anyone can do: recompute the sha256 of an edited plan (the signature stays)."""
    body = {k: v for k, v in document.items() if k not in ("sha256", "signature")}
    return {**body, "sha256": content_hash(body), "signature": document.get("signature")}


def _refused(result: Any, sandbox: Sandbox, fragment: str) -> None:
    assert result.exit_code == EXIT_SAFETY, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert fragment in result.output, result.output
    assert sandbox.log.mutating() == []


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_an_edited_plan_is_refused(
    cli: Cli, tmp_path: Path, sandbox: Sandbox, forgery: str
) -> None:
    out, plan = _approved_plan(cli, tmp_path, sandbox)
    edited = copy.deepcopy(plan)
    FORGERIES[forgery](edited)
    out.write_text(json.dumps(_rehash(edited)))
    _refused(cli("apply", str(out)), sandbox, "modified after it was made")


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_resigned_forgery_is_refused_by_the_runbook(
    cli: Cli, workspace: Path, tmp_path: Path, sandbox: Sandbox, forgery: str
) -> None:
    out, plan = _approved_plan(cli, tmp_path, sandbox)
    edited = copy.deepcopy(plan)
    FORGERIES[forgery](edited)
    out.write_text(json.dumps(_resign(workspace, edited)))
    _refused(cli("apply", str(out)), sandbox, RESIGNED_REASONS[forgery])
    assert sandbox.google_ads.state.campaign(HARBOR, "9101").status == "ENABLED"
    assert sandbox.google_ads.state.campaign(CID, "9009").status == "PAUSED"


def test_a_restore_relabel_with_the_restore_hash_needs_a_person(
    cli: Cli, workspace: Path, tmp_path: Path, sandbox: Sandbox
) -> None:
    out, plan = _approved_plan(cli, tmp_path, sandbox)
    edited = copy.deepcopy(plan)
    relabel_as_a_restore_with_its_hash(edited, workspace)
    out.write_text(json.dumps(_resign(workspace, edited)))
    _refused(cli("apply", str(out)), sandbox, "restores no named run")


def test_an_unsigned_plan_is_refused(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> None:
    out, plan = _approved_plan(cli, tmp_path, sandbox)
    plan.pop("signature")
    out.write_text(json.dumps(plan))
    _refused(cli("apply", str(out)), sandbox, "not signed by this workspace")


def test_a_plan_from_another_workspace_is_refused(
    cli: Cli, tmp_path: Path, sandbox: Sandbox
) -> None:
    out, plan = _approved_plan(cli, tmp_path, sandbox)
    plan["signature"] = signing.sign(
        b"another workspace's key".ljust(32, b"!"),
        {k: v for k, v in plan.items() if k not in ("sha256", "signature")},
    )
    out.write_text(json.dumps(plan))
    _refused(cli("apply", str(out)), sandbox, "made by another workspace")


def test_the_signed_plan_applies(cli: Cli, tmp_path: Path, sandbox: Sandbox) -> None:
    out, plan = _approved_plan(cli, tmp_path, sandbox)
    assert plan["signature"].startswith("hmac-sha256:") and "sha256" in plan
    assert (out.stat().st_mode & 0o777) == 0o600
    result = cli("apply", str(out))
    assert result.exit_code == EXIT_OK, result.output


def test_the_plan_file_and_the_run_carry_the_one_signed_text(
    cli: Cli, workspace: Path, tmp_path: Path, sandbox: Sandbox
) -> None:
    """The plan is serialised once: the run stores the file's very body, hash and signature."""
    out, plan = _approved_plan(cli, tmp_path, sandbox)
    assert cli("apply", str(out)).exit_code == EXIT_OK
    [run] = json.loads(cli("--json", "history", CLIENT).output)
    with Store.open(load_workspace(workspace).store_url) as store:
        record = store.run(run["id"])
        key = store.plan_key()
    body = {k: v for k, v in plan.items() if k not in ("sha256", "signature")}
    assert json.loads(record.plan_json) == {**body, "sha256": plan["sha256"]}
    assert record.plan_hash == plan["sha256"] == content_hash(body)
    assert record.plan_mac == plan["signature"] == signing.sign(key, body)
    saved = out.read_text()
    assert saved.startswith(canonical_text(body)[:-1]) and saved.endswith("}\n")


def test_a_stored_plan_edited_in_the_store_is_not_resumed(
    cli: Cli, workspace: Path, tmp_path: Path, sandbox: Sandbox
) -> None:
    out, _ = _approved_plan(cli, tmp_path, sandbox)
    assert cli("apply", str(out)).exit_code == EXIT_OK
    [run] = json.loads(cli("--json", "history", CLIENT).output)
    with Store.open(load_workspace(workspace).store_url) as store:
        record = store.run(run["id"])
        body = json.loads(record.plan_json)
        set_a_budget_to_999999_a_day(body)
        from sqlalchemy import update

        from adoffboard.store import runs_t

        with store.transaction(write=True) as conn:
            conn.execute(
                update(runs_t).where(runs_t.c.id == record.id).values(plan_json=json.dumps(body))
            )
    writes = len(sandbox.log.mutating())
    _refused_after = cli("resume", run["id"])
    assert _refused_after.exit_code == EXIT_SAFETY, _refused_after.output
    assert "its signature does not check" in _refused_after.output
    assert len(sandbox.log.mutating()) == writes


def test_a_workspace_runbook_cannot_turn_a_cancellation_into_a_restore(
    cli: Cli, workspace: Path, tmp_path: Path, sandbox: Sandbox
) -> None:
    from importlib import resources

    shipped = (resources.files("adoffboard") / "runbooks" / "sem-cancellation.yaml").read_text()
    (workspace / "runbooks").mkdir()
    (workspace / "runbooks" / "sem-cancellation.yaml").write_text(
        shipped.replace("process: cancellation", "process: restore")
    )
    result = cli("plan", CLIENT, "-r", "sem-cancellation", "-o", str(tmp_path / "p.json"))
    assert result.exit_code == EXIT_INPUT, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert sandbox.log.mutating() == []


def test_a_workspace_runbook_cannot_change_a_shipped_gate(
    cli: Cli, workspace: Path, tmp_path: Path, sandbox: Sandbox
) -> None:
    from importlib import resources

    shipped = (resources.files("adoffboard") / "runbooks" / "sem-pause.yaml").read_text()
    (workspace / "runbooks").mkdir()
    (workspace / "runbooks" / "sem-pause.yaml").write_text(
        shipped.replace("process: pause", "process: addendum")
    )
    result = cli("plan", CLIENT, "-r", "sem-pause", "-o", str(tmp_path / "p.json"))
    assert result.exit_code == EXIT_INPUT, result.output
    assert "overrides the shipped sem-pause's process 'pause'" in result.output
    assert sandbox.log.mutating() == []


def test_a_restore_needs_a_person_with_the_role(cli: Cli, sandbox: Sandbox) -> None:
    approved_cr(cli, CLIENT, sandbox=sandbox)
    ran = cli("--json", "run", CLIENT, "-r", "sem-cancellation", "--yes")
    run_id = json.loads(ran.output)["run_id"]
    writes = len(sandbox.log.mutating())
    refused = cli("restore", run_id, "--as", "dana", "--yes")
    assert refused.exit_code == 9, refused.output
    assert "may not restore a SEM run" in refused.output
    assert len(sandbox.log.mutating()) == writes
    done = cli("--json", "restore", run_id, "--as", "sem-lead", "--yes")
    assert done.exit_code == EXIT_OK, done.output
    [restore, *_] = json.loads(cli("--json", "history", CLIENT).output)
    with Store.open(load_workspace(cli.workspace).store_url) as store:
        events = store.run_events(restore["id"])
    assert [(e.kind, e.by) for e in events] == [("authorized", "sem-lead")]


@pytest.mark.parametrize(
    "content,fragment",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not a text (UTF-8) file"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"format": 1, "sha256": "00", "steps": [', "not valid JSON"),
    ],
    ids=["binary", "deeply-nested", "truncated"],
)
def test_a_plan_file_that_is_not_a_plan(
    cli: Cli, tmp_path: Path, sandbox: Sandbox, content: bytes, fragment: str
) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    result = cli("apply", str(path))
    assert result.exit_code == EXIT_INPUT, result.output
    assert len(result.output.strip().splitlines()) == 1 and fragment in result.output
    assert "internal error" not in result.output and sandbox.log.mutating() == []


def test_a_signed_plan_with_a_malformed_body_is_bad_input(
    cli: Cli, workspace: Path, tmp_path: Path, sandbox: Sandbox
) -> None:
    out, plan = _approved_plan(cli, tmp_path, sandbox)
    plan["steps"] = [{"step_id": 5}]
    out.write_text(json.dumps(_resign(workspace, plan)))
    result = cli("apply", str(out))
    assert result.exit_code == EXIT_INPUT and "is malformed" in result.output, result.output
    assert sandbox.log.mutating() == []
