import pytest

from annotask.media import MediaError, frame_range, parse_frame_filter


@pytest.mark.parametrize(
    ("text", "step"),
    [
        (None, 1),
        ("", 1),
        ("step=5", 5),
        ("step = 12", 12),
        ("  step=3 other=1", 3),
        ("x step=7", 7),
    ],
)
def test_parse_frame_filter(text: str | None, step: int) -> None:
    assert parse_frame_filter(text) == step


@pytest.mark.parametrize("text", ["step=0", "step=-2", "stride=2", "step=", "5"])
def test_invalid_frame_filter(text: str) -> None:
    with pytest.raises(MediaError, match="Invalid frame filter expression"):
        parse_frame_filter(text)


def test_spec_example() -> None:
    kept = frame_range(100, start=10, stop=52, step=5)
    assert list(kept) == [10, 15, 20, 25, 30, 35, 40, 45, 50]
    assert len(kept) == 9
    assert kept[-1] == 50  # the stored stop frame
    assert kept[3] == 25 and kept.index(25) == 3  # relative <-> absolute


def test_step_over_a_hundred_frames_starts_at_zero() -> None:
    assert list(frame_range(100, step=25)) == [0, 25, 50, 75]


@pytest.mark.parametrize("stop", [None, 0])
def test_stop_zero_or_none_means_to_the_end(stop: int | None) -> None:
    assert frame_range(10, start=3, stop=stop) == range(3, 10)


def test_stop_beyond_the_end_is_clipped() -> None:
    assert frame_range(10, stop=500) == range(0, 10)


def test_start_after_stop() -> None:
    with pytest.raises(MediaError, match="Stop frame must be more or equal start frame"):
        frame_range(100, start=20, stop=10)


def test_start_beyond_the_last_frame_is_a_friendly_error() -> None:
    with pytest.raises(
        MediaError, match=r"Start frame 10 is beyond the last frame of the data \(9"
    ):
        frame_range(10, start=10)


@pytest.mark.parametrize(("count", "start", "step"), [(0, 0, 1), (5, -1, 1), (5, 0, 0)])
def test_other_invalid_ranges(count: int, start: int, step: int) -> None:
    with pytest.raises(MediaError):
        frame_range(count, start=start, step=step)
