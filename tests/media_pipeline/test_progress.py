"""Progress and messages while creating (issue 8)."""

from __future__ import annotations

import os
import time

from .conftest import jpeg
from .helpers import new_task


def test_a_500_frame_task_reports_increasing_progress(client, sqlite_server):
    pool = [jpeg(960, 540, seed=s) for s in range(4)]
    directory = sqlite_server.share_root / "progress500"
    directory.mkdir()
    originals = []
    for index, payload in enumerate(pool):
        path = directory / f"pool{index}.bin"
        path.write_bytes(payload)
        originals.append(path)
    for index in range(500):
        os.link(originals[index % len(pool)], directory / f"f{index:03d}.jpg")
    task_id = new_task(client)
    response = client.post(
        f"/api/tasks/{task_id}/data/",
        json={
            "image_quality": 50,
            "server_files": [f"progress500/f{i:03d}.jpg" for i in range(500)],
        },
    )
    assert response.status_code == 202, response.text
    rq_id = response.json()["rq_id"]
    seen: list[tuple[float, str]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = client.get(f"/api/requests/{rq_id}").json()
        if body["status"] == "started" and (not seen or seen[-1][0] != body["progress"]):
            seen.append((body["progress"], body["message"]))
        if body["status"] in ("finished", "failed"):
            break
        time.sleep(0.02)
    assert body["status"] == "finished", body
    values = [value for value, _message in seen]
    assert values == sorted(values) and len(set(values)) >= 3, seen
    assert all(0 <= value <= 1 for value in values)
    assert any("chunks" in message for _value, message in seen), seen
    assert client.get(f"/api/tasks/{task_id}").json()["size"] == 500
