"""Many annotators at once: latency of chunk, frame and save requests under load.

    .venv/bin/python bench/load.py                 # the embedded default (SQLite, one process)
    .venv/bin/python bench/load.py --scaled        # PostgreSQL + Redis, 2 web + 2 workers
    .venv/bin/python bench/load.py --both          # one after the other
    .venv/bin/python bench/load.py --annotators 50 --seconds 45 --save-every 3

Issue 18 target 6. A real server on 127.0.0.1; a shared task of generated images on
the share (on the fly, one 20-frame job per annotator, chunks of 10) is created
beforehand, and each of ``--annotators`` virtual annotators gets its own account and
job. Each one opens its job as the web view does (job, labels, meta, annotations),
then steps through its frames (a compressed frame every ~0.7 s, the compressed chunk
when it enters one, the job's meta now and then) and saves every ~3 s, like
``annotation/sync.js``: ``PATCH ?action=create`` (a new rectangle) or ``update``
(moved ones) or ``delete``, with ``If-Match`` set to the version it holds. Meanwhile
two other users create tasks in a loop (a multipart upload of 4 images, then the
creation through the queue, polled twice a second). The load lasts ``--seconds``
(at most 60). One bounded ``httpx.AsyncClient`` sends everything.

The baseline, measured in the same run just before the load, is one annotator
alone doing the same requests back to back on its own job. Afterwards every
annotator's annotations are read back and compared with what that annotator saved
(the objects, their fields and the version); any difference fails the run, as does
"database is locked" in any server log. Printed per endpoint class: count, errors,
p50/p95/p99/max, and the ratio to the baseline; the throughput; the CPU the load
generator (this process) and the server processes used.

The chunk cache is warmed before the measurement (every chunk read once): the
first request of an on-the-fly chunk builds it (B3 measures that), and an
annotator meets each chunk once per task, not every few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import POLL_SECONDS, Server, process_tree  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "load"
JOB_FRAMES = 20
CHUNK_SIZE = 10
FRAME_SIZE = (640, 480)
UPLOAD_IMAGES = 4
CREATORS = 2
MAX_SECONDS = 60
TARGET_P99 = {"sqlite": 0.250, "scaled": 0.150}
ANNOTATOR_CLASSES = ("chunk", "frame", "meta", "save")
LOCKED = "database is locked"


# ---- data ------------------------------------------------------------------------


def jpeg(index: int, size: tuple[int, int] = FRAME_SIZE) -> bytes:
    """A distinct small photo-like JPEG: a gradient, a few blocks and some noise."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(index)
    w, h = size
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None, None]
    tint = rng.uniform(0.3, 1.0, size=3).astype(np.float32)
    pixels = (x * tint + y * (1 - tint)) / 1.5
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w - 60)), int(rng.integers(0, h - 60))
        pixels[y0 : y0 + 60, x0 : x0 + 60] = rng.uniform(0, 255, size=3)
    pixels += rng.normal(0, 4, size=pixels.shape).astype(np.float32)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def share_frames(directory: Path, count: int) -> str:
    """``count`` frames in ``directory/frames-<count>`` (kept between runs); the share path."""
    frames = directory / f"frames-{count}"
    frames.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        path = frames / f"f{i:05d}.jpg"
        if not path.exists():
            path.write_bytes(jpeg(i))
    return f"{frames.name}/"


# ---- statistics -------------------------------------------------------------------


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)
    creations: list[float] = field(default_factory=list)

    def error(self, kind: str, message: str) -> None:
        self.errors[kind] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{kind}: {message}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def ms(value: float) -> str:
    return f"{value * 1000:.0f}" if value == value else "-"


# ---- the HTTP calls ------------------------------------------------------------------


