"""Shared fixtures of the browser tests: one headless Chromium per test module, the
playground's server in a subprocess, pages that record console errors, and screenshots
under the test's output folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from playground_process import playground_process

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

TOKEN = "a-teachers-token"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium per test module (skips when Chromium or Playwright is absent).

    Not per session: Playwright's sync API runs one instance per thread, and other modules
    (test_report_browser.py) start their own."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("chromium is not installed (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def playground_url() -> Iterator[str]:
    """The base URL of a playground server without a token (one per test session)."""
    with playground_process() as server:
        yield server.url


@pytest.fixture(scope="session")
def playground_token_url() -> Iterator[tuple[str, str]]:
    """(the base URL, the token) of a playground server that wants ``?token=...``."""
    with playground_process(TOKEN) as server:
        yield server.url, TOKEN


class Page:
    """A page of the playground with its console errors and a screenshot helper."""

    def __init__(self, page: Any, base: str, shots: Path) -> None:
        self.page = page
        self.base = base
        self.shots = shots
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, query: str = "") -> Any:
        """Load the page (``query`` without its '?') and wait for its first frame."""
        self.page.goto(self.base + "/" + (f"?{query}" if query else ""))
        self.page.wait_for_function("() => window.playground.framesReceived > 0",
                                    timeout=20_000)
        return self.page

    def js(self, expression: str) -> Any:
        return self.page.evaluate(f"() => {expression}")

    def wait(self, condition: str, timeout: float = 20_000) -> None:
        """Wait until the JS ``condition`` (on ``pg`` = window.playground) holds."""
        self.page.wait_for_function(f"() => {{ const pg = window.playground; "
                                    f"return Boolean({condition}); }}", timeout=timeout)

    def step(self, n: int) -> None:
        """Press the step button ``n`` times and wait for the frame of the n-th epoch on."""
        start = self.js("window.playground.lastFrame.epoch")
        for _ in range(n):
            self.page.click("#next-step-button")
        self.wait(f"pg.lastFrame && pg.lastFrame.epoch === {start + n}")

    def screenshot(self, name: str) -> Path:
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path


@pytest.fixture
def screenshots(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The test's screenshot folder: $NEURALAB_TEST_OUTPUT/screenshots/<test> when set, else
    tmp_path/screenshots."""
    root = os.environ.get("NEURALAB_TEST_OUTPUT")
    if root:
        return Path(root) / "screenshots" / request.node.name
    return tmp_path / "screenshots"


@pytest.fixture
def open_page(chromium: Any, playground_url: str, screenshots: Path) -> Iterator[Any]:
    """A factory of playground pages (own browser contexts: nothing shared between them)."""
    contexts: list[Any] = []

    def make(width: int = 1280, height: int = 800, base: str = playground_url) -> Page:
        context = chromium.new_context(viewport={"width": width, "height": height},
                                       accept_downloads=True)
        contexts.append(context)
        return Page(context.new_page(), base, screenshots)

    yield make
    for context in contexts:
        context.close()
