"""Browser tests: pages opened in Debian's headless Chromium (`/usr/bin/chromium`) through
Playwright's sync API. Playwright never downloads a browser here; when Chromium is missing the
tests fail (not skip) and say how to install it, so that CI cannot pass without running them.

Each page a test looks at is saved as a full-page screenshot, a test artifact:
`artifacts/screenshots/<test>/<NN-name>.png` in the checkout (gitignored), or under
`$ADOFFBOARD_ARTIFACTS/screenshots/` when that is set. Every tab records the page's console
errors and uncaught exceptions; `Tab.assert_clean()` fails the test on any.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Playwright adds --headless (headless=True) and starts every browser with a fresh profile of
# its own (--user-data-dir in a new temporary folder, removed on close).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
REPO = Path(__file__).resolve().parents[1]
# How long an action or an expectation waits for the page: generous, since the pages answer
# from servers sharing the machine with the rest of the suite.
WAIT_MS = 20_000
expect.set_options(timeout=WAIT_MS)


def artifacts_root() -> Path:
    return Path(os.environ.get("ADOFFBOARD_ARTIFACTS") or REPO / "artifacts")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "page"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Chromium per test process."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need Debian's package "
            "(`sudo apt-get install -y --no-install-recommends chromium`); they never download "
            "a browser",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Tab:
    """A page in a browser context of its own (its own cookies: one signed-in person), with
    what went wrong in it."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def assert_clean(self, *expected: str) -> None:
        """No error but those containing one of `expected` (e.g. a refusal page's status,
        which Chromium reports as a failed load)."""
        unexpected = [e for e in self.errors if not any(x in e for x in expected)]
        assert unexpected == [], f"the page reported errors: {unexpected}"

    def close(self) -> None:
        self.page.context.close()


def open_tab(browser: Browser, viewport: dict[str, int] | None = None) -> Tab:
    context = browser.new_context(viewport=viewport or DESKTOP)  # type: ignore[arg-type]
    context.set_default_timeout(WAIT_MS)
    return Tab(context.new_page())


@pytest.fixture
def tab(chromium: Browser) -> Iterator[Tab]:
    opened = open_tab(chromium)
    yield opened
    with contextlib.suppress(Error):  # the browser went first: nothing left to close
        opened.close()


class Screenshots:
    """Numbered full-page screenshots of one test, in the order its pages were seen."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    def take(self, page: Page, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{len(self.taken) + 1:02d}-{slug(name)}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


def screenshots_for(name: str) -> Screenshots:
    """The test's screenshot folder, emptied of an earlier run's pictures."""
    folder = artifacts_root() / "screenshots" / slug(name)
    shutil.rmtree(folder, ignore_errors=True)
    return Screenshots(folder)


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    return screenshots_for(request.node.name)
