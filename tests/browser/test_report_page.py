"""A plan's HTML report, as QA opens it: in Chromium, on a desktop and on a phone."""

from __future__ import annotations

import pytest
from browser_support import DESKTOP, PHONE, Screenshots, Tab
from conftest import Cli

from adoffboard.cli import EXIT_OK

pytestmark = pytest.mark.browser


def test_a_plan_report_shows_its_verdict_and_changes_without_errors(
    cli: Cli, tab: Tab, screenshots: Screenshots
) -> None:
    result = cli("plan", "lakeside-powersports", "-r", "sem-cancellation", "--scope", "platform")
    assert result.exit_code == EXIT_OK, result.output
    [report] = (cli.workspace / "reports").glob("lakeside-powersports-plan-*.html")
    page = tab.page
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)  # type: ignore[arg-type]
        page.goto(report.as_uri())
        assert page.title().startswith("Offboarding plan (dry run)")
        assert page.locator(".dry").inner_text() == "Dry run: nothing was changed anywhere."
        verdict = page.locator("#summary .verdict")
        assert verdict.is_visible() and verdict.inner_text().strip()
        changes = page.locator("#changes")
        assert changes.is_visible()
        assert "Lakeside Powersports" in page.locator("header").inner_text()
        # the Google Ads campaigns' pauses, before -> after
        text = changes.inner_text()
        assert "ENABLED" in text and "PAUSED" in text
        # nothing runs off the side of a phone's screen
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert size == "desktop" or overflow <= 0, f"{overflow}px wider than the phone"
        screenshots.take(page, f"plan-report-{size}")
    tab.assert_clean()
