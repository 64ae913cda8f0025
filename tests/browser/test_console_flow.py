"""The web console end to end, in Chromium: a dealer's cancellation from the Account Manager's
form to the removals team's attestation, each person signed in through the identity provider
stand-in's sign-in page, each told by email when it is their turn.

One console (waitress on loopback) over one workspace, the demo scenario's stand-ins, for the
module; every person browses in a context of their own (their own cookies). The scheduler runs
the approved request on its effective date as cron runs it (`adoffboard scheduler tick` with the
clock set to that day); the console's clock is moved to the same day for what follows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from browser_support import Screenshots, Tab, open_tab, screenshots_for
from click.testing import CliRunner
from playwright.sync_api import Browser, Page, expect

from adoffboard.cli import EXIT_OK, main
from adoffboard.clock import NOW_VARIABLE, SystemClock
from adoffboard.config import load_workspace
from adoffboard.console.server import start
from adoffboard.demo import DEMO_CLIENT, DEMO_LIST
from adoffboard.demo_console import add_console, console_section
from adoffboard.sandbox import DEMO_SCENARIO, Sandbox
from adoffboard.sandbox.smtp import free_port
from adoffboard.workspace_init import PEOPLE, init_workspace

pytestmark = pytest.mark.browser

CLIENT = DEMO_CLIENT["slug"]
CREDIT = "250.00"
REFUSED = "status of 403 (FORBIDDEN)"  # a refusal's page, as Chromium logs it
SLOW_MS = 90_000  # a page that reads the platforms, on a busy machine


class MovableClock(SystemClock):
    """The machine's clock, which the test can move forward (to the effective date)."""

    def move_to(self, when: dt.datetime) -> None:
        self._shift = when - dt.datetime.now(dt.UTC)


@dataclass
class Site:
    url: str
    workspace: Path
    box: Sandbox
    clock: MovableClock
    browser: Browser
    shots: Screenshots

    def email(self, person: str) -> str:
        return str(PEOPLE[person]["email"])

    def mail_to(self, address: str, subject: str) -> EmailMessage:
        found = [m for m in self.box.smtp.to(address) if subject in str(m["Subject"])]
        assert found, f"no email {subject!r} to {address}: " + repr(
            [(m["To"], m["Subject"]) for m in self.box.smtp.messages]
        )
        return found[-1]

    def link_in(self, message: EmailMessage, path: str) -> str:
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        match = re.search(re.escape(self.url) + re.escape(path) + r"\b", text)
        assert match, f"no link to {self.url}{path} in: {text}"
        return match.group(0)

    def first_time(self, page: Page, name: str) -> None:
        """A screenshot of a page everyone passes through, the first time only."""
        if not any(shot.stem.endswith(f"-{name}") for shot in self.shots.taken):
            self.shots.take(page, name)

    def sign_in(self, person: str, start: str = "/") -> Tab:
        """`person` opens `start` in a browser of their own and signs in on the identity
        provider's page; returns the tab, on `start`."""
        tab = open_tab(self.browser)
        page = tab.page
        page.goto(start if start.startswith("http") else self.url + start)
        expect(page).to_have_url(re.compile(r"/login"))
        self.first_time(page, "console-sign-in")
        page.click("#sign-in-button")
        expect(page.locator("h1")).to_have_text("Choose an account")
        self.first_time(page, "identity-provider")
        page.get_by_role("button", name=re.compile(re.escape(self.email(person)))).click()
        page.wait_for_load_state()
        assert page.url.startswith(self.url)
        return tab


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, chromium: Browser) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("console") / "ws"
    clock = MovableClock()
    with Sandbox.from_file(DEMO_SCENARIO) as box:
        port = free_port()
        init_workspace(
            folder,
            platforms=box.platform_settings(),
            clients=[DEMO_CLIENT],
            notifications={**box.notification_settings(), "distribution_list": DEMO_LIST},
        )
        add_console(folder, console_section(box, port))
        server = start(load_workspace(folder), port=port, clock=clock)
        try:
            yield Site(
                f"http://127.0.0.1:{port}",
                folder,
                box,
                clock,
                chromium,
                screenshots_for("test_console_flow"),
            )
        finally:
            server.stop()


def tomorrow(site: Site) -> dt.date:
    zone = ZoneInfo(load_workspace(site.workspace).config.workspace.timezone)
    return dt.datetime.now(zone).date() + dt.timedelta(days=1)


