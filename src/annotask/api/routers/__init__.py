"""Every API router, in the order they are mounted."""

from annotask.api.routers import (
    annotations,
    auth,
    datasets,
    job_data,
    jobs,
    labels,
    projects,
    requests,
    server,
    task_data,
    tasks,
    users,
)

ROUTERS = [
    server.router,
    auth.router,
    users.router,
    projects.router,
    tasks.router,
    task_data.router,
    jobs.router,
    job_data.router,
    labels.router,
    requests.router,
    annotations.router,
    datasets.router,
]
