"""Every API router, in the order they are mounted."""

from annotask.api.routers import (
    annotations,
    auth,
    dataset_repo,
    datasets,
    functions,
    job_data,
    jobs,
    labels,
    lambda_requests,
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
    dataset_repo.router,
    functions.router,
    lambda_requests.router,
]
