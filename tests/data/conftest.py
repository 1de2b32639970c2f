import pytest

from tests.support.media import write_images
from tests.support.static_http import serve_directory


@pytest.fixture(scope="session")
def abc_images(tmp_path_factory):
    """a.jpg, b.jpg, c.jpg of sizes 40x30, 41x31, 42x32."""
    return write_images(tmp_path_factory.mktemp("abc"), ["a.jpg", "b.jpg", "c.jpg"])


@pytest.fixture(scope="session")
def remote_base(tmp_path_factory):
    directory = tmp_path_factory.mktemp("remote")
    write_images(directory, ["x.jpg", "y.jpg"], base=(50, 40))
    with serve_directory(directory) as url:
        yield url
