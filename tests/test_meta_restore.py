"""Meta in a contract pause and its exact restore: through the CLI and the connector, against the
Graph stand-in (the unmodified facebook-business SDK on the wire)."""

from __future__ import annotations

import json
from pathlib import Path

import requests
from conftest import Cli
from meta_support import batches, connect, items, manifest, many_campaigns, plan
from test_contract import MemoryJournal
from test_restore import CLIENT, outcomes, run

from adoffboard.cli import EXIT_DRIFT
from adoffboard.connectors.meta.client import reads_only
from adoffboard.models import Change, OutcomeStatus
from adoffboard.runbook import load_runbook
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule

LAKESIDE, AGENCY = "act_1029384756", "100200300400500"
PAUSED_CAMPAIGNS = {"120210000000101", "120210000000102", "120210000000103"}
PAUSED_ADSETS = {"120210000001101", "120210000001103", "120210000001104", "120210000001105"}
DISABLED_RULES = {"238400000000001", "238400000000002"}  # un-pauses; raises budgets


def test_sem_pause_pauses_meta_and_never_removes_the_agency() -> None:
    book = load_runbook("sem-pause", None).model
    assert book.version == 3
    meta = {s.id: s for s in book.steps if s.action and s.action.connector == "meta"}
    assert {i: s.action.name for i, s in meta.items()} == {
        "meta-pause": "pause_campaigns",
        "meta-disable-rules": "disable_rules",
    }
    assert all(s.if_manifest == "meta" and s.timing == "effective_date" for s in meta.values())
    unpause = load_runbook("sem-unpause", None).model
    assert [s.restore.runbook for s in unpause.steps if s.restore] == ["sem-pause"]


def meta_values(sandbox: Sandbox) -> dict[str, str]:
    acct = sandbox.meta.accounts[LAKESIDE]
    values = {f"campaign:{c.id}": c.status for c in acct.campaigns.values()}
    values |= {f"adset:{s.id}": s.status for s in acct.adsets.values()}
    values |= {f"rule:{r.id}": r.status for r in acct.rules.values()}
    return values


def meta_changes(report: dict) -> list[dict]:
    return [c for c in outcomes(report) if c["platform"] == "meta"]


def restore_check(report: dict) -> dict:
    return next(c for c in report["checks"] if c["step_id"] == "restore-pause")


def test_pause_stops_meta_and_unpause_restores_it_exactly(cli: Cli, sandbox: Sandbox) -> None:
    original = meta_values(sandbox)
    _, paused = run(cli, "-r", "sem-pause")
    assert paused["runbook_version"] == 3
    acct = sandbox.meta.accounts[LAKESIDE]
    assert {i for i, c in acct.campaigns.items() if c.status == "PAUSED"} == PAUSED_CAMPAIGNS | {
        "120210000000104"
    }  # the Winter storage campaign was already
    assert {i for i, s in acct.adsets.items() if s.status == "PAUSED"} == PAUSED_ADSETS | {
        "120210000001102"
    }
    assert {i for i, r in acct.rules.items() if r.status == "DISABLED"} == DISABLED_RULES
    assert AGENCY in acct.agencies  # a pause removes nothing
    checks = {c["step_id"]: c["status"] for c in paused["checks"]}
    assert checks["meta-pause"] == checks["meta-disable-rules"] == "PASS"
    assert {c["outcome"]["status"] for c in meta_changes(paused)} == {"applied"}
    assert len(meta_changes(paused)) == 9

    writes = len(sandbox.log.mutating("meta"))
    _, unpaused = run(cli, "-r", "sem-unpause")
    assert meta_values(sandbox) == original
    restored = meta_changes(unpaused)
    assert len(restored) == 9 and {c["outcome"]["status"] for c in restored} == {"applied"}
    assert {(c["before"], c["after"]) for c in restored} == {
        ("PAUSED", "ACTIVE"),
        ("DISABLED", "ENABLED"),
    }
    assert restore_check(unpaused)["status"] == "PASS"
    # statuses go back in one Graph batch; the agency is never touched
    sent = sandbox.log.mutating("meta")[writes:]
    assert [e.method for e in sent if e.service == "graph"] == ["batch"]
    assert {e.method for e in sent if e.service == "graph-batch"} == {"update_object"}


