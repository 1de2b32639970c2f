"""Small real media made on the spot, and a client on the SQLite server.

Everything is tiny (tens of pixels, tens of frames) so that the whole folder
runs in well under two minutes on every backend.
"""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
from PIL import Image

from tests.support.server import ADMIN


def pixels(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Photo-like content: gradients plus noise, different for every seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y + seed * 13) % 256], -1
    )
    noise = rng.integers(-25, 26, size=base.shape)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def jpeg(
    width: int, height: int, seed: int = 0, quality: int = 95, orientation: int | None = None
) -> bytes:
    buffer = io.BytesIO()
    params: dict = {"quality": quality}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        params["exif"] = exif
    Image.fromarray(pixels(width, height, seed)).save(buffer, "JPEG", **params)
    return buffer.getvalue()


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def images(count: int, base: tuple[int, int] = (48, 32), prefix: str = "img") -> dict[str, bytes]:
    """``count`` JPEGs ``img00.jpg``... whose sizes grow with their index."""
    return {f"{prefix}{i:02d}.jpg": jpeg(base[0] + i, base[1] + i, seed=i) for i in range(count)}


def video(frames: int = 40, size: tuple[int, int] = (64, 48), gop: int = 10) -> bytes:
    """An H.264 mp4 whose frame ``i`` has a red level of ``i * 6`` (so frames are tellable)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {
            "preset": "ultrafast",
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0",
        }
        for index in range(frames):
            array = np.zeros((size[1], size[0], 3), np.uint8)
            array[:, :, 0] = index * 6
            container.mux(stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def red_level(image: Image.Image) -> float:
    return float(np.asarray(image.convert("RGB"))[:, :, 0].mean())


@pytest.fixture(scope="session")
def small_video() -> bytes:
    return video()


@pytest.fixture
def client(sqlite_server):
    http = sqlite_server.client(ADMIN)
    yield http
    http.close()