@dataclass
class Caller:
    """One account's requests, timed per endpoint class into ``stats``."""

    http: httpx.AsyncClient
    token: str
    stats: Stats

    async def call(
        self, kind: str, method: str, url: str, *, ok: tuple[int, ...] = (200,), **kwargs
    ) -> httpx.Response | None:
        headers = {"Authorization": f"Token {self.token}", **kwargs.pop("headers", {})}
        started = time.perf_counter()
        try:
            response = await self.http.request(method, url, headers=headers, **kwargs)
            await response.aread()
        except httpx.HTTPError as exc:
            self.stats.latencies[kind].append(time.perf_counter() - started)
            self.stats.error(kind, f"{method} {url}: {exc!r}")
            return None
        self.stats.latencies[kind].append(time.perf_counter() - started)
        if response.status_code not in ok:
            self.stats.error(kind, f"{method} {url}: {response.status_code} {response.text[:200]}")
            return None
        return response


# ---- one annotator ----------------------------------------------------------------


@dataclass
class Annotator:
    """A virtual annotator and what it believes its job holds."""

    name: str
    caller: Caller
    job_id: int
    start: int
    stop: int
    label_id: int = 0
    version: int = 0
    shapes: dict[int, dict] = field(default_factory=dict)  # id -> the fields it sent
    rng: random.Random = field(default_factory=random.Random)
    saves: int = 0

    async def open(self) -> None:
        """What the job page loads."""
        c = self.caller
        await c.call("open", "GET", f"/api/jobs/{self.job_id}")
        labels = await c.call("open", "GET", "/api/labels", params={"job_id": self.job_id})
        if labels is not None:
            self.label_id = labels.json()["results"][0]["id"]
        await self.meta()
        annotations = await c.call("open", "GET", f"/api/jobs/{self.job_id}/annotations")
        if annotations is not None:
            body = annotations.json()
            self.version = body["version"]
            self.shapes = {s["id"]: sent_fields(s) for s in body["shapes"]}

    async def meta(self) -> None:
        await self.caller.call("meta", "GET", f"/api/jobs/{self.job_id}/data/meta")

    async def chunk(self, number: int) -> None:
        await self.caller.call(
            "chunk",
            "GET",
            f"/api/jobs/{self.job_id}/data",
            params={"type": "chunk", "quality": "compressed", "number": number},
        )

    async def frame(self, number: int) -> None:
        await self.caller.call(
            "frame",
            "GET",
            f"/api/jobs/{self.job_id}/data",
            params={"type": "frame", "quality": "compressed", "number": number},
        )

    def new_shape(self, frame: int) -> dict:
        x, y = self.rng.randint(0, 500), self.rng.randint(0, 350)
        points = [float(x), float(y), float(x + self.rng.randint(5, 120)),
                  float(y + self.rng.randint(5, 120))]  # fmt: skip
        return {"type": "rectangle", "frame": frame, "label_id": self.label_id,
                "group": 0, "source": "manual", "occluded": False, "outside": False,
                "z_order": 0, "rotation": 0.0, "points": points, "attributes": [],
                "elements": []}  # fmt: skip

    async def save(self, frame: int) -> None:
        """One save of the view: create a shape, or move some, or delete one."""
        roll = self.rng.random()
        if not self.shapes or roll < 0.5:
            action, objects = "create", [self.new_shape(frame)]
        elif roll < 0.9:
            ids = self.rng.sample(sorted(self.shapes), k=min(len(self.shapes), 2))
            objects = []
            for object_id in ids:
                moved = dict(self.shapes[object_id], id=object_id)
                moved["points"] = [p + self.rng.randint(-3, 3) for p in moved["points"]]
                objects.append(moved)
            action = "update"
        else:
            action, objects = "delete", [{"id": self.rng.choice(sorted(self.shapes))}]
        body = {"version": self.version, "tags": [], "shapes": objects, "tracks": []}
        response = await self.caller.call(
            "save",
            "PATCH",
            f"/api/jobs/{self.job_id}/annotations",
            params={"action": action},
            json=body,
            headers={"If-Match": f'"{self.version}"'},
        )
        if response is None:
            raise SaveFailed(self.name)  # the model no longer matches: stop this annotator
        answer = response.json()
        self.version = answer["version"]
        if action == "create":
            stored = answer["shapes"]
            for sent, kept in zip(objects, stored, strict=True):
                self.shapes[kept["id"]] = sent
        elif action == "update":
            for sent in objects:
                self.shapes[sent["id"]] = {k: v for k, v in sent.items() if k != "id"}
        else:
            del self.shapes[objects[0]["id"]]
        self.saves += 1

    async def work(self, until: float, frame_every: float, save_every: float) -> None:
        """Step through the job's frames, saving every few seconds, until ``until``."""
        loop = asyncio.get_running_loop()
        count = self.stop - self.start + 1
        position = self.rng.randrange(count)
        next_save = loop.time() + self.rng.uniform(0, save_every)
        while loop.time() < until:
            local = position % count
            if local % CHUNK_SIZE == 0 or position == 0:
                await self.chunk(local // CHUNK_SIZE)
            await self.frame(self.start + local)
            if self.rng.random() < 0.05:
                await self.meta()
            if loop.time() >= next_save:
                await self.save(self.start + local)
                next_save = loop.time() + self.rng.uniform(0.5, 1.5) * save_every
            position += 1
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * frame_every)

    async def verify(self) -> list[str]:
        """Differences between what this annotator saved and what the server returns."""
        response = await self.caller.call("verify", "GET", f"/api/jobs/{self.job_id}/annotations")
        if response is None:
            return [f"{self.name}: could not read job {self.job_id}'s annotations"]
        body = response.json()
        problems = []
        if body["version"] != self.version:
            problems.append(f"{self.name}: version {body['version']}, saved {self.version}")
        served = {s["id"]: sent_fields(s) for s in body["shapes"]}
        if set(served) != set(self.shapes):
            problems.append(
                f"{self.name}: server has ids {sorted(set(served) - set(self.shapes))} it did "
                f"not save, misses {sorted(set(self.shapes) - set(served))}"
            )
        for object_id in set(served) & set(self.shapes):
            if served[object_id] != self.shapes[object_id]:
                problems.append(
                    f"{self.name}: shape {object_id} is {served[object_id]}, "
                    f"saved {self.shapes[object_id]}"
                )
        if body["tags"] or body["tracks"]:
            problems.append(f"{self.name}: unexpected tags or tracks")
        return problems


