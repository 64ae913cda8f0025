"""The SharpSpring export is emailed at most once, and its CSV is safe to open in a spreadsheet.

Against the SharpSpring stand-in and a real SMTP server on loopback whose answer to the export's
DATA the test holds back (tests/smtp_stall.py): the client is killed inside the SMTP exchange (a
real `adoffboard apply` subprocess, SIGKILL), or the server hangs up after taking the message.
Neither resume nor a new apply sends it again; verify waits for a person; `adoffboard resend`
sends it once more on that person's decision, or records that it arrived.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import Result
from conftest import Cli, approved_cr
from smtp_stall import TrappingSmtp

from adoffboard.cli import (
    EXIT_FAILED_CHANGES,
    EXIT_INPUT,
    EXIT_NOT_PERMITTED,
    EXIT_OK,
    EXIT_VERIFY_PENDING,
)
from adoffboard.clock import FakeClock
from adoffboard.config import Manifest, NotificationsSection
from adoffboard.connectors import build
from adoffboard.connectors.base import ConnectorContext
from adoffboard.connectors.sharpspring.connector import resend_export
from adoffboard.demo import DEMO_CLIENT
from adoffboard.errors import InputError, SafetyRefusal
from adoffboard.models import CheckStatus, OutcomeStatus
from adoffboard.retry import RetryPolicy
from adoffboard.sandbox import Sandbox
from adoffboard.workspace_init import init_workspace

ACCOUNT = "7A3F9C21D0"
AM = "dana.whitfield@agency.example"
CLIENT = "lakeside-powersports"
SUBJECT = "Final SharpSpring export"
CSV_NAME = f"{CLIENT}-sharpspring-2026-11-21.csv"


class Journal:
    def __init__(self):
        self.events = []

    def intend(self, changes):
        self.events += [("intent", c.id) for c in changes]

    def record(self, outcomes):
        self.events += [("outcome", o.change_id, o.status) for o in outcomes]


@pytest.fixture
def trap():
    server = TrappingSmtp(trap=SUBJECT).start()
    yield server
    server.stop()


def connect(box: Sandbox, root: Path, smtp: TrappingSmtp, *, read_only=False):
    ctx = ConnectorContext(
        settings=box.platform_settings()["sharpspring"],
        workspace_root=root,
        read_only=read_only,
        clock=FakeClock(),
        retry=RetryPolicy(attempts=4, timeout=10),
        notifications=NotificationsSection(sender="adoffboard@agency.example", **smtp.settings()),
    )
    return build("sharpspring", ctx)


def manifest() -> Manifest:
    return Manifest.model_validate(DEMO_CLIENT)


def plan_and_apply(box: Sandbox, root: Path, smtp: TrappingSmtp):
    conn = connect(box, root, smtp)
    draft = conn.plan("export_contacts", {}, conn.read_state(manifest()), "sharpspring-export")
    journal = Journal()
    return draft, conn.apply(draft.changes, journal), journal


def verdict(box: Sandbox, root: Path, smtp: TrappingSmtp):
    conn = connect(box, root, smtp, read_only=True)
    return conn.verify("export_contacts", {}, conn.read_state(manifest()))


def record(root: Path) -> dict:
    return json.loads((root / "exports" / CSV_NAME).with_suffix(".json").read_text())


# --- at most once, in process -----------------------------------------------------------------


def test_server_hanging_up_after_the_message_leaves_it_in_doubt_until_a_person_decides(
    sandbox, tmp_path, trap
):
    trap.mode = "hangup"
    _, [outcome], journal = plan_and_apply(sandbox, tmp_path, trap)
    assert outcome.status == OutcomeStatus.FAILED
    assert (
        "may have been sent at 2026-11-21T15:00:00+00:00 (the SMTP server did not answer "
        "after the message was transmitted): check with Dana Whitfield <" in outcome.message
    )
    assert f"`adoffboard resend {CLIENT} --as PERSON`" in outcome.message
    assert len(trap.subject(SUBJECT)) == 1  # taken by the server, never retried
    rec = record(tmp_path)
    assert rec["sending_at"] and rec["sending_message_id"] and rec["emailed_to"] == []
    assert trap.subject(SUBJECT)[0]["Message-ID"] == rec["sending_message_id"]  # journaled first

    # a new plan and apply the same day: planned as in doubt, and not sent again
    draft, [again], _ = plan_and_apply(sandbox, tmp_path, trap)
    [change] = draft.changes
    assert "email may have been sent at" in change.before
    assert any("apply will not send it again" in n for n in draft.notes)
    assert again.status == OutcomeStatus.FAILED and "may have been sent at" in again.message
    assert len(trap.subject(SUBJECT)) == 1
    pending = verdict(sandbox, tmp_path, trap)
    assert pending.status == CheckStatus.MANUAL_PENDING
    assert "may have been sent at 2026-11-21T15:00:00+00:00" in pending.detail

    trap.release()  # the server answers again
    done = resend_export(
        tmp_path,
        NotificationsSection(**trap.settings()),
        FakeClock(),
        manifest(),
        by="MA Department Manager",
    )
    assert done.emailed and len(trap.subject(SUBJECT)) == 2
    [decision] = record(tmp_path)["decisions"]
    assert decision["decision"] == "resend" and decision["by"] == "MA Department Manager"
    assert decision["in_doubt_since"] == "2026-11-21T15:00:00+00:00"
    passed = verdict(sandbox, tmp_path, trap)
    assert (
        passed.status == CheckStatus.PASS and "sent again by MA Department Manager" in passed.detail
    )
    settled, outcomes, _ = plan_and_apply(sandbox, tmp_path, trap)
    assert settled.changes == () and outcomes == [] and len(trap.subject(SUBJECT)) == 2


def test_received_records_the_decision_and_sends_nothing(sandbox, tmp_path, trap):
    trap.mode = "hangup"
    plan_and_apply(sandbox, tmp_path, trap)
    first = record(tmp_path)["sending_message_id"]
    done = resend_export(
        tmp_path,
        NotificationsSection(**trap.settings()),
        FakeClock(),
        manifest(),
        by="Dana Whitfield",
        received=True,
    )
    assert done.message_id == first and done.emailed_to == (AM,)
    assert len(trap.subject(SUBJECT)) == 1
    passed = verdict(sandbox, tmp_path, trap)
    assert (
        passed.status == CheckStatus.PASS
        and "confirmed received by Dana Whitfield" in passed.detail
    )
    with pytest.raises(InputError, match="already emailed"):
        resend_export(
            tmp_path,
            NotificationsSection(**trap.settings()),
            FakeClock(),
            manifest(),
            by="Dana Whitfield",
        )


def test_resend_refuses_a_csv_that_changed_since_the_export(sandbox, tmp_path, trap):
    trap.mode = "hangup"
    plan_and_apply(sandbox, tmp_path, trap)
    (tmp_path / "exports" / CSV_NAME).write_bytes(b"id\n1\n")
    trap.release()
    with pytest.raises(SafetyRefusal, match="changed since the export"):
        resend_export(
            tmp_path,
            NotificationsSection(**trap.settings()),
            FakeClock(),
            manifest(),
            by="MA Department Manager",
        )
    assert len(trap.subject(SUBJECT)) == 1


# --- CSV injection ----------------------------------------------------------------------------

HOSTILE = {
    "firstName": '=HYPERLINK("http://x","y")',
    "lastName": "+cmd|' /C calc'!A0",
    "companyName": "@SUM(1+1)",
    "title": "-2+3",
    "city": "\tTab Town",
    "state": "\rCR",
    "description": "-2",  # a negative number: OWASP prefixes it too
    "website": "https://example.com/a,b",  # a separator: quoted, not neutralised
}


def test_formula_cells_are_neutralised_and_counted(tmp_path, trap):
    box = Sandbox(
        {"sharpspring": {"accounts": [{"account_id": ACCOUNT, "leads": 0}]}, "smtp": {}}
    ).start()
    try:
        box.sharpspring.add_lead(
            ACCOUNT, id="1", emailAddress="x@example.com", phoneNumber="", **HOSTILE
        )
        box.sharpspring.add_lead(
            ACCOUNT,
            id="2",
            emailAddress="harmless@example.com",
            firstName="Ann = Lee",
            lastName='O"Brien',
            companyName="",
            phoneNumber="262 555 0100",
            title="x-2",
            city="Madison",
            state="WI",
            description="",
            website="",
        )
        trap.release()
        _, [outcome], _ = plan_and_apply(box, tmp_path, trap)
        assert outcome.status == OutcomeStatus.APPLIED
        data = (tmp_path / "exports" / CSV_NAME).read_bytes()
        rows = {
            r["id"]: r for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        }
        assert {k: rows["1"][k] for k in HOSTILE} == {
            "firstName": '\'=HYPERLINK("http://x","y")',
            "lastName": "'+cmd|' /C calc'!A0",
            "companyName": "'@SUM(1+1)",
            "title": "'-2+3",
            "city": "'\tTab Town",
            "state": "'\rCR",
            "description": "'-2",
            "website": "https://example.com/a,b",
        }
        assert rows["2"]["firstName"] == "Ann = Lee" and rows["2"]["lastName"] == 'O"Brien'
        assert rows["2"]["title"] == "x-2" and rows["2"]["phoneNumber"] == "262 555 0100"
        # every cell quoted, so no cell of the file begins with a formula character either
        first_data_line = data.decode("utf-8-sig").split("\r\n")[1]
        assert first_data_line.startswith('"1",') and ',"\'=HYPERLINK(""http' in data.decode()
        rec = record(tmp_path)
        assert rec["neutralised_cells"] == 7
        assert rec["neutralised_columns"] == {
            "city": 1,
            "companyName": 1,
            "description": 1,
            "firstName": 1,
            "lastName": 1,
            "state": 1,
            "title": 1,
        }
        assert "OWASP" in rec["neutralisation"] and "single quote" in rec["neutralisation"]
        assert rec["sha256"] == hashlib.sha256(data).hexdigest()  # of the file as written
        [msg] = trap.subject(SUBJECT)
        assert "7 cells that a spreadsheet would run as formulas" in msg.get_body().get_content()
        assert list(msg.iter_attachments())[0].get_payload(decode=True) == data
    finally:
        box.stop()


# --- through the CLI: killed inside the SMTP exchange, then resume, verify, resend ------------


@pytest.fixture
def trap_workspace(tmp_path: Path, sandbox: Sandbox, trap: TrappingSmtp) -> Path:
    root = tmp_path / "ws"
    init_workspace(
        root,
        platforms=sandbox.platform_settings(),
        notifications=trap.settings(),
        clients=[DEMO_CLIENT],
        single_user=True,
    )
    return root


def checks_of(result: Result) -> dict[str, dict]:
    return {c["step_id"]: c for c in json.loads(result.output)["checks"]}


def export_outcome(result: Result) -> dict:
    report = json.loads(result.output)
    [outcome] = [
        c["outcome"]
        for s in report["steps"]
        if s["step_id"] == "sharpspring-final-export"
        for c in s["changes"]
    ]
    return outcome


def test_killed_during_the_smtp_exchange_then_resume_sends_nothing_and_resend_sends_once(
    trap_workspace: Path, tmp_path: Path, sandbox: Sandbox, trap: TrappingSmtp
) -> None:
    cli = Cli(trap_workspace)
    approved_cr(cli, CLIENT, departments=("MA",), sandbox=sandbox)
    plan = tmp_path / "plan.json"
    assert cli("plan", CLIENT, "-r", "ma-cancellation", "-o", str(plan)).exit_code == EXIT_OK
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "adoffboard.cli",
            "-q",
            "-w",
            str(trap_workspace),
            "apply",
            str(plan),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env={**os.environ, "ADOFFBOARD_DEBUG": "1"},
    )
    deadline = time.monotonic() + 120
    while not trap.trapped.wait(0.05):  # the message is in; the server holds its answer
        assert time.monotonic() < deadline, "apply never reached the export's DATA"
        assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    trap.release()
    assert len(trap.subject(SUBJECT)) == 1

    run_id = json.loads(cli("--json", "history", CLIENT).output)[0]["id"]
    resumed = cli("--json", "resume", run_id)
    assert resumed.exit_code == EXIT_FAILED_CHANGES, resumed.output
    outcome = export_outcome(resumed)
    assert outcome["status"] == "failed"
    assert "may have been sent at" in outcome["message"]
    assert (
        "(the process stopped during the SMTP exchange): check with Dana Whitfield"
        in outcome["message"]
    )
    assert len(trap.subject(SUBJECT)) == 1  # resume did not send it again

    verified = cli("--json", "verify", CLIENT)
    assert verified.exit_code == EXIT_VERIFY_PENDING, verified.output
    check = checks_of(verified)["sharpspring-final-export"]
    assert check["status"] == "MANUAL-PENDING" and "may have been sent at" in check["detail"]

    # a new plan and apply of the same client, the same day: still not sent again
    again = tmp_path / "again.json"
    assert cli("plan", CLIENT, "-r", "ma-cancellation", "-o", str(again)).exit_code == EXIT_OK
    applied = cli("--json", "apply", str(again))
    assert "may have been sent at" in export_outcome(applied)["message"], applied.output
    assert len(trap.subject(SUBJECT)) == 1

    refused = cli("resend", CLIENT, "--as", "sam")  # SEM Specialist: not theirs to decide
    assert refused.exit_code == EXIT_NOT_PERMITTED and "MA Department Manager" in refused.output
    assert cli("resend", CLIENT, "--as", "nobody").exit_code == EXIT_INPUT
    assert len(trap.subject(SUBJECT)) == 1

    resent = cli("--json", "resend", CLIENT, "--as", "ma-manager")
    assert resent.exit_code == EXIT_OK, resent.output
    decision = json.loads(resent.output)["decision"]
    assert decision["by"] == "MA Department Manager" and decision["decision"] == "resend"
    assert len(trap.subject(SUBJECT)) == 2 and trap.subject(SUBJECT)[1]["To"] == AM
    assert cli("resend", CLIENT, "--as", "dana").exit_code == EXIT_INPUT  # already settled
    check = checks_of(cli("--json", "verify", CLIENT, "--run", run_id))["sharpspring-final-export"]
    assert check["status"] == "PASS" and "sent again by MA Department Manager" in check["detail"]
    closed = cli("--json", "resume", run_id)
    assert export_outcome(closed)["status"] == "already"
    assert len(trap.subject(SUBJECT)) == 2
