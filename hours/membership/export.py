"""Excel exports of the membership prerequisite: a committee's applicant list, and newly approved members
for entry into the national League system (智慧团建).

The applicant list is a report: its headers follow the reader's language. The national export is a
data hand-over: its columns carry the national system's own (Chinese) field names, whatever the
page language, so a branch can enter or paste them as they are. Its full ID numbers are written
only for rows the exporter administers (others get the masked form), and every national export is
recorded in the audit trail.

民族 (ethnicity) is not kept by this system (the registration form does not ask it), so the column
is left blank for the branch to fill in; guessing a default would put wrong data into the national
system.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time

from flask_babel import gettext as _
from sqlalchemy import func, select

from app import audit, permissions
from app.extensions import db
from app.security import decrypt_id_number
from app.spreadsheets import Spreadsheet
from app.timeutil import LOCAL_TZ, to_local
from hours.membership.decisions import describe_missing
from hours.membership.models import EligibilityVerification
from hours.membership.progress import Progress, floor_tenth, rules
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: the national League system's field names, in its order
LEAGUE_HEADERS = (
    "姓名",
    "性别",
    "民族",
    "出生日期",
    "身份证号",
    "手机号",
    "所属团组织",
    "入团申请/积极分子日期",
    "团前教育学时",
    "志愿服务时长",
    "思政考评结果",
    "审核通过日期",
)
SEX_ZH = {"M": "男", "F": "女"}


def write_applicant_list(rows: list[Progress]) -> io.BytesIO:
    """The filtered applicant list as an .xlsx file (headers in the reader's language), rewound."""
    spreadsheet = Spreadsheet()
    sheet = spreadsheet.add_sheet(_("Applicants"))
    sheet.append(
        [
            _("Name"),
            _("Volunteer number"),
            _("Organization"),
            _("Activist since"),
            _("Months"),
            _("Theory class hours"),
            _("Verified service hours"),
            _("Service year"),
            _("Ideology evaluation"),
            _("Meets all conditions"),
            _("What is missing"),
            _("Verification"),
        ]
    )
    for p in rows:
        if p.evaluation_passed is None:
            evaluation = _("Not recorded")
        else:
            evaluation = _("Passed") if p.evaluation_passed else _("Not passed")
        if p.verification_approved is None:
            verification = ""
        else:
            verdict = _("Approved") if p.verification_approved else _("Not approved")
            assert p.verification_at is not None  # recorded with the verdict
            verification = f"{verdict} {to_local(p.verification_at).date().isoformat()}"
        sheet.append(
            [
                p.name,
                p.volunteer_number,
                p.organization_name,
                p.activist_since,
                p.months,
                p.conditions["theory"].value,
                p.conditions["service"].value,
                p.period.label,
                evaluation,
                _("Yes") if p.ready else _("No"),
                " ".join(describe_missing(p)),
                verification,
            ]
        )
    return spreadsheet.to_stream()


@dataclass
class ApprovedMember:
    """A newly approved applicant and the decision that approved them."""

    user: User
    verification: EligibilityVerification


def local_day_start(day: date) -> datetime:
    """Local (Asia/Shanghai) midnight starting `day`, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ)


def approved_members(viewer: User, *, since: date) -> list[ApprovedMember]:
    """Applicants in the viewer's subtrees whose latest decision is an approval made on or after `since`."""
    latest = select(func.max(EligibilityVerification.id)).group_by(EligibilityVerification.applicant_id)
    rows = db.session.execute(
        select(User, EligibilityVerification)
        .join(EligibilityVerification, EligibilityVerification.applicant_id == User.id)
        .join(Organization, Organization.id == User.organization_id)
        .where(
            EligibilityVerification.id.in_(latest),
            EligibilityVerification.approved.is_(True),
            EligibilityVerification.verified_at >= local_day_start(since),
            permissions.subtree_filter(Organization.path, permissions.role_paths(viewer, permissions.STAFF_ROLES)),
        )
        .order_by(EligibilityVerification.verified_at, User.id)
    ).all()
    return [ApprovedMember(user, verification) for user, verification in rows]


def write_league_export(viewer: User, *, since: date, now: datetime) -> tuple[io.BytesIO, int]:
    """Newly approved members as an .xlsx for the national League system; audited. Returns (file, rows)."""
    members = approved_members(viewer, since=since)
    class_minutes = rules().class_hour_minutes
    spreadsheet = Spreadsheet()
    sheet = spreadsheet.add_sheet("新团员", header=LEAGUE_HEADERS)
    full_ids = []
    for member in members:
        user, decision = member.user, member.verification
        if permissions.can_export_id_numbers(viewer, user):
            id_number = decrypt_id_number(user.id_number_encrypted)
            full_ids.append(user.id)
        else:
            id_number = user.masked_id_number
        # Dates and numbers as text: typed into the national system as written, never reformatted by Excel.
        sheet.append(
            [
                user.name,
                SEX_ZH.get(user.sex, ""),
                "",
                user.birth_date.isoformat(),
                id_number,
                user.mobile,
                user.organization.name,
                decision.activist_since.isoformat() if decision.activist_since else "",
                floor_tenth(decision.theory_minutes / class_minutes),
                floor_tenth(decision.service_minutes / 60),
                "合格",
                to_local(decision.verified_at).date().isoformat(),
            ]
        )
    paths = permissions.role_paths(viewer, permissions.STAFF_ROLES)
    organization_id = int(paths[0].strip("/").split("/")[-1]) if len(paths) == 1 else None
    audit.record(
        "membership.export_league",
        actor=viewer,
        now=now,
        organization_id=organization_id,
        after={
            "since": since.isoformat(),
            "rows": len(members),
            "applicant_ids": [m.user.id for m in members],
            "full_id_numbers": full_ids,
        },
        note=_("Export of newly approved members for the national League system"),
    )
    return spreadsheet.to_stream(), len(members)
