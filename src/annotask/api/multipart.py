"""Multipart bodies streamed straight into a staging area.

Starlette's form parser first spools every file to a temporary file (and
refuses more than 1,000 parts by default); the bulk upload then had to copy
each one again. Parsing the stream here writes each file part once, to its
final staging path, whatever the number of parts, with bounded memory.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from email.message import Message
from email.utils import collapse_rfc2231_value
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from annotask.domain.errors import ValidationFailed
from annotask.domain.uploads import StagingArea
from annotask.security.errors import UnsafeInput
from annotask.security.json_input import check_text

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS_BYTES = 1024 * 1024


@dataclass
class ReceivedForm:
    files: list[str] = field(default_factory=list)  # stored names, in arrival order
    fields: dict[str, str] = field(default_factory=dict)  # text parts (repeated names: last)
    field_items: list[tuple[str, str]] = field(default_factory=list)


def _decode_header(raw: bytes) -> str:
    """A part header as text: UTF-8, as browsers, ``requests`` and httpx send file names.

    The HTML form encoding puts the file name's UTF-8 bytes straight into the
    header (``filename="café.jpg"``); RFC 7578 forbids ``filename*``, though a
    client that sends it still gets it decoded by ``email.message``. Bytes that are
    not UTF-8 come from an old client's local code page and are kept as Latin-1.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class _PartWriter:
    """The parser's callbacks: headers of a part, then its bytes to a file or a field."""

    def __init__(self, staging: StagingArea, limit: int) -> None:
        self.staging = staging
        self.limit = limit
        self.form = ReceivedForm()
        self.written: list[Path] = []
        self._header_field = b""
        self._header_value = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._out: BinaryIO | None = None
        self._path: Path | None = None
        self._size = 0
        self._name = ""
        self._text: bytearray | None = None
        self._text_total = 0

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._add("_header_field", data[start:end]),
            "on_header_value": lambda data, start, end: self._add("_header_value", data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _add(self, attr: str, chunk: bytes) -> None:
        setattr(self, attr, getattr(self, attr) + chunk)

    def _part_begin(self) -> None:
        self._headers, self._size = [], 0

    def _header_end(self) -> None:
        self._headers.append((self._header_field.lower(), self._header_value))
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        disposition = _decode_header(dict(self._headers).get(b"content-disposition", b""))
        message = Message()
        message["content-disposition"] = disposition
        name = message.get_param("name", header="content-disposition")
        if isinstance(name, tuple):  # an RFC 2231 name*= parameter
            name = collapse_rfc2231_value(name)
        self._name = name or ""
        filename = message.get_filename()
        if filename is not None:
            self._path = self.staging.new_file(filename)
            self.written.append(self._path)
            self._out = open(self._path, "wb")  # noqa: SIM115 - closed at the part's end
        else:
            self._text = bytearray()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._out is not None:
            self._size += len(chunk)
            if self._size > self.limit:
                name = self._path.name if self._path else "A file"
                raise ValidationFailed(
                    {"client_files": [f"{name} is larger than {self.limit} bytes."]}
                )
            self._out.write(chunk)
        elif self._text is not None:
            self._text_total += len(chunk)
            if (
                len(self._text) + len(chunk) > MAX_FIELD_BYTES
                or self._text_total > MAX_FIELDS_BYTES
            ):
                raise ValidationFailed(f"The form field '{self._name}' is too long.")
            self._text += chunk

    def _part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
            self.form.files.append(self._path.name)  # type: ignore[union-attr]
        elif self._text is not None:
            value = self._text.decode("utf-8", errors="replace")
            try:
                check_text(value, f"The form field '{self._name[:64]}'")
            except UnsafeInput as exc:
                raise ValidationFailed(exc.message) from exc
            self.form.fields[self._name] = value
            self.form.field_items.append((self._name, value))
            self._text = None

    def abort(self) -> None:
        """Remove what this request wrote: a refused upload leaves nothing behind."""
        if self._out is not None:
            # A full disk fails the last flush too: remove the file anyway.
            with contextlib.suppress(OSError):
                self._out.close()
            self._out = None
        for path in self.written:
            path.unlink(missing_ok=True)


async def receive_multipart(request: Request, staging: StagingArea, limit: int) -> ReceivedForm:
    """Store every file part under its safe basename (spec 0.12) and return the text fields."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ValidationFailed("Files must be sent as multipart/form-data with a boundary.")
    staging.ensure()
    writer = _PartWriter(staging, limit)
    parser = MultipartParser(boundary, writer.callbacks())
    try:
        async for chunk in request.stream():
            if chunk:
                # Disk writes happen in the parser's callbacks: keep them off the event loop.
                await run_in_threadpool(parser.write, chunk)
        parser.finalize()
    except BaseException:
        await run_in_threadpool(writer.abort)
        raise
    return writer.form
