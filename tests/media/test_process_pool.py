"""Writers are plain functions of paths: they must work from a process pool."""

import zipfile
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

from annotask.media import (
    probe_video,
    write_compressed_image_chunk,
    write_video_file_chunk,
)

from .conftest import ImageSet, VideoSet


def test_chunk_writers_run_in_a_process_pool(
    images: ImageSet, videos: VideoSet, tmp_path: Path
) -> None:
    keyframes = probe_video(videos.h264).keyframes
    video_chunk = partial(
        write_video_file_chunk, videos.h264, start=36, stop=59, quality=70, keyframes=keyframes
    )
    with ProcessPoolExecutor(max_workers=2) as pool:
        image_jobs = [
            pool.submit(
                write_compressed_image_chunk,
                [str(images.png_rgb), str(images.jpeg_q50)],
                str(tmp_path / "0.zip"),
                70,
            ),
            pool.submit(write_compressed_image_chunk, [images.tiff_rgb], tmp_path / "1.zip", 70),
        ]
        mp4 = pool.submit(video_chunk, tmp_path / "1.mp4")
        frames_zip = pool.submit(video_chunk, tmp_path / "1-frames.zip", zip_frames=True)
        assert [job.result() for job in image_jobs] == [2, 1]
        assert mp4.result() == 24 and frames_zip.result() == 24
    with zipfile.ZipFile(tmp_path / "0.zip") as archive:
        assert archive.namelist() == ["000000.jpeg", "000001.jpeg"]
    assert probe_video(tmp_path / "1.mp4").frame_count == 24