def test_meta_values_someone_changed_during_the_pause_are_left_alone(
    cli: Cli, sandbox: Sandbox
) -> None:
    original = meta_values(sandbox)
    run(cli, "-r", "sem-pause")
    acct = sandbox.meta.accounts[LAKESIDE]
    # during the pause: someone archives an ad set, deletes a rule, and turns a campaign back on
    acct.adsets["120210000001104"].status = "ARCHIVED"
    acct.rules["238400000000002"].status = "DELETED"
    acct.campaigns["120210000000103"].status = "ACTIVE"

    code, unpaused = run(cli, "-r", "sem-unpause")
    assert code == EXIT_DRIFT
    expected = {**original, "adset:120210000001104": "ARCHIVED", "rule:238400000000002": "DELETED"}
    assert meta_values(sandbox) == expected
    by_entity = {c["entity_id"]: c["outcome"]["status"] for c in meta_changes(unpaused)}
    assert by_entity.pop("120210000001104") == "drift"
    assert by_entity.pop("238400000000002") == "drift"
    assert by_entity.pop("120210000000103") == "already"  # already what restore would write
    assert set(by_entity.values()) == {"applied"}
    check = restore_check(unpaused)
    assert check["status"] == "MANUAL-PENDING"
    assert any(
        "left alone" in e and "Catalog - ATVs" in e and "ARCHIVED" in e for e in check["evidence"]
    )
    assert any(
        "left alone" in e and "Scale winners +20%" in e and "DELETED" in e
        for e in check["evidence"]
    )

    # a later verify reads the values back by id, writes nothing, and still lists them
    writes = len(sandbox.log.mutating())
    verified = cli("--json", "verify", CLIENT)
    again = restore_check(json.loads(verified.output))
    assert again["status"] == "MANUAL-PENDING"
    assert sorted(again["evidence"]) == sorted(check["evidence"])
    assert len(sandbox.log.mutating()) == writes
    assert {
        e.method for e in sandbox.log.entries("meta", mutating=False) if e.service == "graph-batch"
    } == {"get_object"}


def inverse(ch: Change) -> Change:
    """A restore's change: before is what the pause wrote, after what was there."""
    return Change(
        f"restore:r-test:{ch.id}",
        "restore-run",
        ch.platform,
        ch.account,
        ch.entity_type,
        ch.entity_id,
        ch.name,
        ch.field,
        ch.after,
        ch.before,
        ch.shown_after,
        ch.shown_before,
        ch.phase,
        ch.resource,
    )


def test_live_values_are_read_by_id_in_read_only_batches(tmp_path: Path) -> None:
    with Sandbox({"meta": many_campaigns(120)}) as box:
        writer = connect(box, tmp_path)
        changes = plan(writer, writer.read_state(manifest()), "pause_campaigns")
        writer.apply(changes, MemoryJournal())
        box.log.clear()
        gone = Change(
            "restore:r-test:gone",
            "restore-run",
            "meta",
            LAKESIDE,
            "campaign",
            "120599999999999",
            "Gone",
            "status",
            "PAUSED",
            "ACTIVE",
            "PAUSED",
            "ACTIVE",
        )
        restore = [inverse(c) for c in changes] + [gone]
        reader = connect(box, tmp_path, read_only=True)
        live = reader.live_values(restore)
        assert live.pop(gone.id) is None  # an object Graph does not return
        assert set(live.values()) == {"PAUSED"} and len(live) == 120
        assert len(batches(box)) == 3 and len(items(box)) == 121  # at most 50 per batch
        assert {e.method for e in items(box)} == {"get_object"}
        assert box.log.mutating() == []
        assert dict(reader.calls) == {"read": 3}

        applied = writer.apply(restore[:-1], MemoryJournal())
        assert {o.status for o in applied} == {OutcomeStatus.APPLIED}
        assert {c.status for c in box.meta.accounts[LAKESIDE].campaigns.values()} == {"ACTIVE"}
        assert set(reader.live_values(restore[:-1]).values()) == {"ACTIVE"}


def test_an_unanswered_status_read_goes_round_again_alone(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.faults.add(
        FaultRule(
            kind="timeout",
            platform="meta",
            method="get_object",
            match={"resource": "rule", "id": "238400000000001"},
            times=1,
        )
    )
    reader = connect(sandbox, tmp_path, read_only=True)
    changes = plan(reader, reader.read_state(manifest()), "pause_campaigns", "disable_rules")
    sandbox.log.clear()
    live = reader.live_values([inverse(c) for c in changes])
    assert set(live.values()) == {"ACTIVE", "ENABLED"}  # nothing was paused
    assert len(batches(sandbox)) == 2
    assert len(items(sandbox)) == len(changes) + 1


def test_only_an_all_get_batch_passes_the_read_only_guard() -> None:
    def batch(*calls: dict[str, str]) -> requests.PreparedRequest:
        return requests.Request(
            "POST", "http://127.0.0.1:1/v26.0/", data={"batch": json.dumps(list(calls))}
        ).prepare()

    get = {"method": "GET", "relative_url": "120210000000101/?fields=status"}
    post = {"method": "POST", "relative_url": "120210000000101/", "body": "status=ACTIVE"}
    assert reads_only(batch(get, get))
    assert not reads_only(batch(get, post))
    assert not reads_only(batch({**get, "relative_url": "120210000000101/?method=delete"}))
    assert not reads_only(
        requests.Request(
            "POST", "http://127.0.0.1:1/v26.0/120210000000101/", data={"batch": json.dumps([get])}
        ).prepare()
    )
    assert not reads_only(batch())