def test_a_cancellation_from_request_to_attestation(site: Site) -> None:
    someone_outside_the_agency_is_refused(site)
    effective = tomorrow(site)
    cr_id = the_account_manager_creates_it(site, effective)
    retention_records_the_save_attempt_and_submits(site, cr_id)
    the_second_approver_cannot_go_first(site, cr_id)
    for person in ("jeremy", "dustin", "finance", "accounting"):
        turn = site.mail_to(site.email(person), "Your turn: ")
        assert cr_id in str(turn["Subject"]), turn["Subject"]
        approve_from_the_email(site, person, site.link_in(turn, f"/cr/{cr_id}"))
    approved = site.mail_to(DEMO_LIST[0], f"Approved: cancellation {cr_id}")
    assert site.link_in(approved, f"/cr/{cr_id}")
    qa_opens_the_plan(site, cr_id)
    the_scheduler_runs_it(site, effective)
    the_removals_team_verifies_and_attests(site, cr_id)


def the_account_manager_creates_it(site: Site, effective: dt.date) -> str:
    dana = site.sign_in("dana", "/cr/new")
    page = dana.page
    expect(page.locator("h1")).to_have_text("New change request")
    page.select_option("#client", CLIENT)
    page.select_option("#type", "cancellation")
    page.check("#department-SEM")  # SEM only: the scheduler then runs one runbook
    page.select_option("#scope", "platform")
    page.fill("#effective_date", effective.isoformat())
    page.fill("#credit_amount", CREDIT)
    page.fill("#notes", "The dealer is leaving the platform; a month's credit agreed.")
    page.select_option("#escalated_to", "retention")
    site.shots.take(page, "dana-new-request")
    page.click("#save-cr")
    expect(page.locator("#standing")).to_contain_text("draft")
    site.shots.take(page, "dana-request-created")
    found = re.search(r"/cr/(CR-\d+)$", page.url)
    assert found, page.url
    dana.assert_clean()
    dana.close()
    return found.group(1)


def retention_records_the_save_attempt_and_submits(site: Site, cr_id: str) -> None:
    told = site.mail_to(site.email("amy"), "Escalated to")
    amy = site.sign_in("amy", site.link_in(told, f"/cr/{cr_id}"))
    page = amy.page
    page.select_option("#outcome", "not-saved")
    page.fill("#save-notes", "Offered a quarter at a reduced management fee; declined.")
    site.shots.take(page, "amy-save-attempt")
    page.click("#record-save-attempt")
    expect(page.locator("#submit-cr")).to_be_visible()
    site.shots.take(page, "amy-save-attempt-recorded")
    page.click("#submit-cr")
    expect(page.locator("#standing")).to_contain_text("submitted")
    site.shots.take(page, "amy-submitted")
    amy.assert_clean()
    amy.close()


def approve_from_the_email(site: Site, person: str, link: str) -> None:
    tab = site.sign_in(person, link)
    page = tab.page
    expect(page.locator("#approve-cr")).to_be_visible()
    site.shots.take(page, f"{person}-turn")
    page.fill("#approve-note", f"Checked by {person}.")
    page.click("#approve-cr")
    expect(page.locator(".flash-ok")).to_be_visible()
    site.shots.take(page, f"{person}-approved")
    tab.assert_clean()
    tab.close()


def qa_opens_the_plan(site: Site, cr_id: str) -> None:
    qa = site.sign_in("sam", f"/cr/{cr_id}")
    page = qa.page
    site.shots.take(page, "qa-request")
    writes = site.box.log.mutating()
    with page.expect_navigation(timeout=SLOW_MS):  # the plan reads every account first
        page.get_by_role("button", name="Plan").click(timeout=SLOW_MS)
    expect(page).to_have_url(re.compile(r"/plans/.+/report$"))
    assert page.title().startswith("Offboarding plan (dry run)")
    expect(page.locator(".dry")).to_have_text("Dry run: nothing was changed anywhere.")
    expect(page.locator("header")).to_contain_text("Lakeside Powersports")
    expect(page.locator("#summary .verdict")).to_have_text("PLAN")
    expect(page.locator("#changes")).to_contain_text("Before")
    assert site.box.log.mutating() == writes, "the dry run wrote to a platform"
    site.shots.take(page, "qa-plan-report")
    qa.assert_clean()
    qa.close()


