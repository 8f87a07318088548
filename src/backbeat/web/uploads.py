"""Streaming multipart upload to a temporary file with a size cap (HTTP 413 beyond it).

The request body is parsed as it arrives (never held in memory); the part
named ``file`` is written to a temporary file in the target directory, and
the upload is aborted as soon as it exceeds the limit.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from fastapi import HTTPException, Request
from python_multipart.multipart import MultipartParser, parse_options_header

#: Allowance for multipart headers and boundaries on top of the file size limit.
ENVELOPE_BYTES = 64 * 1024


@dataclass(frozen=True)
class UploadedFile:
    """A received upload: the temporary file and the client's file name."""

    path: Path
    filename: str
    size_bytes: int


class _TooLarge(Exception):
    pass


class _PartState:
    """Parser callbacks: collect part headers, write the ``file`` part, enforce the cap."""

    def __init__(self, out: BinaryIO, max_bytes: int) -> None:
        self.out = out
        self.max_bytes = max_bytes
        self.headers: dict[bytes, bytes] = {}
        self.hname = b""
        self.in_file = False
        self.found = False
        self.filename = ""
        self.size = 0

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.hname += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        name = self.hname.lower()
        self.headers[name] = self.headers.get(name, b"") + data[start:end]

    def on_header_end(self) -> None:
        self.hname = b""

    def on_headers_finished(self) -> None:
        _, disp = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.in_file = disp.get(b"name") == b"file" and not self.found
        if self.in_file:
            self.found = True
            self.filename = disp.get(b"filename", b"upload").decode("utf-8", "replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self.in_file:
            return
        self.size += end - start
        if self.size > self.max_bytes:
            raise _TooLarge
        self.out.write(data[start:end])

    def on_part_end(self) -> None:
        self.in_file = False
        self.headers = {}


async def receive_upload(request: Request, *, tmp_dir: Path, max_bytes: int) -> UploadedFile:
    """Stream the ``file`` part of a multipart request into ``tmp_dir``.

    Raises
    ------
    HTTPException
        413 when the body exceeds ``max_bytes``, 400 when it is not
        multipart or has no ``file`` part, 411 never (chunked bodies are fine).
    """
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise HTTPException(400, "upload must be multipart/form-data with a 'file' field")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + ENVELOPE_BYTES:
        raise HTTPException(413, f"file too large: {int(declared)} bytes; the limit is {max_bytes} bytes "
                                 f"({max_bytes / 1e6:.0f} MB)")
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=tmp_dir)
    out = os.fdopen(fd, "wb")
    st = _PartState(out, max_bytes)
    parser = MultipartParser(boundary, {
        "on_header_field": st.on_header_field, "on_header_value": st.on_header_value,
        "on_header_end": st.on_header_end, "on_headers_finished": st.on_headers_finished,
        "on_part_data": st.on_part_data, "on_part_end": st.on_part_end,
    })
    ok = False
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        ok = True
    except _TooLarge:
        raise HTTPException(
            413, f"file too large: the limit is {max_bytes} bytes ({max_bytes / 1e6:.0f} MB)") from None
    except HTTPException:
        raise
    except Exception as exc:  # any parser failure is the client's malformed body
        raise HTTPException(400, f"malformed multipart upload ({exc})") from None
    finally:
        out.close()
        if not ok or not st.found:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
    if not st.found:
        raise HTTPException(400, "upload has no 'file' field")
    if st.size == 0:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise HTTPException(400, f"{st.filename}: the file is empty")
    name = Path(st.filename).name or "upload"
    return UploadedFile(Path(tmp_name), name, st.size)
