"""Run the media-pipeline benchmarks B1-B6 and print each figure next to its baseline.

    .venv/bin/python bench/run.py            # full sizes (about 25 minutes the first
                                             # time, most of it generating data)
    .venv/bin/python bench/run.py --quick    # small sizes, a couple of minutes
    .venv/bin/python bench/run.py --only B1 B3

Data is generated once into ``bench/out/data`` (git-ignored) and reused. The
server is a real ``annotask serve`` (uvicorn, embedded worker, SQLite) whose
share root is that data directory, so tasks are created from the share without
copying. The table is printed and written to ``bench/out/results.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchmarks as b  # noqa: E402
import data  # noqa: E402
from harness import Server, create_from_share, running  # noqa: E402

FULL = {"b1": 1000, "b2": 10_000, "b3": 3, "b4": (8, 10), "b5": 600, "b6": [5000, 10_000, 20_000]}
QUICK = {"b1": 200, "b2": 1000, "b3": 2, "b4": (4, 3), "b5": 30, "b6": [500, 1000, 2000]}


def table(results: list[b.Result]) -> str:
    lines = [
        "| | what | annotask | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
        met = {True: "yes", False: "**no**", None: "-"}[r.met]
        lines.append(
            f"| {r.id} | {r.what} | {r.ours} | {r.baseline} | {ratio} | {r.target} | {met} |"
        )
    notes = [f"- {r.id}: {note}" for r in results for note in r.notes]
    return "\n".join(lines + ([""] + notes if notes else []))


def run_step(results, wanted, server, client, name: str, fn, *fn_args):
    if name not in wanted:
        return None
    print(f"{name}...", flush=True)
    result = fn(server, client, *fn_args)
    for item in result if isinstance(result, list) else [result]:
        results.append(item)
        ratio = "" if item.ratio is None else f" ratio {item.ratio:.2f}x"
        print(f"  {item.id}: {item.ours} vs {item.baseline}{ratio} (target {item.target})",
              flush=True)  # fmt: skip
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a couple of minutes")
    parser.add_argument("--only", nargs="*", help="run only these (B1 ... B6)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    wanted = {w.upper() for w in args.only} if args.only else {f"B{i}" for i in range(1, 7)}
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    print(f"annotask media benchmarks ({'quick' if args.quick else 'full'}), "
          f"{os.cpu_count()} cores, load average {load_before:.1f}", flush=True)  # fmt: skip
    if load_before > 1.0:
        print("  warning: the machine is busy; figures will be noisy", flush=True)
    data.distinct_frames(1000 if not args.quick else max(sizes["b1"], 200))
    server = Server(data.OUT / "server", data.DATA)
    results: list[b.Result] = []
    with running(server):
        client = server.client()

        def step(name: str, fn, *fn_args):
            return run_step(results, wanted, server, client, name, fn, *fn_args)

        step("B1", b.b1_static_chunks, sizes["b1"])
        step("B2", b.b2_on_the_fly_creation, sizes["b2"])
        count = sizes["b2"]
        if "B3" in wanted:
            frames = data.distinct_frames(min(count, 1000))
            paths = data.copies_with_comment(frames, count, data.DATA / f"b2_{count}")
            task_id, _ = create_from_share(client, "b3", [f"b2_{count}/"], use_cache=True)
            step("B3", b.b3_first_chunk_request, task_id, paths, sizes["b3"])
        step("B5", b.b5_video_creation, sizes["b5"])
    if "B4" in wanted:
        # One web process per core, as nginx runs one worker per core
        # (`worker_processes auto`): the same hardware on both sides.
        web = Server(data.OUT / "server-b4", data.DATA, {"web_workers": str(os.cpu_count() or 1)})
        with running(web):
            web_client = web.client()
            frames = data.distinct_frames(min(count, 1000))
            data.copies_with_comment(frames, count, data.DATA / f"b2_{count}")
            task_id, _ = create_from_share(web_client, "b4", [f"b2_{count}/"], use_cache=True)
            run_step(results, wanted, web, web_client, "B4", b.b4_cached_chunks, task_id,
                     *sizes["b4"])  # fmt: skip
    if "B6" in wanted:  # on a fresh server: serving B3/B4 must not count as creation memory
        fresh = Server(data.OUT / "server-b6", data.DATA)
        with running(fresh):
            run_step(results, wanted, fresh, fresh.client(), "B6", b.b6_memory, sizes["b6"],
                     sizes["b5"])  # fmt: skip
    report = table(results)
    elapsed = time.monotonic() - started
    footer = (
        f"\n\nTotal time {elapsed / 60:.1f} min; {os.cpu_count()} cores "
        f"({platform.machine()}); 1-minute load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after."
    )
    print("\n" + report + footer)
    (data.OUT / "results.md").write_text(report + footer + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
