"""The world of the hostile crawl (tests/hostile/test_crawl.py): the demo organizations and the four demo accounts
(demo.data.load_demo_data), and records of every kind in two sibling subtrees of the city:

- "own": 南城街道志愿服务队 (the demo coordinator's team, below the demo reviewer's 南城街道), where the demo
  volunteer (东莞理工学院) also served;
- "other": 东城街道志愿者协会 below 东城街道, whose records carry the planted names of OTHER_NAMES.

Each subtree gets: a published upcoming event (position, shift, assignment), a draft event, a past event (its
shift, assignment, scans with a conflict, attendance, hours entry verified and disputed, a back-filled entry with
a paper-sheet evidence rejected, so a notification), a certificate, a river segment with its schedule, a patrol
and its filed report (finding, photo), an import job (one imported volunteer, one rejected row), a team quota, a
membership applicant with an ideology evaluation, and a calendar feed token. Everything is made through the
areas' own services where they exist, as in tests/hostile/conftest.py.

The builder is plain functions (no fixtures) so that test_crawl.py can build the world in its own fixture;
it depends on no conftest fixture but the app context.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import zipfile
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

from PIL import Image
from sqlalchemy import or_, select, text

from app.extensions import db
from app.permissions import Role
from app.security import check_digit, decrypt_id_number, demo_id_number
from app.timeutil import LOCAL_TZ, local_today, utcnow
from demo.data import DEMO_ACCOUNTS, DEMO_PASSWORD, load_demo_data
from events.models import Assignment, Event, EventKind, EventStatus, Position, Shift
from tests.support import attendance_of
from volunteers.accounts.models import User
from volunteers.accounts.services import ProfileData, register_volunteer
from volunteers.organizations.models import Organization, RoleGrant

# -- the planted names of the other subtree (东城) --------------------------------------------------------------

#: what each planted name is; a name found in a page of someone outside 东城 is a leak (unless test_crawl's
#: PUBLIC_PAGES allows that name on that route)
OTHER_NAMES = {
    "event": "外区公开活动",  # published, upcoming: public on the event pages and lists
    "position": "外区公开岗位",  # its position: public with the event
    "meeting_point": "外区集合点",  # its shift's meeting point: public with the event
    "past_event": "外区往期活动",  # published, over: its page is public, its hours are not
    "draft_event": "外区秘密活动",  # a draft: only 东城's staff (and the city) may know of it
    "volunteer": "外区志愿者",
    "pending": "外区待审者",  # a volunteer whose hours wait for review
    "open": "外区未签退者",  # a volunteer who never checked out
    "coordinator": "外区协调员",
    "reviewer": "外区审核员",
    "admin": "外区管理员",
    "applicant": "外区积极分子",
    "imported": "外区导入者",
    "dispute": "外区秘密申诉",
    "backfill": "外区补录理由",
    "rejection": "外区驳回理由",
    "evaluation": "外区考评意见",
    "segment": "外区河段",  # a river segment and its patrol events: public to volunteers (the patrol pages)
    "chief": "外区河长",  # the segment's volunteer river chief: named on the public segment pages (河长公示)
    "report": "外区巡河记录",
    "finding": "外区漂浮物",
    "import_file": "外区名单.xlsx",
    "emergency": "外区紧急联系人",
    "mover": "外区转入者",  # a volunteer of the team asking to move to the town: only the town's staff decide
}

OWN_NAMES = {
    "event": "本区公开活动",
    "position": "本区岗位",
    "meeting_point": "本区集合点",
    "past_event": "本区往期活动",
    "draft_event": "本区草稿活动",
    "volunteer": "本区志愿者",
    "pending": "本区待审者",
    "open": "本区未签退者",
    "coordinator": "本区协调员",
    "reviewer": "本区审核员",
    "admin": "本区管理员",
    "applicant": "本区积极分子",
    "imported": "本区导入者",
    "dispute": "本区申诉",
    "backfill": "本区补录理由",
    "rejection": "本区驳回理由",
    "evaluation": "本区考评意见",
    "segment": "本区河段",
    "chief": "本区河长",
    "report": "本区巡河记录",
    "finding": "本区漂浮物",
    "import_file": "本区名单.xlsx",
    "emergency": "本区紧急联系人",
    "mover": "本区转入者",
}

ROLES = ("admin", "reviewer", "coordinator", "volunteer")  # the demo accounts, in DEMO_ACCOUNTS' order
DEMO_MOBILES = {role: account[0] for role, account in zip(ROLES, DEMO_ACCOUNTS, strict=True)}

LINES = {  # (lat, lon) points of each subtree's river segment
    "own": [(23.0200, 113.7500), (23.0200, 113.7600), (23.0300, 113.7700)],
    "other": [(23.0450, 113.7850), (23.0470, 113.7950), (23.0500, 113.8000)],
}


def local(days: int, hour: int) -> datetime:
    day = utcnow().astimezone(LOCAL_TZ).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, tzinfo=LOCAL_TZ)


def image(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, kind)
    return out.getvalue()


_serial = itertools.count(500)  # numbers the people of a world (mobile, ID number); build_world starts it again


def person(org: Organization, name: str, *, role: Role | None = None, role_org: Organization | None = None, **extra):
    """A registered volunteer (password DEMO_PASSWORD) of `org`, with an optional role grant; committed."""
    n = next(_serial)
    user = register_volunteer(
        mobile=f"1370000{n:04d}",
        id_number=demo_id_number(extra.pop("birth", date(1999, 4, 1)), n, region="441900"),
        password=DEMO_PASSWORD,
        profile=ProfileData(
            name=name,
            political_status=extra.pop("political_status", "共青团员"),
            organization_id=org.id,
            emergency_contact_name=extra.pop("emergency", "紧急联系人"),
            emergency_contact_mobile="13700000000",
            activist_since=extra.pop("activist_since", None),
        ),
        now=utcnow(),
    )
    if role is not None:
        db.session.add(RoleGrant(user_id=user.id, organization_id=(role_org or org).id, role=role.value))
    db.session.commit()
    return user


def _org(short_name: str) -> Organization:
    return db.session.scalars(
        select(Organization).where(or_(Organization.short_name == short_name, Organization.name == short_name))
    ).one()


@dataclass
class Subtree:
    """The records of one subtree, by the name of the <int:...> argument that opens them."""

    names: dict[str, str]
    ids: dict[str, list[int]] = field(default_factory=dict)
    tokens: dict[str, list[str]] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)


@dataclass
class World:
    accounts: dict[str, User]  # the demo accounts by role
    own: Subtree
    other: Subtree
    id_numbers: dict[str, int]  # every whole ID number known to the test -> the user id (0: never a user)


def _import_file(names: dict[str, str], id_value: str, rejected_id: str) -> bytes:
    from openpyxl import Workbook

    from volunteers.imports.rows import COLUMNS

    workbook = Workbook()
    workbook.active.append(COLUMNS)
    rows = [
        {
            "姓名": names["imported"],
            "手机号": f"1589999{next(_serial):04d}",
            "身份证号": id_value,
            "政治面貌": "共青团员",
            "紧急联系人": names["emergency"],
            "紧急联系人手机": "13712345678",
        },
        {  # rejected: the mobile is not one
            "姓名": names["imported"] + "乙",
            "手机号": "12345",
            "身份证号": rejected_id,
            "政治面貌": "共青团员",
            "紧急联系人": names["emergency"],
            "紧急联系人手机": "13712345678",
        },
    ]
    for row in rows:
        workbook.active.append([row.get(column) for column in COLUMNS])
    data = io.BytesIO()
    workbook.save(data)
    return data.getvalue()


def build_subtree(
    names: dict[str, str],
    *,
    town: Organization,
    team: Organization,
    coordinator: User,
    reviewer: User,
    admin: User,
    volunteers: list[User],
    open_volunteer: User,
    line: list[tuple[float, float]],
    import_ids: tuple[str, str],
) -> Subtree:
    """Records of every kind in `team` (below `town`), named after `names`.

    All `volunteers` and `open_volunteer` are on both events' shifts; on the past one all but `open_volunteer`
    checked in and out. Their hours are verified, except the last volunteer's (waiting for review);
    `volunteers[0]` (the owner) disputes theirs and owns the other personal records.
    """
    from checkin.scanning.offline import OfflineScan, sync_offline_scans
    from checkin.tokens import badge_token, kiosk_token
    from events.calendar.feed import reset_calendar_token
    from events.staffing.quotas import set_quota
    from hours.backfill import services as backfill
    from hours.certificates import services as certificates
    from hours.ledger.recording import record_attendance
    from hours.membership.decisions import record_evaluation
    from hours.review import disputes, verification
    from notifications.models import Notification
    from patrols.reports.photos import Upload
    from patrols.reports.services import FindingData, file_report
    from patrols.segments.models import PatrolShift
    from patrols.segments.schedules import ScheduleData, create_schedule
    from patrols.segments.services import SegmentData, create_segment
    from volunteers.imports.importer import create_job
    from volunteers.imports.jobs import run_import

    tree = Subtree(names=names)
    owner = volunteers[0]
    now = utcnow()

    def add(kind: str, *values) -> None:
        tree.ids.setdefault(kind, []).extend(v for v in values if v is not None)

    # a published upcoming event with a position and a shift, every volunteer assigned
    starts = local(2, 8)
    upcoming = Event(
        title=names["event"],
        kind=EventKind.COMMUNITY.value,
        organization_id=team.id,
        starts_at=starts,
        ends_at=starts + timedelta(hours=10),
        place=f"{town.short_name}鸿福路",
        status=EventStatus.PUBLISHED.value,
        signup_opens_at=now - timedelta(days=1),
        signup_closes_at=starts,
        published_at=now - timedelta(days=1),
        created_by_id=coordinator.id,
    )
    draft = Event(
        title=names["draft_event"],
        kind=EventKind.COMMUNITY.value,
        organization_id=team.id,
        starts_at=local(9, 8),
        ends_at=local(9, 12),
        status=EventStatus.DRAFT.value,
        created_by_id=coordinator.id,
    )
    past = Event(
        title=names["past_event"],
        kind=EventKind.COMMUNITY.value,
        organization_id=team.id,
        starts_at=local(-3, 8),
        ends_at=local(-3, 18),
        place=f"{town.short_name}鸿福路",
        status=EventStatus.PUBLISHED.value,
        published_at=local(-10, 9),
        created_by_id=coordinator.id,
    )
    db.session.add_all([upcoming, draft, past])
    db.session.flush()
    positions, shifts = {}, {}
    for key, event, hours in (("upcoming", upcoming, (9, 12)), ("draft", draft, (9, 11)), ("past", past, (9, 12))):
        position = Position(event_id=event.id, name=names["position"], min_age=0)
        position.required_skills = []
        db.session.add(position)
        db.session.flush()
        shift = Shift(
            event_id=event.id,
            position_id=position.id,
            starts_at=event.starts_at.replace(hour=hours[0]),
            ends_at=event.starts_at.replace(hour=hours[1]),
            capacity=10,
            assigned_count=len(volunteers) + 1 if key != "draft" else 0,
            meeting_point=names["meeting_point"],
        )
        db.session.add(shift)
        db.session.flush()
        positions[key], shifts[key] = position, shift
    assignments = {}
    for key in ("upcoming", "past"):
        for index, volunteer in enumerate([*volunteers, open_volunteer]):
            row = Assignment(
                shift_id=shifts[key].id,
                user_id=volunteer.id,
                starts_at=shifts[key].starts_at,
                ends_at=shifts[key].ends_at,
                status="assigned",
                source="coordinator",
                created_by_id=coordinator.id,
            )
            db.session.add(row)
            db.session.flush()
            if index == 0:
                assignments[key] = row
    db.session.commit()
    add("event_id", upcoming.id, past.id, draft.id)
    add("position_id", positions["upcoming"].id, positions["draft"].id)
    add("shift_id", shifts["upcoming"].id, shifts["past"].id)
    add("assignment_id", assignments["upcoming"].id, assignments["past"].id)

    # the past service: every volunteer scanned offline by the coordinator's phone (the open one only in); a
    # second phone's late scan of the owner conflicts
    shift = shifts["past"]
    arrived, left = shift.starts_at + timedelta(minutes=2), shift.ends_at - timedelta(minutes=2)
    synced = shift.ends_at + timedelta(minutes=10)
    scans = []
    for index, volunteer in enumerate(volunteers):
        scans += [
            OfflineScan(f"in-{index}", badge_token(volunteer.id, now=arrived), arrived),
            OfflineScan(f"out-{index}", badge_token(volunteer.id, now=left), left),
        ]
    scans.append(OfflineScan("in-open", badge_token(open_volunteer.id, now=arrived), arrived))
    results = sync_offline_scans(past, scans, by=coordinator, device_id=f"crawl-{team.id}-a", now=synced)
    again = arrived + timedelta(seconds=40)
    [conflict] = sync_offline_scans(
        past,
        [OfflineScan("in-0", badge_token(owner.id, now=again), again)],
        by=coordinator,
        device_id=f"crawl-{team.id}-b",
        now=synced,
    )
    db.session.commit()
    assert [r.result for r in results] == ["ok"] * len(scans) and conflict.result == "conflict", results
    attendances = [attendance_of(r) for r in results[1:-1:2]]
    add("attendance_id", results[-1].attendance_id, attendances[0].id)
    add("scan_id", conflict.scan_id)

    # hours: every closed attendance recorded and submitted, all but the last verified; the owner disputes theirs
    # and takes a certificate
    entries = [entry for attendance in attendances for entry in record_attendance(attendance, now=now)]
    assert verification.submit_entries(past, by=coordinator, now=now, entry_ids=[e.id for e in entries]) == len(entries)
    for entry in entries[:-1]:
        verification.verify_entry(entry, by=reviewer, now=now)
    dispute = disputes.open_dispute(entries[0], by=owner, message=names["dispute"], now=now)
    served_on = entries[0].service_date
    certificate = certificates.issue_certificate(owner, period=(served_on, local_today(now)), by=owner, now=now)
    paper = backfill.create_backfill(
        past,
        owner,
        shift=None,
        service_date=served_on,
        minutes=60,
        reason=names["backfill"],
        evidence_data=image("PNG"),
        evidence_name="签到表.png",
        by=coordinator,
        now=now,
    )
    verification.reject_entry(paper, by=reviewer, now=now, reason=names["rejection"])
    db.session.commit()
    notification = db.session.scalars(
        select(Notification).where(Notification.user_id == owner.id, Notification.kind == "hours_rejected")
    ).one()
    add("entry_id", *(entry.id for entry in entries), paper.id)
    add("dispute_id", dispute.id)
    add("certificate_id", certificate.id)
    add("evidence_id", paper.evidence.id)
    add("notification_id", notification.id)
    tree.tokens["serial"] = [certificate.serial]

    # a river segment of the team with a daily schedule; the owner patrolled three days ago and filed its report
    created = local(-7, 9)
    segment = create_segment(
        SegmentData(
            river_name="东莞运河",
            name=names["segment"],
            town_id=town.id,
            team_id=team.id,
            points=list(line),
            chief_mobile=person(team, names["chief"]).mobile,
        ),
        by=coordinator,
        now=created,
    )
    schedule = create_schedule(
        segment,
        ScheduleData(
            weekdays=list(range(7)),
            starts_local=time(9),
            ends_local=time(11),
            headcount=3,
            valid_from=created.date(),
            meeting_point=names["meeting_point"],
        ),
        by=coordinator,
        now=created,
    )
    db.session.commit()
    patrol = db.session.scalars(
        select(PatrolShift).where(PatrolShift.segment_id == segment.id, PatrolShift.local_date == local(-3, 9).date())
    ).one()
    _patrolled(owner, db.session.get(Shift, patrol.shift_id))
    unfiled = db.session.scalars(
        select(PatrolShift).where(PatrolShift.segment_id == segment.id, PatrolShift.local_date == local(-2, 9).date())
    ).one()
    report = file_report(
        patrol,
        summary=names["report"],
        uploads=[Upload(image("JPEG"), "垃圾.jpg")],
        finding=FindingData(
            category="rubbish", description=names["finding"], latitude=line[0][0], longitude=line[0][1] + 0.005
        ),
        by=owner,
        now=now,
    )
    db.session.commit()
    [finding] = report.findings
    [photo] = finding.photos
    add("segment_id", segment.id)
    add("schedule_id", schedule.id)
    add("patrol_id", patrol.id, unfiled.id)
    add("report_id", report.id)
    add("finding_id", finding.id)
    add("photo_id", photo.id)
    add("team_id", team.id)
    add("org_id", team.id)

    # an import into the team: one volunteer imported, one row rejected
    data = _import_file(names, *import_ids)
    job = create_job(by=admin, scope=team, file_name=names["import_file"], data=data, now=now)
    db.session.commit()
    assert run_import(job.id, data, now=now) == "done"
    add("job_id", job.id)

    # a quota of the team on the upcoming event's position; the coordinator's role grant
    quota = set_quota(
        upcoming, position_id=positions["upcoming"].id, organization_id=team.id, quantity=3, by=coordinator, now=now
    )
    db.session.commit()
    add("quota_id", quota.id)
    grant = db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == coordinator.id)).first()
    add("grant_id", grant.id)

    # a volunteer of the team asks to move to the town; the city's first university (its hand-over page)
    from volunteers.affiliation.services import request_move

    mover = person(team, names["mover"])
    change = request_move(mover, town.id, names["mover"], now=now)
    db.session.commit()
    add("change_id", change.id)
    university = db.session.scalars(
        select(Organization).where(Organization.kind == "university").order_by(Organization.path)
    ).first()
    add("university_id", university.id if university is not None else None)

    # a membership applicant of the team with a (failed) ideology evaluation
    applicant = person(
        team,
        names["applicant"],
        political_status="入团积极分子",
        activist_since=date(2025, 1, 1),
        birth=date(2008, 2, 2),
        emergency=names["emergency"],
    )
    record_evaluation(applicant, passed=False, note=names["evaluation"], by=reviewer, now=now)
    db.session.commit()
    add("user_id", owner.id, applicant.id)
    tree.users.update({"owner": owner, "applicant": applicant})

    # tokens of the string routes: the owner's calendar feed and the upcoming event's kiosk link
    tree.tokens["token"] = [reset_calendar_token(owner, now=now), kiosk_token(upcoming.id, shift_id=None, now=now)]
    db.session.commit()
    return tree


def _patrolled(owner: User, shift: Shift) -> None:
    from checkin.models import Attendance, AttendanceStatus

    assignment = Assignment(
        shift_id=shift.id,
        user_id=owner.id,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        status="completed",
        source="self",
    )
    db.session.add(assignment)
    db.session.flush()
    db.session.add(
        Attendance(
            user_id=owner.id,
            event_id=shift.event_id,
            shift_id=shift.id,
            assignment_id=assignment.id,
            checked_in_at=shift.starts_at,
            checked_out_at=shift.ends_at,
            status=AttendanceStatus.CLOSED.value,
            check_in_method="kiosk",
            check_out_method="kiosk",
            created_at=shift.starts_at,
            updated_at=shift.ends_at,
        )
    )
    db.session.commit()


def build_world() -> World:
    """The demo data and both subtrees (see the module's docstring); every world has the same people."""
    global _serial
    _serial = itertools.count(500)
    assert load_demo_data(), "the database must be empty"
    db.session.commit()
    accounts = {
        role: db.session.scalars(select(User).where(User.mobile == m)).one() for role, m in DEMO_MOBILES.items()
    }
    nancheng, nancheng_team = _org("南城街道"), _org("南城街道志愿服务队")
    dongcheng, dongcheng_team = _org("东城街道"), _org("东城街道志愿者协会")

    n = OWN_NAMES
    own = build_subtree(
        n,
        town=nancheng,
        team=nancheng_team,
        coordinator=accounts["coordinator"],
        reviewer=accounts["reviewer"],
        admin=accounts["admin"],
        volunteers=[
            person(nancheng_team, n["volunteer"], emergency=n["emergency"]),
            accounts["volunteer"],
            person(nancheng_team, n["pending"]),
        ],
        open_volunteer=person(nancheng_team, n["open"]),
        line=LINES["own"],
        import_ids=(demo_id_number(date(1999, 5, 6), 7).value, demo_id_number(date(1998, 5, 6), 8).value),
    )
    o = OTHER_NAMES
    other = build_subtree(
        o,
        town=dongcheng,
        team=dongcheng_team,
        coordinator=person(dongcheng, o["coordinator"], role=Role.COORDINATOR),
        reviewer=person(dongcheng, o["reviewer"], role=Role.REVIEWER),
        admin=person(dongcheng, o["admin"], role=Role.ADMIN),
        volunteers=[
            person(dongcheng_team, o["volunteer"], emergency=o["emergency"]),
            person(dongcheng_team, o["pending"]),
        ],
        open_volunteer=person(dongcheng_team, o["open"]),
        line=LINES["other"],
        import_ids=(demo_id_number(date(1997, 5, 6), 9).value, demo_id_number(date(1996, 5, 6), 10).value),
    )
    return World(accounts=accounts, own=own, other=other, id_numbers=known_id_numbers())


def known_id_numbers() -> dict[str, int]:
    """Every user's whole ID number -> the user's id, and the rejected import rows' numbers -> 0."""
    from volunteers.imports.models import ImportJob

    found = {
        decrypt_id_number(encrypted): user_id
        for user_id, encrypted in db.session.execute(select(User.id, User.id_number_encrypted))
    }
    for rows in db.session.scalars(select(ImportJob.rejected_rows)):
        for value in re.findall(r"\d{17}[\dX]", json.dumps(rows or [])):
            found.setdefault(value, 0)
    for when, seq in ((date(1998, 5, 6), 8), (date(1996, 5, 6), 10)):  # the rejected rows' numbers
        found.setdefault(demo_id_number(when, seq).value, 0)
    return found


# -- reading responses ------------------------------------------------------------------------------------------

ID_LIKE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def readable_text(response) -> str:
    """The text a person could read in the response: HTML/JSON/text as decoded (JSON with its \\u escapes
    undone), the XML parts of an .xlsx, the text of a PDF; images and other binaries give ""."""
    content_type = response.content_type or ""
    body = response.get_data()
    if "json" in content_type:
        try:
            return json.dumps(json.loads(body), ensure_ascii=False)
        except ValueError:
            return body.decode("utf-8", "replace")
    if content_type.startswith(("text/", "image/svg")) or not body:
        return body.decode("utf-8", "replace")
    if "spreadsheetml" in content_type or body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", "replace") for name in archive.namelist() if name.endswith(".xml")
            )
    if content_type == "application/pdf":
        from pypdf import PdfReader

        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)
    return ""


