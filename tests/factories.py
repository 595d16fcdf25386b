"""Builders of the tests' rows: the ONE place that makes organizations, people (users and their role grants),
events, positions, shifts, assignments and attendances, and the skills, credentials, team quotas, river segments
and patrols around them.

Plain builder functions, not factory_boy: most rows are made through the app's own services
(create_organization, register_volunteer, create_segment), the defaults hang on the test's `now` and on
organizations the test already has, and keyword functions read as the fixtures always did.

Conventions:

- A builder takes the rows it hangs on (organization, event, position, shift, user) as arguments; any other
  column can be given as a keyword and overrides the default.
- It commits what it made; with ``commit=False`` it only flushes (the row has its id), so a caller can make
  several rows and commit once.
- Names that must be unique are numbered: ``numbered("测试活动")`` -> "测试活动17".
- Every account's password is tests.support.PASSWORD.

The fixtures are thin and pick their folder's defaults (the test's `now`, 南城街道): tests/conftest.py offers
``make_org``, ``orgs``, ``make_user``, ``now``, ``local_time``, ``make_event``, ``make_position``, ``make_shift``,
``make_skill``, ``make_credential_type``, ``grant_credential`` and ``make_quota`` to every folder; a folder's
conftest.py may wrap these builders differently (tests/hours/ledger: ``make_event(starts_at, ends_at)``), never
build rows itself.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.permissions import Role
from app.security import demo_id_number
from app.timeutil import LOCAL_TZ, utcnow
from checkin.models import Attendance, AttendanceStatus
from events.models import (
    Assignment,
    AssignmentStatus,
    Credential,
    CredentialType,
    Event,
    EventKind,
    EventStatus,
    Position,
    Shift,
    TeamQuota,
)
from patrols.segments.models import PatrolShift, RiverSegment
from patrols.segments.services import SegmentData, create_segment
from tests.support import PASSWORD, local_time
from volunteers.accounts.models import Skill, User
from volunteers.accounts.services import ProfileData, register_volunteer
from volunteers.organizations.models import Organization, OrgKind, RoleGrant
from volunteers.organizations.services import create_organization

_sequence = itertools.count(1)
_people = itertools.count(1)


def numbered(prefix: str) -> str:
    """`prefix` followed by a number no other name of this process has."""
    return f"{prefix}{next(_sequence)}"


def _saved(row, commit: bool):
    db.session.add(row)
    _done(commit)
    return row


def _done(commit: bool) -> None:
    if commit:
        db.session.commit()
    else:
        db.session.flush()


# -- organizations and people ------------------------------------------------------------------------------


def organization(
    name: str, kind: OrgKind | str = OrgKind.TEAM, parent: Organization | None = None, *, short_name: str = ""
) -> Organization:
    """An organization below `parent` (None only for the city committee), made by the app's service."""
    kind_value = kind.value if isinstance(kind, OrgKind) else kind
    org = create_organization(name, kind_value, parent, short_name=short_name or name)
    db.session.commit()
    return org


def organization_tree() -> dict[str, Organization]:
    """The usual tree: city → 南城街道 (a team and a branch), 东城街道 (a team), 东莞理工学院 (a team)."""
    city = organization("共青团东莞市委员会", OrgKind.CITY, short_name="团市委")
    nancheng = organization("南城街道", OrgKind.TOWN, city)
    dongcheng = organization("东城街道", OrgKind.TOWN, city)
    dgut = organization("东莞理工学院", OrgKind.UNIVERSITY, city)
    return {
        "city": city,
        "nancheng": nancheng,
        "nancheng_team": organization("南城街道志愿服务队", OrgKind.TEAM, nancheng),
        "nancheng_branch": organization("南城阳光社区团支部", OrgKind.BRANCH, nancheng),
        "dongcheng": dongcheng,
        "dongcheng_team": organization("东城街道志愿者协会", OrgKind.TEAM, dongcheng),
        "dgut": dgut,
        "dgut_team": organization("东莞理工学院青年志愿者协会", OrgKind.TEAM, dgut),
    }


def grant_role(user: User, organization: Organization, role: Role | str, *, commit: bool = True) -> RoleGrant:
    """`user` holds `role` over `organization` (and its subtree)."""
    role_value = role.value if isinstance(role, Role) else role
    return _saved(RoleGrant(user_id=user.id, organization_id=organization.id, role=role_value), commit)


