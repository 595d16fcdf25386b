"""Data for bench/load.py: a city with a ledger history, and an expo whose shifts start now, in PostgreSQL.

The city (organizations, volunteers, five years of events and verified hours) comes from
bench/ledger_data.py, generated inside PostgreSQL; the derived tables are built by the ledger's
own rebuild, so the committee's eligibility list (hours/membership/progress.py) has real work to do. On top:
the expo of the morning (positions, one shift each starting in a quarter of an hour, the first
`expo_volunteers` volunteers assigned), the coordinators who scan badges (one API token each, one
per scanner device), and a reviewer of the city committee. Staff log in with a real password.
"""

from __future__ import annotations

import sys
import time
from argparse import Namespace
from datetime import date, timedelta

from common import PASSWORD, add_expo, autocommit, insert_volunteers, migrate
from ledger_data import build_derived, load_city

STAFF_MOBILE_PREFIX = "1390000"
#: the shifts of the morning start this long after the seed (volunteers arrive before their shift)
SHIFT_STARTS_IN = timedelta(minutes=15)
SHIFT_LENGTH = timedelta(hours=4)


def seed(app, args, say) -> dict:
    """Schema, the city and its ledger, staff, the expo and its assignments; what the load needs to know."""
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        began = time.monotonic()
        migrate()
        orgs, counts = load_city(Namespace(volunteers=args.city_volunteers, entries=args.entries, events=args.events))
        say(
            f"city: {counts['users']:,} volunteers, {counts['events']:,} past events, "
            f"{counts['hour_entries']:,} ledger entries ({time.monotonic() - began:.0f} s)"
        )
        began = time.monotonic()
        built = build_derived()
        say(f"ledger summaries: {built['summaries']:,} volunteer-years ({time.monotonic() - began:.0f} s)")
        began = time.monotonic()
        staff = add_staff(orgs, scanners=args.scanners, watchers=args.watchers)
        expo = expo_morning(
            orgs,
            staff["coordinator_ids"][0],
            volunteers=args.volunteers,
            positions=args.positions,
            password_hash=staff.pop("password_hash"),
        )
        applicants = db.session.execute(
            text("SELECT count(*) FROM users WHERE political_status = '入团积极分子'")
        ).scalar()
        db.session.commit()
        autocommit("VACUUM ANALYZE")
        say(
            f"expo: {len(expo['volunteer_ids']):,} volunteers on {args.positions} shifts starting "
            f"{SHIFT_STARTS_IN.seconds // 60} min from now; {args.scanners} coordinators with scanner tokens; "
            f"the committee sees {applicants:,} membership applicants ({time.monotonic() - began:.0f} s)"
        )
        db.engine.dispose()
    return {**staff, **expo, "applicants": applicants}


def add_staff(orgs: dict, *, scanners: int, watchers: int) -> dict:
    """Coordinators of 南城街道 (one API token each: the scanner devices) and a reviewer of the city committee."""
    from sqlalchemy import select

    from api.tokens import create_token
    from app.extensions import db
    from app.permissions import Role
    from app.security import demo_id_number, hash_password
    from app.timeutil import utcnow
    from volunteers.accounts.models import User
    from volunteers.organizations.models import RoleGrant

    now = utcnow()
    count = max(scanners, watchers) + 1
    password_hash = hash_password(PASSWORD)

    def person(n: int) -> dict:
        birth = date(1988, 1, 1) + timedelta(days=n * 37)
        return {
            "name": "审核员" if n == count - 1 else f"队长{n + 1:02d}",
            "birth_date": birth,
            "id_number": demo_id_number(birth, n, region="441900"),
            "political_status": "中共党员",
            "organization_id": orgs["town"],
        }

    insert_volunteers(count, person, mobile_prefix=STAFF_MOBILE_PREFIX, now=now, password_hash=password_hash)
    users = list(
        db.session.scalars(select(User).where(User.mobile.like(f"{STAFF_MOBILE_PREFIX}%")).order_by(User.mobile))
    )
    coordinators, reviewer = users[:-1], users[-1]
    db.session.add_all(
        [RoleGrant(user_id=u.id, organization_id=orgs["town"], role=Role.COORDINATOR.value) for u in coordinators]
    )
    reviewer.organization_id = orgs["city"]
    db.session.add(RoleGrant(user_id=reviewer.id, organization_id=orgs["city"], role=Role.REVIEWER.value))
    bearers = [create_token(u, f"scanner {n + 1}", by=None, now=now)[1] for n, u in enumerate(coordinators[:scanners])]
    return {
        "coordinator_ids": [u.id for u in coordinators],
        "bearers": bearers,
        "watcher_mobiles": [u.mobile for u in coordinators[:watchers]],
        "reviewer_mobile": reviewer.mobile,
        "password": PASSWORD,
        "password_hash": password_hash,
    }


