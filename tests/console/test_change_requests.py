"""Change requests through the console, at the wire: the approval chain as its people sign in
and click, and every refusal (not your turn, out of order, self-approval, a form that does not
belong to the session, after sign-out, after expiry, bad input) leaving the store unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli
from console_support import Browser, configure_console, csrf_of, store_rows
from cr_support import LAKESIDE, add_person, new_cr

from adoffboard.config import load_workspace
from adoffboard.console.server import start
from adoffboard.sandbox import Sandbox
from adoffboard.sandbox.oidc import Identity

pytestmark = pytest.mark.standins("oidc", "smtp")

DANA = "dana.whitfield@agency.example"
JEREMY = "jeremy.bliesner@agency.example"
DUSTIN = "dustin.hunter@agency.example"
ACCOUNTING = "accounting@agency.example"


def rows(workspace: Path) -> dict[str, list[Any]]:
    return store_rows(load_workspace(workspace).store_url)


def submitted(cli: Cli) -> str:
    cr_id = new_cr(cli, "--effective", "2026-12-31", "--notes", "<script>alert(1)</script>")
    assert cli("cr", "submit", cr_id, "--as", "dana").exit_code == 0
    return cr_id


def approve(b: Browser, cr_id: str, note: str = "") -> Any:
    return b.form_post(f"/cr/{cr_id}", f"/cr/{cr_id}/approve", {"note": note})


def test_create_submit_and_approve_through_the_chain(
    browser: Callable[..., Browser], console_workspace: Path, sandbox: Sandbox
) -> None:
    dana = browser(DANA)
    created = dana.form_post(
        "/cr/new",
        "/cr/new",
        {
            "client": LAKESIDE,
            "type": "cancellation",
            "departments": ["SEM"],
            "departments_given": "1",
            "scope": "dm",
            "effective_date": "2026-12-31",
            "notes": "Moving SEM in-house <b>now</b>",
        },
    )
    assert created.status_code == 200, created.text
    assert "CR-0001: cancellation for lakeside-powersports" in created.text
    assert "Moving SEM in-house &lt;b&gt;now&lt;/b&gt;" in created.text
    assert "<b>now" not in created.text
    submitted_page = dana.form_post("/cr/CR-0001", "/cr/CR-0001/submit", {})
    assert "submitted for approval" in submitted_page.text
    assert 'id="approve-cr"' not in submitted_page.text  # not dana's turn: no button

    jeremy = browser(JEREMY)
    waiting = jeremy.get("/")
    assert "CR-0001" in waiting.text and "approve" in waiting.text
    assert 'id="approve-cr"' in jeremy.get("/cr/CR-0001").text
    assert "waiting for the second approver" in approve(jeremy, "CR-0001", "fine").text
    assert "waiting for the accounting team" in approve(browser(DUSTIN), "CR-0001").text
    accounting = browser(ACCOUNTING)
    assert "Mark processed" in accounting.get("/cr/CR-0001").text
    done = approve(accounting, "CR-0001")
    assert "This request is approved" in done.text
    assert "Notice sent to" in done.text and sandbox.smtp.messages

    history = [(r[2], r[3]) for r in rows(console_workspace)["cr_transitions"]]
    assert history == [
        ("created", "dana"),
        ("submitted", "dana"),
        ("approved", "jeremy"),
        ("approved", "dustin"),
        ("processed", "accounting"),
    ]
    audited = store_rows(load_workspace(console_workspace).store_url, ("audit_events",))
    acts = [(r[2], r[3], r[4], r[5]) for r in audited["audit_events"] if r[5].startswith("cr ")]
    assert acts == [
        ("dana", "console", "oidc", "cr created"),
        ("dana", "console", "oidc", "cr submitted"),
        ("jeremy", "console", "oidc", "cr approved"),
        ("dustin", "console", "oidc", "cr approved"),
        ("accounting", "console", "oidc", "cr processed"),
    ]
    listed = jeremy.get("/cr?status=approved")
    assert "CR-0001" in listed.text
    assert "CR-0001" not in jeremy.get("/cr?status=draft").text


def test_values_from_people_are_escaped(
    browser: Callable[..., Browser], cli: Cli, console: Any
) -> None:
    cr_id = submitted(cli)
    page = browser(JEREMY).get(f"/cr/{cr_id}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


@pytest.mark.parametrize(
    ("email", "rule"),
    [
        (
            DUSTIN,
            "out of order: CR-0001 is waiting for the first approver (approver_1); dustin can approve it only after that",
        ),
        (ACCOUNTING, "accounting can process it only after that"),
        ("finance@agency.example", "issues no credit, so the finance team does not approve it"),
        ("amy@agency.example", "amy does not have that role"),
    ],
    ids=[
        "second-before-first",
        "processing-before-approvals",
        "finance-without-credit",
        "not-an-approver",
    ],
)
def test_approving_when_it_is_not_your_turn_is_refused(
    browser: Callable[..., Browser], cli: Cli, console_workspace: Path, email: str, rule: str
) -> None:
    cr_id = submitted(cli)
    before = rows(console_workspace)
    b = browser(email)
    page = b.get(f"/cr/{cr_id}")
    assert 'id="approve-cr"' not in page.text  # no button; the server decides all the same
    refused = b.post(f"/cr/{cr_id}/approve", {"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 403 and rule in refused.text
    rejected = b.post(f"/cr/{cr_id}/reject", {"csrf_token": csrf_of(page.text), "reason": "no"})
    assert rejected.status_code == 403
    assert rows(console_workspace) == before


def test_nobody_approves_what_they_submitted(
    workspace: Path, sandbox: Sandbox, console_clock: Any
) -> None:
    add_person(workspace, "pat", ["account_manager", "approver_1"])
    sandbox.oidc.people.append(Identity("Pat", "pat@agency.example", True, "agency.example"))
    configure_console(workspace, sandbox)
    cli = Cli(workspace)
    cr_id = new_cr(cli, "--effective", "2026-12-31", person="pat")
    assert cli("cr", "submit", cr_id, "--as", "pat").exit_code == 0
    running = start(load_workspace(workspace), port=0, clock=console_clock)
    try:
        before = rows(workspace)
        pat = Browser(running.url)
        pat.sign_in("pat@agency.example")
        refused = approve(pat, cr_id)
        assert refused.status_code == 403
        assert "nobody may approve a change request they created or submitted" in refused.text
        assert rows(workspace) == before
    finally:
        running.stop()


def test_forged_replayed_and_expired_forms_change_nothing(
    browser: Callable[..., Browser], cli: Cli, console_workspace: Path, console_clock: Any
) -> None:
    cr_id = submitted(cli)
    before = rows(console_workspace)
    jeremy = browser(JEREMY)
    page = jeremy.get(f"/cr/{cr_id}")
    token = csrf_of(page.text)

    # a page elsewhere posting into jeremy's session: no token, or another session's
    other = csrf_of(browser(DUSTIN).get("/").text)
    for data in ({}, {"csrf_token": other}):
        forged = jeremy.post(f"/cr/{cr_id}/approve", data)
        assert forged.status_code == 400 and "Nothing was changed" in forged.text
    # the form replayed with a copy of the cookie after jeremy signed out
    copy = Browser(jeremy.base)
    copy.http.cookies.update(jeremy.http.cookies)
    jeremy.post("/logout", {"csrf_token": token})
    replayed = copy.post(f"/cr/{cr_id}/approve", {"csrf_token": token})
    assert replayed.status_code == 401
    # a session past [console] session_minutes
    late = browser(JEREMY)
    late_token = csrf_of(late.get(f"/cr/{cr_id}").text)
    console_clock.advance(480 * 60 + 1)
    expired = late.post(f"/cr/{cr_id}/approve", {"csrf_token": late_token})
    assert expired.status_code == 401
    assert rows(console_workspace) == before


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"effective_date": "2026-02-30"}, 400, "effective_date"),
        ({"type": "holiday"}, 400, "type"),
        ({"client": "nobody-here"}, 400, "unknown client"),
    ],
    ids=["bad-date", "bad-type", "unknown-client"],
)
def test_bad_input_creates_nothing(
    browser: Callable[..., Browser],
    console_workspace: Path,
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    before = rows(console_workspace)
    form = {"client": LAKESIDE, "type": "cancellation", "scope": "dm", **fields}
    refused = browser(DANA).form_post("/cr/new", "/cr/new", form)
    assert refused.status_code == status and message in refused.text
    assert rows(console_workspace) == before


def test_only_an_account_manager_creates(
    browser: Callable[..., Browser], console_workspace: Path
) -> None:
    before = rows(console_workspace)
    refused = browser(JEREMY).form_post(
        "/cr/new",
        "/cr/new",
        {"client": LAKESIDE, "type": "cancellation", "effective_date": "2026-12-31"},
    )
    assert refused.status_code == 403 and "only an Account Manager creates" in refused.text
    assert rows(console_workspace) == before


def test_edit_after_approval_voids_it(browser: Callable[..., Browser], cli: Cli) -> None:
    cr_id = submitted(cli)
    approve(browser(JEREMY), cr_id)
    dana = browser(DANA)
    form = dana.get(f"/cr/{cr_id}/edit")
    assert 'value="2026-12-31"' in form.text
    saved = dana.post(
        f"/cr/{cr_id}/edit",
        {"csrf_token": csrf_of(form.text), "effective_date": "2027-01-15", "notes": "later"},
    )
    assert "1 approval(s) voided" in saved.text and "waiting for the first approver" in saved.text


def test_the_approval_path_on_postgresql(
    workspace: Path, sandbox: Sandbox, console_clock: Any, empty_pg_url: str
) -> None:
    path = workspace / "adoffboard.toml"
    text = path.read_text().replace(
        'store = "sqlite:///.adoffboard/state.db"', f'store = "{empty_pg_url}"'
    )
    path.write_text(text)
    configure_console(workspace, sandbox)
    cli = Cli(workspace)
    cr_id = submitted(cli)
    running = start(load_workspace(workspace), port=0, clock=console_clock)
    try:
        before = rows(workspace)
        out_of_turn = Browser(running.url)
        out_of_turn.sign_in(DUSTIN)
        assert approve(out_of_turn, cr_id).status_code == 403
        assert rows(workspace) == before
        for email in (JEREMY, DUSTIN, ACCOUNTING):
            b = Browser(running.url)
            b.sign_in(email)
            assert approve(b, cr_id).status_code == 200
        assert [r[2] for r in rows(workspace)["cr_transitions"]][-3:] == [
            "approved",
            "approved",
            "processed",
        ]
    finally:
        running.stop()


def test_the_retention_team_records_the_save_attempt_and_submits(
    browser: Callable[..., Browser], cli: Cli, console_workspace: Path
) -> None:
    cr_id = new_cr(cli, "--effective", "2026-12-31", "--escalate-to", "retention")
    amy = browser("amy@agency.example")
    waiting = amy.get("/")
    assert cr_id in waiting.text and "record the save attempt" in waiting.text
    page = amy.get(f"/cr/{cr_id}")
    assert 'id="record-save-attempt"' in page.text and 'id="submit-cr"' not in page.text
    before = rows(console_workspace)
    empty = amy.post(
        f"/cr/{cr_id}/save-attempt",
        {"csrf_token": csrf_of(page.text), "outcome": "not-saved", "notes": " "},
    )
    assert empty.status_code == 400 and "a save attempt needs notes" in empty.text
    assert rows(console_workspace) == before
    saved = amy.form_post(
        f"/cr/{cr_id}",
        f"/cr/{cr_id}/save-attempt",
        {"outcome": "not-saved", "notes": "Offered two months free; declined."},
    )
    assert "save attempt recorded" in saved.text and 'id="submit-cr"' in saved.text
    assert "Offered two months free; declined." in saved.text
    submitted_page = amy.form_post(f"/cr/{cr_id}", f"/cr/{cr_id}/submit", {})
    assert "waiting for the first approver" in submitted_page.text


def test_a_rejection_needs_a_reason_and_ends_the_request(
    browser: Callable[..., Browser], cli: Cli, console_workspace: Path
) -> None:
    cr_id = submitted(cli)
    jeremy = browser(JEREMY)
    before = rows(console_workspace)
    no_reason = jeremy.form_post(f"/cr/{cr_id}", f"/cr/{cr_id}/reject", {"reason": ""})
    assert no_reason.status_code == 400 and "a rejection needs a reason" in no_reason.text
    assert rows(console_workspace) == before
    rejected = jeremy.form_post(
        f"/cr/{cr_id}", f"/cr/{cr_id}/reject", {"reason": "Contract says 60 days"}
    )
    assert "was rejected by jeremy" in rejected.text and 'id="approve-cr"' not in rejected.text
    assert "Contract says 60 days" in rejected.text
    late = browser(DUSTIN).form_post(f"/cr/{cr_id}", f"/cr/{cr_id}/approve", {})
    assert late.status_code == 403 and "a rejection ends it" in late.text


def test_an_unknown_request_is_not_found(browser: Callable[..., Browser]) -> None:
    page = browser(JEREMY).get("/cr/CR-0099")
    assert page.status_code == 404 and "unknown change request" in page.text


def test_a_link_to_a_request_leads_there_after_signing_in(
    browser: Callable[..., Browser], cli: Cli
) -> None:
    cr_id = submitted(cli)
    landed = browser().sign_in(JEREMY, start=f"/cr/{cr_id}")
    assert landed.status_code == 200 and f"<h1>{cr_id}: cancellation" in landed.text
    assert landed.url.endswith(f"/cr/{cr_id}")


def test_only_paths_of_the_console_are_followed_after_signing_in(
    browser: Callable[..., Browser],
) -> None:
    landed = browser().sign_in(JEREMY, start="/login?next=//evil.example/x")
    assert landed.url.startswith(browser().base) and "Waiting for you" in landed.text
