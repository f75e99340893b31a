"""End-to-end fixtures: the app on a free loopback port (werkzeug in a thread) and Debian's
headless Chromium driven by Playwright.

Chromium comes from the system (``apt-get install chromium``, /usr/bin/chromium; override
with $INVENTORY_CHROMIUM); Playwright (``pip install -e .[dev]``) never downloads a browser
here. Without either the tests fail under CI ($CI set) and are skipped elsewhere, with what
to install. Screenshots go to ``test-output/e2e/`` under the repository (or
$INVENTORY_TEST_OUTPUT/e2e).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path
from typing import NoReturn

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from test_web_support import copy_store, make_app

CHROMIUM = os.environ.get("INVENTORY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def output_dir() -> Path:
    root = Path(os.environ.get("INVENTORY_TEST_OUTPUT")
                or Path(__file__).resolve().parents[2] / "test-output")
    path = root / "e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The app over a copy of the sample store, served on 127.0.0.1:<free port>."""
    from werkzeug.serving import make_server

    from web.extensions import close_store

    tmp = tmp_path_factory.mktemp("e2e")
    app = make_app(tmp, copy_store(tmp / "store"), TESTING=False)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}", "app": app}
    server.shutdown()
    thread.join(timeout=10)
    close_store(app)


def missing(what: str) -> NoReturn:
    """Fail under CI (the browser tests must run there), skip elsewhere; either way say what
    to install."""
    if os.environ.get("CI"):
        pytest.fail(what, pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright import sync_api
    except ModuleNotFoundError:
        missing("playwright is missing: pip install -e '.[dev]' (the dev extras have it; "
                "no browser is downloaded)")
    if not os.path.exists(CHROMIUM):
        missing(f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install "
                "chromium) or set $INVENTORY_CHROMIUM")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True)
        yield browser
        browser.close()


class Console:
    """Console errors and uncaught exceptions of a page (its frames included)."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("dialog", self._dialog)

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"{message.text} @ {message.location.get('url', '')}")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  locale="en-US", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture
def console(page) -> Console:
    return Console(page)
