"""The C extensions under sanitizers: no undefined behaviour on odd JPEGs, and a short fuzz run.

The first test builds ``_jpeg_requantize.c`` as a Python extension with UBSan (the
system C compiler is enough) and requantizes JPEGs whose 16-bit quantization tables
made the coefficient scaling overflow 32 bits. The second runs ``scripts/fuzz``
(libFuzzer, AddressSanitizer and UBSan on both extensions) for a few seconds; it needs
clang and is skipped with the reason where it is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support.odd_jpegs import write_corpus

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src/annotask/media/_jpeg_requantize.c"

CHECK = """
import importlib.util, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("_jpeg_requantize", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
for path in sorted(Path(sys.argv[2]).iterdir()):
    for quality in (100, 90, 50, 1):
        try:
            module.requantize(path.read_bytes(), quality)
        except ValueError:
            pass  # libjpeg refused the file: a clean error is fine
print("clean")
"""


def _has_jpeglib() -> bool:
    return any(Path(d, "jpeglib.h").exists() for d in ("/usr/include", "/usr/local/include"))


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)")
@pytest.mark.skipif(not _has_jpeglib(), reason="needs libjpeg-turbo headers (libjpeg62-turbo-dev)")
def test_requantize_scaling_cannot_overflow_under_ubsan(tmp_path):
    library = tmp_path / f"_jpeg_requantize{sysconfig.get_config_var('EXT_SUFFIX')}"
    build = subprocess.run(
        [
            "cc",
            "-shared",
            "-fPIC",
            "-O1",
            "-fsanitize=undefined",
            "-fno-sanitize-recover=undefined",
            f"-I{sysconfig.get_paths()['include']}",
            str(SOURCE),
            "-ljpeg",
            "-o",
            str(library),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if build.returncode != 0 and "sanitize" in build.stderr:
        pytest.skip(f"the compiler cannot build with UBSan: {build.stderr[-300:]}")
    assert build.returncode == 0, build.stderr
    corpus = tmp_path / "corpus"
    write_corpus(corpus)
    run = subprocess.run(
        [sys.executable, "-c", CHECK, str(library), str(corpus)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"},
    )
    assert "runtime error" not in run.stderr, run.stderr[-2000:]
    assert run.returncode == 0 and "clean" in run.stdout, run.stderr[-2000:]


def _clang_with_libfuzzer() -> str | None:
    clang = shutil.which("clang") or shutil.which("clang-14")
    if clang is None:
        return "clang is not installed (Debian: apt-get install clang libclang-rt-14-dev)"
    probe = subprocess.run(
        [clang, "-print-file-name=libclang_rt.fuzzer-x86_64.a"], capture_output=True, text=True
    )
    if not Path(probe.stdout.strip()).is_file():
        return "clang's libFuzzer runtime is missing (Debian: libclang-rt-14-dev)"
    return None


@pytest.mark.slow
def test_fuzz_targets_run_clean_for_a_short_while(tmp_path):
    """``scripts/fuzz 20``: both targets, 10 s each, from the generated seed corpus."""
    missing = _clang_with_libfuzzer()
    if missing:
        pytest.skip(missing)
    run = subprocess.run(
        [str(ROOT / "scripts/fuzz"), "20"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        # Its own output directory: another test run may be fuzzing at the same time.
        env={**os.environ, "PYTHON": sys.executable, "FUZZ_OUT": str(tmp_path / "fuzz")},
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert run.stdout.count("number_of_executed_units") == 2, run.stdout