def user(
    organization: Organization,
    *,
    role: Role | str | None = None,
    role_org: Organization | None = None,
    name: str | None = None,
    mobile: str | None = None,
    id_number=None,
    birth: date = date(2000, 1, 1),
    political_status: str = "共青团员",
    emergency_contact_name: str = "紧急联系人",
    **fields,
) -> User:
    """A volunteer of `organization` registered by the app's service (password PASSWORD), committed.

    Defaults: named 志愿者N, mobile 139000000NN, an ID number of someone born on `birth`. With `role`, a grant of
    it over `role_org` (default: `organization`). ``activist_since`` and the ``guardian_*`` fields go to the
    registration; any other keyword is set on the user afterwards.
    """
    n = next(_people)
    account = register_volunteer(
        mobile=mobile or f"139{n:08d}",
        id_number=id_number or demo_id_number(birth, n, region=f"{441900 + n // 1000}"),
        password=PASSWORD,
        profile=ProfileData(
            name=name or f"志愿者{n}",
            political_status=political_status,
            organization_id=organization.id,
            emergency_contact_name=emergency_contact_name,
            emergency_contact_mobile="13700000000",
            activist_since=fields.pop("activist_since", None),
            guardian_name=fields.pop("guardian_name", ""),
            guardian_mobile=fields.pop("guardian_mobile", ""),
            guardian_consent=fields.pop("guardian_consent", False),
        ),
        now=utcnow(),
    )
    for key, value in fields.items():
        setattr(account, key, value)
    if role is not None:
        grant_role(account, role_org or organization, role, commit=False)
    db.session.commit()
    return account


# -- events, positions, shifts -------------------------------------------------------------------------------


def event(
    organization: Organization, *, starts_at: datetime, ends_at: datetime | None = None, commit: bool = True, **fields
) -> Event:
    """A published community service of `organization` (测试活动N) ending 10 h after it starts.

    Nothing else is set (no place, no sign-up window): see `open_event` for one volunteers can sign up for.
    """
    values = {
        "title": numbered("测试活动"),
        "kind": EventKind.COMMUNITY.value,
        "organization_id": organization.id,
        "starts_at": starts_at,
        "ends_at": ends_at or starts_at + timedelta(hours=10),
        "status": EventStatus.PUBLISHED.value,
    }
    values.update(fields)
    return _saved(Event(**values), commit)


def open_event(
    organization: Organization, *, now: datetime, starts_at: datetime | None = None, commit: bool = True, **fields
) -> Event:
    """A published community service of `organization` open for sign-up at `now`.

    Defaults: tomorrow 08:00-18:00 Asia/Shanghai (local date of `now`), at 南城街道鸿福路, published and open for
    sign-up since a day before `now`, sign-up closing when it starts, cancel cut-off 24 h.
    """
    starts_at = starts_at or local_time(now, 1, 8)
    values = {
        "place": "南城街道鸿福路",
        "signup_opens_at": now - timedelta(days=1),
        "signup_closes_at": starts_at,
        "cancel_cutoff_hours": 24,
        "published_at": now - timedelta(days=1),
    }
    values.update(fields)
    return event(organization, starts_at=starts_at, commit=commit, **values)


def position(
    event: Event,
    *,
    name: str | None = None,
    description: str = "现场引导",
    min_age: int = 0,
    skills: list[Skill] = (),
    credentials: list[CredentialType] = (),
    commit: bool = True,
    **fields,
) -> Position:
    """A position (引导N) of `event`, requiring `skills` and `credentials`."""
    row = Position(event_id=event.id, name=name or numbered("引导"), description=description, min_age=min_age, **fields)
    row.required_skills = list(skills)
    row.required_credentials = list(credentials)
    return _saved(row, commit)


def shift(
    position: Position,
    *,
    starts_at: datetime,
    ends_at: datetime | None = None,
    capacity: int = 10,
    meeting_point: str = "南城街道办事处门口",
    commit: bool = True,
    **fields,
) -> Shift:
    """A shift of `position` with `capacity` places, none taken, ending 3 h after it starts."""
    values = {"assigned_count": 0, **fields}
    row = Shift(
        event_id=position.event_id,
        position_id=position.id,
        starts_at=starts_at,
        ends_at=ends_at or starts_at + timedelta(hours=3),
        capacity=capacity,
        meeting_point=meeting_point,
        **values,
    )
    return _saved(row, commit)


def assignment(
    shift: Shift,
    user: User,
    *,
    status: str = AssignmentStatus.ASSIGNED.value,
    source: str = "coordinator",
    holds_place: bool | None = None,
    commit: bool = True,
    **fields,
) -> Assignment:
    """`user` on `shift` for the whole shift, put there directly (not through the sign-up rules).

    `holds_place` (default: status "assigned") counts it in the shift's assigned_count, with the guarded UPDATE
    the app uses; the shift is read afresh after.
    """
    if holds_place is None:
        holds_place = status == AssignmentStatus.ASSIGNED.value
    row = Assignment(
        shift_id=shift.id,
        user_id=user.id,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        status=status,
        source=source,
        **fields,
    )
    db.session.add(row)
    if holds_place:
        db.session.execute(update(Shift).where(Shift.id == shift.id).values(assigned_count=Shift.assigned_count + 1))
    _done(commit)
    if holds_place:
        db.session.refresh(shift)
    return row


