import pytest

from annotask.media import image_chunk_size, video_chunk_size


@pytest.mark.parametrize(
    ("size", "chunk"),
    [
        ((1920, 1080), 36),
        ((3840, 2160), 9),
        ((1280, 720), 72),
        ((640, 480), 72),
        ((7680, 4320), 2),
        ((20000, 20000), 2),
        ((2560, 1440), 20),
        ((0, 0), 72),
    ],
)
def test_image_chunk_size(size: tuple[int, int], chunk: int) -> None:
    assert image_chunk_size(*size) == chunk


def test_video_chunk_size() -> None:
    assert video_chunk_size() == 36
