"""Real media made on the spot: images with distinct sizes, videos, broken files."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image


def image_bytes(width: int, height: int, fmt: str = "JPEG", seed: int = 0, **save) -> bytes:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, width * height * 3).reshape(height, width, 3)
    noise = rng.integers(0, 40, (height, width, 3))
    pixels = ((base + noise) % 256).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def write_image(path: Path, width: int, height: int, fmt: str | None = None, seed: int = 0) -> Path:
    fmt = fmt or {".png": "PNG", ".bmp": "BMP"}.get(path.suffix.lower(), "JPEG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(image_bytes(width, height, fmt, seed))
    return path


def write_images(directory: Path, names: list[str], base: tuple[int, int] = (40, 30)) -> list[Path]:
    """Images whose sizes differ by position, so order checks mean something."""
    return [
        write_image(directory / name, base[0] + i, base[1] + i, seed=i)
        for i, name in enumerate(names)
    ]


def write_video(
    path: Path, frames: int = 30, size: tuple[int, int] = (64, 48), gop: int = 10
) -> Path:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        for index in range(frames):
            pixels = np.full((size[1], size[0], 3), (index * 8) % 256, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_garbage(path: Path, size: int = 2048) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path
