"""The ``annotask`` command: serve, worker, migrate, users, check."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from annotask.settings import Settings

if TYPE_CHECKING:
    from annotask.worker.supervisor import EmbeddedWorker


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    if getattr(args, "workers", None):
        overrides["web_workers"] = args.workers
    return Settings(**overrides)


def cmd_migrate(args: argparse.Namespace) -> int:
    from annotask.db.migrate import upgrade

    settings = _settings(args)
    settings.ensure_dirs()
    upgrade(settings.resolved_database_url)
    print("Database is up to date.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from annotask.api import sendfile
    from annotask.app import create_app
    from annotask.db.migrate import upgrade
    from annotask.domain.users import ensure_first_admin
    from annotask.services import Services

    settings = _settings(args)
    settings.ensure_dirs()
    upgrade(settings.resolved_database_url)
    services = Services(settings)
    settings.effective_secret_key()
    with services.sessions() as db, db.begin():
        created = ensure_first_admin(db)
    if created:
        print(
            f"Created the first user '{created[0]}' with password '{created[1]}'. "
            "It is shown only once: change it with `annotask users passwd admin`.",
            flush=True,
        )
    # The header deadline of every web process (those uvicorn starts read the variable).
    os.environ[sendfile.HEADER_TIMEOUT_ENV] = str(settings.http_header_timeout_seconds)
    if sendfile.SendfileProtocol is not None:
        sendfile.SendfileProtocol.header_timeout = settings.http_header_timeout_seconds
    worker = _start_embedded_worker(settings) if settings.embedded_worker else None
    if settings.web_workers > 1:
        # Each web process builds its app from the environment: pass the command
        # line's overrides on, and let the first process's Services go.
        os.environ["ANNOTASK_DATA_DIR"] = str(settings.data_dir)
        services.close()
        app: object = "annotask.app:create_app"
    else:
        app = create_app(services=services)
    try:
        uvicorn.run(
            app,
            factory=isinstance(app, str),
            workers=settings.web_workers,
            host=args.host,
            port=args.port,
            proxy_headers=True,
            forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
            log_level=args.log_level,
            timeout_graceful_shutdown=5,
            **({"http": sendfile.protocol()} if sendfile.protocol() else {}),
        )
    finally:
        if worker is not None:
            worker.stop(timeout=settings.worker_grace_seconds + 5)
    return 0


def _start_embedded_worker(settings: Settings) -> EmbeddedWorker:
    """The worker runs as a child process: media work never competes with the
    web server for the GIL, and a crash in a decoder cannot take the API down.
    It is restarted if it dies (see ``annotask.worker.supervisor``)."""
    from annotask.worker.supervisor import EmbeddedWorker

    return EmbeddedWorker(settings).start()


def cmd_worker(args: argparse.Namespace) -> int:
    from annotask.services import Services
    from annotask.worker.runner import run_worker

    settings = _settings(args)
    run_worker(Services(settings))
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if getattr(args, "password", None):
        return args.password
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise SystemExit("The passwords do not match.")
    return first


def _with_db(args: argparse.Namespace):
    from annotask.db.migrate import upgrade
    from annotask.services import Services

    settings = _settings(args)
    settings.ensure_dirs()
    upgrade(settings.resolved_database_url)
    return Services(settings)


def cmd_users_add(args: argparse.Namespace) -> int:
    from annotask.domain.users import create_user

    services = _with_db(args)
    with services.sessions() as db, db.begin():
        create_user(db, args.name, _read_password(args), is_superuser=args.admin, email=args.email)
    print(f"Created user '{args.name}'{' (admin)' if args.admin else ''}.")
    return 0


def cmd_users_passwd(args: argparse.Namespace) -> int:
    from annotask.domain.users import set_password

    services = _with_db(args)
    with services.sessions() as db, db.begin():
        set_password(db, args.name, _read_password(args))
    print(f"Password of '{args.name}' changed; its sessions and login keys ended.")
    return 0


def cmd_users_deactivate(args: argparse.Namespace) -> int:
    from annotask.domain.users import deactivate

    services = _with_db(args)
    with services.sessions() as db, db.begin():
        deactivate(db, args.name)
    print(
        f"Deactivated '{args.name}': sessions and login keys ended, "
        "access tokens refused while inactive."
    )
    return 0


def cmd_users_reactivate(args: argparse.Namespace) -> int:
    from annotask.domain.users import reactivate

    services = _with_db(args)
    with services.sessions() as db, db.begin():
        reactivate(db, args.name)
    print(f"Reactivated '{args.name}'.")
    return 0


def cmd_users_token(args: argparse.Namespace) -> int:
    from annotask.domain.auth import create_access_token
    from annotask.domain.users import get_user_by_name

    services = _with_db(args)
    with services.sessions() as db, db.begin():
        user = get_user_by_name(db, args.name)
        _token, secret = create_access_token(db, user, name=args.token_name)
    print(secret)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from annotask.checks import run_checks

    failures = run_checks(_settings(args))
    return 1 if failures else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="annotask", description=__doc__)
    parser.add_argument("--data-dir", help="data directory (default: ANNOTASK_DATA_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP server and an embedded worker")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--data-dir", default=argparse.SUPPRESS, help="data directory")
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--workers",
        type=int,
        default=argparse.SUPPRESS,
        help="web server processes (default 1; ANNOTASK_WEB_WORKERS)",
    )
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run a worker consuming the job queue")
    worker.add_argument("--data-dir", default=argparse.SUPPRESS)
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("--data-dir", default=argparse.SUPPRESS)
    migrate.set_defaults(func=cmd_migrate)

    check = sub.add_parser("check", help="verify settings, data dir, database, queue and cache")
    check.add_argument("--data-dir", default=argparse.SUPPRESS)
    check.set_defaults(func=cmd_check)

    users = sub.add_parser("users", help="manage users")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--password", help="password (read from stdin or a prompt when absent)")
    add.add_argument("--admin", action="store_true", help="make the user an administrator")
    add.add_argument("--email", default="")
    add.add_argument("--data-dir", default=argparse.SUPPRESS)
    add.set_defaults(func=cmd_users_add)
    passwd = users_sub.add_parser("passwd", help="change a user's password")
    passwd.add_argument("name")
    passwd.add_argument("--password")
    passwd.add_argument("--data-dir", default=argparse.SUPPRESS)
    passwd.set_defaults(func=cmd_users_passwd)
    deactivate = users_sub.add_parser(
        "deactivate", help="lock a user out: end sessions and login keys, refuse access tokens"
    )
    deactivate.add_argument("name")
    deactivate.add_argument("--data-dir", default=argparse.SUPPRESS)
    deactivate.set_defaults(func=cmd_users_deactivate)
    reactivate = users_sub.add_parser("reactivate", help="let a deactivated user sign in again")
    reactivate.add_argument("name")
    reactivate.add_argument("--data-dir", default=argparse.SUPPRESS)
    reactivate.set_defaults(func=cmd_users_reactivate)
    token = users_sub.add_parser("token", help="print a new personal access token")
    token.add_argument("name")
    token.add_argument("--token-name", default="cli", help="name of the token")
    token.add_argument("--data-dir", default=argparse.SUPPRESS)
    token.set_defaults(func=cmd_users_token)
    return parser


def main(argv: list[str] | None = None) -> int:
    from annotask.domain.errors import DomainError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
