"""Importing a whole organization tree from Excel: read, plan (every row's fate), then apply all or nothing.

The sheet has the columns 上级 (the parent: its organization code, or its path of names from the city committee
down, "团市委/南城街道团委"), 名称, 类型 (团市委, 镇街团委, 高校团委, 厂局团委, 团支部, 志愿服务队), 代码 and,
optionally, 简称. A row's parent may be an organization of the tree or one an earlier row creates.

Each row's fate: `create`, `unchanged` (the organization exists as the row says), `rename` (the row's code
names an organization whose name or short name differ) or `error` (with the reason). The preview writes nothing;
applying plans again against the tree as it is then and writes only when no row is in error, so the same file
imported twice changes nothing the second time.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from openpyxl import load_workbook
from sqlalchemy import select

from app import audit
from app.errors import ValidationFailed
from app.extensions import db
from app.permissions import can_administer
from app.spreadsheets import Spreadsheet
from volunteers.accounts.models import User
from volunteers.imports import unpacking
from volunteers.imports.importer import OLE_SIGNATURE, XLSX_SIGNATURE
from volunteers.imports.rows import cell_text, normalize_header
from volunteers.organizations import services
from volunteers.organizations.models import Organization, OrgKind

SHEET_TITLE = "组织架构"
PARENT, NAME, KIND, CODE, SHORT_NAME = "上级", "名称", "类型", "代码", "简称"
COLUMNS = (PARENT, NAME, KIND, CODE, SHORT_NAME)
REQUIRED_COLUMNS = (PARENT, NAME, KIND)
#: a city's tree has a few thousand nodes
MAX_ROWS = 5000

#: what people write in the 类型 column
KIND_WORDS = {
    "团市委": OrgKind.CITY.value,
    "市委": OrgKind.CITY.value,
    "镇街团委": OrgKind.TOWN.value,
    "镇街（园区）团委": OrgKind.TOWN.value,
    "镇街(园区)团委": OrgKind.TOWN.value,
    "园区团委": OrgKind.TOWN.value,
    "镇街": OrgKind.TOWN.value,
    "高校团委": OrgKind.UNIVERSITY.value,
    "高校": OrgKind.UNIVERSITY.value,
    "厂局团委": OrgKind.ENTERPRISE.value,
    "企业团委": OrgKind.ENTERPRISE.value,
    "团支部": OrgKind.BRANCH.value,
    "支部": OrgKind.BRANCH.value,
    "志愿服务队": OrgKind.TEAM.value,
    "志愿者协会": OrgKind.TEAM.value,
    "服务队": OrgKind.TEAM.value,
    **{kind.value: kind.value for kind in OrgKind},
}
#: the template's kind words, one per kind
KIND_NAMES = {
    OrgKind.CITY.value: "团市委",
    OrgKind.TOWN.value: "镇街团委",
    OrgKind.UNIVERSITY.value: "高校团委",
    OrgKind.ENTERPRISE.value: "厂局团委",
    OrgKind.BRANCH.value: "团支部",
    OrgKind.TEAM.value: "志愿服务队",
}
_PATH_SEPARATORS = re.compile(r"\s*[/›>＞／]\s*")

CREATE, UNCHANGED, RENAME, ERROR = "create", "unchanged", "rename", "error"


@dataclass
class TreeRow:
    """One row of the sheet and its fate."""

    number: int
    parent: str
    name: str
    kind: str
    code: str
    short_name: str
    fate: str = ""
    message: str = ""
    #: the organization it names (unchanged, rename) and the parent it goes under (create)
    org_id: int | None = None
    parent_label: str = ""


@dataclass
class TreePlan:
    rows: list[TreeRow]
    counts: Counter = field(default_factory=Counter)

    @property
    def has_errors(self) -> bool:
        return self.counts[ERROR] > 0

    @property
    def changes(self) -> int:
        return self.counts[CREATE] + self.counts[RENAME]


def _not_xlsx() -> ValidationFailed:
    return ValidationFailed(
        _("This file is not an Excel .xlsx workbook. Download the template and fill it in."),
        field="file",
        code="not_xlsx",
    )


def read_rows(data: bytes) -> list[list[str]]:
    """The sheet's data rows as [上级, 名称, 类型, 代码, 简称] texts, or ValidationFailed on the file field."""
    if data[:4] == OLE_SIGNATURE:
        raise ValidationFailed(
            _("This is an old-style .xls file. Open it in Excel or WPS and save it as .xlsx."), field="file"
        )
    if data[:4] != XLSX_SIGNATURE:
        raise _not_xlsx()
    unpacking.check_archive(data, max_unpacked=current_app.config["IMPORT_MAX_UNPACKED_BYTES"], max_rows=MAX_ROWS)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, IndexError, SyntaxError) as exc:
        raise _not_xlsx() from exc
    try:
        sheet = workbook[SHEET_TITLE] if SHEET_TITLE in workbook.sheetnames else workbook.worksheets[0]
        rows = sheet.iter_rows(max_col=30, values_only=True)
        header = next(rows, ())
        columns: dict[str, int] = {}
        for index, value in enumerate(header or ()):
            name = normalize_header(value)
            if name in COLUMNS and name not in columns:
                columns[name] = index
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise ValidationFailed(
                _(
                    "The first row must hold the template's column names; missing: %(columns)s.",
                    columns="、".join(missing),
                ),
                field="file",
                code="missing_columns",
            )
        found: list[list[str]] = []
        for values in rows:
            texts = [
                cell_text(values[columns[c]]) if c in columns and columns[c] < len(values) else "" for c in COLUMNS
            ]
            if not any(texts):
                continue
            if len(found) >= MAX_ROWS:
                raise ValidationFailed(
                    _("The file has more than %(limit)s rows; split it into smaller files.", limit=MAX_ROWS),
                    field="file",
                    code="too_many_rows",
                )
            found.append(texts)
    except (KeyError, ValueError, TypeError, IndexError, SyntaxError, zipfile.BadZipFile) as exc:
        raise _not_xlsx() from exc
    finally:
        workbook.close()
    if not found:
        raise ValidationFailed(_("The file holds no organizations."), field="file", code="empty")
    return found


