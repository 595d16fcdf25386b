"""The one way the system writes spreadsheets (.xlsx and CSV): text stays text, whoever typed it.

A spreadsheet program runs a cell that starts with "=" as a formula, and on CSV import it does the
same for "+", "-", "@", a tab or a carriage return. Exports carry text other people typed (names,
titles, places, findings), so a volunteer named `=HYPERLINK("http://x","y")` would put a live formula
in front of the reviewer who opens the file ("formula" or "CSV injection").

- .xlsx: every str value is written as a string cell (openpyxl would otherwise store a str starting
  with "=" as a formula, and "#N/A" and the like as error values); numbers, dates, datetimes, booleans
  and None keep their types (dates with a date style).
- CSV: a str value starting with one of FORMULA_PREFIXES is prefixed with a single quote, as OWASP
  advises; other values are written unchanged.

Use `Spreadsheet` (and its `Sheet`s) or `write_csv` for every file the system writes; reading uploaded
files (openpyxl's load_workbook) is not writing and does not come here.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any, TypeAlias, overload

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: what makes a spreadsheet program read a cell as a formula
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Excel's limit on a sheet title
MAX_TITLE = 31

#: a sheet of a full workbook, or of a write-only one
AnyWorksheet: TypeAlias = Worksheet | WriteOnlyWorksheet


def looks_like_formula(value: object) -> bool:
    """Whether a value is text that a spreadsheet program would run as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def text_cell(worksheet: AnyWorksheet, value: str) -> Cell:
    """A cell of `worksheet` holding `value` as a string, whatever it starts with."""
    cell = Cell(worksheet, row=1, column=1)  # the sheet's append gives it its place
    cell.value = value  # openpyxl's checks of the text (length, illegal characters) still apply
    cell.data_type = "s"
    return cell


class Sheet:
    """One worksheet of a Spreadsheet. Rows go in through `append`; `worksheet` is the openpyxl sheet, for
    styling what is already written (fonts, number formats, freeze panes; in full workbooks only)."""

    def __init__(self, worksheet: AnyWorksheet) -> None:
        self.worksheet = worksheet

    def set_widths(self, widths: Mapping[str, float]) -> None:
        """Column widths by letter ({"A": 16}); in a write-only workbook, before the first row."""
        dimensions = self.worksheet.column_dimensions  # type: ignore[union-attr]  # a write-only sheet has them too (set up like a worksheet's); the stubs leave them out
        for letter, width in widths.items():
            dimensions[letter].width = width

    def append(self, row: Iterable[object]) -> None:
        """Add a row after the last one: str values as string cells, everything else as openpyxl types it."""
        self.worksheet.append([text_cell(self.worksheet, v) if isinstance(v, str) else v for v in row])

    def extend(self, rows: Iterable[Iterable[object]]) -> None:
        """Add rows in order."""
        for row in rows:
            self.append(row)


class Spreadsheet:
    """An .xlsx workbook written through `Sheet`s.

    write_only=True (the default) streams rows to disk as they are appended, for exports of any size;
    write_only=False keeps the cells in memory so they can be styled after they are written (the import
    template's fonts, fills, number formats, data validation).
    """

    def __init__(self, *, write_only: bool = True) -> None:
        self.workbook = Workbook(write_only=write_only)
        self._unused_first_sheet = not write_only  # a full workbook starts with one empty sheet

    def add_sheet(
        self, title: str, *, header: Sequence[object] | None = None, widths: Mapping[str, float] | None = None
    ) -> Sheet:
        """A new sheet at the end (title cut to Excel's 31 characters), with its widths and header row."""
        worksheet: AnyWorksheet
        if self._unused_first_sheet:
            active = self.workbook.active
            assert isinstance(active, Worksheet)  # a new full workbook starts with one empty worksheet
            worksheet = active
            worksheet.title = title[:MAX_TITLE]
            self._unused_first_sheet = False
        else:
            worksheet = self.workbook.create_sheet(title=title[:MAX_TITLE])
        sheet = Sheet(worksheet)
        if widths:
            sheet.set_widths(widths)
        if header is not None:
            sheet.append(header)
        return sheet

    def save(self, target: IO[bytes]) -> None:
        """Write the workbook to a binary file (a write-only workbook can be saved once)."""
        self.workbook.save(target)

    def to_bytes(self) -> bytes:
        """The .xlsx file's bytes."""
        buffer = io.BytesIO()
        self.save(buffer)
        return buffer.getvalue()

    @overload
    def to_stream(self) -> io.BytesIO: ...
    @overload
    def to_stream(self, *, spool_over: int | None) -> IO[bytes]: ...
    def to_stream(self, *, spool_over: int | None = None) -> IO[bytes]:
        """The .xlsx file, rewound, for send_file or a streamed response: in memory, or in a temporary file
        once larger than `spool_over` bytes. The caller (or send_file) closes it."""
        stream: IO[bytes]
        if spool_over is None:
            stream = io.BytesIO()
        else:
            stream = tempfile.SpooledTemporaryFile(max_size=spool_over)  # noqa: SIM115 - returned to the caller
        self.save(stream)
        stream.seek(0)
        return stream


def csv_value(value: object) -> object:
    """A value for a CSV cell: text that would run as a formula gets a leading single quote."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value


def write_csv(target: IO[str], rows: Iterable[Iterable[object]], **fmtparams: Any) -> None:
    """Write rows to a text file as CSV (csv.writer's dialect and options), formula-like text quoted."""
    writer = csv.writer(target, **fmtparams)
    for row in rows:
        writer.writerow([csv_value(v) for v in row])
