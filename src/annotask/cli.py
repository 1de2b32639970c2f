"""The ``annotask`` command: serve, worker, migrate, users, check."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from annotask.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from annotask.worker.supervisor import EmbeddedWorker


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
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
        app: FastAPI | str = "annotask.app:create_app"
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
            http=sendfile.protocol() or "auto",  # "auto": uvicorn's default
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
    from annotask.checks import describe_invalid_settings, run_checks

    try:
        settings = _settings(args)
    except ValidationError as exc:
        print(f"FAIL  settings: {describe_invalid_settings(exc)}")
        print("skip  the other checks: they need valid settings")
        return 1
    failures = run_checks(settings)
    return 1 if failures else 0


DATA_DIR_HELP = "data directory (default: $ANNOTASK_DATA_DIR, else ./annotask-data)"


class _HelpFormatter(argparse.HelpFormatter):
    """Shows each option's default after its help, unless the help says it itself
    or there is none to show (flags, values asked for when absent)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help = action.help or ""
        if (
            "default" not in help
            and action.option_strings
            and action.default not in (None, False, argparse.SUPPRESS)
        ):
            help += " (default: %(default)s)"
        return help


def _command(
    sub: argparse._SubParsersAction, name: str, help: str, func: Callable[..., int]
) -> argparse.ArgumentParser:
    """A subcommand with ``help`` in the list and as its own description, and
    the ``--data-dir`` every command takes."""
    parser = sub.add_parser(name, help=help, description=help, formatter_class=_HelpFormatter)
    parser.add_argument("--data-dir", default=argparse.SUPPRESS, help=DATA_DIR_HELP)
    parser.set_defaults(func=func)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="annotask",
        description="A self-hosted data-annotation server that speaks CVAT's REST API. "
        "Settings come from ANNOTASK_* environment variables (see docs/configuration.md); "
        "`annotask COMMAND --help` describes each command.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--data-dir", help=DATA_DIR_HELP)
    sub = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")

    serve = _command(sub, "serve", "run the HTTP server and an embedded worker", cmd_serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="TCP port to listen on")
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug", "trace"],
        help="least severe server log messages shown",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=argparse.SUPPRESS,
        help="web server processes (default: $ANNOTASK_WEB_WORKERS, else 1)",
    )

    _command(sub, "worker", "run a worker consuming the job queue", cmd_worker)
    _command(sub, "migrate", "create the data directory and apply database migrations", cmd_migrate)
    _command(
        sub,
        "check",
        "verify settings, data dir, database, queue and cache; exit 1 when one fails",
        cmd_check,
    )

    users = sub.add_parser(
        "users", help="manage users", description="manage users", formatter_class=_HelpFormatter
    )
    users_sub = users.add_subparsers(
        dest="users_command", required=True, title="commands", metavar="COMMAND"
    )
    password_help = "password (default: read from stdin when it is not a terminal, else asked)"
    add = _command(users_sub, "add", "create a user", cmd_users_add)
    add.add_argument("name", help="user name")
    add.add_argument("--password", help=password_help)
    add.add_argument("--admin", action="store_true", help="make the user an administrator")
    add.add_argument("--email", default="", help="e-mail address (default: none)")
    passwd = _command(users_sub, "passwd", "change a user's password", cmd_users_passwd)
    passwd.add_argument("name", help="user name")
    passwd.add_argument("--password", help=password_help)
    deactivate = _command(
        users_sub,
        "deactivate",
        "lock a user out: end sessions and login keys, refuse access tokens",
        cmd_users_deactivate,
    )
    deactivate.add_argument("name", help="user name")
    reactivate = _command(
        users_sub, "reactivate", "let a deactivated user sign in again", cmd_users_reactivate
    )
    reactivate.add_argument("name", help="user name")
    token = _command(users_sub, "token", "print a new personal access token", cmd_users_token)
    token.add_argument("name", help="user name")
    token.add_argument("--token-name", default="cli", help="name of the token")
    return parser


def _run(argv: list[str] | None) -> int:
    from annotask.domain.errors import DomainError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # a malformed ANNOTASK_* variable
        from annotask.checks import describe_invalid_settings

        print(f"error: invalid settings: {describe_invalid_settings(exc)}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """Run a command; output cut short by its reader (``annotask --help | head -1``)
    ends the command quietly instead of with a traceback."""
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()
    except BrokenPipeError:
        # Python would try to flush again at exit and complain: point stdout at nothing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
