"""Patrol photos: checked by decoding them, re-encoded as clean JPEG, stored with random names.

An upload is accepted only when Pillow decodes it as a JPEG, PNG or WebP image (never by its
name or the browser's Content-Type), within PATROL_PHOTO_MAX_BYTES and PATROL_PHOTO_MAX_PIXELS
(checked from the header, before any pixel is decoded: decompression bombs; Pillow's own
Image.MAX_IMAGE_PIXELS applies too, its DecompressionBombWarning taken as a refusal). It is turned
upright by its EXIF orientation, shrunk to PATROL_PHOTO_MAX_SIDE pixels at most, copied into a
fresh image (so no EXIF, GPS, XMP or ICC data survives) and saved as JPEG under
PATROL_PHOTO_DIR (instance/patrol_photos/).

Location: a stored photo never keeps GPS, not even for the patrol report. The report keeps a
finding's position in its own latitude/longitude fields, typed or taken from the phone by the
reporter and checked against the segment; the photo's EXIF position is neither kept nor read into
them (a photo may have been taken elsewhere, and its file would otherwise tell where its sender was).

Files and the transaction: `write_photo` is called only after every photo of the request was
prepared, and after the rows were flushed. The file names are remembered on the session: if the
transaction ends without a commit (an error, a rollback) the files are removed; files of
removed photos are deleted only once the removal is committed.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.config import INSTANCE_DIR
from app.errors import ValidationFailed
from app.extensions import db

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_MAX_SIDE = 1600
DEFAULT_PER_FINDING = 6
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
JPEG_QUALITY = 85

_WRITTEN = "patrol_photos_written"
_TO_DELETE = "patrol_photos_to_delete"


@dataclass(frozen=True)
class Upload:
    """One uploaded file as read from the request (at most the byte limit + 1)."""

    data: bytes
    filename: str


@dataclass(frozen=True)
class PreparedPhoto:
    """A checked, upright, resized, metadata-free JPEG ready to be written."""

    jpeg: bytes
    width: int
    height: int
    original_name: str


def _config(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def max_bytes() -> int:
    return _config("PATROL_PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES)


def max_photos_per_finding() -> int:
    return _config("PATROL_PHOTOS_PER_FINDING", DEFAULT_PER_FINDING)


def photo_dir() -> Path:
    """Where patrol photos live (created on first write)."""
    return Path(current_app.config.get("PATROL_PHOTO_DIR") or INSTANCE_DIR / "patrol_photos")


def photo_path(stored_name: str) -> Path:
    """The file of a stored photo (names are ours: 32 hex digits + .jpg)."""
    return photo_dir() / stored_name


def read_upload(stream: IO[bytes], limit: int) -> bytes:
    """Read at most limit + 1 bytes, so an oversized upload is refused without reading all of it."""
    return stream.read(limit + 1)


def display_name(filename: str) -> str:
    """The upload's own name for messages: its last path part, shortened."""
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    return (name or _("The photo"))[:80]


def _megabytes(size: int) -> str:
    return f"{max(size / 1024 / 1024, 0.01):.2f}".rstrip("0").rstrip(".")


def _refuse(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, field="photos")


def prepare_photo(
    data: bytes,
    filename: str = "",
    *,
    limit_bytes: int = DEFAULT_MAX_BYTES,
    limit_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
) -> PreparedPhoto:
    """Check one upload by decoding it and return it re-encoded (ValidationFailed with a readable reason)."""
    name = display_name(filename)
    if not data:
        raise _refuse(_("%(name)s is empty.", name=name), "photo_empty")
    if len(data) > limit_bytes:
        raise _refuse(
            _("%(name)s is too large: a photo may be at most %(size)s MB.", name=name, size=_megabytes(limit_bytes)),
            "photo_too_large",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        if isinstance(exc, UnidentifiedImageError):
            raise _refuse(
                _("%(name)s is not a photo: upload a JPEG, PNG or WebP image.", name=name), "photo_not_image"
            ) from None
        raise _refuse(
            _("%(name)s has too many pixels; take it at a lower resolution.", name=name), "photo_too_many_pixels"
        ) from None
    except (OSError, SyntaxError, ValueError):
        raise _refuse(
            _("%(name)s is damaged and cannot be read; take or export the photo again.", name=name), "photo_corrupt"
        ) from None
    with image:
        width, height = image.size
        if width < 1 or height < 1 or width * height > limit_pixels:
            pixels, most = "%g" % (width * height / 1_000_000), "%g" % (limit_pixels / 1_000_000)
            raise _refuse(
                _(
                    "%(name)s has too many pixels (%(pixels)s million; at most %(max)s million).",
                    name=name,
                    pixels=pixels,
                    max=most,
                ),
                "photo_too_many_pixels",
            )
        try:
            return _reencode(image, name, max_side)
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
            raise _refuse(
                _("%(name)s is damaged and cannot be read; take or export the photo again.", name=name), "photo_corrupt"
            ) from None


def _reencode(image: Image.Image, name: str, max_side: int) -> PreparedPhoto:
    """Decode, turn upright, shrink and copy into a fresh image with no metadata; save as JPEG."""
    if image.format == "JPEG":
        image.draft("RGB", (max_side, max_side))  # decode at a reduced scale when the JPEG allows it
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image.load()
    upright = ImageOps.exif_transpose(image)
    if upright.mode in ("RGBA", "LA") or (upright.mode == "P" and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = upright.convert("RGB")
    flat.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    clean = Image.new("RGB", flat.size)  # a fresh image: nothing of the upload's info (EXIF, ICC, XMP) comes along
    clean.paste(flat)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return PreparedPhoto(jpeg=out.getvalue(), width=clean.width, height=clean.height, original_name=name)


def prepare_uploads(uploads: list[Upload]) -> list[PreparedPhoto]:
    """Check and re-encode every upload of a request with the configured limits (the first refusal raises)."""
    limit_bytes = max_bytes()
    limit_pixels = _config("PATROL_PHOTO_MAX_PIXELS", DEFAULT_MAX_PIXELS)
    max_side = _config("PATROL_PHOTO_MAX_SIDE", DEFAULT_MAX_SIDE)
    return [
        prepare_photo(u.data, u.filename, limit_bytes=limit_bytes, limit_pixels=limit_pixels, max_side=max_side)
        for u in uploads
    ]


def write_photo(photo: PreparedPhoto) -> str:
    """Write a prepared photo under a new random name; removed again unless the transaction commits."""
    folder = photo_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = f"{secrets.token_hex(16)}.jpg"
    path = folder / stored_name
    db.session.info.setdefault(_WRITTEN, []).append(path)
    with open(path, "xb") as handle:
        handle.write(photo.jpeg)
    return stored_name


def delete_after_commit(stored_name: str) -> None:
    """Remove a photo's file once the removal of its row is committed (kept if the transaction fails)."""
    db.session.info.setdefault(_TO_DELETE, []).append(photo_path(stored_name))


def _unlink(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:  # a leftover file is harmless; a failed request must not fail again here
            log.warning("could not remove patrol photo %s", path)


@event.listens_for(Session, "after_commit")
def _keep_committed_files(session: Session) -> None:
    """The rows are committed: keep the new files, delete those of removed photos."""
    session.info.pop(_WRITTEN, None)
    _unlink(session.info.pop(_TO_DELETE, []))


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted_files(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended without a commit: remove files written for it, keep those to delete."""
    if transaction.parent is not None:
        return
    _unlink(session.info.pop(_WRITTEN, []))
    session.info.pop(_TO_DELETE, None)
