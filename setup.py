"""Build the optional C extension; everything else is declared in pyproject.toml.

``annotask.media._jpeg_requantize`` links the system libjpeg-turbo (Debian:
``libjpeg62-turbo-dev``). It is optional: where the headers or a compiler are
missing, the install still succeeds and compressed chunks are made through
pixels instead (``annotask check`` says which path is in use).
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
        )
    ]
)
