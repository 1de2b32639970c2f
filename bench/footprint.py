"""Idle footprint and start times of ``annotask serve`` on the embedded default.

    .venv/bin/python bench/footprint.py              # idle 30 s, 3 restarts
    .venv/bin/python bench/footprint.py --idle 10 --restarts 1

Three figures of issue 18's first target, each beside Label Studio's (fixed
reference numbers measured on the same kind of 2-core machine, not re-run here):

- *first start*: ``annotask serve`` on an empty data directory (it migrates the
  database and creates the first admin) until ``GET /api/server/about`` answers 200;
- *restart*: the same command on that data directory, stopped and started again;
- *idle PSS*: the proportional set size summed over the server's process tree
  (web process, embedded worker) after it has been idle for ``--idle`` seconds.

The client polls every 20 ms during a start (a poll is a refused connect until the
socket listens) and reads ``/proc/<pid>/smaps_rollup`` once for the memory figure.
The CPU seconds the web process had used by its first 200 are printed beside each
start: on a shared, loaded machine the wall time mostly measures the others' load,
while the CPU time is what the start costs where nothing competes for the cores.
Results are printed and written to ``bench/out/footprint.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import ROOT, free_port, process_tree, pss_bytes  # noqa: E402

OUT = ROOT / "bench" / "out"
LABEL_STUDIO = {"idle": "262-344 MB", "first start": "31-34 s"}
TARGETS = {"idle": 150 * 2**20, "restart": 2.0, "first start": 3.0}


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANNOTASK_")}
    env.update(ANNOTASK_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
    return env


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fp:
        fields = fp.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(data_dir: Path, port: int) -> tuple[subprocess.Popen, float, float]:
    """Start the server; return it, the seconds until its first 200 and the CPU
    seconds the web process had used by then (what the start costs on a quiet
    machine, where nothing else competes for the cores)."""
    log = open(data_dir.parent / f"{data_dir.name}.log", "ab")  # noqa: SIM115 - child's stdout
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "annotask", "serve", "--port", str(port), "--log-level", "warning"],
        env=_env(data_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api/server/about"
    deadline = started + 120
    with httpx.Client(timeout=5) as client:
        while time.perf_counter() < deadline:
            try:
                if client.get(url).status_code == 200:
                    elapsed = time.perf_counter() - started
                    return process, elapsed, _cpu_seconds(process.pid)
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                break
            time.sleep(0.02)
    process.kill()
    raise RuntimeError(f"the server did not start; see {log.name}")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tree_pss(pid: int) -> tuple[int, list[tuple[int, int]]]:
    pids = process_tree(pid)
    each = [(p, pss_bytes(p)) for p in pids]
    return sum(size for _, size in each), each


def measure(idle_seconds: float, restarts: int) -> dict[str, object]:
    data_dir = OUT / "footprint" / "data"
    shutil.rmtree(data_dir.parent, ignore_errors=True)
    data_dir.mkdir(parents=True)
    port = free_port()
    process, first, first_cpu = _start(data_dir, port)
    try:
        time.sleep(idle_seconds)
        idle, each = _tree_pss(process.pid)
    finally:
        _stop(process)
    again, again_cpu = [], []
    for _ in range(restarts):
        process, seconds, cpu = _start(data_dir, port)
        again.append(seconds)
        again_cpu.append(cpu)
        _stop(process)
    return {
        "first": first,
        "first_cpu": first_cpu,
        "idle": idle,
        "each": each,
        "restarts": again,
        "restarts_cpu": again_cpu,
    }


def report(result: dict[str, object], idle_seconds: float) -> str:
    first, idle, restarts = result["first"], result["idle"], result["restarts"]
    assert isinstance(first, float) and isinstance(idle, int) and isinstance(restarts, list)
    processes = ", ".join(f"{size / 2**20:.0f}" for _, size in result["each"])  # type: ignore[attr-defined]
    restart = f"{min(restarts):.2f}-{max(restarts):.2f} s" if restarts else "-"
    cpu = result["restarts_cpu"]
    assert isinstance(cpu, list)
    restart_cpu = f"{min(cpu):.2f}-{max(cpu):.2f} s" if cpu else "-"
    lines = [
        "| | annotask | Label Studio (reference) | target | met |",
        "|---|---|---|---|---|",
        f"| idle PSS after {idle_seconds:.0f} s (server + worker) | {idle / 2**20:.0f} MiB "
        f"({processes}) | {LABEL_STUDIO['idle']} | <= 150 MB | "
        f"{'yes' if idle <= TARGETS['idle'] else '**no**'} |",
        f"| first start, fresh data directory, to the first 200 | {first:.2f} s "
        f"(CPU {result['first_cpu']:.2f} s) | "
        f"{LABEL_STUDIO['first start']} | <= 3 s | "
        f"{'yes' if first <= TARGETS['first start'] else '**no**'} |",
        f"| restart to the first 200 ({len(restarts)} runs) | {restart} (CPU {restart_cpu}) "
        "| - | <= 2 s | "
        f"{'yes' if restarts and max(restarts) <= TARGETS['restart'] else '**no**'} |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=30.0, help="seconds idle before the PSS")
    parser.add_argument("--restarts", type=int, default=3, help="restarts timed")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    print(f"annotask footprint, {os.cpu_count()} cores, load average {load:.1f}", flush=True)
    result = measure(args.idle, args.restarts)
    text = report(result, args.idle) + (
        f"\n\n{os.cpu_count()} cores ({platform.machine()}); 1-minute load average "
        f"{load:.1f} before, {os.getloadavg()[0]:.1f} after."
    )
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "footprint.md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