def expo_morning(orgs: dict, creator_id: int, *, volunteers: int, positions: int, password_hash: str) -> dict:
    """The expo of 南城街道 this morning: `positions` posts with one shift each, the first volunteers assigned.

    The city's generated volunteers have no password; the expo's get the staff's (they use their
    accounts on their phones, and a session is only valid for an account with a password).
    """
    from sqlalchemy import select, update

    from app.extensions import db
    from app.timeutil import utcnow
    from volunteers.accounts.models import User

    now = utcnow()
    start = now.replace(second=0, microsecond=0) + SHIFT_STARTS_IN
    ids = list(
        db.session.scalars(select(User.id).where(User.password_hash.is_(None)).order_by(User.id).limit(volunteers))
    )
    if len(ids) < volunteers:
        sys.exit(f"--volunteers {volunteers} needs at least that many city volunteers (--city-volunteers)")
    db.session.execute(update(User).where(User.id.in_(ids)).values(password_hash=password_hash))
    event_id, _assignments = add_expo(
        "漫博会 早班签到压测",
        orgs["town"],
        creator_id,
        ids,
        start=start,
        hours=10,
        signup=(now - timedelta(days=14), now - timedelta(days=1)),
        published_at=now - timedelta(days=14),
        positions=positions,
        slots=[(start, start + SHIFT_LENGTH)],
        assigned=1,
        now=now,
    )
    return {"event_id": event_id, "volunteer_ids": ids, "shift_start": start.isoformat()}


def badge_tokens(app, volunteer_ids: list[int], *, windows: int) -> tuple[int, list[list[str]]]:
    """Each volunteer's badge token (checkin/tokens.py) for this and the next `windows` - 1 rotation windows."""
    from app.timeutil import utcnow
    from checkin.tokens import badge_token, window_of, window_seconds

    with app.app_context():
        now, step = utcnow(), timedelta(seconds=window_seconds())
        first = window_of(now)
        return first, [[badge_token(uid, now=now + k * step) for uid in volunteer_ids] for k in range(windows)]


def kiosk_tokens(app, event_id: int, *, windows: int) -> list[str]:
    """The event's kiosk code (the QR on the screen at the entrance) for the same windows."""
    from app.timeutil import utcnow
    from checkin.tokens import kiosk_token, window_seconds

    with app.app_context():
        now, step = utcnow(), timedelta(seconds=window_seconds())
        return [kiosk_token(event_id, shift_id=None, now=now + k * step) for k in range(windows)]


def phone_sessions(app, volunteer_ids: list[int], user_agent: str) -> list[str]:
    """Session cookies of volunteers logged in on their phones beforehand (as Flask-Login writes them).

    Volunteers open the kiosk code on a phone where they logged in days ago; minting their
    sessions with the app's own login_user and session serializer spares thousands of
    password hashes (argon2, ~0.1 s of CPU each) that no expo morning would see.
    """
    from flask import session
    from flask_login import login_user
    from sqlalchemy import select

    from app.extensions import db
    from volunteers.accounts.models import User

    serializer = app.session_interface.get_signing_serializer(app)
    cookies = []
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers={"User-Agent": user_agent}):
        users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(volunteer_ids)))}
        for uid in volunteer_ids:
            session.clear()
            login_user(users[uid])
            cookies.append(serializer.dumps(dict(session)))
        db.session.rollback()
        db.engine.dispose()
    return cookies
