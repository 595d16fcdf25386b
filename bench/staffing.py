#!/usr/bin/env python
"""Benchmark of an expo: the staffing board, the event page and a sign-up, on PostgreSQL.

    .venv/bin/python bench/staffing.py                 # a fresh database volunteers_bench_staffing on 127.0.0.1
    .venv/bin/python bench/staffing.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/x --reset
    .venv/bin/python bench/staffing.py --requests 50

Builds an expo of 3,000 volunteers, 40 positions and 600 shifts (5 days × 3 slots) about 70 %
staffed (no volunteer on two overlapping shifts; some waitlists; team quotas), then measures
with the Flask test client, logged in, N requests of:
  - the staffing board   GET /events/<id>/staffing            (the event's coordinator)
  - the event page       GET /events/<id>                     (a volunteer)
  - a sign-up            POST /events/shifts/<id>/sign-up     (a new volunteer each time)
and prints the median and p95 of each, beside GET /healthz measured in the same loop (the
machine's load shows there). The target is under 300 ms each; the exit status is 1 when a
median misses it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as clock

from common import (
    GIVEN,
    SURNAMES,
    add_database_options,
    assignment_row,
    autocommit,
    demo_town,
    exit_status,
    fresh_database,
    insert_volunteers,
    login,
    make_app,
    prepare_schema,
    table_row,
    timed,
)

TARGET_MS = 300.0
DEFAULT_DATABASE = "volunteers_bench_staffing"
ROLES = ["引导", "咨询台", "翻译", "医疗急救", "检票", "秩序维护", "物资保障", "媒体接待", "嘉宾接待", "无障碍服务"]
HALLS = ["1号馆", "2号馆", "3号馆", "东广场"]
SLOTS = [(clock(9, 0), clock(12, 0)), (clock(12, 30), clock(15, 30)), (clock(16, 0), clock(19, 0))]
#: the widths of the columns of the table of figures
COLUMNS = [16, 11, 9]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_options(parser, fresh=DEFAULT_DATABASE)
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page (default 30)")
    parser.add_argument("--volunteers", type=int, default=3000)
    parser.add_argument("--positions", type=int, default=40)
    parser.add_argument("--days", type=int, default=5, help="days of the expo (× 3 slots × positions = shifts)")
    parser.add_argument("--seed", type=int, default=2026)
    return parser.parse_args()


def insert_skilled_volunteers(count: int, orgs: list, rng: random.Random, now: datetime) -> list[int]:
    """`count` activated volunteers (one shared password hash) with skills; their ids."""
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.security import demo_id_number
    from volunteers.accounts.models import Skill, user_skills

    def person(n: int) -> dict:
        birth = date(1980, 1, 1) + timedelta(days=rng.randrange(0, 365 * 26))
        return {
            "birth_date": birth,
            "id_number": demo_id_number(birth, n % 1000, region=f"{442000 + n // 1000:06d}"),
            "name": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(2)),
            "political_status": rng.choice(["共青团员", "共青团员", "群众", "中共党员"]),
            "organization_id": rng.choice(orgs).id,
        }

    ids = insert_volunteers(count, person, mobile_prefix="137", now=now)
    skills = list(db.session.scalars(select(Skill.id)))
    links = [
        {"user_id": uid, "skill_id": sid}
        for uid in ids
        if rng.random() < 0.4
        for sid in rng.sample(skills, rng.randrange(1, 3))
    ]
    db.session.execute(insert(user_skills), links)
    return ids


def build_expo(args, rng: random.Random) -> dict:
    """The organizations, people, the expo and its assignments; ids the measurements need."""
    from sqlalchemy import insert, select, update

    from app.extensions import db
    from app.permissions import Role
    from app.timeutil import LOCAL_TZ, utcnow
    from events.models import Assignment, Event, EventKind, EventStatus, Position, Shift, TeamQuota
    from volunteers.accounts.models import Skill, User
    from volunteers.organizations.models import Organization, RoleGrant

    now = utcnow()
    town = demo_town()
    orgs = list(db.session.scalars(select(Organization).where(Organization.kind.in_(("team", "branch")))))
    in_town = [o for o in orgs if o.path.startswith(town.path)]
    volunteer_ids = insert_skilled_volunteers(args.volunteers, in_town * 4 + orgs, rng, now)
    coordinator = db.session.scalar(select(User).where(User.id == volunteer_ids[0]))
    db.session.add(RoleGrant(user_id=coordinator.id, organization_id=town.id, role=Role.COORDINATOR.value))

    first_day = (now.astimezone(LOCAL_TZ) + timedelta(days=2)).date()
    start = datetime.combine(first_day, clock(8, 0), tzinfo=LOCAL_TZ)
    event = Event(
        title="第十九届漫博会（志愿服务）",
        kind=EventKind.EXPO.value,
        organization_id=town.id,
        starts_at=start,
        ends_at=start + timedelta(days=args.days - 1, hours=12),
        place="广东现代国际展览中心",
        status=EventStatus.PUBLISHED.value,
        signup_opens_at=now - timedelta(days=7),
        signup_closes_at=start,
        published_at=now - timedelta(days=7),
        created_by_id=coordinator.id,
        description="动漫游戏展会的现场志愿服务。",
    )
    db.session.add(event)
    db.session.flush()
    english = db.session.scalar(select(Skill).where(Skill.name == "英语"))
    positions = []
    for p in range(args.positions):
        role = ROLES[p % len(ROLES)]
        position = Position(
            event_id=event.id,
            name=f"{role}·{HALLS[p % len(HALLS)]}{p // len(ROLES) + 1}",
            description=f"{role}岗位",
            min_age=16 if role == "医疗急救" else 0,
        )
        if role == "翻译":
            position.required_skills = [english]
        positions.append(position)
    db.session.add_all(positions)
    db.session.flush()

    shift_rows = []
    for day in range(args.days):
        local_day = first_day + timedelta(days=day)
        for _slot, (begin, end) in enumerate(SLOTS):
            for position in positions:
                shift_rows.append(
                    {
                        "event_id": event.id,
                        "position_id": position.id,
                        "capacity": rng.randrange(5, 16),
                        "assigned_count": 0,
                        "starts_at": datetime.combine(local_day, begin, tzinfo=LOCAL_TZ),
                        "ends_at": datetime.combine(local_day, end, tzinfo=LOCAL_TZ),
                        "meeting_point": f"{HALLS[position.id % len(HALLS)]}志愿者之家",
                        "is_cancelled": False,
                    }
                )
    db.session.execute(insert(Shift), shift_rows)
    shifts = list(
        db.session.execute(
            select(Shift.id, Shift.position_id, Shift.starts_at, Shift.ends_at, Shift.capacity)
            .where(Shift.event_id == event.id)
            .order_by(Shift.id)
        )
    )

    # Keep the last 10 % free of assignments: the sign-ups are measured with them.
    pool = volunteer_ids[1 : int(len(volunteer_ids) * 0.9)]
    fresh = volunteer_ids[int(len(volunteer_ids) * 0.9) :]
    busy: dict[datetime, set[int]] = {}
    assignments, counts = [], {}
    for shift_id, _pid, starts, ends, capacity in shifts:
        taken = busy.setdefault(starts, set())
        share = rng.choice([0.0, 0.3, 0.6, 0.8, 1.0, 1.0, 1.0])
        wanted = min(capacity, round(capacity * share))
        chosen = [v for v in rng.sample(pool, wanted * 3) if v not in taken][:wanted]
        taken.update(chosen)
        counts[shift_id] = len(chosen)
        for uid in chosen:
            source = rng.choice(["self", "self", "coordinator"])
            assignments.append(assignment_row(shift_id, uid, starts, ends, now, source=source))
        if len(chosen) == capacity and rng.random() < 0.3:  # a few full shifts have a waitlist
            for uid in [v for v in rng.sample(pool, 6) if v not in taken][:2]:
                assignments.append(assignment_row(shift_id, uid, starts, ends, now, status="waitlisted", source="self"))
    db.session.execute(insert(Assignment), assignments)
    for shift_id, filled in counts.items():
        if filled:
            db.session.execute(update(Shift).where(Shift.id == shift_id).values(assigned_count=filled))
    for position, team in zip(positions[:6], in_town, strict=False):
        db.session.add(TeamQuota(position_id=position.id, organization_id=team.id, quantity=2))
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # fresh tables: give the planner statistics, as autovacuum would
        autocommit("ANALYZE")

    free_positions = {p.id for p in positions if not p.required_skills and not p.min_age}
    open_shifts = [
        sid for sid, pid, _s, _e, capacity in shifts if capacity - counts[sid] >= 5 and pid in free_positions
    ]
    return {
        "event_id": event.id,
        "coordinator_mobile": coordinator.mobile,
        "fresh": fresh,
        "open_shifts": open_shifts,
        "shifts": len(shifts),
        "assignments": len(assignments),
    }


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    return float(statistics.median(ordered)), p95


def measure(app, facts: dict, n: int) -> dict[str, list[float]]:
    """N timed requests of each page (after two untimed warm-ups)."""
    from sqlalchemy import func, select

    from app.extensions import db
    from volunteers.accounts.models import User

    event_id = facts["event_id"]
    with app.app_context():
        mobiles = dict(db.session.execute(select(User.id, User.mobile).where(User.id.in_(facts["fresh"]))).all())
    coordinator = login(app, facts["coordinator_mobile"])
    viewer = login(app, mobiles[facts["fresh"][-1]])

    def get(client, url, expected=200):
        response = client.get(url)
        if response.status_code != expected:
            sys.exit(f"GET {url} answered {response.status_code}")

    results: dict[str, list[float]] = {"staffing board": [], "event page": [], "sign-up": [], "baseline": []}
    for _ in range(2):
        get(coordinator, f"/events/{event_id}/staffing")
        get(viewer, f"/events/{event_id}")
    for _ in range(n):  # interleaved, so a busy machine slows each page alike
        results["staffing board"].append(timed(lambda: get(coordinator, f"/events/{event_id}/staffing")))
        results["event page"].append(timed(lambda: get(viewer, f"/events/{event_id}")))
        results["baseline"].append(timed(lambda: get(coordinator, "/healthz")))
    shifts = facts["open_shifts"]
    for i in range(n):
        client = login(app, mobiles[facts["fresh"][i]])
        shift_id = shifts[i % len(shifts)]

        def post(client=client, shift_id=shift_id):
            response = client.post(f"/events/shifts/{shift_id}/sign-up")
            if response.status_code != 302:
                sys.exit(f"sign-up answered {response.status_code}")

        results["sign-up"].append(timed(post))
    with app.app_context():
        from events.models import Assignment

        signed = db.session.scalar(
            select(func.count(Assignment.id)).where(
                Assignment.user_id.in_(facts["fresh"][:n]), Assignment.status == "assigned"
            )
        )
    if signed != n:
        sys.exit(f"only {signed} of {n} sign-ups were assigned")
    return results


def main() -> None:
    args = parse_args()
    if args.requests < 1 or args.volunteers < 200:
        sys.exit("--requests must be positive and --volunteers at least 200")
    url = args.database_url or fresh_database(DEFAULT_DATABASE)
    app = make_app(url, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    rng = random.Random(args.seed)
    begin = time.perf_counter()
    with app.app_context():
        prepare_schema(args.reset)
        facts = build_expo(args, rng)
        from app.extensions import db

        db.session.remove()
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].rsplit('@', 1)[-1]}")
    print(
        f"built in {time.perf_counter() - begin:.1f} s: {args.volunteers} volunteers, {args.positions} positions, "
        f"{facts['shifts']} shifts, {facts['assignments']} assignments"
    )
    results = measure(app, facts, args.requests)
    header = table_row(["request", "median ms", "p95 ms"], COLUMNS, sep="")
    print(f"\n{header}   (n={args.requests}, target < {TARGET_MS:.0f} ms)")
    checks = []
    baseline = results.pop("baseline")
    for name, samples in results.items():
        median, p95 = summary(samples)
        checks.append(median < TARGET_MS)
        print(table_row([name, median, p95], COLUMNS, sep="") + f"   {'ok' if checks[-1] else 'SLOW'}")
    median, p95 = summary(baseline)
    print(table_row(["GET /healthz", median, p95], COLUMNS, sep="") + "   (baseline: the machine's load; one SELECT 1)")
    sys.exit(exit_status(checks))


if __name__ == "__main__":
    main()