def the_scheduler_runs_it(site: Site, effective: dt.date) -> None:
    zone = ZoneInfo(load_workspace(site.workspace).config.workspace.timezone)
    when = dt.datetime.combine(effective, dt.time(9, 0), zone)
    result = CliRunner().invoke(
        main,
        ["-w", str(site.workspace), "--json", "scheduler", "tick"],
        env={NOW_VARIABLE: when.isoformat()},
    )
    assert result.exit_code == EXIT_OK, result.output
    site.clock.move_to(when.astimezone(dt.UTC) + dt.timedelta(minutes=30))


def the_removals_team_verifies_and_attests(site: Site, cr_id: str) -> None:
    juniper = site.sign_in("juniper", "/runs")
    page = juniper.page
    site.shots.take(page, "juniper-runs")
    passes = page.locator("#verifications-table tbody tr", has_text="sem-cancellation")
    passes.get_by_role("link", name="Report").first.click()
    expect(page).to_have_url(re.compile(r"/verifications/[^/]+/report$"))
    expect(page.locator("header")).to_contain_text(cr_id)
    line = page.locator("#checklist tr", has_text="its verification token (no API)")
    expect(line).to_contain_text("MANUAL-PENDING")  # Juniper's own line, left to a person
    expect(page.locator("#checklist tr", has_text="manager link ended")).to_contain_text("PASS")
    expect(page.locator("#summary .verdict")).to_have_text(re.compile(r"MANUAL|PENDING"))
    site.shots.take(page, "juniper-verify-report")

    page.goto(site.url + "/tasks")
    someone_elses = page.locator("article.task").filter(
        has=page.locator("code.task-id", has_text=re.compile(r"/fluency-hold$"))
    )
    expect(someone_elses).not_to_contain_text("yours")  # the SEM Specialist's
    someone_elses.get_by_role("button", name="Attest").click()
    expect(page.locator("main")).to_contain_text("SEM Specialist")
    site.shots.take(page, "juniper-refused-someone-elses-task")
    page.goto(site.url + "/tasks")
    task = page.locator("article.task").filter(
        has=page.locator("code.task-id", has_text=re.compile(r"/juniper-search-console-users$"))
    )
    expect(task).to_contain_text("yours")
    task_id = task.locator("code.task-id").inner_text()
    task.locator("textarea").fill("Agency users and the verification token removed.")
    site.shots.take(page, "juniper-tasks")
    task.get_by_role("button", name="Attest").click()
    expect(page.locator(".flash-ok")).to_contain_text(f"Attested {task_id}")
    expect(page.locator("#tasks-done")).to_contain_text(task_id)
    expect(page.locator("#tasks-done")).to_contain_text("Agency users and the verification token")
    site.shots.take(page, "juniper-attested")
    juniper.assert_clean(REFUSED)
    juniper.close()


# --- refusals, as a browser meets them --------------------------------------------------------


def someone_outside_the_agency_is_refused(site: Site) -> None:
    """The identity provider vouches for a visitor who is nobody in [people]: the console says
    which rule refuses them, and nothing else opens."""
    tab = open_tab(site.browser)
    page = tab.page
    page.goto(site.url + "/")
    site.first_time(page, "console-sign-in")
    page.click("#sign-in-button")
    site.first_time(page, "identity-provider")
    page.get_by_role("button", name=re.compile(r"visitor@elsewhere\.example")).click()
    expect(page.locator("main")).to_contain_text("is nobody in [people]")
    site.shots.take(page, "visitor-refused")
    page.goto(site.url + "/cr")
    expect(page).to_have_url(re.compile(r"/login"))
    tab.assert_clean(REFUSED)
    tab.close()


def the_second_approver_cannot_go_first(site: Site, cr_id: str) -> None:
    """Dustin opens the request while it waits for the first approver: no button for him, and
    the approval posted anyway (as a crafted form would) is refused with the rule."""
    dustin = site.sign_in("dustin", f"/cr/{cr_id}")
    page = dustin.page
    expect(page.locator("#cr-actions")).to_contain_text("Nothing for you to do")
    expect(page.locator("#approve-cr")).to_have_count(0)
    page.evaluate(
        """(crId) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = `/cr/${crId}/approve`;
            const token = document.querySelector("input[name=csrf_token]").cloneNode();
            form.appendChild(token);
            document.body.appendChild(form);
            form.submit();
        }""",
        cr_id,
    )
    refusal = page.locator("#refusal")
    expect(refusal).to_contain_text("first approver")
    site.shots.take(page, "dustin-refused-out-of-order")
    expect(page.locator("#standing")).to_contain_text("submitted")
    dustin.assert_clean(REFUSED)
    dustin.close()
