"""Whose turn it is, at every step of a change request, over the sandbox's real SMTP server: each
person acting next gets one email at the moment it is their turn, linking to the request's page
on the web console (`[console] url`), in plain text and HTML."""

from __future__ import annotations

import json
import tomllib
from email.message import EmailMessage

import pytest
import tomli_w
from conftest import Cli, workspace_today
from cr_support import DISTRIBUTION, new_cr, ok, refused, show

from adoffboard.cli import EXIT_NOT_PERMITTED
from adoffboard.sandbox import Sandbox

pytestmark = pytest.mark.standins("smtp")

CONSOLE = "https://console.agency.example"
SECRET = "console-signing-key-4f9a1c"  # the console's secret: never in an email
JEREMY = "jeremy.bliesner@agency.example"
DUSTIN = "dustin.hunter@agency.example"
FINANCE = "finance@agency.example"
ACCOUNTING = "accounting@agency.example"
DANA = "dana.whitfield@agency.example"
SAM = "sam.ortiz@agency.example"  # SEM specialist
MIA = "mia.chen@agency.example"  # MA specialist
RETENTION = ["amy@agency.example", "anglee@agency.example"]


@pytest.fixture
def console_cli(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The workspace with its console at CONSOLE (written with a trailing slash) and a secret."""
    path = cli.workspace / "adoffboard.toml"
    data = tomllib.loads(path.read_text())
    data.setdefault("console", {}).update(url=CONSOLE + "/", secret_key="env:ADOFF_CONSOLE_KEY")
    path.write_text(tomli_w.dumps(data))
    monkeypatch.setenv("ADOFF_CONSOLE_KEY", SECRET)
    return cli


def new_mail(sandbox: Sandbox, seen: int) -> list[tuple[EmailMessage, list[str]]]:
    """The messages since the first `seen`, each with its envelope's recipients."""
    return [
        (m, sorted(rcpts))
        for m, (_, rcpts) in list(zip(sandbox.smtp.messages, sandbox.smtp.envelopes, strict=True))[
            seen:
        ]
    ]


def subject(message: EmailMessage) -> str:
    return " ".join(str(message["Subject"]).split())  # long subjects are folded


def text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None, "no HTML alternative"
    return str(part.get_content())


def step(cli: Cli, sandbox: Sandbox, args: tuple[str, ...]) -> list[tuple[EmailMessage, list[str]]]:
    seen = len(sandbox.smtp.messages)
    ok(cli("cr", *args))
    return new_mail(sandbox, seen)


def test_each_step_tells_whoever_acts_next_once(console_cli: Cli, sandbox: Sandbox) -> None:
    cli = console_cli
    cr_id = new_cr(cli, "--effective", workspace_today(cli.workspace), "--credit", "400")
    page = f"{CONSOLE}/cr/{cr_id}"
    assert sandbox.smtp.messages == []  # a draft: nobody's turn but its Account Manager's

    [(submitted, to)] = step(cli, sandbox, ("submit", cr_id, "--as", "dana"))
    assert to == [JEREMY]
    assert subject(submitted) == (
        f"Your turn: approve cancellation {cr_id} for Lakeside Powersports (credit $400.00)"
    )
    body = text(submitted)
    assert body.startswith(f"Your turn, First approver: change request {cr_id}")
    assert "Dana Whitfield (dana) submitted it" in body
    assert f"Open it: {page}\n" in body.replace("\r\n", "\n")
    assert "Credit:                 $400.00" in body
    assert f"adoffboard cr approve {cr_id} --as YOU" in body  # the second way
    assert f'<a href="{page}"' in html(submitted)

    [(first, to)] = step(cli, sandbox, ("approve", cr_id, "--as", "jeremy"))
    assert to == [DUSTIN] and "First approver Jeremy Bliesner (jeremy) approved it" in text(first)
    [(second, to)] = step(cli, sandbox, ("approve", cr_id, "--as", "dustin"))
    assert to == [FINANCE] and subject(second).startswith("Your turn: approve cancellation")
    [(finance, to)] = step(cli, sandbox, ("approve", cr_id, "--as", "finance"))
    assert to == [ACCOUNTING]
    assert subject(finance).startswith(f"Your turn: process cancellation {cr_id}")
    assert "Finance team: Finance Team (finance), approved at" in text(finance)

    [(approved, to)] = step(cli, sandbox, ("approve", cr_id, "--as", "accounting"))
    assert to == sorted([*DISTRIBUTION, SAM])  # the SEM request's specialist, not the MA one
    assert subject(approved).startswith(f"Approved: cancellation {cr_id} for Lakeside")
    body = text(approved)
    assert f"Open it: {page}" in body and f"{CONSOLE}/planner" in body
    assert "sem-cancellation" in body and str(cli.workspace) not in body
    assert f'<a href="{CONSOLE}/planner">' in html(approved)

    # Each recipient had exactly one email, every one linking to the request's page; no secret.
    everyone = [r for _, rcpts in sandbox.smtp.envelopes for r in rcpts]
    assert sorted(everyone) == sorted([JEREMY, DUSTIN, FINANCE, ACCOUNTING, *DISTRIBUTION, SAM])
    for message in sandbox.smtp.messages:
        assert page in text(message) and page in html(message)
        assert SECRET not in message.as_string()
    kinds = [(n["kind"], n["status"]) for n in show(cli, cr_id)["notices"]]
    assert kinds == [("turn", "sent")] * 4 + [("approval", "sent")]

    # A replayed action is refused and tells nobody again; nothing is left to send.
    refused(cli("cr", "approve", cr_id, "--as", "accounting"), EXIT_NOT_PERMITTED, "approved")
    report = json.loads(ok(cli("--json", "reminders", "send", "--today", "2020-01-01")).output)
    assert report["sent"] == [] and len(sandbox.smtp.messages) == 5


def test_without_a_credit_finance_is_never_told(console_cli: Cli, sandbox: Sandbox) -> None:
    cli = console_cli
    cr_id = new_cr(cli, "--effective", workspace_today(cli.workspace), "--department", "MA")
    ok(cli("cr", "submit", cr_id, "--as", "dana"))
    for person in ("jeremy", "dustin", "accounting"):
        ok(cli("cr", "approve", cr_id, "--as", person))
    told = [rcpts for _, rcpts in new_mail(sandbox, 0)]
    assert told == [[JEREMY], [DUSTIN], [ACCOUNTING], sorted([*DISTRIBUTION, SAM, MIA])]
    assert FINANCE not in [r for rcpts in told for r in rcpts]
    assert "(credit" not in subject(sandbox.smtp.messages[0])


def test_a_rejection_tells_the_submitter_and_account_manager(
    console_cli: Cli, sandbox: Sandbox
) -> None:
    cli = console_cli
    cr_id = new_cr(cli, "--escalate-to", "retention", "--effective", "2026-12-20")
    [(escalated, to)] = new_mail(sandbox, 0)
    assert to == RETENTION and text(escalated).startswith("Your turn: Dana Whitfield (dana)")
    assert f"Open it: {CONSOLE}/cr/{cr_id}" in text(escalated)
    ok(
        cli(
            "cr",
            "save-attempt",
            cr_id,
            "--outcome",
            "not-saved",
            "--notes",
            "Declined.",
            "--as",
            "amy",
        )
    )
    assert len(sandbox.smtp.messages) == 1  # recording the call is nobody else's turn
    [(submitted, to)] = step(cli, sandbox, ("submit", cr_id, "--as", "amy"))
    assert to == [JEREMY] and "Amy (amy) submitted it" in text(submitted)
    [_] = step(cli, sandbox, ("approve", cr_id, "--as", "jeremy"))
    reason = "Client signed a renewal <today> & stays"
    [(rejected, to)] = step(cli, sandbox, ("reject", cr_id, "--as", "dustin", "--reason", reason))
    assert to == sorted(["amy@agency.example", DANA])  # the submitter, the Account Manager
    assert subject(rejected) == f"Rejected: cancellation {cr_id} for Lakeside Powersports"
    body = text(rejected)
    assert "was rejected by Second approver Dustin Hunter (dustin)" in body
    assert f"Reason:\n  {reason}" in body.replace("\r\n", "\n")
    assert f"Open it: {CONSOLE}/cr/{cr_id}" in body
    page = html(rejected)
    assert "Client signed a renewal &lt;today&gt; &amp; stays" in page and "<today>" not in page
    kinds = [n["kind"] for n in show(cli, cr_id)["notices"]]
    assert kinds == ["escalation", "turn", "turn", "rejection"]
    # a rejection ends it: nobody else is told anything
    refused(cli("cr", "approve", cr_id, "--as", "dustin"), EXIT_NOT_PERMITTED, "was rejected")
    assert len(sandbox.smtp.messages) == 4


def test_reminders_link_to_the_request_and_the_planner(console_cli: Cli, sandbox: Sandbox) -> None:
    cli = console_cli
    cr_id = new_cr(cli, "--effective", "2026-12-20")
    ok(cli("cr", "submit", cr_id, "--as", "dana"))
    for person in ("jeremy", "dustin", "accounting"):
        ok(cli("cr", "approve", cr_id, "--as", person))
    seen = len(sandbox.smtp.messages)
    report = json.loads(ok(cli("--json", "reminders", "send", "--today", "2026-12-19")).output)
    [sent] = report["sent"]
    assert set(sent["recipients"]) == {SAM, "sem-lead@agency.example"}
    [(reminder, _)] = new_mail(sandbox, seen)
    body = text(reminder)
    assert f"Open it: {CONSOLE}/cr/{cr_id}" in body and f"The planner: {CONSOLE}/planner" in body
    assert f'<a href="{CONSOLE}/cr/{cr_id}"' in html(reminder)
    again = json.loads(ok(cli("--json", "reminders", "send", "--today", "2026-12-19")).output)
    assert again["sent"] == []


def test_the_default_console_address_is_the_local_one(cli: Cli, sandbox: Sandbox) -> None:
    cr_id = new_cr(cli, "--effective", "2026-12-20")
    [(submitted, _)] = step(cli, sandbox, ("submit", cr_id, "--as", "dana"))
    assert f"Open it: http://127.0.0.1:8765/cr/{cr_id}" in text(submitted)
