"""Annotation file formats: CVAT XML 1.1 and COCO 1.0, and the registry of format names.

Formats read from and write to binary file objects and never touch media or
storage; the caller passes the frames (``FrameInfo``) and the label set.
"""

from annotask.formats.common import FormatError, FrameInfo

__all__ = ["FormatError", "FrameInfo"]
