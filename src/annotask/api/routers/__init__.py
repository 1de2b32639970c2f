"""Every API router, in the order they are mounted."""

from annotask.api.routers import auth, jobs, labels, projects, requests, server, tasks, users

ROUTERS = [
    server.router,
    auth.router,
    users.router,
    projects.router,
    tasks.router,
    jobs.router,
    labels.router,
    requests.router,
]
