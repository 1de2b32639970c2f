"""B1-B6 of the media-pipeline issue: each figure next to its baseline, same run, same files."""

from __future__ import annotations

import io
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import av
import data
import httpx
from harness import PssSampler, Server, create_from_share, drop_page_cache, mib
from PIL import Image


@dataclass
class Result:
    id: str
    what: str
    ours: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None
    notes: list[str] = field(default_factory=list)


def _read_all(paths: list[Path]) -> None:
    for path in paths:
        with open(path, "rb") as fp:
            while fp.read(1 << 20):
                pass


def _pillow_chunks(paths: list[Path], out_dir: Path, chunk_size: int = 36) -> None:
    """The B1/B3 baseline: Pillow open, RGB, JPEG q70 with optimize, into zips, one core."""
    for start in range(0, len(paths), chunk_size):
        with zipfile.ZipFile(out_dir / f"{start}.zip", "w") as archive:
            for index, path in enumerate(paths[start : start + chunk_size]):
                buffer = io.BytesIO()
                Image.open(path).convert("RGB").save(buffer, "JPEG", quality=70, optimize=True)
                archive.writestr(f"{index:06d}.jpg", buffer.getvalue())


# --------------------------------------------------------------------------- B1


def b1_static_chunks(server: Server, client: httpx.Client, count: int) -> Result:
    frames = data.distinct_frames(count)
    share = data.hard_links(frames, count, data.DATA / f"b1_{count}")
    _read_all(share)
    with tempfile.TemporaryDirectory(dir=data.OUT) as scratch:
        started = time.perf_counter()
        _pillow_chunks(share, Path(scratch))
        baseline = time.perf_counter() - started
    with PssSampler(server, interval=0.5) as memory:  # informative here: sample rarely
        _task, ours = create_from_share(client, "b1", [f"b1_{count}/"], use_cache=False)
    ratio = baseline / ours
    return Result(
        "B1",
        f"static chunks (both qualities) for {count} 1080p JPEGs, quality 70, whole creation",
        f"{count / ours:.0f} frames/s ({ours:.1f} s)",
        f"{count / baseline:.0f} frames/s ({baseline:.1f} s)",
        ratio,
        ">= 4x",
        ratio >= 4,
        [f"peak PSS of server + worker during creation: {mib(memory.peak)}"],
    )


# --------------------------------------------------------------------------- B2


