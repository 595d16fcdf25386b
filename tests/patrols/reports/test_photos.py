"""Photo checks as pure functions: decoded type, size and pixel limits, orientation, metadata, resizing."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.errors import ValidationFailed
from patrols.reports.photos import prepare_photo
from tests.patrols.reports.helpers import exif_with_gps, jpeg_bytes


def _png(size=(300, 200), mode="RGBA", color=(0, 0, 0, 0)) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, "PNG")
    return out.getvalue()


def test_a_photo_is_turned_upright_shrunk_and_stripped_of_every_tag():
    data = jpeg_bytes((3000, 2000), exif=exif_with_gps(orientation=6))
    assert Image.open(io.BytesIO(data)).getexif()[0x8825]  # the upload does carry GPS
    photo = prepare_photo(data, "IMG_0001.jpg")
    stored = Image.open(io.BytesIO(photo.jpeg))
    assert stored.format == "JPEG"
    assert (photo.width, photo.height) == stored.size == (1067, 1600)  # rotated 90°, longest side 1600
    assert dict(stored.getexif()) == {}
    assert "exif" not in stored.info and "icc_profile" not in stored.info and "xmp" not in stored.info
    assert b"HUAWEI" not in photo.jpeg and b"Exif" not in photo.jpeg


def test_a_small_photo_keeps_its_size_and_a_transparent_png_becomes_a_white_jpeg():
    photo = prepare_photo(_png(), "sign.png")
    stored = Image.open(io.BytesIO(photo.jpeg))
    assert (stored.format, stored.mode, stored.size) == ("JPEG", "RGB", (300, 200))
    assert stored.getpixel((10, 10)) == (255, 255, 255)


@pytest.mark.parametrize(
    "data, name, code, words",
    [
        (b"This is the river report, typed on a phone.\n" * 20, "report.jpg", "photo_not_image", "is not a photo"),
        (b"GIF89a" + b"\x00" * 100, "still.gif", "photo_not_image", "is not a photo"),
        (b"", "empty.jpg", "photo_empty", "is empty"),
    ],
)
def test_files_that_are_not_photos_are_refused_by_their_content(data, name, code, words):
    with pytest.raises(ValidationFailed) as refused:
        prepare_photo(data, name)
    assert refused.value.code == code and refused.value.field == "photos"
    assert refused.value.message.startswith(name) and words in refused.value.message


def test_a_gif_that_pillow_could_read_is_still_refused():
    out = io.BytesIO()
    Image.new("P", (20, 20)).save(out, "GIF")
    with pytest.raises(ValidationFailed) as refused:
        prepare_photo(out.getvalue(), "anim.gif")
    assert refused.value.code == "photo_not_image"


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_a_truncated_jpeg_is_refused_as_damaged(cut):
    data = jpeg_bytes((800, 600), noise=True)
    with pytest.raises(ValidationFailed) as refused:
        prepare_photo(data[: int(len(data) * cut)], "half.jpg")
    assert refused.value.code == "photo_corrupt"
    assert "is damaged and cannot be read" in refused.value.message


def test_size_and_pixel_limits():
    data = jpeg_bytes((1000, 1000), noise=True, quality=95)
    with pytest.raises(ValidationFailed) as refused:
        prepare_photo(data, "big.jpg", limit_bytes=len(data) - 1)
    assert refused.value.code == "photo_too_large" and "is too large" in refused.value.message
    assert prepare_photo(data, "big.jpg", limit_bytes=len(data)).width == 1000
    with pytest.raises(ValidationFailed) as refused:
        prepare_photo(_png((2000, 1000), "RGB", (0, 0, 0)), "wide.png", limit_pixels=1_999_999)
    assert refused.value.code == "photo_too_many_pixels" and "too many pixels (2 million" in refused.value.message


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded():
    out = io.BytesIO()
    Image.new("1", (12000, 12000)).save(out, "PNG")  # 144 megapixels, a few kilobytes
    assert len(out.getvalue()) < 100_000
    with pytest.raises(ValidationFailed) as refused:
        prepare_photo(out.getvalue(), "bomb.png", limit_pixels=10**9)
    assert refused.value.code == "photo_too_many_pixels"
