"""Page routes: HTML shells rendered with Jinja2 (autoescaped), filled by ES modules.

A page route reads nothing but "is there a session": every piece of data comes
from the REST API in the browser, so the pages and the clients share one
contract. Each page answers with a strict Content-Security-Policy (no inline
scripts or styles), so even a value that slipped through escaping cannot run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from annotask import __version__
from annotask.api.deps import optional_caller
from annotask.domain.errors import DomainError
from annotask.security.origins import safe_next

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"

CSP = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' blob: data:",
        "style-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

templates = Environment(
    loader=FileSystemLoader(WEB_DIR / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

router = APIRouter(include_in_schema=False)


def has_session(request: Request) -> bool:
    """Whether the request carries a valid login, checked by the API's own helper."""
    if "sessionid" not in request.cookies and "authorization" not in request.headers:
        return False
    try:
        return optional_caller(request) is not None
    except DomainError:
        return False


def render(
    template: str, *, title: str, script: str, section: str = "", bare: bool = False, **context: Any
) -> Response:
    html = templates.get_template(template).render(
        title=title, script=script, section=section, bare=bare, version=__version__, **context
    )
    return HTMLResponse(html, headers=PAGE_HEADERS)


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def page(path: str, template: str, *, title: str, script: str, section: str) -> None:
    """Register a page that needs a session; ``{id}`` path parts become template values."""

    def endpoint(request: Request) -> Response:
        if not has_session(request):
            return to_login(request)
        ids: dict[str, Any] = {key: int(value) for key, value in request.path_params.items()}
        return render(template, title=title, script=script, section=section, **ids)

    def without_slash(request: Request) -> Response:
        return RedirectResponse(request.url.path.rstrip("/"), status_code=308)

    endpoint.__name__ = f"page_{script.replace('-', '_')}"
    router.add_api_route(path, endpoint, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(path + "/", without_slash, methods=["GET"])


@router.get("/")
def root() -> Response:
    return RedirectResponse("/tasks", status_code=302)


@router.get("/login")
def login_page(request: Request) -> Response:
    if has_session(request):
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return render("login.html", title="Sign in", script="login", bare=True)


page("/tasks", "tasks.html", title="Tasks", script="tasks", section="tasks")
page(
    "/tasks/create",
    "task_create.html",
    title="Create a new task",
    script="task-create",
    section="tasks",
)
page("/tasks/{task_id:int}", "task.html", title="Task", script="task", section="tasks")
page("/jobs", "jobs.html", title="Jobs", script="jobs", section="jobs")
page("/jobs/{job_id:int}", "job.html", title="Job", script="job", section="jobs")
# CVAT's URL of a job (FiftyOne sends annotators there): the same job view. The page
# loads the job through /api/jobs/{id}, so access is the job's (an assignee who cannot
# see the task still gets in); the task id of the path is not used.
page(
    "/tasks/{task_id:int}/jobs/{job_id:int}",
    "job.html",
    title="Job",
    script="job",
    section="jobs",
)
page("/projects", "projects.html", title="Projects", script="projects", section="projects")
page(
    "/projects/create",
    "project_create.html",
    title="Create a new project",
    script="project-create",
    section="projects",
)
page(
    "/projects/{project_id:int}",
    "project.html",
    title="Project",
    script="project",
    section="projects",
)
page(
    "/projects/{project_id:int}/tasks/create",
    "task_create.html",
    title="Create a new task",
    script="task-create",
    section="projects",
)