def whole_id_numbers(page: str, known: dict[str, int]) -> set[str]:
    """The whole ID numbers in the text: known ones anywhere, and any 18 characters with a right check digit."""
    found = {value for value in known if value in page}
    for match in ID_LIKE.findall(page):
        value = match.upper()
        if check_digit(value[:17]) == value[17]:
            found.add(value)
    return found


def row_counts() -> dict[str, int]:
    """SELECT count(*) of every table (one statement), read outside the test's session state."""
    tables = [table.name for table in db.metadata.sorted_tables]
    sql = " UNION ALL ".join(f"SELECT '{name}', count(*) FROM \"{name}\"" for name in tables)
    db.session.rollback()
    counts = dict(db.session.execute(text(sql)).all())
    db.session.rollback()
    return counts


# -- the forms of a page ----------------------------------------------------------------------------------------


@dataclass
class Form:
    """A <form method="post"> as a browser would send it: its action and its fields' default values."""

    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # (name, value) in page order; repeats kept
    names: set[str] = field(default_factory=set)  # every field name, including unchecked boxes and options
    files: set[str] = field(default_factory=set)  # names of <input type="file">
    choices: dict[str, list[str]] = field(default_factory=dict)  # select/radio/checkbox name -> offered values


class _FormParser(HTMLParser):
    def __init__(self, page_path: str, method: str = "post") -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.method = method
        self._targets: list[str] = []  # the form's action (when it has one) and its buttons' formaction
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_default: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == self.method:
                self._form = Form(action=a.get("action") or self.page_path)
                self._targets = [a["action"]] if a.get("action") else []
            return
        if self._form is not None and tag in ("button", "input") and a.get("formaction"):
            self._targets.append(a["formaction"])
        form = self._form
        if form is None or ("name" not in a and tag != "option"):
            return
        name = a.get("name", "")
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                if name:
                    form.names.add(name)
                return
            form.names.add(name)
            if kind == "file":
                form.files.add(name)
            elif kind in ("checkbox", "radio"):
                form.choices.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a:
                    form.fields.append((name, a.get("value", "on")))
            else:
                form.fields.append((name, a.get("value", "")))
        elif tag == "select":
            form.names.add(name)
            self._select, self._select_default = name, None
            form.choices.setdefault(name, [])
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            form.choices[self._select].append(value)
            if self._select_default is None or "selected" in a:
                self._select_default = value
        elif tag == "textarea":
            form.names.add(name)
            self._textarea, self._text = name, []

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        form = self._form
        if form is None:
            return
        if tag == "select" and self._select is not None:
            if self._select_default is not None:
                form.fields.append((self._select, self._select_default))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            form.fields.append((self._textarea, "".join(self._text)))
            self._textarea = None
        elif tag == "form":
            for target in dict.fromkeys(self._targets or [form.action]):
                self.forms.append(replace(form, action=target))
            self._form = None


def post_forms(page: str, page_path: str, method: str = "post") -> list[Form]:
    """The POST forms of an HTML page (action relative to the page's path when missing); method="get": its GET
    forms (filters and searches)."""
    parser = _FormParser(urlsplit(page_path).path, method)
    parser.feed(page)
    return parser.forms
