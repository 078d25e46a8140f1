"""Media from informants: download from Twilio, strip metadata, delete Twilio's copy.

Runs after the webhook has answered (Twilio wants a reply within 15 s). Images are re-encoded
from their pixels with Pillow (EXIF, GPS, XMP, ICC and text chunks dropped); MP4/3GP videos
have their `udta`/`meta` boxes (camera, GPS, dates) turned into `free` boxes of the same
size; MP3 voice notes lose their ID3 tags. The working copy is the stripped one only.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)
# Pillow's DEBUG log prints every EXIF tag it parses (camera serials, GPS, a phone number in
# "Software"): an informant's file must never reach the logs, whatever the root level.
logging.getLogger("PIL").setLevel(logging.INFO)

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/amr": "amr",
    "audio/mp4": "m4a",
}
PIL_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
MEDIA_URL = re.compile(r"/Accounts/(AC\w+)/Messages/(\w+)/Media/(\w+)")
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
STRIP_BOXES = {b"udta", b"meta", b"uuid", b"\xa9xyz"}


class MediaRefused(ValueError):
    """A file that is not accepted (too large, wrong type, unreadable)."""


@dataclass(frozen=True)
class Fetched:
    """Bytes downloaded from Twilio and their type."""

    content: bytes
    content_type: str


def base_type(content_type: str) -> str:
    """'image/jpeg; charset=x' -> 'image/jpeg'."""
    return content_type.split(";", 1)[0].strip().lower()


def download(
    http: httpx.Client, url: str, *, auth: tuple[str, str], max_bytes: int, timeout_s: float
) -> Fetched:
    """Fetch a Twilio media URL with the account's basic auth, refusing oversized files."""
    with http.stream("GET", url, auth=auth, follow_redirects=True, timeout=timeout_s) as response:
        response.raise_for_status()
        declared = response.headers.get("content-length")
        if declared and declared.isdecimal() and int(declared) > max_bytes:
            raise MediaRefused("too large")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise MediaRefused("too large")
            chunks.append(chunk)
        return Fetched(b"".join(chunks), base_type(response.headers.get("content-type", "")))


def strip_metadata(content: bytes, content_type: str) -> tuple[bytes, bool]:
    """The file without metadata, and whether stripping was possible for its type."""
    kind = base_type(content_type)
    if kind in PIL_FORMAT:
        return _strip_image(content, PIL_FORMAT[kind]), True
    if kind in ("video/mp4", "video/3gpp", "audio/mp4"):
        return _strip_mp4(content), True
    if kind == "audio/mpeg":
        return _strip_id3(content), True
    # Ogg/Opus and AMR voice notes from WhatsApp carry no location or device data.
    return content, kind in ("audio/ogg", "audio/amr")


def _strip_image(content: bytes, fmt: str) -> bytes:
    # Imported here: Pillow costs every process start 0.2 s, and only tips carry images.
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(content)) as original:
            original.load()
            upright = ImageOps.exif_transpose(original) or original
            mode = upright.mode if upright.mode in ("RGB", "RGBA", "L", "LA", "P") else "RGB"
            pixels = upright.convert(mode)
            clean = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
            if pixels.mode == "P":
                palette = pixels.getpalette()
                if palette is not None:
                    clean.putpalette(palette)
    except Exception as exc:  # Pillow raises many kinds for a broken or hostile file
        raise MediaRefused("unreadable image") from exc
    if fmt == "JPEG" and clean.mode not in ("RGB", "L"):
        clean = clean.convert("RGB")
    out = io.BytesIO()
    clean.save(out, format=fmt)
    return out.getvalue()


def _strip_mp4(content: bytes) -> bytes:
    data = bytearray(content)
    _blank_boxes(data, 0, len(data), depth=0)
    return bytes(data)


def _blank_boxes(data: bytearray, start: int, end: int, depth: int) -> None:
    position = start
    while position + 8 <= end and depth < 8:
        size = struct.unpack(">I", data[position : position + 4])[0]
        kind = bytes(data[position + 4 : position + 8])
        header = 8
        if size == 1 and position + 16 <= end:
            size = struct.unpack(">Q", data[position + 8 : position + 16])[0]
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            return
        if kind in STRIP_BOXES:
            data[position + 4 : position + 8] = b"free"
            data[position + header : position + size] = bytes(size - header)
        elif kind in CONTAINERS:
            _blank_boxes(data, position + header, position + size, depth + 1)
        position += size


def _strip_id3(content: bytes) -> bytes:
    data = content
    if data[:3] == b"ID3" and len(data) >= 10:
        size = 0
        for byte in data[6:10]:
            size = (size << 7) | (byte & 0x7F)
        footer = 10 if data[5] & 0x10 else 0
        data = data[10 + size + footer :]
    if len(data) >= 128 and data[-128:-125] == b"TAG":
        data = data[:-128]
    return data


def save(directory: Path, content: bytes, content_type: str) -> Path:
    """Write the stripped working copy under a random name."""
    directory.mkdir(parents=True, exist_ok=True)
    extension = EXTENSIONS.get(base_type(content_type), "bin")
    path = directory / f"{secrets.token_hex(16)}.{extension}"
    path.write_bytes(content)
    return path


def delete_twilio_copy(client: Any, url: str) -> bool:
    """Delete a media file from Twilio through the SDK (the informant's copy stays in WhatsApp)."""
    match = MEDIA_URL.search(url)
    if client is None or match is None:
        return False
    account, message_sid, media_sid = match.groups()
    try:
        client.api.v2010.accounts(account).messages(message_sid).media(media_sid).delete()
    except Exception as exc:  # the SDK's and requests' errors; retried by nobody, so say so
        log.warning("could not delete a media file from Twilio: %s", type(exc).__name__)
        return False
    return True
