"""Issue 11, item 5: ``next`` after login is a path on this site, read as a browser
reads it (the browser side is tested in tests/ui/test_login_redirect.py)."""

from __future__ import annotations

from urllib.parse import quote, urljoin, urlsplit

import httpx
import pytest

from annotask.security.origins import safe_next

BASE = "http://localhost:8080/login"

FOREIGN = [
    "//127.0.0.1:1/x",
    "/\\127.0.0.1:1/x",
    "\\\\127.0.0.1:1/x",
    "/\t/127.0.0.1:1/x",
    "/\n/127.0.0.1:1/x",
    "/\r\n/127.0.0.1:1/x",
    "\t//127.0.0.1:1/x",
    " //127.0.0.1:1/x",
    "/\\\t\\127.0.0.1:1/x",
    "javascript:alert(1)",
    "java\tscript:alert(1)",
    "http://127.0.0.1:1/x",
    "https:127.0.0.1:1",
    "/\x00/127.0.0.1",
    "",
    None,
]


def _browser_view(target: str) -> str:
    """What a browser does with a ``Location`` (WHATWG: tabs/newlines dropped,
    backslashes as slashes in http URLs), resolved against the login page."""
    cleaned = target.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    return urljoin(BASE, cleaned)


@pytest.mark.parametrize("target", FOREIGN)
def test_foreign_targets_fall_back_to_the_tasks_page(target):
    assert safe_next(target) == "/tasks"


@pytest.mark.parametrize("target", ["/tasks/3", "/jobs/1?frame=2#x", "/projects", "/.//x"])
def test_paths_on_this_site_are_kept(target):
    kept = safe_next(target)
    assert kept == target
    assert urlsplit(_browser_view(kept)).netloc == "localhost:8080"


def test_a_signed_in_visit_to_login_redirects_only_on_site(sqlite_server):
    client = sqlite_server.client()
    try:
        for target in FOREIGN[:-1]:
            response = client.get(
                f"/login?next={quote(target or '', safe='')}", follow_redirects=False
            )
            if "\x00" in (target or ""):  # refused before any page (api/limits.py)
                assert response.status_code == 400, target
                continue
            assert response.status_code == 303
            assert response.headers["location"] == "/tasks", target
        kept = client.get("/login?next=%2Ftasks%2F7", follow_redirects=False)
        assert kept.headers["location"] == "/tasks/7"
    finally:
        client.close()
    # Anonymous: the page itself, no redirect.
    assert httpx.get(f"{sqlite_server.url}/login?next=//127.0.0.1:1").status_code == 200