class SaveFailed(Exception):
    pass


def sent_fields(shape: dict) -> dict:
    """A shape as the server returns it, without its id: every other field must be
    exactly what the annotator sent (an extra field, such as a score, is a difference)."""
    return {k: v for k, v in shape.items() if k != "id"}


# ---- task creators -------------------------------------------------------------------


async def creator(caller: Caller, number: int, until: float, uploads: list[bytes]) -> None:
    """Create small tasks from uploaded images, one after the other, until ``until``."""
    loop = asyncio.get_running_loop()
    round_ = 0
    while loop.time() < until:
        round_ += 1
        started = loop.time()
        response = await caller.call(
            "task create", "POST", "/api/tasks", ok=(201,),
            json={"name": f"load-{number}-{round_}", "labels": [{"name": "car"}]},
        )  # fmt: skip
        if response is None:
            await asyncio.sleep(1)
            continue
        task_id = response.json()["id"]
        files = [(f"client_files[{i}]", (f"u{i}.jpg", data, "image/jpeg"))
                 for i, data in enumerate(uploads)]  # fmt: skip
        response = await caller.call(
            "task upload", "POST", f"/api/tasks/{task_id}/data/", ok=(202,),
            data={"image_quality": "70"}, files=files,
        )  # fmt: skip
        if response is None:
            await asyncio.sleep(1)
            continue
        rq_id = response.json()["rq_id"]
        while True:
            await asyncio.sleep(POLL_SECONDS)
            polled = await caller.call("request poll", "GET", f"/api/requests/{rq_id}")
            if polled is None:
                break
            status = polled.json()["status"]
            if status == "finished":
                caller.stats.creations.append(loop.time() - started)
                break
            if status == "failed":
                caller.stats.error("task creation", polled.json().get("message", "failed"))
                break


# ---- setup ----------------------------------------------------------------------------

CREATE_USERS = """
import json, sys
from annotask.db.models import User
from annotask.domain.passwords import hash_password
from annotask.services import Services
from annotask.settings import Settings
names = json.loads(sys.argv[1])
hashes = [hash_password("pw-" + name) for name in names]  # before the write transaction
services = Services(Settings())
with services.sessions() as db, db.begin():
    db.add_all(User(username=n, password_hash=h) for n, h in zip(names, hashes))
"""