class _Node:
    """An organization of the tree, or one the plan will create."""

    def __init__(self, *, name: str, short_name: str, kind: str, code: str | None, parent: _Node | None, org=None):
        self.name, self.short_name, self.kind, self.code, self.parent, self.org = (
            name,
            short_name,
            kind,
            code,
            parent,
            org,
        )
        self.children: dict[str, _Node] = {}

    @property
    def label(self) -> str:
        return self.short_name or self.name

    def within(self, other: _Node) -> bool:
        node: _Node | None = self
        while node is not None:
            if node is other:
                return True
            node = node.parent
        return False

    def administered_by(self, by: User) -> bool:
        node: _Node | None = self
        while node is not None and node.org is None:
            node = node.parent
        return node is not None and can_administer(by, node.org)


class _Tree:
    """The tree as it stands, grown by the plan's new nodes."""

    def __init__(self) -> None:
        orgs = list(
            db.session.scalars(select(Organization).where(Organization.closed_at.is_(None)).order_by(Organization.path))
        )
        self.nodes: dict[int, _Node] = {}
        self.by_code: dict[str, _Node] = {}
        self.root: _Node | None = None
        for org in orgs:
            parent = self.nodes.get(org.parent_id) if org.parent_id else None
            if org.parent_id and parent is None:
                continue  # below a closed organization
            node = _Node(name=org.name, short_name=org.short_name, kind=org.kind, code=org.code, parent=parent, org=org)
            self.nodes[org.id] = node
            self._link(node)
        # codes of closed organizations stay taken
        for (code,) in db.session.execute(select(Organization.code).where(Organization.code.is_not(None))):
            self.by_code.setdefault(code, _Node(name="", short_name="", kind="", code=code, parent=None))

    def _link(self, node: _Node) -> None:
        if node.parent is None:
            self.root = node
        else:
            node.parent.children[node.name] = node
            if node.short_name:
                node.parent.children.setdefault(node.short_name, node)
        if node.code:
            self.by_code[node.code] = node

    def add(self, node: _Node) -> None:
        self._link(node)

    def find_parent(self, text: str) -> _Node | None:
        if text in self.by_code and self.by_code[text].kind:
            return self.by_code[text]
        parts = [p for p in _PATH_SEPARATORS.split(text) if p]
        if not parts or self.root is None:
            return None
        node: _Node | None = self.root
        if parts[0] in (self.root.name, self.root.short_name):
            parts = parts[1:]
        for part in parts:
            node = node.children.get(part) if node is not None else None
        return node


def plan_tree(raw_rows: list[list[str]], *, by: User) -> TreePlan:
    """Every row's fate, against the tree as it is now; writes nothing."""
    tree = _Tree()
    rows = []
    seen_codes: set[str] = set()
    for number, (parent_text, name, kind_text, code, short_name) in enumerate(raw_rows, start=2):
        row = TreeRow(number, parent_text, name, kind_text, code, short_name)
        rows.append(row)
        try:
            _plan_row(row, tree, seen_codes, by)
        except ValidationFailed as exc:
            row.fate, row.message = ERROR, exc.message
    return TreePlan(rows=rows, counts=Counter(r.fate for r in rows))


