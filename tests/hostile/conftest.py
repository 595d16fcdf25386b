"""Hostile-input fixtures: a published 南城 event with a position, a shift and one volunteer's assignment,
the actors of the access-control matrix around it, and the owner's other records (hours, certificate,
dispute, evidence, notification, patrol report) made through the areas' own services."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from app.permissions import Role
from app.timeutil import LOCAL_TZ, local_today, utcnow
from checkin.models import Scan
from events.models import Assignment, Shift
from tests import factories
from tests.support import attendance_of, local_time
from volunteers.imports.models import ImportJob
from volunteers.organizations.models import RoleGrant


def _local(days: int, hour: int) -> datetime:
    """That Asia/Shanghai wall-clock hour, `days` days from today, in Asia/Shanghai time."""
    return local_time(utcnow(), days, hour).astimezone(LOCAL_TZ)


@pytest.fixture
def staffed_event(db, orgs, make_user, make_client, login):
    """A published event of 南城街道 tomorrow; its owner volunteer signed up through the web form."""
    event = factories.open_event(orgs["nancheng"], now=utcnow(), starts_at=_local(1, 8), title="敌意测试活动")
    position = factories.position(event, name="引导")
    shift = factories.shift(position, starts_at=_local(1, 9), ends_at=_local(1, 12))
    owner = make_user(name="主人志愿者", organization=orgs["nancheng_team"])
    response = login(owner, target=make_client()).post(f"/events/shifts/{shift.id}/sign-up")
    assert response.status_code in (302, 303), response.status_code
    assignment = db.session.scalars(select(Assignment).where(Assignment.user_id == owner.id)).one()
    return {"event": event, "position": position, "shift": shift, "assignment": assignment, "owner": owner}


@pytest.fixture
def actors(make_user, orgs, staffed_event):
    """Every actor of the matrix, keyed by a readable name; the object belongs to 南城街道."""
    people = {
        "owner": staffed_event["owner"],
        "other_volunteer": make_user(name="旁人志愿者", organization=orgs["nancheng_team"]),
    }
    places = {
        "own": orgs["nancheng"],
        "sibling": orgs["dongcheng"],
        "parent": orgs["city"],
        "child": orgs["nancheng_team"],
    }
    for role in (Role.COORDINATOR, Role.REVIEWER, Role.ADMIN):
        for where, org in places.items():
            people[f"{role.value}@{where}"] = make_user(
                name=f"{role.value}{where}", organization=org, role=role, role_org=org
            )
    return people


# -- the records of the 南城 owner and event that the rest of the id routes show -------------------------------


@pytest.fixture
def app_overrides(tmp_path):
    """Evidence and patrol photos are files: keep them in the test's own folder."""
    return {"HOURS_EVIDENCE_DIR": str(tmp_path / "evidence"), "PATROL_PHOTO_DIR": str(tmp_path / "patrol_photos")}


def _image(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, kind)
    return out.getvalue()


@pytest.fixture
def past_service(db, orgs, staffed_event, actors):
    """A 南城 event three days ago: the owner served 09:00-12:00, scanned offline by the coordinator's phone, and a
    second phone scanned the owner's badge 40 seconds after the first (a conflict left for the coordinator)."""
    from checkin.scanning.offline import OfflineScan, sync_offline_scans
    from checkin.tokens import badge_token

    owner, coordinator = staffed_event["owner"], actors["coordinator@own"]
    event = factories.event(
        orgs["nancheng"],
        starts_at=_local(-3, 8),
        ends_at=_local(-3, 18),
        title="敌意测试往期活动",
        place="南城街道鸿福路",
        published_at=_local(-10, 9),
    )
    position = factories.position(event, name="引导")
    shift = factories.shift(position, starts_at=_local(-3, 9), ends_at=_local(-3, 12), capacity=5, meeting_point="")
    factories.assignment(shift, owner)
    arrived, left = shift.starts_at + timedelta(minutes=2), shift.ends_at - timedelta(minutes=2)
    synced = shift.ends_at + timedelta(minutes=10)
    first = sync_offline_scans(
        event,
        [
            OfflineScan("in-1", badge_token(owner.id, now=arrived), arrived),
            OfflineScan("out-1", badge_token(owner.id, now=left), left),
        ],
        by=coordinator,
        device_id="matrix-a",
        now=synced,
    )
    again = arrived + timedelta(seconds=40)
    [conflict] = sync_offline_scans(
        event,
        [OfflineScan("in-1", badge_token(owner.id, now=again), again)],
        by=coordinator,
        device_id="matrix-b",
        now=synced,
    )
    db.session.commit()
    assert [r.result for r in first] == ["ok", "ok"] and conflict.result == "conflict", (first, conflict)
    return {
        "event": event,
        "shift": shift,
        "attendance": attendance_of(first[1]),
        "scan": db.session.get(Scan, conflict.scan_id),
    }


