"""The pure media layer: bytes and files in; frames, chunks and metadata out.

Nothing here knows about HTTP, the database or storage backends, so every function
can run in a worker process (``concurrent.futures.ProcessPoolExecutor``) and be
benchmarked alone. Writers take paths and write files; errors about the user's data
are :class:`MediaError` with a message fit to show the user.

Public API
    Detection     :func:`media_kind`, :func:`classify_media` -> :class:`MediaSelection`
    Images        :func:`probe_image` -> :class:`ImageInfo`, :func:`probe_size`,
                  :func:`probe_sizes`, :func:`load_rgb`, :func:`load_image`,
                  :func:`encode_jpeg`, :func:`estimate_quality`, :func:`set_pixel_limit`
    Image chunks  :func:`write_compressed_image_chunk`, :func:`write_original_image_chunk`,
                  :func:`encode_frame_jpeg`, :func:`original_frame_bytes`,
                  :func:`can_pass_through`, :func:`write_point_cloud_chunk`,
                  :func:`write_context_image_chunk`, :func:`context_image_names`
    Parallelism   :func:`ordered_map` (threads; the codecs release the GIL)
    Video         :func:`probe_video` -> :class:`VideoInfo`, :func:`iter_frames`,
                  :func:`frame_to_ndarray`, :func:`frame_to_image`
    Video chunks  :func:`write_video_file_chunk` (path in, file out), :func:`write_video_chunk`,
                  :func:`write_video_frames_zip_chunk`,
                  :func:`quality_to_crf`, :func:`select_encoder`
    Manifest      :func:`write_image_manifest`, :func:`write_video_manifest`,
                  :func:`open_manifest`, :func:`iter_image_entries`,
                  :func:`iter_video_keyframes`, :func:`validate_manifest`,
                  :func:`restore_order_from_manifest`, :func:`check_manifest_mapping`
    Task frames   :func:`parse_frame_filter`, :func:`frame_range`,
                  :func:`image_chunk_size`, :func:`video_chunk_size`, :func:`sort_files`
    Point clouds  :func:`read_pcd_header` -> :class:`PcdHeader`, :func:`probe_point_cloud`,
                  :func:`convert_kitti_bin`, :func:`pcd_name_for_bin`,
                  :func:`match_point_cloud_context` (3D context-image layouts)
    Previews      :func:`make_preview`, :func:`point_cloud_preview`
    PDF           ``annotask.media.pdf.render_pdf`` (needs the optional pypdfium2)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Light modules, and names that are also submodules' names (``frame_range``): once a
# submodule is imported Python sets the package attribute of its name to the module,
# so such a name must be bound here, after that import, never left to ``__getattr__``.
from .errors import MediaError
from .frame_range import frame_range, parse_frame_filter
from .pixel_limit import set_pixel_limit

# Each name is imported from its module on first use (PEP 562), so importing one
# small module (``annotask.media.errors``) or this package does not load Pillow,
# NumPy, PyAV and the codecs: a web process that never touches media stays lean.
_MODULE_OF = {
    "image_chunk_size": "chunk_size",
    "video_chunk_size": "chunk_size",
    "can_pass_through": "chunks",
    "context_image_names": "chunks",
    "encode_frame_jpeg": "chunks",
    "original_frame_bytes": "chunks",
    "write_compressed_image_chunk": "chunks",
    "write_context_image_chunk": "chunks",
    "write_original_image_chunk": "chunks",
    "write_point_cloud_chunk": "chunks",
    "MediaError": "errors",
    "frame_range": "frame_range",
    "parse_frame_filter": "frame_range",
    "ImageInfo": "images",
    "ImageSource": "images",
    "encode_jpeg": "images",
    "load_image": "images",
    "load_rgb": "images",
    "probe_image": "images",
    "probe_size": "images",
    "probe_sizes": "images",
    "set_pixel_limit": "pixel_limit",
    "estimate_quality": "jpeg",
    "MediaKind": "kinds",
    "MediaSelection": "kinds",
    "classify_media": "kinds",
    "match_point_cloud_context": "kinds",
    "media_kind": "kinds",
    "ImageEntry": "manifest",
    "ManifestHeader": "manifest",
    "ManifestType": "manifest",
    "VideoProperties": "manifest",
    "check_manifest_mapping": "manifest",
    "image_entry_for": "manifest",
    "iter_image_entries": "manifest",
    "iter_video_keyframes": "manifest",
    "open_manifest": "manifest",
    "restore_order_from_manifest": "manifest",
    "validate_manifest": "manifest",
    "write_image_manifest": "manifest",
    "write_video_manifest": "manifest",
    "ordered_map": "parallel",
    "PcdHeader": "point_cloud",
    "convert_kitti_bin": "point_cloud",
    "pcd_name_for_bin": "point_cloud",
    "probe_point_cloud": "point_cloud",
    "read_pcd_header": "point_cloud",
    "make_preview": "preview",
    "point_cloud_preview": "preview",
    "SortingMethod": "sorting",
    "sort_files": "sorting",
    "Keyframe": "video",
    "VideoInfo": "video",
    "frame_to_image": "video",
    "frame_to_ndarray": "video",
    "iter_frames": "video",
    "probe_video": "video",
    "ORIGINAL_VIDEO_QUALITY": "video_chunks",
    "quality_to_crf": "video_chunks",
    "select_encoder": "video_chunks",
    "write_video_chunk": "video_chunks",
    "write_video_file_chunk": "video_chunks",
    "write_video_frames_zip_chunk": "video_chunks",
}

if TYPE_CHECKING:
    from .chunk_size import image_chunk_size, video_chunk_size
    from .chunks import (
        can_pass_through,
        context_image_names,
        encode_frame_jpeg,
        original_frame_bytes,
        write_compressed_image_chunk,
        write_context_image_chunk,
        write_original_image_chunk,
        write_point_cloud_chunk,
    )
    from .errors import MediaError
    from .frame_range import frame_range, parse_frame_filter
    from .images import (
        ImageInfo,
        ImageSource,
        encode_jpeg,
        load_image,
        load_rgb,
        probe_image,
        probe_size,
        probe_sizes,
        set_pixel_limit,
    )
    from .jpeg import estimate_quality
    from .kinds import (
        MediaKind,
        MediaSelection,
        classify_media,
        match_point_cloud_context,
        media_kind,
    )
    from .manifest import (
        ImageEntry,
        ManifestHeader,
        ManifestType,
        VideoProperties,
        check_manifest_mapping,
        image_entry_for,
        iter_image_entries,
        iter_video_keyframes,
        open_manifest,
        restore_order_from_manifest,
        validate_manifest,
        write_image_manifest,
        write_video_manifest,
    )
    from .parallel import ordered_map
    from .point_cloud import (
        PcdHeader,
        convert_kitti_bin,
        pcd_name_for_bin,
        probe_point_cloud,
        read_pcd_header,
    )
    from .preview import make_preview, point_cloud_preview
    from .sorting import SortingMethod, sort_files
    from .video import (
        Keyframe,
        VideoInfo,
        frame_to_image,
        frame_to_ndarray,
        iter_frames,
        probe_video,
    )
    from .video_chunks import (
        ORIGINAL_VIDEO_QUALITY,
        quality_to_crf,
        select_encoder,
        write_video_chunk,
        write_video_file_chunk,
        write_video_frames_zip_chunk,
    )


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "ORIGINAL_VIDEO_QUALITY",
    "ImageEntry",
    "ImageInfo",
    "ImageSource",
    "Keyframe",
    "ManifestHeader",
    "ManifestType",
    "MediaError",
    "MediaKind",
    "MediaSelection",
    "PcdHeader",
    "SortingMethod",
    "VideoInfo",
    "VideoProperties",
    "can_pass_through",
    "check_manifest_mapping",
    "context_image_names",
    "classify_media",
    "convert_kitti_bin",
    "encode_frame_jpeg",
    "encode_jpeg",
    "estimate_quality",
    "frame_range",
    "frame_to_image",
    "frame_to_ndarray",
    "image_chunk_size",
    "image_entry_for",
    "iter_frames",
    "iter_image_entries",
    "iter_video_keyframes",
    "load_image",
    "load_rgb",
    "make_preview",
    "match_point_cloud_context",
    "media_kind",
    "open_manifest",
    "ordered_map",
    "original_frame_bytes",
    "parse_frame_filter",
    "pcd_name_for_bin",
    "point_cloud_preview",
    "probe_image",
    "probe_point_cloud",
    "probe_size",
    "probe_sizes",
    "probe_video",
    "quality_to_crf",
    "read_pcd_header",
    "restore_order_from_manifest",
    "select_encoder",
    "set_pixel_limit",
    "sort_files",
    "validate_manifest",
    "video_chunk_size",
    "write_compressed_image_chunk",
    "write_context_image_chunk",
    "write_image_manifest",
    "write_original_image_chunk",
    "write_point_cloud_chunk",
    "write_video_chunk",
    "write_video_file_chunk",
    "write_video_frames_zip_chunk",
    "write_video_manifest",
]
