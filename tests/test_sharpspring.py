"""The SharpSpring connector against its stand-in and a real local SMTP server.

Paging to exhaustion, errors inside HTTP 200 bodies, the per-second and daily limits on the
injected clock, the CSV with its row count and SHA-256, the email to the Account Manager, the
dry run (no file, no mail, no write on the wire), and no secret anywhere it could leak.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
import requests
from conftest import Cli, approved_cr

from adoffboard.cli import EXIT_OK
from adoffboard.clock import FakeClock
from adoffboard.config import Manifest, NotificationsSection
from adoffboard.connectors import build
from adoffboard.connectors.base import ConnectorContext
from adoffboard.demo import DEMO_CLIENT
from adoffboard.errors import AuthError, DryRunViolation, PlatformError, TenantMismatch
from adoffboard.models import CheckStatus, OutcomeStatus
from adoffboard.retry import RetryPolicy
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.core import FaultRule
from adoffboard.sandbox.sharpspring import generate_leads

ACCOUNT = "7A3F9C21D0"
SECRET = "ss-live-secret-4b9d1e-SECRET"
AM = "dana.whitfield@agency.example"


class Journal:
    def __init__(self):
        self.events = []

    def intend(self, changes):
        self.events += [("intent", c.id) for c in changes]

    def record(self, outcomes):
        self.events += [("outcome", o.change_id, o.status) for o in outcomes]


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.setenv("SS_SECRET", SECRET)


def connect(box: Sandbox, root: Path, *, read_only=False, clock=None, mail=True, **settings):
    notifications = (
        NotificationsSection(sender="adoffboard@agency.example", **box.notification_settings())
        if mail
        else None
    )
    ctx = ConnectorContext(
        settings={
            **box.platform_settings()["sharpspring"],
            "secret_key": "env:SS_SECRET",
            **settings,
        },
        workspace_root=root,
        read_only=read_only,
        clock=clock or FakeClock(),
        retry=RetryPolicy(attempts=4, timeout=10),
        notifications=notifications,
    )
    return build("sharpspring", ctx)


def manifest() -> Manifest:
    return Manifest.model_validate(DEMO_CLIENT)


def export(box: Sandbox, root: Path, **kw):
    conn = connect(box, root, **kw)
    state = conn.read_state(manifest())
    changes = conn.plan("export_contacts", {}, state, "sharpspring-final-export").changes
    journal = Journal()
    return conn, changes, conn.apply(changes, journal), journal


def small_box(leads: int, **account) -> Sandbox:
    return Sandbox(
        {
            "sharpspring": {
                "accounts": [{"account_id": ACCOUNT, "leads": leads, "seed": 3, **account}]
            },
            "smtp": {},
        }
    ).start()


def pages(box: Sandbox) -> list[str]:
    return [e.method for e in box.log.entries("sharpspring")]


@pytest.mark.parametrize(
    "leads,calls",
    [(0, 1), (499, 1), (500, 2), (1000, 3), (1234, 3)],
    ids=["empty", "short", "one-full-page", "exact-multiple", "demo"],
)
def test_paging_runs_until_a_short_page(tmp_path, leads, calls):
    box = small_box(leads)
    try:
        conn = connect(box, tmp_path, read_only=True)
        state = conn.read_state(manifest())
        assert state.live_count == leads
        assert pages(box) == ["getLeads"] * calls and conn.calls["read"] == calls
        [change] = conn.plan("export_contacts", {}, state, "s").changes
        assert change.after == f"exported {leads} contacts, emailed to {AM}"
    finally:
        box.stop()


def test_export_writes_csv_with_rows_and_sha256_and_emails_the_am(sandbox, tmp_path):
    conn, [change], [outcome], journal = export(sandbox, tmp_path)
    assert change.before == "not exported" and change.entity_type == "contact_list"
    assert outcome.status == OutcomeStatus.APPLIED
    assert journal.events == [("intent", change.id), ("outcome", change.id, OutcomeStatus.APPLIED)]
    csv_path = tmp_path / "exports" / "lakeside-powersports-sharpspring-2026-11-21.csv"
    data = csv_path.read_bytes()
    record = json.loads(csv_path.with_suffix(".json").read_text())
    assert record["rows"] == 1234 and record["sha256"] == hashlib.sha256(data).hexdigest()
    assert record["emailed_to"] == [AM] and record["message_id"] == outcome.request_id
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1234
    # every field, values intact (commas, quotes, line breaks, accents), stable column order;
    # phone numbers (+1-262-...) would be arithmetic to a spreadsheet: they start with a quote
    source = {lead["id"]: lead for lead in generate_leads(1234, 7, ACCOUNT)}
    for row in rows:
        lead = source[row["id"]]
        assert row["phoneNumber"] == "'" + lead["phoneNumber"]
        assert all(
            row[k] == str(v) for k, v in lead.items() if k not in ("accountID", "phoneNumber")
        )
    assert record["neutralised_cells"] == 1234
    assert record["neutralised_columns"] == {"phoneNumber": 1234}
    header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header[:3] == ["id", "accountID", "ownerID"] and header[-1] == "preferred_brand_5f3a1c"
    # the Account Manager got it, as an attachment, byte for byte
    [msg] = sandbox.smtp.to(AM)
    [part] = list(msg.iter_attachments())
    assert part.get_filename() == csv_path.name
    assert part.get_payload(decode=True) == data
    assert "1234 contacts" in msg["Subject"] and record["sha256"] in msg.get_body().get_content()
    assert (
        conn.verify("export_contacts", {}, conn.read_state(manifest())).status == CheckStatus.PASS
    )


def test_second_apply_is_already_and_sends_nothing(sandbox, tmp_path):
    conn, changes, _, _ = export(sandbox, tmp_path)
    again = conn.apply(changes, Journal())
    assert [o.status for o in again] == [OutcomeStatus.ALREADY]
    assert len(sandbox.smtp.messages) == 1
    assert conn.plan("export_contacts", {}, conn.read_state(manifest()), "s").changes == ()


def test_dry_run_writes_no_file_sends_no_mail_and_no_write(sandbox, tmp_path):
    reader = connect(sandbox, tmp_path, read_only=True)
    changes = reader.plan("export_contacts", {}, reader.read_state(manifest()), "s").changes
    with pytest.raises(DryRunViolation):
        reader.apply(changes, Journal())
    assert not (tmp_path / "exports").exists()
    assert sandbox.smtp.messages == [] and sandbox.log.mutating() == []


def test_read_only_transport_allows_reads_by_json_rpc_method_only(sandbox, tmp_path):
    reader = connect(sandbox, tmp_path, read_only=True)
    reader.read_state(manifest())
    seen = len(sandbox.log)
    with pytest.raises(DryRunViolation, match="deleteLeads"):
        reader._rpc("deleteLeads", {"objects": [{"id": "410000007"}]})
    assert len(sandbox.log) == seen  # refused before it left the process


def test_per_second_limit_107_is_retried_on_the_clock(sandbox, tmp_path):
    sandbox.faults.add(
        FaultRule(
            kind="resource_exhausted", platform="sharpspring", method="getLeads", times=2, after=1
        )
    )
    clock = FakeClock()
    state = connect(sandbox, tmp_path, read_only=True, clock=clock).read_state(manifest())
    assert state.live_count == 1234 and clock.sleeps == [1.0, 1.0]


def test_client_side_throttle_keeps_to_10_calls_per_second(tmp_path):
    box = small_box(5500)  # 12 pages
    try:
        clock = FakeClock()
        connect(box, tmp_path, read_only=True, clock=clock).read_state(manifest())
        assert len(pages(box)) == 12 and clock.sleeps == [1.0]
    finally:
        box.stop()


def test_daily_limit_106_stops_the_plan_with_a_clear_error(tmp_path):
    box = small_box(1234, daily_limit=2)
    try:
        clock = FakeClock()
        with pytest.raises(PlatformError, match="error 106.*daily API call limit") as err:
            connect(box, tmp_path, read_only=True, clock=clock).read_state(manifest())
        assert clock.sleeps == [] and SECRET not in str(err.value)
    finally:
        box.stop()


def test_daily_limit_during_the_export_fails_it_without_a_file_or_mail(tmp_path):
    box = small_box(1234, daily_limit=4)  # the plan's 3 pages, then one page of the export
    try:
        _, _, [outcome], journal = export(box, tmp_path)
        assert outcome.status == OutcomeStatus.FAILED and "106" in outcome.message
        assert "nothing written" in outcome.message
        assert not (tmp_path / "exports").exists() and box.smtp.messages == []
        assert journal.events == [("outcome", outcome.change_id, OutcomeStatus.FAILED)]
    finally:
        box.stop()


def test_wrong_secret_is_error_105_inside_http_200(tmp_path):
    box = small_box(10, secret_key="the-real-one")
    try:
        with pytest.raises(AuthError, match="error 105") as err:
            connect(box, tmp_path, read_only=True).read_state(manifest())
        assert SECRET not in str(err.value)
        raw = requests.post(
            box.sharpspring.url + "/pubapi/v1.2/",
            params={"accountID": ACCOUNT, "secretKey": "x"},
            json={"method": "getLeads", "params": {}, "id": "1"},
            timeout=5,
        )
        assert raw.status_code == 200 and raw.json()["error"]["code"] == 105
    finally:
        box.stop()


def test_key_of_another_account_is_a_tenant_mismatch(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("SS_ACCOUNT", "5B8E2D64A1")
    with pytest.raises(TenantMismatch, match="another account"):
        connect(sandbox, tmp_path, read_only=True, account_id="env:SS_ACCOUNT").read_state(
            manifest()
        )
    assert sandbox.log.entries("sharpspring") == []


def test_per_client_key_reference_is_resolved_for_the_manifest_account(
    sandbox, tmp_path, monkeypatch
):
    monkeypatch.setenv(f"SS_SECRET_{ACCOUNT}", SECRET)
    conn = connect(sandbox, tmp_path, read_only=True, secret_key="env:SS_SECRET_{account_id}")
    assert conn.read_state(manifest()).live_count == 1234


def test_unreachable_endpoint_error_never_quotes_the_url(tmp_path):
    from adoffboard.sandbox.smtp import free_port

    box = small_box(1)
    try:
        conn = connect(
            box, tmp_path, read_only=True, endpoint=f"http://127.0.0.1:{free_port()}/pubapi/v1.2/"
        )
        with pytest.raises(PlatformError) as err:
            conn.read_state(manifest())
        assert "unreachable" in str(err.value) and SECRET not in str(err.value)
        # requests' own exception quotes the URL with the key: it must not ride along
        assert err.value.__cause__ is None and err.value.__context__ is None
    finally:
        box.stop()


def test_email_failure_is_retried_by_a_second_apply_without_a_new_export(sandbox, tmp_path):
    sandbox.faults.add(FaultRule(kind="internal", platform="smtp", times=4))
    conn, changes, [failed], _ = export(sandbox, tmp_path)
    assert failed.status == OutcomeStatus.FAILED and "email" in failed.message
    [csv_file] = (tmp_path / "exports").glob("*.csv")
    # refused by the server every time: surely not sent, so the intent is dropped
    assert json.loads(csv_file.with_suffix(".json").read_text())["sending_at"] == ""
    written = csv_file.stat().st_mtime_ns
    assert (
        conn.verify("export_contacts", {}, conn.read_state(manifest())).status == CheckStatus.FAIL
    )  # written, not emailed
    [sent] = conn.apply(changes, Journal())
    assert sent.status == OutcomeStatus.APPLIED and len(sandbox.smtp.messages) == 1
    assert csv_file.stat().st_mtime_ns == written


@pytest.mark.parametrize(
    "tamper,detail",
    [
        (
            lambda root, box: (
                root / "exports" / "lakeside-powersports-sharpspring-2026-11-21.csv"
            ).write_bytes(b"id\n1\n"),
            "changed since the export",
        ),
        (
            lambda root, box: (
                root / "exports" / "lakeside-powersports-sharpspring-2026-11-21.csv"
            ).unlink(),
            "is missing",
        ),
        (
            lambda root, box: box.sharpspring.add_lead(ACCOUNT, emailAddress="new@example.com"),
            "1235 contacts live now, 1234 in the export",
        ),
    ],
    ids=["edited", "deleted", "new-contact"],
)
def test_verify_fails_when_the_export_no_longer_holds(sandbox, tmp_path, tamper, detail):
    export(sandbox, tmp_path)
    tamper(tmp_path, sandbox)
    conn = connect(sandbox, tmp_path, read_only=True)
    verdict = conn.verify("export_contacts", {}, conn.read_state(manifest()))
    assert verdict.status == CheckStatus.FAIL and detail in verdict.detail


def test_after_deactivation_verify_judges_the_file_alone(sandbox, tmp_path):
    export(sandbox, tmp_path)
    sandbox.sharpspring.accounts[ACCOUNT].secret_key = "revoked"  # the account is gone
    conn = connect(sandbox, tmp_path, read_only=True)
    state = conn.read_state(manifest())
    assert state.live_count is None and conn.plan("export_contacts", {}, state, "s").changes == ()
    verdict = conn.verify("export_contacts", {}, state)
    assert verdict.status == CheckStatus.PASS and "no longer answers" in verdict.detail


def test_debug_logs_of_the_http_library_never_show_the_key(sandbox, tmp_path, caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="urllib3")
    connect(sandbox, tmp_path, read_only=True).read_state(manifest())
    assert "POST /pubapi/v1.2/?accountID=" in caplog.text  # the request line is logged...
    assert SECRET not in caplog.text and "secretKey=[secure]" in caplog.text  # ...scrubbed


def test_no_secret_in_the_record_outcomes_or_request_log(sandbox, tmp_path):
    conn, changes, outcomes, _ = export(sandbox, tmp_path)
    blob = "".join(p.read_text() for p in (tmp_path / "exports").glob("*.json"))
    blob += json.dumps([c.to_dict() for c in changes] + [o.to_dict() for o in outcomes])
    blob += repr([vars(e) for e in sandbox.log]) + repr(conn.read_state(manifest()))
    blob += " ".join(conn._session.sent) + repr(conn.ctx)
    assert SECRET not in blob and "secretKey" not in blob


def test_ma_cancellation_through_the_cli(cli: Cli, tmp_path, sandbox):
    approved_cr(cli, "lakeside-powersports", departments=("MA",), sandbox=sandbox)
    sandbox.smtp.clear()
    out = tmp_path / "plan.json"
    assert (
        cli("plan", "lakeside-powersports", "-r", "ma-cancellation", "-o", str(out)).exit_code
        == EXIT_OK
    )
    assert sandbox.smtp.messages == [] and sandbox.log.mutating() == []
    assert not (cli.workspace / "exports").exists()
    steps = {s["step_id"]: s for s in json.loads(out.read_text())["steps"]}
    export_step = steps["sharpspring-final-export"]
    assert export_step["kind"] == "automated"
    assert "1,234 contacts" in export_step["changes"][0]["shown_after"]
    assert steps["sharpspring-deactivate"]["kind"] == "manual"
    result = cli("--json", "apply", str(out))
    assert result.exit_code == EXIT_OK, result.output
    [msg] = sandbox.smtp.to(AM)
    assert msg["To"] == AM
    checks = {
        c["step_id"]: c
        for c in json.loads(cli("--json", "verify", "lakeside-powersports").output)["checks"]
    }
    assert checks["sharpspring-final-export"]["status"] == "PASS"
    assert checks["sharpspring-deactivate"]["status"] == "MANUAL-PENDING"