def attendance(
    assignment: Assignment,
    *,
    checked_in_at: datetime,
    checked_out_at: datetime | None = None,
    status: str | None = None,
    method: str = "kiosk",
    commit: bool = True,
    **fields,
) -> Attendance:
    """The assigned volunteer's stay on the assignment's shift, checked in (and out) by `method`.

    Status: closed when checked out, else open. Created at check-in, last changed at check-out.
    """
    if status is None:
        status = AttendanceStatus.CLOSED.value if checked_out_at else AttendanceStatus.OPEN.value
    values = {
        "user_id": assignment.user_id,
        "event_id": db.session.get(Shift, assignment.shift_id).event_id,
        "shift_id": assignment.shift_id,
        "assignment_id": assignment.id,
        "checked_in_at": checked_in_at,
        "checked_out_at": checked_out_at,
        "status": status,
        "check_in_method": method,
        "check_out_method": method if checked_out_at else None,
        "created_at": checked_in_at,
        "updated_at": checked_out_at or checked_in_at,
    }
    values.update(fields)
    return _saved(Attendance(**values), commit)


# -- what positions require, team quotas -------------------------------------------------------------------


def skill(name: str, kind: str = "skill", name_en: str = "") -> Skill:
    """The skill (or language) of that name, made if missing."""
    row = db.session.scalar(select(Skill).where(Skill.name == name))
    if row is None:
        row = _saved(Skill(name=name, kind=kind, name_en=name_en or name), True)
    return row


def credential_type(name: str = "急救培训合格", valid_days: int | None = None) -> CredentialType:
    """The credential type of that name, made if missing."""
    row = db.session.scalar(select(CredentialType).where(CredentialType.name == name))
    if row is None:
        row = _saved(CredentialType(name=name, valid_days=valid_days), True)
    return row


def credential(
    user: User, credential_type: CredentialType, *, granted_at: datetime, expires_at: datetime | None = None
) -> Credential:
    """`user` holds the credential since `granted_at` (until `expires_at`, None: for good)."""
    row = Credential(
        user_id=user.id, credential_type_id=credential_type.id, granted_at=granted_at, expires_at=expires_at
    )
    return _saved(row, True)


def quota(position: Position, organization: Organization, quantity: int = 5) -> TeamQuota:
    """`organization` provides `quantity` volunteers for each shift of `position`."""
    return _saved(TeamQuota(position_id=position.id, organization_id=organization.id, quantity=quantity), True)


# -- river segments and patrols ------------------------------------------------------------------------------

#: 东莞运河 through 南城: an east-west piece of about 1 km, then a north-east piece of about 1.5 km
RIVER_LINE = [(23.0200, 113.7500), (23.0200, 113.7600), (23.0300, 113.7700)]


def segment_data(*, town: Organization, team: Organization, chief: User, **changes) -> SegmentData:
    """A segment of 东莞运河 (南城段N) along RIVER_LINE in `town`, adopted by `team`, `chief` its river chief."""
    values = {
        "river_name": "东莞运河",
        "name": numbered("南城段"),
        "town_id": town.id,
        "team_id": team.id,
        "points": list(RIVER_LINE),
        "chief_mobile": chief.mobile,
    }
    values.update(changes)
    return SegmentData(**values)


def segment(*, by: User, now: datetime, town: Organization, team: Organization, chief: User, **changes) -> RiverSegment:
    """A river segment (with its patrol event and position) made by the app's service, committed."""
    row = create_segment(segment_data(town=town, team=team, chief=chief, **changes), by=by, now=now)
    db.session.commit()
    return row


def patrol(
    segment: RiverSegment, day: date, start: time = time(9), end: time = time(11), *, cancelled: bool = False
) -> PatrolShift:
    """The segment's patrol on `day`, `start`-`end` Asia/Shanghai, 5 places (made directly, not by a schedule)."""
    starts_at = datetime.combine(day, start, tzinfo=LOCAL_TZ)
    row = shift(
        db.session.get(Position, segment.position_id),
        starts_at=starts_at,
        ends_at=datetime.combine(day, end, tzinfo=LOCAL_TZ),
        capacity=5,
        meeting_point="",
        is_cancelled=cancelled,
        commit=False,
    )
    return _saved(PatrolShift(shift_id=row.id, segment_id=segment.id, local_date=day, created_at=starts_at), True)
