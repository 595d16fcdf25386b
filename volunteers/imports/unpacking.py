"""An uploaded .xlsx checked as the zip it is, before openpyxl reads any of it ("zip bombs").

An .xlsx is a zip of XML files; a few KB of it can unpack to gigabytes. `check_archive` refuses,
with a ValidationFailed on the file field and before any XML is parsed:

- a central directory larger than any workbook's (MAX_DIRECTORY_BYTES, MAX_MEMBERS: its entries
  alone would fill memory), and members that are encrypted or packed otherwise than stored or
  deflated (Excel, WPS and LibreOffice write nothing else; bzip2 and LZMA would unpack a whole
  chunk at once, whatever its size);
- a total of declared sizes over IMPORT_MAX_UNPACKED_BYTES;
- then every member is actually unpacked, 64 KB at a time, and thrown away: the real bytes are
  counted, not the headers' word. A member that holds more than it declares is refused at the
  first byte past its declared size (a forged file: not a workbook), so no more than the limit is
  ever unpacked, whatever the headers say (entries that share their data included), in well under
  a second and in constant memory; one that holds less is damaged, refused the same way;
- meanwhile the <dimension ref="A1:L501"> a worksheet declares before its rows: more rows than
  IMPORT_MAX_ROWS (the header row aside) or more than MAX_COLUMNS columns is refused (every sheet
  of the file is checked, not only the volunteer sheet).

Files that write no dimension (openpyxl's write_only mode) are held to the row limit while read.
"""

from __future__ import annotations

import copy
import io
import re
import struct
import zipfile
import zlib

from flask_babel import gettext as _
from openpyxl.utils.cell import range_boundaries

from app.errors import ValidationFailed

#: an .xlsx has a dozen or so members and a central directory of a few KB
MAX_MEMBERS = 1000
MAX_DIRECTORY_BYTES = 256 * 1024
#: the template has 12 columns (Excel's own limit is 16,384)
MAX_COLUMNS = 1000
READ_CHUNK = 64 * 1024
#: a worksheet's <dimension> comes right after its root element, before <sheetData>
DIMENSION_WITHIN = 64 * 1024

_END_OF_DIRECTORY = b"PK\x05\x06"
_END_RECORD_SIZE = 22
_ENCRYPTED = 0x1
_READABLE = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_TAG = rb"<(?:[A-Za-z_][\w.-]*:)?"  # an element's name, with or without a namespace prefix
_WORKSHEET = re.compile(_TAG + rb"worksheet[\s>]")
_SHEET_DATA = re.compile(_TAG + rb"sheetData[\s>/]")
_DIMENSION = re.compile(_TAG + rb"dimension\s[^>]*?\bref\s*=\s*[\"']([^\"']{1,40})[\"']")


def not_xlsx() -> ValidationFailed:
    return ValidationFailed(
        _("This file is not an Excel .xlsx workbook. Download the template and fill it in."),
        field="file",
        code="not_xlsx",
    )


def too_large() -> ValidationFailed:
    return ValidationFailed(
        _("The file is too large once unpacked; split it into smaller files."), field="file", code="too_large"
    )


def check_archive(data: bytes, *, max_unpacked: int, max_rows: int) -> None:
    """Refuse an upload that would unpack to too much, or whose sheets declare too many rows or columns."""
    directory = _directory_size(data)
    if directory is not None and (directory[0] > MAX_MEMBERS or directory[1] > MAX_DIRECTORY_BYTES):
        raise too_large()  # zip64 markers (0xFFFF, 0xFFFFFFFF) land here too: no workbook needs them
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > max_unpacked:
                raise too_large()
            if any(m.flag_bits & _ENCRYPTED or m.compress_type not in _READABLE for m in members):
                raise not_xlsx()
            for member in members:
                _unpack(archive, member, max_rows)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as exc:
        raise not_xlsx() from exc


def _directory_size(data: bytes) -> tuple[int, int] | None:
    """(entries, bytes) of the central directory as its end record declares them; None without one."""
    at = data.rfind(_END_OF_DIRECTORY, max(0, len(data) - _END_RECORD_SIZE - 0xFFFF))
    if at < 0 or len(data) < at + _END_RECORD_SIZE:
        return None  # zipfile says it is not a zip
    entries, size = struct.unpack_from("<HL", data, at + 10)
    return entries, size


def _unpack(archive: zipfile.ZipFile, member: zipfile.ZipInfo, max_rows: int) -> None:
    """Unpack one member and throw it away, refusing it at the first byte past its declared size."""
    unbounded = copy.copy(member)
    unbounded.file_size = member.file_size + 1  # zipfile would stop at the declared size: read on, so a lie shows
    head: bytearray | None = bytearray()  # the first bytes, while a worksheet's dimension may still come
    size = 0
    with archive.open(unbounded) as stream:
        while chunk := stream.read(READ_CHUNK):
            size += len(chunk)
            if size > member.file_size:
                raise not_xlsx()  # it holds more than it says: a forged file
            if head is not None:
                head += chunk
                if _dimension_checked(head, max_rows):
                    head = None
    if size != member.file_size:
        raise not_xlsx()  # it holds less than it says: a damaged file


def _dimension_checked(head: bytearray, max_rows: int) -> bool:
    """Check the <dimension> in a member's first bytes; False while it may still come."""
    sheet_data = _SHEET_DATA.search(head)
    end = sheet_data.start() if sheet_data else len(head)
    found = _DIMENSION.search(head, 0, end)
    if found and _WORKSHEET.search(head, 0, found.start()):
        _check_dimension(found.group(1).decode("ascii", "replace"), max_rows)
        return True
    return sheet_data is not None or len(head) >= DIMENSION_WITHIN


def _check_dimension(ref: str, max_rows: int) -> None:
    try:
        _min_col, _min_row, max_col, max_row = range_boundaries(ref.upper())
    except (ValueError, TypeError):
        return  # not a range: openpyxl judges the sheet, and its rows are counted while read
    if max_row is not None and max_row - 1 > max_rows:
        raise ValidationFailed(
            _("The file has more than %(limit)s rows; split it into smaller files.", limit=max_rows),
            field="file",
            code="too_many_rows",
        )
    if max_col is not None and max_col > MAX_COLUMNS:
        raise ValidationFailed(
            _(
                "The sheet has more than %(limit)s columns; keep only the template's columns and save it again.",
                limit=MAX_COLUMNS,
            ),
            field="file",
            code="too_many_columns",
        )
