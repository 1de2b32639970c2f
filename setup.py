"""Build the optional C extensions; everything else is declared in pyproject.toml.

``annotask.media._jpeg_requantize`` links the system libjpeg-turbo (Debian:
``libjpeg62-turbo-dev``); ``annotask.media._jpeg_headers`` needs only a compiler.
Both are optional: where the headers or a compiler are missing, the install
still succeeds and the same results come from Python code (compressed chunks
through pixels, frame sizes from a Python marker walk); ``annotask check`` says
which paths are in use.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "annotask.media._jpeg_requantize",
            ["src/annotask/media/_jpeg_requantize.c"],
            libraries=["jpeg"],
            extra_compile_args=["-O3"],
            optional=True,
        ),
        Extension(
            "annotask.media._jpeg_headers",
            ["src/annotask/media/_jpeg_headers.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
    ]
)
