"""Reading and checking the rows of a volunteer import file, with the rules of registration.

`RowChecker` turns spreadsheet rows into either an insertable users row or a list
of problems (codes with parameters, see volunteers.imports.messages). It reads the
database (organizations, skills, registered ID numbers and mobiles) but writes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from app.extensions import db
from app.security import (
    MOBILE_PATTERN,
    IdNumber,
    IdNumberError,
    encrypt_id_number,
    hash_id_number,
    parse_id_number,
)
from volunteers.accounts.models import PoliticalStatus, Skill, User
from volunteers.accounts.services import needs_guardian
from volunteers.organizations.models import Organization

# Column headers of the template (the file's first row), in template order.
NAME, MOBILE, ID_NUMBER, POLITICAL_STATUS, ORGANIZATION = "姓名", "手机号", "身份证号", "政治面貌", "所属组织"
SKILLS, LANGUAGES, EMERGENCY_NAME, EMERGENCY_MOBILE = "技能", "语言", "紧急联系人", "紧急联系人手机"
GUARDIAN_NAME, GUARDIAN_MOBILE, ACTIVIST_SINCE = "监护人姓名", "监护人手机", "成为入团积极分子日期"
COLUMNS = [
    NAME,
    MOBILE,
    ID_NUMBER,
    POLITICAL_STATUS,
    ORGANIZATION,
    SKILLS,
    LANGUAGES,
    EMERGENCY_NAME,
    EMERGENCY_MOBILE,
    GUARDIAN_NAME,
    GUARDIAN_MOBILE,
    ACTIVIST_SINCE,
]
REQUIRED_COLUMNS = [NAME, MOBILE, ID_NUMBER, POLITICAL_STATUS, EMERGENCY_NAME, EMERGENCY_MOBILE]

LIST_SEPARATORS = "、,，;；/ \u3000"

_ID_ERROR_CODES = {
    "ID number must be 18 characters": "id_length",
    "ID number must be 17 digits followed by a digit or X": "id_format",
    "ID number check digit is wrong": "id_check_digit",
    "ID number contains an impossible birth date": "id_birth_date",
}


def normalize_header(value: object) -> str:
    """A header cell as a column name: trimmed, without required-marks such as * or （必填）."""
    text = cell_text(value)
    for mark in ("（必填）", "(必填)", "（选填）", "(选填)", "*", "＊"):
        text = text.replace(mark, "")
    return text.strip()


def cell_text(value: object) -> str:
    """A cell as trimmed text; whole numbers lose their '.0', dates become 2024-09-01."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def split_list(text: str) -> list[str]:
    """'急救、摄影' → ['急救', '摄影'] (also accepts commas, semicolons and spaces)."""
    items, current = [], ""
    for char in text:
        if char in LIST_SEPARATORS:
            if current.strip():
                items.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        items.append(current.strip())
    return items


@dataclass
class CheckedRow:
    """One data row after the checks that need no other row."""

    number: int
    name: str
    problems: list[dict] = field(default_factory=list)
    id_hash: str = ""
    mobile: str = ""
    values: dict = field(default_factory=dict)
    skill_ids: list[int] = field(default_factory=list)

    def problem(self, column: str, code: str, **params: object) -> None:
        self.problems.append({"column": column, "code": code, "params": params})


