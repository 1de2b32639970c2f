"""Media generated on the fly: nothing is downloaded, everything is small and fast.

Session-scoped so the whole media suite encodes its images and videos once.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest
import simplejpeg
from PIL import Image

VIDEO_FRAMES = 60
VIDEO_GOP = 10
VIDEO_SIZE = (320, 240)
OPEN_GOP = 12


def pattern(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A photo-like RGB array: smooth gradients plus noise, so JPEG sizes are realistic."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [(x * 255 // max(width - 1, 1)), (y * 255 // max(height - 1, 1)), ((x + y) * 3) % 256],
        axis=-1,
    ).astype(np.int16)
    noise = rng.integers(-20, 21, size=base.shape, dtype=np.int16)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def video_frame_pixels(index: int, width: int, height: int) -> np.ndarray:
    """Frame ``index`` of the test video: a moving block and an index-dependent tint."""
    pixels = pattern(width, height, seed=1000 + index)
    pixels[:, :, 0] = (index * 4) % 256
    top = (index * 3) % (height - 24)
    left = (index * 5) % (width - 24)
    pixels[top : top + 24, left : left + 24] = (255, 255, 255)
    pixels[:16, :16] = (0, 255, 0)  # marks the top-left corner (rotation tests)
    return pixels


def write_video(
    path: Path,
    *,
    frames: int = VIDEO_FRAMES,
    size: tuple[int, int] = VIDEO_SIZE,
    codec: str = "libx264",
    gop: int = VIDEO_GOP,
    rotation: int | None = None,
    faststart: bool = False,
    open_gop: bool = False,
) -> Path:
    width, height = size
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            # Fixed GOP with B-frames: packets come out of order (decode != display).
            # An open GOP even puts each I-frame's packet before frames shown earlier.
            params = f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={3 if open_gop else 2}"
            if open_gop:
                params += ":open-gop=1:b-pyramid=0"
            stream.options = {"preset": "veryfast", "x264-params": params}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(video_frame_pixels(index, width, height), "rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@dataclass(frozen=True)
class ImageSet:
    root: Path
    jpeg_q50: Path
    jpeg_q95: Path
    jpeg_small_q30: Path
    jpeg_simplejpeg_q60: Path
    jpeg_progressive_q40: Path
    jpeg_rotated6_q40: Path
    jpeg_gray_q50: Path
    jpeg_cmyk: Path
    png_rgb: Path
    png_rgba: Path
    png_gray16: Path
    png_gray: Path
    tiff_rgb: Path
    tiff_rotated6: Path
    tiff_int32: Path
    tiff_float: Path
    webp: Path
    gif: Path
    corrupt: Path
    not_an_image: Path


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> ImageSet:
    root = tmp_path_factory.mktemp("images")
    rgb = pattern(640, 480)

    def save(name: str, image: Image.Image, **params: object) -> Path:
        path = root / name
        image.save(path, **params)
        return path

    rotated = Image.Exif()
    rotated[0x0112] = 6
    gray16 = (np.add.outer(np.arange(120), np.arange(160)) * 7 + 20_000).astype(np.uint16)
    gif_frames = [Image.fromarray(pattern(80, 60, seed=s)).convert("P") for s in (1, 2)]
    gif = root / "anim.gif"
    gif_frames[0].save(gif, save_all=True, append_images=gif_frames[1:], duration=100)
    simple = root / "simple_q60.jpg"
    simple.write_bytes(simplejpeg.encode_jpeg(rgb, 60))
    corrupt = root / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    not_an_image = root / "notes.png"
    not_an_image.write_text("this is not a PNG")
    return ImageSet(
        root=root,
        jpeg_q50=save("q50.jpg", Image.fromarray(rgb), quality=50),
        jpeg_q95=save("q95.jpg", Image.fromarray(rgb), quality=95),
        jpeg_small_q30=save("small.jpeg", Image.fromarray(pattern(320, 200, 3)), quality=30),
        jpeg_simplejpeg_q60=simple,
        jpeg_progressive_q40=save(
            "progressive.jpg", Image.fromarray(rgb), quality=40, progressive=True
        ),
        jpeg_rotated6_q40=save(
            "rotated.jpg", Image.fromarray(pattern(400, 300, 4)), quality=40, exif=rotated
        ),
        jpeg_gray_q50=save("gray.jpg", Image.fromarray(rgb[:, :, 1]), quality=50),
        jpeg_cmyk=save("cmyk.jpg", Image.fromarray(rgb).convert("CMYK"), quality=50),
        png_rgb=save("rgb.png", Image.fromarray(rgb)),
        png_rgba=save("rgba.png", Image.fromarray(rgb).convert("RGBA")),
        png_gray16=save("gray16.png", Image.fromarray(gray16)),
        png_gray=save("gray.png", Image.fromarray(rgb[:, :, 0])),
        tiff_rgb=save("rgb.tif", Image.fromarray(rgb)),
        tiff_rotated6=save("rotated.tiff", Image.fromarray(pattern(400, 300, 5)), exif=rotated),
        tiff_int32=save("int32.tif", Image.fromarray(gray16.astype(np.int32) * 3)),
        tiff_float=save("float.tif", Image.fromarray(gray16.astype(np.float32) / 65535)),
        webp=save("photo.webp", Image.fromarray(rgb), quality=80),
        gif=gif,
        corrupt=corrupt,
        not_an_image=not_an_image,
    )


@dataclass(frozen=True)
class VideoSet:
    h264: Path
    truncated: Path
    truncated_faststart: Path
    rotated: Path
    mpeg4_avi: Path
    open_gop: Path


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> VideoSet:
    root = tmp_path_factory.mktemp("videos")
    h264 = write_video(root / "clip.mp4")
    faststart = write_video(root / "faststart.mp4", faststart=True)
    truncated = root / "truncated.mp4"  # index (moov) at the end: cut off entirely
    truncated.write_bytes(h264.read_bytes()[: h264.stat().st_size // 2])
    truncated_faststart = root / "truncated_faststart.mp4"  # index intact, data cut
    truncated_faststart.write_bytes(faststart.read_bytes()[: faststart.stat().st_size // 2])
    return VideoSet(
        h264=h264,
        truncated=truncated,
        truncated_faststart=truncated_faststart,
        rotated=write_video(root / "portrait.mp4", rotation=90, frames=12),
        mpeg4_avi=write_video(root / "clip.avi", codec="mpeg4", frames=30),
        open_gop=write_video(root / "open_gop.mp4", gop=OPEN_GOP, open_gop=True),
    )


@pytest.fixture
def video_copy(videos: VideoSet, tmp_path: Path) -> Path:
    """A private copy of the H.264 clip that a test may damage."""
    return Path(shutil.copy(videos.h264, tmp_path / "copy.mp4"))


def decode_all(path: Path) -> list[np.ndarray]:
    """Reference decode of every frame, straight from PyAV, in output order."""
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
