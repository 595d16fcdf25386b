"""The directory as an .xlsx file: the same filtered people, ID numbers masked, headers in Chinese.

Rows are read as plain columns in batches (yield_per) into a write-only workbook (app.spreadsheets keeps typed-in
text as text), so a subtree of tens of thousands of people never sits in memory as ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from app.extensions import db
from app.permissions import Person, Role
from app.spreadsheets import Spreadsheet
from app.timeutil import to_local
from volunteers.accounts.models import User
from volunteers.accounts.roles import grants_column
from volunteers.admin.directory.search import AccountStatus, PeopleCriteria, export_query, mask_mobile
from volunteers.organizations.models import Organization

#: the sheet's columns, as the league's offices write them
HEADERS = ("姓名", "志愿者编号", "手机号", "身份证号", "政治面貌", "所属组织", "角色", "账号状态", "注册时间")
#: the sheet is in Chinese throughout, like its headers
ROLE_LABELS_ZH = {Role.COORDINATOR.value: "活动负责人", Role.REVIEWER.value: "审核员", Role.ADMIN.value: "管理员"}
STATUS_LABELS_ZH = {
    AccountStatus.ACTIVE.value: "正常",
    AccountStatus.DISABLED.value: "已停用",
    AccountStatus.NOT_ACTIVATED.value: "未激活",
    AccountStatus.AWAITING_CODE.value: "手机号待验证",
}
STREAM_BATCH = 500
#: written to a temporary file on disk beyond this size
SPOOL_OVER = 8 * 1024 * 1024


def _roles_text(packed: str | None) -> str:
    """ "admin:/1/2/|reviewer:/1/" (grants_column) as "管理员、审核员"."""
    if not packed:
        return ""
    codes = dict.fromkeys(item.split(":", 1)[0] for item in packed.split("|"))
    return "、".join(ROLE_LABELS_ZH.get(code, code) for code in codes)


def _status(is_disabled: bool, activated: bool, awaiting_code: bool) -> str:
    if is_disabled:
        return STATUS_LABELS_ZH[AccountStatus.DISABLED.value]
    if not activated:
        return STATUS_LABELS_ZH[AccountStatus.NOT_ACTIVATED.value]
    return STATUS_LABELS_ZH[AccountStatus.AWAITING_CODE.value if awaiting_code else AccountStatus.ACTIVE.value]


def people_rows(viewer: Person, criteria: PeopleCriteria) -> Iterator[tuple]:
    """The export's rows in directory order, fetched in batches."""
    stmt = export_query(
        viewer,
        criteria,
        User.name,
        User.volunteer_number,
        User.mobile,
        User.id_number_head,
        User.id_number_tail,
        User.political_status,
        Organization.name,
        grants_column(User.id),
        User.is_disabled,
        User.password_hash.is_not(None).label("activated"),
        User.awaiting_mobile_code,
        User.created_at,
    )
    for row in db.session.execute(stmt.execution_options(yield_per=STREAM_BATCH)):
        name, number, mobile, head, tail, political, organization, grants, disabled, activated, awaiting, created = row
        yield (
            name,
            number,
            mask_mobile(mobile),
            f"{head}{'*' * 10}{tail}",  # as User.masked_id_number
            political,
            organization,
            _roles_text(grants),
            _status(bool(disabled), bool(activated), bool(awaiting)),
            to_local(created).strftime("%Y-%m-%d %H:%M") if created else "",
        )


def write_people(viewer: Person, criteria: PeopleCriteria) -> IO[bytes]:
    """The .xlsx file of the filtered directory, rewound (spooled to disk when large); the caller closes it."""
    spreadsheet = Spreadsheet()
    sheet = spreadsheet.add_sheet("人员名录", header=HEADERS, widths={"A": 12, "B": 14, "D": 22, "F": 30, "G": 18})
    sheet.extend(people_rows(viewer, criteria))
    return spreadsheet.to_stream(spool_over=SPOOL_OVER)


def file_chunks(data: IO[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    """The file's bytes in chunks for a streamed response; the file is closed at the end."""
    try:
        while chunk := data.read(size):
            yield chunk
    finally:
        data.close()