@pytest.fixture
def hours_records(db, staffed_event, actors, past_service):
    """The owner's hours of the past service: verified, disputed and certified; and back-filled hours with a
    paper sheet as evidence, rejected (so the owner has a notification)."""
    from hours.backfill import services as backfill
    from hours.certificates import services as certificates
    from hours.ledger.recording import record_attendance
    from hours.review import disputes, verification
    from notifications.models import Notification

    owner, now = staffed_event["owner"], utcnow()
    event = past_service["event"]
    [entry] = record_attendance(past_service["attendance"], now=now)
    assert verification.submit_entries(event, by=actors["coordinator@own"], now=now, entry_ids=[entry.id]) == 1
    verification.verify_entry(entry, by=actors["reviewer@own"], now=now)
    dispute = disputes.open_dispute(entry, by=owner, message="签退时间记早了", now=now)
    served_on = entry.service_date
    certificate = certificates.issue_certificate(owner, period=(served_on, local_today(now)), by=owner, now=now)
    paper = backfill.create_backfill(
        event,
        owner,
        shift=None,
        service_date=served_on,
        minutes=60,
        reason="纸质签到表补录",
        evidence_data=_image("PNG"),
        evidence_name="签到表.png",
        by=actors["coordinator@own"],
        now=now,
    )
    verification.reject_entry(paper, by=actors["reviewer@parent"], now=now, reason="签到表看不清")
    db.session.commit()
    notification = db.session.scalars(
        select(Notification).where(Notification.user_id == owner.id, Notification.kind == "hours_rejected")
    ).one()
    return {
        "entry": entry,
        "dispute": dispute,
        "certificate": certificate,
        "evidence": paper.evidence,
        "notification": notification,
    }


@pytest.fixture
def patrol_records(db, orgs, make_user, staffed_event, actors):
    """A 南城 river segment adopted by 南城街道志愿服务队 (the owner's team), with a daily patrol schedule; the owner
    patrolled three days ago and filed its report: one finding with a photo."""
    from patrols.reports.photos import Upload
    from patrols.reports.services import FindingData, file_report
    from patrols.segments.models import PatrolShift
    from patrols.segments.schedules import ScheduleData, create_schedule

    owner, coordinator = staffed_event["owner"], actors["coordinator@own"]
    chief = make_user(name="敌意河长", organization=orgs["nancheng_team"])
    created = _local(-7, 9)
    segment = factories.segment(
        by=coordinator, now=created, town=orgs["nancheng"], team=orgs["nancheng_team"], chief=chief, name="敌意测试段"
    )
    schedule = create_schedule(
        segment,
        ScheduleData(
            weekdays=list(range(7)),
            starts_local=time(9),
            ends_local=time(11),
            headcount=3,
            valid_from=created.date(),
            meeting_point="元美桥",
        ),
        by=coordinator,
        now=created,
    )
    db.session.commit()
    patrol = db.session.scalars(
        select(PatrolShift).where(PatrolShift.segment_id == segment.id, PatrolShift.local_date == _local(-3, 9).date())
    ).one()
    shift = db.session.get(Shift, patrol.shift_id)
    assignment = factories.assignment(shift, owner, status="completed", source="self", commit=False)
    factories.attendance(assignment, checked_in_at=shift.starts_at, checked_out_at=shift.ends_at)
    report = file_report(
        patrol,
        summary="河面有漂浮垃圾",
        uploads=[Upload(_image("JPEG"), "垃圾.jpg")],
        finding=FindingData(category="rubbish", description="桥下漂浮塑料袋", latitude=23.0200, longitude=113.7550),
        by=owner,
        now=utcnow(),
    )
    db.session.commit()
    [finding] = report.findings
    [photo] = finding.photos
    return {
        "segment": segment,
        "schedule": schedule,
        "patrol": patrol,
        "report": report,
        "finding": finding,
        "photo": photo,
    }


@pytest.fixture
def admin_records(db, orgs, staffed_event, actors):
    """An import of one volunteer into 南城街道志愿服务队 by 南城's administrator, a team quota of that team on the
    event's position, and the role grant of 南城's coordinator."""
    from openpyxl import Workbook

    from app.security import demo_id_number
    from events.staffing.quotas import set_quota
    from volunteers.imports.importer import create_job
    from volunteers.imports.jobs import run_import
    from volunteers.imports.rows import COLUMNS

    now = utcnow()
    workbook = Workbook()
    workbook.active.append(COLUMNS)
    row = {
        "姓名": "导入志愿者",
        "手机号": "15899990001",
        "身份证号": demo_id_number(date(1999, 5, 6), 7).value,
        "政治面貌": "共青团员",
        "紧急联系人": "王紧急",
        "紧急联系人手机": "13712345678",
    }
    workbook.active.append([row.get(column) for column in COLUMNS])
    data = io.BytesIO()
    workbook.save(data)
    job = create_job(
        by=actors["admin@own"], scope=orgs["nancheng_team"], file_name="志愿者.xlsx", data=data.getvalue(), now=now
    )
    db.session.commit()
    assert run_import(job.id, data.getvalue(), now=now) == "done"
    quota = set_quota(
        staffed_event["event"],
        position_id=staffed_event["position"].id,
        organization_id=orgs["nancheng_team"].id,
        quantity=3,
        by=actors["coordinator@own"],
        now=now,
    )
    db.session.commit()
    grant = db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == actors["coordinator@own"].id)).one()
    return {"job": db.session.get(ImportJob, job.id), "quota": quota, "grant": grant}
