from pathlib import Path

import pytest
from PIL import Image

from annotask.media import MediaError, probe_image

pdf = pytest.importorskip("annotask.media.pdf", exc_type=ImportError)

from .conftest import pattern  # noqa: E402


@pytest.fixture
def document(tmp_path: Path) -> Path:
    pages = [Image.fromarray(pattern(200, 100 + 20 * i, seed=i)) for i in range(3)]
    path = tmp_path / "report.pdf"
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=72)
    return path


def test_pages_become_jpeg_frames_with_cvat_names(document: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    out.mkdir()
    written = pdf.render_pdf(document, out, dpi=144)
    assert [Path(p).name for p in written] == [f"report{i:09d}.jpeg" for i in range(3)]
    sizes = [(probe_image(p).width, probe_image(p).height) for p in written]
    assert sizes == [(400, 200), (400, 240), (400, 280)]  # 72 dpi pages rendered at 144 dpi


def test_rendering_stops_at_the_stop_frame(document: Path, tmp_path: Path) -> None:
    assert len(pdf.render_pdf(document, tmp_path, stop=1, dpi=72)) == 2


def test_broken_pdf(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4 nothing else")
    with pytest.raises(MediaError, match="broken.pdf"):
        pdf.render_pdf(path, tmp_path)
