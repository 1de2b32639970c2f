"""Spec 5.4 S4: the SDK creates tasks from remote URLs and from the share."""

from __future__ import annotations

from cvat_sdk.core.proxies.tasks import ResourceType

from tests.support.cvat import sdk_client
from tests.support.media import write_images


def test_s4_remote_and_share(server, remote_base):
    write_images(server.share_root / "sdk-sub", ["s0.png", "s1.png", "s2.png"])
    with sdk_client(server) as client:
        remote = client.tasks.create_from_data(
            spec={"name": "sdk-remote", "labels": [{"name": "a"}]},
            resource_type=ResourceType.REMOTE,
            resources=[f"{remote_base}/x.jpg", f"{remote_base}/y.jpg"],
        )
        assert remote.size == 2
        assert [f.name for f in remote.get_meta().frames] == ["x.jpg", "y.jpg"]
        shared = client.tasks.create_from_data(
            spec={"name": "sdk-share", "labels": [{"name": "a"}]},
            resource_type=ResourceType.SHARE,
            resources=["sdk-sub/"],
        )
        assert shared.size == 3
        assert shared.get_meta().frames[0].name == "sdk-sub/s0.png"