def _pillow_sizes(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        with Image.open(path) as image:
            image.size  # noqa: B018 - reading the header is the point
    return time.perf_counter() - started


def b2_on_the_fly_creation(server: Server, client: httpx.Client, count: int) -> list[Result]:
    frames = data.distinct_frames(min(count, 1000))
    name = f"b2_{count}"
    paths = data.copies_with_comment(frames, count, data.DATA / name)
    results = []
    _pillow_sizes(paths)  # warm
    baseline = min(_pillow_sizes(paths) for _ in range(2))
    ours = min(
        create_from_share(client, f"b2 warm {i}", [f"{name}/"], use_cache=True)[1] for i in range(2)
    )
    results.append(
        Result(
            "B2 warm",
            f"on-the-fly creation of a {count}-image task from the share, page cache warm",
            f"{ours:.2f} s ({count / ours:.0f} images/s)",
            f"{baseline:.2f} s",
            baseline / ours,
            ">= 5x",
            baseline / ours >= 5,
        )
    )
    if drop_page_cache():
        baseline = _pillow_sizes(paths)
        drop_page_cache()
        _task, ours = create_from_share(client, "b2 cold", [f"{name}/"], use_cache=True)
        results.append(
            Result(
                "B2 cold",
                "the same after `echo 3 > /proc/sys/vm/drop_caches` (before each side)",
                f"{ours:.2f} s",
                f"{baseline:.2f} s",
                baseline / ours,
                ">= 5x",
                baseline / ours >= 5,
            )
        )
    else:
        results.append(
            Result(
                "B2 cold",
                "cold page cache",
                "-",
                "-",
                None,
                ">= 5x",
                None,
                ["dropping the page cache is not permitted here: not measured"],
            )  # fmt: skip
        )
    return results


# --------------------------------------------------------------------------- B3


def b3_first_chunk_request(
    server: Server, client: httpx.Client, task_id: int, paths: list[Path], samples: int = 3
) -> Result:
    ours, base = [], []
    for chunk in range(1, samples + 1):
        members = paths[chunk * 36 : (chunk + 1) * 36]
        _read_all(members)
        with tempfile.TemporaryDirectory(dir=data.OUT) as scratch:
            started = time.perf_counter()
            _pillow_chunks(members, Path(scratch))
            base.append(time.perf_counter() - started)
        started = time.perf_counter()
        response = client.get(
            f"/api/tasks/{task_id}/data/", params={"type": "chunk", "number": chunk}
        )
        ours.append(time.perf_counter() - started)
        response.raise_for_status()
        assert len(zipfile.ZipFile(io.BytesIO(response.content)).namelist()) == 36
    ours_s, base_s = statistics.median(ours), statistics.median(base)
    return Result(
        "B3",
        "first (uncached) request of a 36-frame 1080p compressed chunk, median of "
        f"{samples}, source files in the page cache",
        f"{ours_s * 1000:.0f} ms",
        f"{base_s * 1000:.0f} ms",
        ours_s / base_s,
        "<= 0.25x",
        ours_s / base_s <= 0.25,
    )


# --------------------------------------------------------------------------- B4

_NGINX_CONF = """
worker_processes auto;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/zip;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {root}/files;
    }}
}}
"""

_WRK_SCRIPT = """
counter = 0
paths = {{{paths}}}
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
"""


def _wrk(url: str, paths: list[str], seconds: int, headers: dict[str, str]) -> tuple[float, float]:
    """(requests/s, MiB/s) from wrk with 16 connections on 2 threads."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT.format(paths=", ".join(f'"{p}"' for p in paths)))
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", script.name]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", output)
    scale = {"B": 2**-20, "KB": 2**-10, "MB": 1, "GB": 2**10}[transfer.group(2)]
    if "Non-2xx" in output:
        raise RuntimeError("wrk saw errors:\n" + output)
    return rate, float(transfer.group(1)) * scale


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (``/proc/PID/stat``)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fp:
                fields = fp.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def b4_cached_chunks(
    server: Server, client: httpx.Client, task_id: int, chunks: int, seconds: int
) -> Result:
    if shutil.which("wrk") is None or shutil.which("nginx") is None:
        missing = [t for t in ("wrk", "nginx") if shutil.which(t) is None]
        return Result("B4", "cached chunks, 16 clients", "-", "-", None, ">= 0.8x", None,
                      [f"skipped: {', '.join(missing)} not installed (apt-get install -y "
                       "nginx wrk)"])  # fmt: skip
    root = data.OUT / "nginx"
    shutil.rmtree(root, ignore_errors=True)
    (root / "files").mkdir(parents=True)
    (root / "tmp").mkdir()
    paths, sizes = [], []
    for number in range(chunks):
        response = client.get(
            f"/api/tasks/{task_id}/data/", params={"type": "chunk", "number": number}
        )
        response.raise_for_status()
        (root / "files" / f"c{number}.zip").write_bytes(response.content)
        sizes.append(len(response.content))
        paths.append(f"/api/tasks/{task_id}/data/?type=chunk&number={number}&quality=compressed")
    port = data_port = _free()
    (root / "nginx.conf").write_text(_NGINX_CONF.format(root=root, port=port))
    nginx = subprocess.Popen(["nginx", "-c", str(root / "nginx.conf"), "-g", "daemon off;"])
    try:
        time.sleep(0.5)
        from harness import process_tree

        ng_pids = process_tree(nginx.pid)
        ng_cpu = _cpu_seconds(ng_pids)
        ng_rate, ng_mib = _wrk(
            f"http://127.0.0.1:{data_port}", [f"/c{n}.zip" for n in range(chunks)], seconds, {}
        )
        ng_cpu = _cpu_seconds(ng_pids) - ng_cpu
    finally:
        nginx.terminate()
        nginx.wait()
    token = client.headers["Authorization"]
    cpu = _cpu_seconds(server.tree())
    ours_rate, ours_mib = _wrk(server.url, paths, seconds, {"Authorization": token})
    cpu = _cpu_seconds(server.tree()) - cpu
    ratio = ours_mib / ng_mib
    per_request = 1000 * cpu / max(1.0, ours_rate * seconds)
    ng_per_request = 1000 * ng_cpu / max(1.0, ng_rate * seconds)
    return Result(
        "B4",
        f"{chunks} cached compressed chunks (~{mib(statistics.mean(sizes))} each) under 16 "
        f"concurrent keep-alive clients (wrk), {seconds} s, loopback",
        f"{ours_rate:.0f} req/s, {ours_mib:.0f} MiB/s",
        f"nginx {ng_rate:.0f} req/s, {ng_mib:.0f} MiB/s",
        ratio,
        ">= 0.8x",
        ratio >= 0.8,
        [
            f"annotask: `annotask serve --workers {os.cpu_count()}` (uvicorn), every request "
            "authenticated (token) and its permission checked (remembered per process for at "
            "most 1 s); nginx: `worker_processes auto`",
            f"CPU per request (user + system, whole process tree): annotask "
            f"{per_request:.2f} ms, nginx {ng_per_request:.2f} ms",
        ],
    )


def _free() -> int:
    from harness import free_port

    return free_port()


# --------------------------------------------------------------------------- B5


def _decode_every_frame(path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    with av.open(str(path)) as container:
        count = sum(1 for _ in container.decode(video=0))
    return count, time.perf_counter() - started


def b5_video_creation(server: Server, client: httpx.Client, seconds: int) -> Result:
    path = data.video(seconds)
    _read_all([path])
    count, baseline = _decode_every_frame(path)
    with PssSampler(server) as memory:
        task_id, ours = create_from_share(
            client, "b5", [path.relative_to(data.DATA).as_posix()], use_cache=True
        )
    size = client.get(f"/api/tasks/{task_id}").json()["size"]
    assert size == count, (size, count)
    ratio = baseline / ours
    return Result(
        "B5",
        f"on-the-fly creation for a {seconds // 60} min {seconds % 60} s 1080p H.264 video "
        f"({count} frames)",
        f"{ours:.2f} s",
        f"PyAV decoding every frame: {baseline:.1f} s",
        ratio,
        ">= 20x",
        ratio >= 20,
        [f"peak PSS during creation: {mib(memory.peak)}"],
    )


# --------------------------------------------------------------------------- B6


def b6_memory(
    server: Server, client: httpx.Client, counts: list[int], video_seconds: int
) -> Result:
    pool = data.distinct_frames(1000)
    peaks = []
    for count in counts:
        name = f"b6_{count}"
        data.hard_links(pool, count, data.DATA / name)
        with PssSampler(server) as memory:
            create_from_share(client, f"b6 {count}", [f"{name}/"], use_cache=True)
        peaks.append((f"{count} images", memory.peak))
    path = data.video(video_seconds)
    with PssSampler(server) as memory:
        create_from_share(
            client, "b6 video", [path.relative_to(data.DATA).as_posix()], use_cache=True
        )
    peaks.append(("video", memory.peak))
    worst = max(peak for _name, peak in peaks)
    spread = max(p for n, p in peaks if "images" in n) - min(p for n, p in peaks if "images" in n)
    return Result(
        "B6",
        "peak PSS summed over server, worker and any pool process while creating (on the fly)",
        ", ".join(f"{name}: {mib(peak)}" for name, peak in peaks),
        "-",
        None,
        "<= 400 MiB and flat",
        worst <= 400 * 2**20 and spread <= 40 * 2**20,
        [f"spread across image counts: {mib(spread)}"],
    )