class RowChecker:
    """Checks rows against the registration rules, within the organization `scope`."""

    def __init__(self, scope: Organization, *, today: date, now: datetime):
        self.scope_path = scope.path
        self.scope_name = scope.display_name
        self.scope_id = scope.id
        self.today = today
        self.now = now
        self._orgs_by_id: dict[int, tuple[str, str]] = {}
        self._orgs_by_name: dict[str, list[int]] = {}
        for org_id, name, short_name, path in db.session.execute(
            select(Organization.id, Organization.name, Organization.short_name, Organization.path)
        ):
            self._orgs_by_id[org_id] = (path, short_name or name)
            for key in {name, short_name} - {""}:
                self._orgs_by_name.setdefault(key, []).append(org_id)
        self._skills: dict[tuple[str, str], int] = {}
        for skill in db.session.scalars(select(Skill)):
            self._skills[(skill.kind, skill.name)] = skill.id
            if skill.name_en:
                self._skills[(skill.kind, skill.name_en.lower())] = skill.id
        self._statuses = [s.value for s in PoliticalStatus]
        self._seen_ids: dict[str, int] = {}
        self._seen_mobiles: dict[str, int] = {}

    # -- one row on its own ---------------------------------------------------------------
    def check(self, number: int, cells: dict) -> CheckedRow:
        """Checks of one row that need neither the database's people nor the other rows."""
        row = CheckedRow(number=number, name=cell_text(cells.get(NAME))[:50])
        name = cell_text(cells.get(NAME))
        if not name:
            row.problem(NAME, "name_required")
        elif not 2 <= len(name) <= 50:
            row.problem(NAME, "name_length")
        mobile = self._mobile(row, MOBILE, cells.get(MOBILE), required=True)
        if MOBILE_PATTERN.match(mobile):
            row.mobile = mobile  # also for rows rejected otherwise: later rows must not reuse it
        parsed = self._id_number(row, cells.get(ID_NUMBER))
        status = cell_text(cells.get(POLITICAL_STATUS))
        if status not in self._statuses:
            row.problem(POLITICAL_STATUS, "political_status_invalid", choices="、".join(self._statuses))
        activist_since = self._date(row, ACTIVIST_SINCE, cells.get(ACTIVIST_SINCE))
        if (
            status == PoliticalStatus.ACTIVIST.value
            and activist_since is None
            and not any(p["column"] == ACTIVIST_SINCE for p in row.problems)
        ):
            row.problem(ACTIVIST_SINCE, "activist_since_required")
        organization_id = self._organization(row, cells.get(ORGANIZATION))
        row.skill_ids = self._skill_ids(row, SKILLS, "skill", cells.get(SKILLS)) + self._skill_ids(
            row, LANGUAGES, "language", cells.get(LANGUAGES)
        )
        emergency_name = cell_text(cells.get(EMERGENCY_NAME))
        if not emergency_name:
            row.problem(EMERGENCY_NAME, "emergency_name_required")
        elif len(emergency_name) > 50:
            row.problem(EMERGENCY_NAME, "text_too_long", n=50)
        emergency_mobile = self._mobile(row, EMERGENCY_MOBILE, cells.get(EMERGENCY_MOBILE), required=True)
        guardian_name = cell_text(cells.get(GUARDIAN_NAME))
        if len(guardian_name) > 50:
            row.problem(GUARDIAN_NAME, "text_too_long", n=50)
        guardian_mobile = self._mobile(row, GUARDIAN_MOBILE, cells.get(GUARDIAN_MOBILE), required=False)
        if (
            parsed is not None
            and needs_guardian(parsed.birth_date, self.today)
            and not (guardian_name and cell_text(cells.get(GUARDIAN_MOBILE)))
        ):
            row.problem(GUARDIAN_NAME, "guardian_required")
        if row.problems or parsed is None:
            return row
        row.values = {
            "name": name,
            "mobile": mobile,
            "password_hash": None,
            "id_number_encrypted": encrypt_id_number(parsed.value),
            "id_number_hash": row.id_hash,
            "id_number_head": parsed.value[:4],
            "id_number_tail": parsed.value[-4:],
            "birth_date": parsed.birth_date,
            "sex": parsed.sex,
            "political_status": status,
            "activist_since": activist_since if status == PoliticalStatus.ACTIVIST.value else None,
            "organization_id": organization_id,
            "emergency_contact_name": emergency_name,
            "emergency_contact_mobile": emergency_mobile,
            "guardian_name": guardian_name,
            "guardian_mobile": guardian_mobile,
            # The organization attests the guardian's (paper) consent by filling in the guardian.
            "guardian_consent_at": self.now if guardian_name and guardian_mobile else None,
            "session_token": secrets.token_hex(16),
            "calendar_token": secrets.token_urlsafe(16)[:22],
            "source": "imported",
            "activated_at": None,
            "created_at": self.now,
            "updated_at": self.now,
        }
        return row

    def _mobile(self, row: CheckedRow, column: str, value: object, *, required: bool) -> str:
        text = cell_text(value).replace(" ", "").replace("-", "")
        if not text:
            if required:
                row.problem(column, "mobile_required")
            return ""
        if not MOBILE_PATTERN.match(text):
            row.problem(column, "mobile_invalid")
        return text

    def _id_number(self, row: CheckedRow, value: object) -> IdNumber | None:
        if isinstance(value, float):
            # Excel keeps 15 significant digits: an ID number typed into a number cell is already damaged.
            row.problem(ID_NUMBER, "id_as_number")
            return None
        text = cell_text(value)
        if not text:
            row.problem(ID_NUMBER, "id_required")
            return None
        try:
            parsed = parse_id_number(text, today=self.today)
        except IdNumberError as exc:
            row.problem(ID_NUMBER, _ID_ERROR_CODES.get(str(exc), "id_format"))
            return None
        row.id_hash = hash_id_number(parsed.value)
        return parsed

    def _date(self, row: CheckedRow, column: str, value: object) -> date | None:
        if value is None or value == "":
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = cell_text(value).replace("/", "-").replace(".", "-")
        try:
            return date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
        except ValueError:
            row.problem(column, "date_invalid")
            return None

    def _organization(self, row: CheckedRow, value: object) -> int:
        text = cell_text(value)
        if not text:
            return self.scope_id
        if text.isdigit() and int(text) in self._orgs_by_id:
            candidates = [int(text)]
        else:
            candidates = self._orgs_by_name.get(text, [])
        if not candidates:
            row.problem(ORGANIZATION, "organization_unknown", value=text[:60])
            return self.scope_id
        inside = [c for c in candidates if self._orgs_by_id[c][0].startswith(self.scope_path)]
        if not inside:
            row.problem(ORGANIZATION, "organization_outside_scope", value=text[:60], scope=self.scope_name)
            return self.scope_id
        if len(inside) > 1:
            row.problem(ORGANIZATION, "organization_ambiguous", value=text[:60])
        return inside[0]

    def _skill_ids(self, row: CheckedRow, column: str, kind: str, value: object) -> list[int]:
        ids = []
        for item in split_list(cell_text(value)):
            skill_id = self._skills.get((kind, item)) or self._skills.get((kind, item.lower()))
            if skill_id is None:
                row.problem(column, "skill_unknown" if kind == "skill" else "language_unknown", value=item[:40])
            elif skill_id not in ids:
                ids.append(skill_id)
        return ids

    # -- a batch against the database and the rows before it -------------------------------
    def settle(self, rows: list[CheckedRow]) -> tuple[list[CheckedRow], list[CheckedRow], list[CheckedRow]]:
        """Split checked rows into (valid, skipped, rejected) against registered people and earlier rows."""
        hashes = [r.id_hash for r in rows if r.id_hash]
        mobiles = [r.mobile for r in rows if r.mobile]
        registered_ids = (
            set(db.session.scalars(select(User.id_number_hash).where(User.id_number_hash.in_(hashes))))
            if hashes
            else set()
        )
        registered_mobiles = (
            set(db.session.scalars(select(User.mobile).where(User.mobile.in_(mobiles)))) if mobiles else set()
        )
        valid: list[CheckedRow] = []
        skipped: list[CheckedRow] = []
        rejected: list[CheckedRow] = []
        for row in rows:
            if row.id_hash and row.id_hash in registered_ids:
                skipped.append(row)  # already registered: importing again changes nothing
                continue
            if row.id_hash:
                first = self._seen_ids.setdefault(row.id_hash, row.number)
                if first != row.number:
                    row.problem(ID_NUMBER, "id_duplicate", row=first)
            if row.mobile:
                first = self._seen_mobiles.setdefault(row.mobile, row.number)
                if first != row.number:
                    row.problem(MOBILE, "mobile_duplicate", row=first)
                elif row.mobile in registered_mobiles:
                    row.problem(MOBILE, "mobile_registered")
            (rejected if row.problems else valid).append(row)
        return valid, skipped, rejected
