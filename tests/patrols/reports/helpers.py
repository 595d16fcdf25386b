"""Helpers of the patrol report tests (the fixtures are in conftest.py): the photo size limit the tests configure
and photos made with Pillow."""

from __future__ import annotations

import io
import os

from PIL import Image

PHOTO_LIMIT = 128 * 1024  # small: the test client spools bodies over 500 KB to files it never closes


def jpeg_bytes(size=(800, 600), *, color=(30, 120, 200), exif=None, quality=90, noise=False) -> bytes:
    """A JPEG made with Pillow (optionally random pixels, so it does not compress, and with EXIF)."""
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, color)
    out = io.BytesIO()
    kwargs = {"exif": exif.tobytes()} if exif is not None else {}
    image.save(out, "JPEG", quality=quality, **kwargs)
    return out.getvalue()


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    """EXIF that leaks where and with what a photo was taken: GPS position, camera, time, orientation."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "HUAWEI"
    exif[0x0110] = "P60 Pro"
    exif[0x0132] = "2026:10:10 09:30:00"
    exif[0x8825] = {1: "N", 2: (23.0, 1.0, 12.5), 3: "E", 4: (113.0, 45.0, 6.0), 0: b"\x02\x02\x00\x00"}
    return exif