def _plan_row(row: TreeRow, tree: _Tree, seen_codes: set[str], by: User) -> None:
    kind = KIND_WORDS.get(row.kind.strip())
    if kind is None:
        raise ValidationFailed(_("Unknown kind %(kind)s.", kind=row.kind or "—"))
    name, short_name, code = services.check_names(row.name, row.short_name, row.code)
    if code is not None:
        if code in seen_codes:
            raise ValidationFailed(_("The code %(code)s appears twice in the file.", code=code))
        seen_codes.add(code)
    if not row.parent:
        raise ValidationFailed(_("Give the parent organization (its code or its path)."))
    parent = tree.find_parent(row.parent)
    if parent is None:
        raise ValidationFailed(_("No organization %(parent)s in the tree or above this row.", parent=row.parent))
    row.parent_label = parent.label
    existing = tree.by_code.get(code) if code is not None else parent.children.get(name)
    if existing is not None and existing.org is None and existing.kind:
        raise ValidationFailed(_("This organization appears twice in the file."))
    if existing is not None and not existing.kind:
        raise ValidationFailed(_("The code %(code)s belongs to a closed organization.", code=code))
    if existing is not None:
        if existing.parent is not parent:
            where = existing.parent.label if existing.parent is not None else "—"
            raise ValidationFailed(
                _("%(name)s is already under %(parent)s; move it on its page.", name=existing.label, parent=where)
            )
        if existing.kind != kind:
            raise ValidationFailed(
                _(
                    "%(name)s already exists as a %(kind)s.",
                    name=existing.label,
                    kind=services.kind_label(existing.kind),
                )
            )
        if not existing.administered_by(by):
            raise ValidationFailed(_("%(name)s lies outside the subtree you administer.", name=existing.label))
        row.org_id = existing.org.id if existing.org is not None else None
        if (existing.name, existing.short_name) == (name, short_name or existing.short_name):
            row.fate = UNCHANGED
            return
        if code is None:
            row.fate = UNCHANGED  # found by name: only a short name to add, which an import without code leaves
            return
        clash = parent.children.get(name)
        if clash is not None and clash is not existing:
            raise ValidationFailed(
                _("%(parent)s already has an organization named %(name)s.", parent=parent.label, name=name)
            )
        del parent.children[existing.name]
        existing.name, existing.short_name = name, short_name
        parent.children[name] = existing
        row.fate = RENAME
        return
    if not parent.administered_by(by):
        raise ValidationFailed(_("%(name)s lies outside the subtree you administer.", name=parent.label))
    if kind not in services.ALLOWED_CHILDREN.get(parent.kind, set()):
        raise ValidationFailed(
            _(
                "A %(kind)s cannot be placed under a %(parent_kind)s.",
                kind=services.kind_label(kind),
                parent_kind=services.kind_label(parent.kind),
            )
        )
    tree.add(_Node(name=name, short_name=short_name, kind=kind, code=code, parent=parent))
    row.fate = CREATE


def apply_tree(raw_rows: list[list[str]], *, by: User, now: datetime) -> TreePlan:
    """Plan again against the tree as it is now and, when no row is in error, make every change (flushed)."""
    plan = plan_tree(raw_rows, by=by)
    if plan.has_errors:
        raise ValidationFailed(
            _("%(num)s rows have errors; nothing was imported.", num=plan.counts[ERROR]), code="rows_in_error"
        )
    if not plan.changes:
        return plan
    tree = _Tree()
    for row in plan.rows:
        parent = tree.find_parent(row.parent)
        assert parent is not None and parent.org is not None  # the plan found it, and earlier rows created it
        kind = KIND_WORDS[row.kind.strip()]
        name, short_name, code = services.check_names(row.name, row.short_name, row.code)
        if row.fate == CREATE:
            org = services.create_organization(name, kind, parent.org, short_name=short_name, code=code, by=by, now=now)
            tree.add(_Node(name=org.name, short_name=org.short_name, kind=kind, code=code, parent=parent, org=org))
        elif row.fate == RENAME:
            renamed = db.session.get(Organization, row.org_id)
            assert renamed is not None  # the plan found it in the tree
            old = tree.nodes[renamed.id]
            services.rename_organization(renamed, name=name, short_name=short_name, code=code, by=by, now=now)
            del parent.children[old.name]
            old.name, old.short_name = name, short_name
            tree.add(old)
    audit.record(
        "organization.import",
        actor=by,
        now=now,
        after={CREATE: plan.counts[CREATE], RENAME: plan.counts[RENAME], UNCHANGED: plan.counts[UNCHANGED]},
    )
    return plan


def template_workbook() -> io.BytesIO:
    """The import template: the data sheet with its columns, and a sheet that explains them with examples."""
    book = Spreadsheet()
    book.add_sheet(SHEET_TITLE, header=list(COLUMNS), widths={"A": 24, "B": 34, "C": 14, "D": 14, "E": 16})
    notes = book.add_sheet("填写说明", header=["列", "说明", "示例"], widths={"A": 10, "B": 60, "C": 40})
    notes.extend(
        [
            [
                PARENT,
                "上级组织的代码，或从团市委起的名称路径，用 / 分隔；可以是本表前面行新建的组织",
                "NC 或 团市委/南城街道",
            ],
            [NAME, "组织全称", "共青团东莞市南城街道委员会"],
            [KIND, "、".join(KIND_NAMES.values()), "镇街团委"],
            [CODE, "组织代码（选填，字母、数字或连字符）；有代码时按代码识别，名称不同即为改名", "NC-01"],
            [SHORT_NAME, "简称（选填）", "南城街道"],
        ]
    )
    return book.to_stream()