def create_users(server: Server, names: list[str]) -> None:
    """All the accounts in one process (``annotask users add`` is one process each),
    hashed before the one short write transaction that inserts them."""
    subprocess.run(
        [sys.executable, "-c", CREATE_USERS, json.dumps(names)],
        env=server.env(),
        check=True,
        capture_output=True,
    )


def login(url: str, name: str) -> str:
    response = httpx.post(
        f"{url}/api/auth/login", json={"username": name, "password": "pw-" + name}, timeout=60
    )
    response.raise_for_status()
    return response.json()["key"]


def wait_request(client: httpx.Client, rq_id: str) -> None:
    while (status := client.get(f"/api/requests/{rq_id}").json())["status"] not in (
        "finished",
        "failed",
    ):
        time.sleep(POLL_SECONDS)
    if status["status"] == "failed":
        raise RuntimeError(f"creation failed: {status['message']}")


@dataclass
class Setup:
    annotators: list[dict]  # name, token, job id, start, stop
    creators: list[dict]  # name, token
    solo: dict


def prepare(server: Server, annotators: int) -> Setup:
    """The shared task (a job per annotator, plus one for the baseline), the accounts,
    the assignments, and every chunk read once."""
    jobs = annotators + 1
    share_path = share_frames(server.share_root, jobs * JOB_FRAMES)
    admin = server.client()
    task_id = admin.post(
        "/api/tasks",
        json={"name": "shared", "labels": [{"name": "car"}], "segment_size": JOB_FRAMES},
    ).json()["id"]
    response = admin.post(
        f"/api/tasks/{task_id}/data/",
        json={"image_quality": 70, "server_files": [share_path], "use_cache": True,
              "chunk_size": CHUNK_SIZE, "sorting_method": "natural"},
    )  # fmt: skip
    response.raise_for_status()
    wait_request(admin, response.json()["rq_id"])
    found = admin.get("/api/jobs", params={"task_id": task_id, "page_size": 1000}).json()
    job_list = sorted(found["results"], key=lambda j: j["start_frame"])
    if len(job_list) != jobs:
        raise RuntimeError(f"expected {jobs} jobs, the task has {len(job_list)}")
    run = uuid.uuid4().hex[:4]
    names = [f"ann{i:02d}_{run}" for i in range(jobs)]
    names += [f"maker{i}_{run}" for i in range(CREATORS)]
    create_users(server, names)
    users = {u["username"]: u["id"] for u in admin.get(
        "/api/users", params={"page_size": 1000}).json()["results"]}  # fmt: skip
    people = []
    for name, job in zip(names, job_list, strict=False):
        admin.patch(f"/api/jobs/{job['id']}", json={"assignee": users[name]}).raise_for_status()
        people.append({"name": name, "token": login(server.url, name), "job_id": job["id"],
                       "start": job["start_frame"], "stop": job["stop_frame"]})  # fmt: skip
    for job in job_list:  # warm the chunk cache
        for number in range((job["stop_frame"] - job["start_frame"]) // CHUNK_SIZE + 1):
            admin.get(f"/api/jobs/{job['id']}/data",
                      params={"type": "chunk", "quality": "compressed", "number": number}
                      ).raise_for_status()  # fmt: skip
    makers = [{"name": n, "token": login(server.url, n)} for n in names[jobs:]]
    admin.close()
    return Setup(annotators=people[1:], creators=makers, solo=people[0])


# ---- the runs -----------------------------------------------------------------------


def make_annotator(http: httpx.AsyncClient, person: dict, stats: Stats, seed: int) -> Annotator:
    return Annotator(person["name"], Caller(http, person["token"], stats), person["job_id"],
                     person["start"], person["stop"], rng=random.Random(seed))  # fmt: skip


async def baseline(http: httpx.AsyncClient, person: dict, rounds: int) -> tuple[Stats, Annotator]:
    """One annotator alone: the same requests as under load, back to back."""
    stats = Stats()
    one = make_annotator(http, person, stats, seed=0)
    await one.open()
    count = one.stop - one.start + 1
    for i in range(rounds):
        await one.chunk((i % count) // CHUNK_SIZE)
        await one.frame(one.start + i % count)
        await one.meta()
        await one.save(one.start + i % count)
    return stats, one


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fp:
                fields = fp.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Outcome:
    stats: Stats
    base: Stats
    seconds: float
    client_cpu: float
    server_cpu: float
    problems: list[str]
    requests: int
    saves: int


async def measure(
    url: str, setup: Setup, seconds: float, frame_every: float, save_every: float,
    server_pids,
) -> Outcome:  # fmt: skip
    connections = len(setup.annotators) + CREATORS + 4
    # An idle connection is dropped before uvicorn's 5 s keep-alive timeout closes it
    # (as browsers do): reusing one just as the server closes it fails the request.
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections,
                          keepalive_expiry=3)  # fmt: skip
    uploads = [jpeg(100_000 + i) for i in range(UPLOAD_IMAGES)]
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
        base, solo = await baseline(http, setup.solo, rounds=40)
        stats = Stats()
        people = [make_annotator(http, p, stats, seed=i + 1)
                  for i, p in enumerate(setup.annotators)]  # fmt: skip
        await asyncio.gather(*(a.open() for a in people))
        stats.latencies.pop("open", None)  # opening is setup, not the steady load
        loop = asyncio.get_running_loop()
        cpu_before, server_before = own_cpu(), cpu_seconds(server_pids())
        started = loop.time()
        until = started + seconds
        makers = [creator(Caller(http, c["token"], stats), i, until, uploads)
                  for i, c in enumerate(setup.creators)]  # fmt: skip
        results = await asyncio.gather(
            *(a.work(until, frame_every, save_every) for a in people), *makers,
            return_exceptions=True,
        )  # fmt: skip
        elapsed = loop.time() - started
        client_cpu, server_cpu = own_cpu() - cpu_before, cpu_seconds(server_pids()) - server_before
        problems = [f"annotator stopped: {r!r}" for r in results if isinstance(r, Exception)]
        for one in [solo, *people]:
            problems += await one.verify()
    requests = sum(len(v) for v in stats.latencies.values())
    return Outcome(stats, base, elapsed, client_cpu, server_cpu, problems, requests,
                   sum(a.saves for a in people))  # fmt: skip


def report(name: str, out: Outcome, logs: list[Path], target: float) -> bool:
    s, b = out.stats, out.base
    print(f"\n{name}: {out.saves} saves, {out.requests} requests "
          f"in {out.seconds:.1f} s = {out.requests / out.seconds:.0f} req/s "
          f"(saves {out.saves / out.seconds:.1f}/s)")  # fmt: skip
    print(f"{'class':<14}{'count':>7}{'errors':>7}{'p50':>7}{'p95':>7}{'p99':>7}{'max':>7}"
          f"  baseline p50/p99   p50 x  p99 x  (ms)")  # fmt: skip
    classes = [*ANNOTATOR_CLASSES, "task create", "task upload", "request poll"]
    worst = 0.0
    for kind in classes:
        values = s.latencies.get(kind, [])
        base = b.latencies.get(kind, [])
        p50, p99 = percentile(values, 50), percentile(values, 99)
        if kind in ANNOTATOR_CLASSES and values:
            worst = max(worst, p99)
        p95, top = percentile(values, 95), max(values, default=0)
        line = f"{kind:<14}{len(values):>7}{s.errors.get(kind, 0):>7}"
        line += f"{ms(p50):>7}{ms(p95):>7}{ms(p99):>7}{ms(top):>7}"
        if base:
            bp50, bp99 = percentile(base, 50), percentile(base, 99)
            line += f"   {ms(bp50):>6}/{ms(bp99):<6}      {p50 / bp50:5.1f}  {p99 / bp99:5.1f}"
        print(line)
    if s.creations:
        print(f"task creations: {len(s.creations)}, median {statistics.median(s.creations):.2f} s "
              f"from POST /api/tasks to finished, max {max(s.creations):.2f} s")  # fmt: skip
    errors = sum(s.errors.values()) + sum(b.errors.values())
    print(f"load generator CPU: {out.client_cpu:.1f} s = {out.client_cpu / out.seconds:.0%} of "
          f"one core; server processes: {out.server_cpu:.1f} s = "
          f"{out.server_cpu / out.seconds:.0%} of one core (2 cores in all)")  # fmt: skip
    locked = 0
    for log in logs:
        if log.exists():
            locked += log.read_text(errors="replace").count(LOCKED)
    print(f'"{LOCKED}" in the server logs: {locked}')
    for sample in s.samples + b.samples:
        print(f"  error: {sample}")
    for problem in out.problems[:20]:
        print(f"  MISMATCH: {problem}")
    met = worst <= target and errors == 0
    print(f"target: annotator p99 <= {target * 1000:.0f} ms and 0 errors: "
          f"{'met' if met else 'NOT met'} (worst class p99 {worst * 1000:.0f} ms, {errors} errors; "
          f"load average {os.getloadavg()[0]:.1f})")  # fmt: skip
    ok = not out.problems and locked == 0
    if out.problems:
        print(f"verification: FAILED ({len(out.problems)} problems)")
    else:
        print("verification: every annotator's saved annotations are what the server returns")
    return ok


# ---- the two configurations -------------------------------------------------------------


def run_sqlite(args) -> bool:
    server = Server(OUT / "sqlite", OUT / "share")
    server.start()
    try:
        setup = prepare(server, args.annotators)
        out = asyncio.run(measure(server.url, setup, args.seconds, args.frame_every,
                                  args.save_every, server.tree))  # fmt: skip
    finally:
        server.stop()
    return report("embedded default (SQLite, annotask serve)", out,
                  [server.data_dir / "server.log"], TARGET_P99["sqlite"])  # fmt: skip


def run_scaled(args) -> bool:
    from tests.support.services import (
        REDIS_URL,
        create_pg_database,
        drop_pg_database,
        forget_redis_namespace,
        postgres_available,
        redis_available,
    )

    if not (postgres_available() and redis_available()):
        print("\nPostgreSQL + Redis: skipped (needs PostgreSQL on 127.0.0.1:5432 and Redis on "
              "127.0.0.1:6379)")  # fmt: skip
        return True
    namespace = f"bench-load-{uuid.uuid4().hex[:8]}"
    database = create_pg_database()
    queue = REDIS_URL + "/0"
    settings = {"database_url": database, "queue_url": queue, "cache_url": queue,
                "redis_namespace": namespace, "embedded_worker": "false",
                "web_workers": "2"}  # fmt: skip
    server = Server(OUT / "scaled", OUT / "share", settings=settings)
    workers: list[subprocess.Popen] = []
    logs = [server.data_dir / "server.log"]
    try:
        server.start()
        for i in range(2):
            log = server.data_dir / f"worker{i}.log"
            logs.append(log)
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "annotask", "worker"], env=server.env(),
                stdout=open(log, "ab"), stderr=subprocess.STDOUT))  # noqa: SIM115  # fmt: skip

        def pids() -> list[int]:
            return server.tree() + [p for w in workers for p in process_tree(w.pid)]

        setup = prepare(server, args.annotators)
        out = asyncio.run(measure(server.url, setup, args.seconds, args.frame_every,
                                  args.save_every, pids))  # fmt: skip
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        server.stop()
        drop_pg_database(database)
        forget_redis_namespace(queue, namespace)
    return report("PostgreSQL + Redis, 2 web processes, 2 workers", out, logs,
                  TARGET_P99["scaled"])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=45, help=f"load time (<= {MAX_SECONDS})")
    parser.add_argument("--frame-every", type=float, default=0.7, help="seconds between frames")
    parser.add_argument("--save-every", type=float, default=3.0, help="seconds between saves")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--scaled", action="store_true", help="PostgreSQL + Redis, 2 web, 2 workers")
    which.add_argument("--both", action="store_true", help="the embedded default, then scaled")
    args = parser.parse_args(argv)
    args.seconds = min(args.seconds, MAX_SECONDS)
    print(f"load benchmark: {args.annotators} annotators + {CREATORS} task creators, "
          f"{args.seconds:.0f} s; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    ok = True
    if not args.scaled:
        ok &= run_sqlite(args)
    if args.scaled or args.both:
        ok &= run_scaled(args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
