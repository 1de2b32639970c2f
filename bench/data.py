"""Benchmark data, generated here and cached under ``bench/out/data`` (git-ignored).

Frames are 1920x1080 JPEGs at quality 90 cut from the natural photos scikit-image
ships inside its wheel (nothing is downloaded), scaled, flipped and tinted so that
no two frames are alike, plus a little sensor-like noise. The video is a slow pan
and zoom over the same photos, encoded once with PyAV (libx264, fast preset).
"""

from __future__ import annotations

import io
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parent / "out"
DATA = OUT / "data"
WIDTH, HEIGHT = 1920, 1080
JPEG_QUALITY = 90
NOISE_SIGMA = 3.0
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina",
          "motorcycle_left", "immunohistochemistry")  # fmt: skip


def _photos() -> list[np.ndarray]:
    try:
        import skimage.data as sk
    except ImportError as exc:  # pragma: no cover - explained to the user
        raise SystemExit(
            "The benchmarks need scikit-image for its bundled photos: "
            ".venv/bin/pip install scikit-image"
        ) from exc
    photos = []
    for name in PHOTOS:
        loader = getattr(sk, name, None)
        if loader is None:
            continue
        try:
            pixels = np.asarray(loader())
        except Exception:  # a photo that would have to be downloaded: skip it
            continue
        if pixels.ndim == 3 and pixels.shape[2] >= 3:
            photos.append(np.ascontiguousarray(pixels[:, :, :3]))
    if not photos:
        raise SystemExit("scikit-image ships none of the expected photos")
    return photos


_PHOTO_CACHE: list[np.ndarray] = []


def frame_pixels(index: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """Frame ``index``: a random 16:9 crop of one photo, scaled, flipped, tinted, noisy."""
    if not _PHOTO_CACHE:
        _PHOTO_CACHE.extend(_photos())
    rng = np.random.default_rng(index)
    photo = _PHOTO_CACHE[index % len(_PHOTO_CACHE)]
    h, w = photo.shape[:2]
    crop_w = int(min(w, h * 16 / 9) * rng.uniform(0.6, 1.0))
    crop_h = max(1, crop_w * 9 // 16)
    left = int(rng.integers(0, w - crop_w + 1))
    top = int(rng.integers(0, h - crop_h + 1))
    image = Image.fromarray(photo[top : top + crop_h, left : left + crop_w])
    image = image.resize((width, height), Image.Resampling.BICUBIC)
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    pixels = np.asarray(image).astype(np.float32)
    pixels *= rng.uniform(0.85, 1.15, size=3).astype(np.float32)
    pixels += rng.normal(0, NOISE_SIGMA, size=pixels.shape).astype(np.float32)
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _write_frame(args: tuple[int, str]) -> None:
    index, path = args
    buffer = io.BytesIO()
    Image.fromarray(frame_pixels(index)).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    tmp = f"{path}.tmp"
    Path(tmp).write_bytes(buffer.getvalue())
    os.replace(tmp, path)


def distinct_frames(count: int) -> list[Path]:
    """``count`` distinct 1080p JPEGs (q90), generated once in parallel and cached."""
    directory = DATA / "frames"
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"frame_{i:05d}.jpg" for i in range(count)]
    missing = [(i, str(p)) for i, p in enumerate(paths) if not p.exists()]
    if missing:
        started = time.monotonic()
        print(f"  generating {len(missing)} 1080p photos...", flush=True)
        with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
            list(pool.map(_write_frame, missing, chunksize=8))
        print(f"  ...done in {time.monotonic() - started:.0f} s", flush=True)
    return paths


def copies_with_comment(sources: list[Path], count: int, directory: Path) -> list[Path]:
    """``count`` files that are all different (own inode, own bytes): a source JPEG
    with a COM segment naming the copy, right after SOI. Decodes like its source."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"img_{i:05d}.jpg" for i in range(count)]
    for index, path in enumerate(paths):
        if path.exists():
            continue
        data = sources[index % len(sources)].read_bytes()
        comment = f"copy {index}".encode()
        segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        path.write_bytes(data[:2] + segment + data[2:])
    return paths


def hard_links(sources: list[Path], count: int, directory: Path) -> list[Path]:
    """``count`` names for a pool of files (hard links): for memory tests of huge tasks."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"img_{i:05d}.jpg" for i in range(count)]
    for index, path in enumerate(paths):
        if not path.exists():
            os.link(sources[index % len(sources)], path)
    return paths


def video(seconds: int, fps: int = 25) -> Path:
    """A 1080p H.264 mp4 of ``seconds`` (pan and zoom over the photos), cached."""
    import av

    path = DATA / f"video_{seconds}s.mp4"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"  encoding a {seconds} s 1080p H.264 video (once)...", flush=True)
    photos = [
        np.asarray(Image.fromarray(p).resize((WIDTH * 5 // 4, HEIGHT * 5 // 4))) for p in _photos()
    ]
    tmp = path.with_suffix(".tmp.mp4")
    rng = np.random.default_rng(7)
    noise = rng.normal(0, NOISE_SIGMA, size=(8, HEIGHT, WIDTH, 3)).astype(np.int16)
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23", "g": str(fps * 2)}
        scene_frames = fps * 6
        for index in range(seconds * fps):
            photo = photos[(index // scene_frames) % len(photos)]
            t = (index % scene_frames) / scene_frames
            top = int((photo.shape[0] - HEIGHT) * t)
            left = int((photo.shape[1] - WIDTH) * (1 - t))
            pixels = photo[top : top + HEIGHT, left : left + WIDTH].astype(np.int16)
            pixels = np.clip(pixels + noise[index % len(noise)], 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    os.replace(tmp, path)
    print(f"  ...done in {time.monotonic() - started:.0f} s", flush=True)
    return path


def clean_dir(directory: Path) -> Path:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory
