"""Bulk import of volunteers from .xlsx: the template, file checks, jobs and the bulk insert.

The work itself (reading, checking, writing, progress) is orchestrated by
volunteers.imports.jobs; the rules of one row live in volunteers.imports.rows.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import Select, insert, select, update

from app import audit
from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import can_administer, role_paths, subtree_filter
from app.security import demo_id_number
from app.spreadsheets import Spreadsheet
from volunteers.accounts.models import PoliticalStatus, User, user_skills
from volunteers.imports import rows as cols
from volunteers.imports import unpacking
from volunteers.imports.models import ImportJob, ImportStatus
from volunteers.organizations.models import Organization

XLSX_SIGNATURE = b"PK\x03\x04"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0"  # the old binary .xls
SHEET_TITLE = "志愿者"
#: the template's example person; a row with this ID number is ignored on import
EXAMPLE_ID_NUMBER = demo_id_number(date(2005, 6, 1), 123, region="441900").value
TEXT_FORMAT = "@"


@dataclass
class OpenedFile:
    """An .xlsx that opened, its volunteer sheet and where each known column is."""

    workbook: Workbook
    sheet: Worksheet  # a ReadOnlyWorksheet, which the stubs type as a Worksheet
    columns: dict[str, int]
    rows_estimate: int

    def data_rows(self) -> Iterator[tuple[int, dict[str, object]]]:
        """(row number, {column name: cell value}) for each data row, blank rows left out."""
        width = max(self.columns.values()) + 1
        for number, values in enumerate(self.sheet.iter_rows(min_row=2, max_col=width, values_only=True), start=2):
            if values is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            cells: dict[str, object] = {
                name: values[index] if index < len(values) else None for name, index in self.columns.items()
            }
            if cols.cell_text(cells.get(cols.ID_NUMBER)).upper() == EXAMPLE_ID_NUMBER:
                continue
            yield number, cells

    def close(self) -> None:
        self.workbook.close()


def open_import_file(data: bytes, *, max_rows: int) -> OpenedFile:
    """Open an uploaded file as an import sheet, or raise ValidationFailed saying what is wrong with it."""
    if data[:4] == OLE_SIGNATURE:
        raise ValidationFailed(
            _("This is an old-style .xls file. Open it in Excel or WPS and save it as .xlsx."),
            field="file",
            code="xls_file",
        )
    if data[:4] != XLSX_SIGNATURE:
        raise ValidationFailed(
            _("This file is not an Excel .xlsx workbook. Download the template and fill it in."),
            field="file",
            code="not_xlsx",
        )
    # A few KB of upload can unpack to gigabytes (a "zip bomb"): sizes and dimensions are checked before openpyxl.
    unpacking.check_archive(data, max_unpacked=current_app.config["IMPORT_MAX_UNPACKED_BYTES"], max_rows=max_rows)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook[SHEET_TITLE] if SHEET_TITLE in workbook.sheetnames else workbook.worksheets[0]
        header = next(sheet.iter_rows(min_row=1, max_row=1, max_col=60, values_only=True), ())
        dimension_rows = sheet.max_row
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, IndexError, SyntaxError) as exc:
        # Every way openpyxl fails on foreign bytes (SyntaxError covers XML parse errors) means the same.
        raise ValidationFailed(
            _("This file is not an Excel .xlsx workbook. Download the template and fill it in."),
            field="file",
            code="not_xlsx",
        ) from exc
    columns = {}
    for index, value in enumerate(header or ()):
        name = cols.normalize_header(value)
        if name in cols.COLUMNS and name not in columns:
            columns[name] = index
    missing = [c for c in cols.REQUIRED_COLUMNS if c not in columns]
    if missing:
        workbook.close()
        raise ValidationFailed(
            _("The first row must hold the template's column names; missing: %(columns)s.", columns="、".join(missing)),
            field="file",
            code="missing_columns",
        )
    rows_estimate = max((dimension_rows or 1) - 1, 0)
    if rows_estimate > max_rows:
        workbook.close()
        raise ValidationFailed(too_many_rows_message(max_rows), field="file", code="too_many_rows")
    return OpenedFile(workbook=workbook, sheet=sheet, columns=columns, rows_estimate=rows_estimate)


def too_many_rows_message(max_rows: int) -> str:
    """What to tell about a file over the row limit."""
    return _("The file has more than %(limit)s rows; split it into smaller files.", limit=max_rows)


def create_job(*, by: User, scope: Organization, file_name: str, data: bytes, now: datetime) -> ImportJob:
    """Check the upload and record a new import job for it (the rows are read by the job)."""
    if not can_administer(by, scope):
        raise PermissionDenied(_("You may only import volunteers into organizations you administer."))
    opened = open_import_file(data, max_rows=current_app.config["IMPORT_MAX_ROWS"])
    opened.close()
    job = ImportJob(
        created_by_id=by.id,
        organization_id=scope.id,
        file_name=(file_name or "")[-255:],
        status=ImportStatus.VALIDATING.value,
        rows_total=opened.rows_estimate,
        rejected_rows=[],
        created_at=now,
        updated_at=now,
    )
    db.session.add(job)
    db.session.flush()
    return job


def report_progress(job_id: int, now: datetime, **values: object) -> None:
    """Write counts to the job in a short transaction of its own, apart from the data transaction."""
    with db.engine.begin() as connection:
        connection.execute(update(ImportJob).where(ImportJob.id == job_id).values(updated_at=now, **values))


def insert_rows(
    rows: list[dict], skill_links: list[list[int]], *, batch: int, on_batch: Callable[[int], object] | None = None
) -> int:
    """Bulk INSERT prepared users rows (numbers and all) and their skills; flush only, the caller commits."""
    done = 0
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        # A plain executemany on the table: no ORM objects, and no RETURNING (which makes the driver
        # rewrite one huge statement); the ids needed for the skills are read back by volunteer number.
        db.session.execute(insert(User.__table__), chunk)
        wanted = {
            row["volunteer_number"]: skills
            for row, skills in zip(chunk, skill_links[start : start + batch], strict=False)
            if skills
        }
        if wanted:
            ids = dict(
                db.session.execute(
                    select(User.volunteer_number, User.id).where(User.volunteer_number.in_(list(wanted)))
                )
                .tuples()
                .all()
            )
            db.session.execute(
                insert(user_skills),
                [
                    {"user_id": ids[number], "skill_id": skill_id}
                    for number, skills in wanted.items()
                    for skill_id in skills
                ],
            )
        done += len(chunk)
        if on_batch is not None:
            on_batch(done)
    return done


def finish_job(job_id: int, *, by_id: int | None, imported: int, now: datetime) -> None:
    """Mark the job done inside the data transaction, with one audit entry for the whole import."""
    job = db.session.get(ImportJob, job_id)
    assert job is not None  # the job that is importing
    db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(status=ImportStatus.DONE.value, rows_imported=imported, updated_at=now, finished_at=now)
    )
    actor = db.session.get(User, by_id) if by_id else None
    audit.record(
        "volunteer.import",
        actor=actor,
        now=now,
        target=job,
        organization_id=job.organization_id,
        after={
            "file_name": job.file_name,
            "imported": imported,
            "skipped": job.rows_skipped,
            "rejected": job.rows_rejected,
        },
    )


def jobs_visible_to(user: User) -> Select[tuple[ImportJob]]:
    """Select statement of the import jobs of the user's administered subtrees, newest first."""
    return (
        select(ImportJob)
        .join(Organization, Organization.id == ImportJob.organization_id)
        .where(subtree_filter(Organization.path, role_paths(user, "admin")))
        .order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
    )


# -- the downloadable template ------------------------------------------------------------------


def build_template(example_organization: str) -> bytes:
    """The import template: the header row, one example row and a sheet of notes."""
    spreadsheet = Spreadsheet(write_only=False)  # a full workbook: its cells are styled once written
    template = spreadsheet.add_sheet(SHEET_TITLE, header=cols.COLUMNS)
    sheet = template.worksheet
    assert isinstance(sheet, Worksheet)
    example = {
        cols.NAME: "张小明",
        cols.MOBILE: "13800138000",
        cols.ID_NUMBER: EXAMPLE_ID_NUMBER,
        cols.POLITICAL_STATUS: PoliticalStatus.LEAGUE_MEMBER.value,
        cols.ORGANIZATION: example_organization,
        cols.SKILLS: "急救、摄影",
        cols.LANGUAGES: "粤语、英语",
        cols.EMERGENCY_NAME: "张大明",
        cols.EMERGENCY_MOBILE: "13900139000",
        cols.GUARDIAN_NAME: "",
        cols.GUARDIAN_MOBILE: "",
        cols.ACTIVIST_SINCE: "",
    }
    template.append([example[c] for c in cols.COLUMNS])
    bold, required_fill = Font(bold=True), PatternFill("solid", fgColor="FDE2E4")
    for index, name in enumerate(cols.COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = bold
        if name in cols.REQUIRED_COLUMNS:
            cell.fill = required_fill
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = 22 if name in (cols.ID_NUMBER, cols.ORGANIZATION) else 14
        if name in (cols.MOBILE, cols.ID_NUMBER, cols.EMERGENCY_MOBILE, cols.GUARDIAN_MOBILE):
            # Text columns: Excel would otherwise round an 18-digit ID number to 15 digits.
            sheet.column_dimensions[letter].number_format = TEXT_FORMAT
            sheet.cell(row=2, column=index).number_format = TEXT_FORMAT
    sheet.freeze_panes = "A2"
    statuses = ",".join(s.value for s in PoliticalStatus)
    validation = DataValidation(type="list", formula1=f'"{statuses}"', allow_blank=False)
    column = cols.COLUMNS.index(cols.POLITICAL_STATUS) + 1
    letter = get_column_letter(column)
    validation.add(f"{letter}2:{letter}5001")
    sheet.add_data_validation(validation)
    _notes_sheet(spreadsheet)
    return spreadsheet.to_bytes()


def _notes_sheet(spreadsheet: Spreadsheet) -> None:
    sheet = spreadsheet.add_sheet(_("Notes"), header=[_("Column"), _("Required"), _("How to fill it in")])
    notes = sheet.worksheet
    assert isinstance(notes, Worksheet)
    yes, no = _("yes"), _("no")
    rows = [
        (cols.NAME, yes, _("Real name, 2 to 50 characters.")),
        (cols.MOBILE, yes, _("11 digits; it becomes the login name and must not be registered already.")),
        (
            cols.ID_NUMBER,
            yes,
            _(
                "18-character resident ID number (the check digit is verified). Keep the column "
                "as text. A person whose ID number is already registered is skipped."
            ),
        ),
        (cols.POLITICAL_STATUS, yes, _("One of: %(choices)s.", choices="、".join(s.value for s in PoliticalStatus))),
        (
            cols.ORGANIZATION,
            no,
            _(
                "Name or id of the organization; it must belong to the organization chosen when "
                "uploading. Empty: that organization itself."
            ),
        ),
        (cols.SKILLS, no, _("Skills from the system's list, separated by 、")),
        (cols.LANGUAGES, no, _("Languages from the system's list, separated by 、")),
        (cols.EMERGENCY_NAME, yes, _("Name of the emergency contact.")),
        (cols.EMERGENCY_MOBILE, yes, _("Mobile number of the emergency contact.")),
        (
            cols.GUARDIAN_NAME,
            no,
            _(
                "Required for volunteers under 14. Filling in the guardian confirms that the "
                "guardian has consented in writing."
            ),
        ),
        (cols.GUARDIAN_MOBILE, no, _("Required for volunteers under 14.")),
        (cols.ACTIVIST_SINCE, no, _("Required when the political status is 入团积极分子, e.g. 2024-09-01.")),
    ]
    sheet.extend(rows)
    sheet.append([])
    for line in (
        _("Row 2 of the volunteer sheet is an example: it is ignored on import; replace it with real people."),
        _("At most %(limit)s rows per file.", limit=current_app.config["IMPORT_MAX_ROWS"]),
        _(
            "Imported volunteers activate their account themselves on the activation page with their mobile "
            "number and ID number, and choose a password there."
        ),
    ):
        sheet.append([line])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    notes.column_dimensions["A"].width = 20
    notes.column_dimensions["B"].width = 10
    notes.column_dimensions["C"].width = 90
    for row in notes.iter_rows(min_row=2):
        row[-1].alignment = Alignment(wrap_text=True, vertical="top")
