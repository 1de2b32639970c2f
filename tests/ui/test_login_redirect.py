"""Issue 11, item 5: the login page follows ``next`` only to a path on this site,
as Chromium's own URL parser reads it.

The server runs at ``http://localhost:PORT``; the "foreign" site in the vectors is
``127.0.0.1`` on the same port (another origin, still loopback), and every
request to a host other than localhost is aborted and recorded.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.support.server import ADMIN
from tests.ui.conftest import login_context

pytestmark = pytest.mark.xdist_group("ui")


def _vectors(port: int) -> list[str]:
    foreign = f"127.0.0.1:{port}/tasks"
    return [
        f"//{foreign}",
        f"/\\{foreign}",
        f"/\t/{foreign}",
        f"/\n/{foreign}",
        f"/\r\n\t/{foreign}",
        f"\\\\{foreign}",
        f"/\\\t\\{foreign}",
        f"http://{foreign}",
        "javascript:alert(1)",
        "java\tscript:alert(1)",
        "",
    ]


@pytest.fixture
def anonymous_page(browser, ui_server):
    context = login_context(browser, ui_server, auth=None)
    foreign: list[str] = []

    def guard(route) -> None:
        if route.request.url.startswith(ui_server.url):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.foreign = foreign
    yield page
    context.close()


def _next_target(page, search: str) -> str:
    """The page's own ``nextTarget`` (the module instance the page loaded)."""
    return page.evaluate(
        """async (search) => {
            const src = document.querySelector('script[type=module]').src;
            return (await import(src)).nextTarget(search);
        }""",
        search,
    )


def test_next_target_keeps_only_same_origin_paths(anonymous_page, ui_server):
    page = anonymous_page
    page.goto("/login")
    for vector in _vectors(ui_server.port):
        search = "?next=" + quote(vector, safe="")
        assert _next_target(page, search) == f"{ui_server.url}/tasks", repr(vector)
    for path in ("/projects", "/tasks/7?x=1#frame", "/.//127.0.0.1/x"):
        target = _next_target(page, "?next=" + quote(path, safe=""))
        assert target.startswith(ui_server.url + "/"), (path, target)
    assert page.foreign == []


@pytest.mark.parametrize("which", [2, 1])  # "/\t/host" and "/\\host"
def test_signing_in_with_a_hostile_next_stays_on_site(anonymous_page, ui_server, which):
    page = anonymous_page
    vector = _vectors(ui_server.port)[which]
    page.goto("/login?next=" + quote(vector, safe=""))
    page.fill("#login-username", ADMIN[0])
    page.fill("#login-password", ADMIN[1])
    page.click("#login-submit")
    page.wait_for_url(f"{ui_server.url}/tasks")
    assert page.foreign == []


def test_signing_in_follows_a_path_on_site(anonymous_page, ui_server):
    page = anonymous_page
    page.goto("/login?next=" + quote("/projects", safe=""))
    page.fill("#login-username", ADMIN[0])
    page.fill("#login-password", ADMIN[1])
    page.click("#login-submit")
    page.wait_for_url(f"{ui_server.url}/projects")
    assert page.foreign == []
