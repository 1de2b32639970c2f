"""Browser fixtures for the UI tests: one Debian chromium and one server per session.

The browser is the distribution's chromium (``apt-get install -y chromium``),
never a Playwright-downloaded build; without it every UI test is skipped with
the reason. Each test gets a fresh browser context signed in as the admin, and
fails if the page threw an uncaught error or broke its Content-Security-Policy.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ADMIN, LiveServer
from tests.ui.helpers import watch

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def ui_server(sqlite_server) -> LiveServer:
    return sqlite_server


def login_context(browser, server: LiveServer, auth: tuple[str, str] | None = ADMIN):
    """A browser context on ``server``; with ``auth`` it holds a session (cookies)."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    if auth is not None:
        response = context.request.post(
            "/api/auth/login", data={"username": auth[0], "password": auth[1]}
        )
        assert response.ok, response.text()
    return context


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def context(browser, ui_server) -> Iterator:
    context = login_context(browser, ui_server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=ui_server.url)
    yield context
    context.close()


@pytest.fixture
def page(context, request, tmp_path_factory) -> Iterator:
    """A signed-in page; fails the test on uncaught errors and CSP violations."""
    page = context.new_page()
    problems = watch(page)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shots = tmp_path_factory.mktemp("ui-failures")
        path = shots / f"{request.node.name}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            print(f"screenshot of the failure: {path}")
        except Exception as exc:  # the page may be gone already
            print(f"no screenshot: {exc}")
    page.close()
    assert not problems, problems


@pytest.fixture
def api(ui_server):
    client = ui_server.client()
    yield client
    client.close()


@pytest.fixture
def share_dir(ui_server) -> Iterator[Path]:
    """A fresh directory in the server's connected share, removed afterwards."""
    import uuid

    directory = ui_server.share_root / f"ui-{uuid.uuid4().hex[:8]}"
    directory.mkdir()
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


# axe-core, the accessibility checker, from the npm registry (a test dependency).
NODE_DIR = Path(__file__).parent / ".node"


@pytest.fixture(scope="session")
def axe_script() -> Path:
    script = NODE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if script.exists():
        return script
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("axe-core checks need npm, which is not installed")
    NODE_DIR.mkdir(exist_ok=True)
    # Another test run on this machine may be installing it right now: one at a time.
    with open(NODE_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if script.exists():
            return script
        try:
            done = subprocess.run(
                [
                    npm,
                    "install",
                    "--no-save",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                    str(NODE_DIR),
                    "axe-core",
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
        except subprocess.TimeoutExpired:
            pytest.skip("axe-core checks: npm install axe-core timed out (registry unreachable?)")
    if done.returncode != 0 or not script.exists():
        pytest.skip(f"axe-core checks: npm install axe-core failed: {done.stderr.strip()[-300:]}")
    return script


# Where ``scripts/screenshots`` wants the README's pictures; otherwise a temporary
# directory, so running the tests changes no tracked file.
SCREENSHOTS_ENV = "SCREENSHOTS_DIR"


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """The directory the screenshots of a test module are saved in."""
    directory = os.environ.get(SCREENSHOTS_ENV)
    return Path(directory) if directory else tmp_path_factory.mktemp("screenshots")
