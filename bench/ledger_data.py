"""Data for bench/ledger.py: a city's organizations, volunteers, events and ledger, generated inside PostgreSQL.

Rows are made by INSERT ... SELECT over generate_series (bulk INSERTs: the ledger's append-only
triggers refuse only UPDATE and DELETE), with secondary indexes and unique and foreign-key
constraints set aside during the load and restored exactly afterwards (`bulk_load`).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime

from common import GIVEN, SURNAMES

TOWNS = [
    "莞城街道",
    "南城街道",
    "东城街道",
    "万江街道",
    "石碣镇",
    "石龙镇",
    "茶山镇",
    "石排镇",
    "企石镇",
    "横沥镇",
    "桥头镇",
    "谢岗镇",
    "东坑镇",
    "常平镇",
    "寮步镇",
    "樟木头镇",
    "大朗镇",
    "黄江镇",
    "清溪镇",
    "塘厦镇",
    "凤岗镇",
    "大岭山镇",
    "长安镇",
    "虎门镇",
    "厚街镇",
    "沙田镇",
    "道滘镇",
    "洪梅镇",
    "麻涌镇",
    "望牛墩镇",
    "中堂镇",
    "高埗镇",
    "松山湖园区",
]
UNIVERSITIES = ["东莞理工学院", "东莞城市学院", "广东科技学院", "东莞职业技术学院"]
FIRST_DAY = date(2022, 1, 1)
LAST_DAY = date(2026, 11, 20)


def build_organizations() -> dict:
    """The city, its towns and universities, each with branches and teams; ids by level."""
    from app.extensions import db
    from volunteers.organizations.services import create_organization

    city = create_organization("共青团东莞市委员会", "city", None, short_name="团市委")
    committees = [create_organization(name, "town", city) for name in TOWNS]
    committees += [create_organization(name, "university", city) for name in UNIVERSITIES]
    leaves = []
    for committee in committees:
        for n in range(1, 5):
            leaves.append(create_organization(f"{committee.name}第{n}团支部", "branch", committee))
        for n in range(1, 3):
            leaves.append(create_organization(f"{committee.name}志愿服务队{n}", "team", committee))
    db.session.commit()
    return {
        "city": city.id,
        "committees": [c.id for c in committees],
        "leaves": [o.id for o in leaves],
        "all": [city.id] + [c.id for c in committees] + [o.id for o in leaves],
        "town": committees[1].id,
    }  # 南城街道


LOADED_TABLES = (
    "users",
    "events",
    "positions",
    "shifts",
    "assignments",
    "attendances",
    "hour_entries",
    "hour_entry_events",
)
DERIVED_TABLES = ("hour_entry_states", "hour_summaries")


@contextmanager
def bulk_load(tables: tuple[str, ...]):
    """Load without secondary indexes, unique and foreign-key constraints, then put every one back.

    Rebuilding an index once from sorted data is far cheaper than updating it row by row, and a
    foreign key re-added is checked by one join. The definitions are read from the catalogue and
    restored exactly; primary keys, checks and triggers stay in place throughout.
    """
    from sqlalchemy import text

    from app.extensions import db

    constraints, indexes = [], []
    for table in tables:
        constraints += db.session.execute(
            text(
                "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('f', 'u')"
            ),
            {"t": table},
        ).all()
        indexes += db.session.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = :t "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) "
                "AND contype IN ('p', 'u'))"
            ),
            {"t": table},
        ).all()
    owner = {
        name: table
        for table in tables
        for (name,) in db.session.execute(
            text("SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass)"), {"t": table}
        ).all()
    }
    for name, _kind, _definition in sorted(constraints, key=lambda c: c[1]):  # foreign keys before uniques
        run(f'ALTER TABLE {owner[name]} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        run(f'DROP INDEX "{name}"')
    yield
    for _name, definition in indexes:
        run(definition)
    for name, _kind, definition in sorted(constraints, key=lambda c: c[1], reverse=True):  # uniques first
        run(f'ALTER TABLE {owner[name]} ADD CONSTRAINT "{name}" {definition}')


def load_city(args) -> tuple[dict, dict]:
    """The city's organizations, then its volunteers, events and ledger (`generate`, a bulk load); (orgs, counts)."""
    from app.extensions import db

    orgs = build_organizations()
    with bulk_load(LOADED_TABLES):
        counts = generate(args, orgs)
    db.session.commit()
    return orgs, counts


def build_derived() -> dict:
    """The ledger's derived tables, built by its own rebuild (hours.ledger.summary) as a bulk load; its counts."""
    from app.extensions import db
    from app.timeutil import utcnow
    from hours.ledger import summary

    with bulk_load(DERIVED_TABLES):
        built = summary.rebuild(now=utcnow())
    db.session.commit()
    return built


def run(sql: str, **params) -> None:
    from sqlalchemy import text

    from app.extensions import db

    db.session.execute(text(sql), params)


def generate(args, orgs: dict) -> dict:
    """Volunteers, events, shifts and the ledger, generated by INSERT ... SELECT; returns counts."""
    from sqlalchemy import text

    from app.extensions import db

    days = (LAST_DAY - FIRST_DAY).days
    corrections = args.entries // 100
    lines = args.entries - corrections
    stamp = datetime.now(UTC).replace(tzinfo=None)
    run("SELECT setseed(0.2026)")
    # Volunteers: 10 % membership applicants; names from common characters.
    run(
        """
        INSERT INTO users (id, volunteer_number, name, mobile, id_number_encrypted, id_number_hash, id_number_tail,
            id_number_head, birth_date, sex, political_status, activist_since, organization_id,
            emergency_contact_name, emergency_contact_mobile, guardian_name, guardian_mobile, session_token,
            source, activated_at, is_disabled, locale, signup_serial, calendar_token, created_at, updated_at)
        SELECT i, 'DG' || lpad(i::text, 11, '0'),
            substr(CAST(:surnames AS text), 1 + i % length(CAST(:surnames AS text)), 1)
                || substr(CAST(:given AS text), 1 + (i / 7) % length(CAST(:given AS text)), 1)
                || substr(CAST(:given AS text), 1 + (i / 3) % length(CAST(:given AS text)), 1),
            '13' || lpad(i::text, 9, '0'), 'bench', md5(i::text) || md5((-i)::text), lpad((i % 10000)::text, 4, '0'),
            '4419', date '1990-01-01' + (i % 5000), CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END,
            CASE WHEN i % 10 = 0 THEN '入团积极分子' WHEN i % 3 = 0 THEN '群众' ELSE '共青团员' END,
            CASE WHEN i % 10 = 0 THEN date '2025-06-01' + (i % 400) END,
            (CAST(:leaves AS int[]))[1 + (i * 7919) % cardinality(CAST(:leaves AS int[]))], '紧急联系人', '13700000000', '', '',
            md5('s' || i::text), 'registered', :stamp, false, 'zh', 0, 'c' || lpad(i::text, 21, '0'), :stamp, :stamp
        FROM generate_series(1, :volunteers) AS i
    """,
        surnames=SURNAMES,
        given=GIVEN,
        leaves=orgs["leaves"],
        volunteers=args.volunteers,
        stamp=stamp,
    )
    # Events: one day each, 09:00-17:00 local (01:00-09:00 UTC); 5 % theory classes.
    run(
        """
        INSERT INTO events (id, title, kind, organization_id, starts_at, ends_at, place, geofence_mode, description,
            brand_tag, cancel_cutoff_hours, allow_walk_ins, checkin_opens_minutes, status, created_at, updated_at)
        SELECT e, '志愿服务活动' || e, k.kind, (CAST(:orgs AS int[]))[1 + floor(random() * cardinality(CAST(:orgs AS int[])))::int],
            d + time '01:00', d + time '09:00', '', 'flag', '',
            (ARRAY['', '', '', '阳光助残', '青春情暖', '暖冬行动', '益苗计划'])[1 + floor(random() * 7)::int],
            24, false, 30, 'published', :stamp, :stamp
        FROM generate_series(1, :events) AS e
        CROSS JOIN LATERAL (SELECT CAST(:first AS date) + floor(random() * :days)::int + (e * 0) AS d) AS day
        CROSS JOIN LATERAL (SELECT CASE WHEN r < 0.40 THEN 'community' WHEN r < 0.60 THEN 'civilization'
            WHEN r < 0.75 THEN 'river_patrol' WHEN r < 0.85 THEN 'expo' WHEN r < 0.95 THEN 'training'
            ELSE 'theory_class' END AS kind FROM (SELECT random() + (e * 0) AS r) AS x) AS k
    """,
        orgs=orgs["all"],
        events=args.events,
        first=FIRST_DAY,
        days=days,
        stamp=stamp,
    )
    # Two positions per event, each with a morning and an afternoon shift.
    run("""
        INSERT INTO positions (id, event_id, name, description, min_age)
        SELECT e.id * 2 - 1 + p.n, e.id, p.name, '', 0 FROM events e
        CROSS JOIN (VALUES (0, '引导'), (1, '咨询台')) AS p(n, name)
    """)
    run("""
        INSERT INTO shifts (id, event_id, position_id, starts_at, ends_at, capacity, assigned_count, meeting_point,
            is_cancelled)
        SELECT p.id * 2 - 1 + s.n, p.event_id, p.id, e.starts_at + s.start_offset, e.starts_at + s.end_offset,
            100, 0, '', false
        FROM positions p JOIN events e ON e.id = p.event_id
        CROSS JOIN (VALUES (0, interval '0 hours', interval '3 hours'),
                           (1, interval '5 hours', interval '8 hours')) AS s(n, start_offset, end_offset)
    """)
    run("""
        CREATE TEMP TABLE bench_shifts AS
        SELECT row_number() OVER (ORDER BY s.id) AS rn, s.id AS shift_id, s.event_id, s.starts_at, s.ends_at,
               e.organization_id
        FROM shifts s JOIN events e ON e.id = s.event_id WHERE e.kind <> 'theory_class'
    """)
    # The lines: a volunteer (skewed: some serve far more) on a shift, for 60-180 minutes.
    run(
        """
        CREATE TEMP TABLE bench_lines AS
        SELECT n, 1 + floor(power(random(), 1.6) * :volunteers)::int AS volunteer_id,
            1 + floor(random() * (SELECT count(*) FROM bench_shifts))::int AS rn,
            60 + 30 * floor(random() * 5)::int AS minutes, random() AS fate
        FROM generate_series(1, :lines) AS n
    """,
        volunteers=args.volunteers,
        lines=lines,
    )
    run("""
        INSERT INTO assignments (id, shift_id, user_id, starts_at, ends_at, status, source, override_rule,
            override_reason, created_at, updated_at)
        SELECT l.n, s.shift_id, l.volunteer_id, s.starts_at, s.ends_at, 'completed', 'self', '', '', s.starts_at,
            s.starts_at
        FROM bench_lines l JOIN bench_shifts s ON s.rn = l.rn
    """)
    run("""
        INSERT INTO attendances (id, user_id, event_id, shift_id, assignment_id, checked_in_at, checked_out_at,
            status, check_in_method, check_out_method, offline, outside_radius, conflict, note, created_at,
            updated_at)
        SELECT l.n, l.volunteer_id, s.event_id, s.shift_id, l.n, s.starts_at,
            s.starts_at + make_interval(mins => l.minutes), 'closed', 'kiosk', 'kiosk', false, false, false, '',
            s.starts_at, s.starts_at + make_interval(mins => l.minutes)
        FROM bench_lines l JOIN bench_shifts s ON s.rn = l.rn
    """)
    run("""
        INSERT INTO hour_entries (id, volunteer_id, event_id, shift_id, attendance_id, organization_id, kind,
            service_date, service_year, minutes, started_at, ended_at, rounding, source_changed_at, author_id,
            created_at, reason)
        SELECT l.n, l.volunteer_id, s.event_id, s.shift_id, l.n, s.organization_id, 'scan',
            (s.starts_at + interval '8 hours')::date, extract(year FROM s.starts_at + interval '8 hours')::int,
            l.minutes, s.starts_at, s.starts_at + make_interval(mins => l.minutes), 'none',
            s.starts_at + make_interval(mins => l.minutes), l.volunteer_id,
            s.starts_at + make_interval(mins => l.minutes + 60), ''
        FROM bench_lines l JOIN bench_shifts s ON s.rn = l.rn
    """)
    # Status events: recorded, then submitted, then verified (95 %) or rejected (2 %); 3 % still pending.
    run("""
        INSERT INTO hour_entry_events (entry_id, status, from_status, by_id, at, reason)
        SELECT l.n, v.status, v.from_status, NULL, h.created_at + v.later, v.reason
        FROM bench_lines l JOIN hour_entries h ON h.id = l.n
        CROSS JOIN LATERAL (VALUES
            (1, 'recorded', NULL, interval '0 days', ''),
            (2, 'submitted', 'recorded', interval '1 day', ''),
            (3, CASE WHEN l.fate < 0.95 THEN 'verified' ELSE 'rejected' END, 'submitted', interval '3 days',
                CASE WHEN l.fate < 0.95 THEN '' ELSE '时长不符' END)) AS v(step, status, from_status, later, reason)
        WHERE v.step = 1 OR (v.step = 2 AND l.fate < 0.98) OR (v.step = 3 AND l.fate < 0.97)
        ORDER BY l.n, v.step
    """)
    # Corrections: 1 % of verified lines lose 30 minutes (a verified delta entry).
    run(
        """
        INSERT INTO hour_entries (id, volunteer_id, event_id, shift_id, attendance_id, organization_id, kind,
            service_date, service_year, minutes, rounding, amends_entry_id, author_id, created_at, reason)
        SELECT :lines + row_number() OVER (ORDER BY h.id), h.volunteer_id, h.event_id, h.shift_id, h.attendance_id,
            h.organization_id, 'scan', h.service_date, h.service_year, -30, 'none', h.id, NULL,
            h.created_at + interval '10 days', '签退时间有误'
        FROM hour_entries h JOIN bench_lines l ON l.n = h.id
        WHERE l.fate < 0.95 ORDER BY h.id LIMIT :corrections
    """,
        lines=lines,
        corrections=corrections,
    )
    run(
        """
        INSERT INTO hour_entry_events (entry_id, status, from_status, by_id, at, reason)
        SELECT h.id, v.status, v.from_status, NULL, h.created_at + v.later, h.reason
        FROM hour_entries h
        CROSS JOIN (VALUES (1, 'submitted', NULL, interval '0 days'),
                           (2, 'verified', 'submitted', interval '1 day')) AS v(step, status, from_status, later)
        WHERE h.id > :lines ORDER BY h.id, v.step
    """,
        lines=lines,
    )
    # Applicants attend theory classes (not service hours): up to 8 classes of 3 hours.
    run("""
        CREATE TEMP TABLE bench_classes AS
        SELECT row_number() OVER (ORDER BY s.id) AS rn, s.id AS shift_id, s.event_id, s.starts_at, s.ends_at
        FROM shifts s JOIN events e ON e.id = s.event_id WHERE e.kind = 'theory_class'
    """)
    run(
        """
        CREATE TEMP TABLE bench_class_attendance AS
        SELECT :base + row_number() OVER () AS id, u.id AS user_id, c.shift_id, c.event_id, c.starts_at, c.ends_at
        FROM users u CROSS JOIN generate_series(1, 8) AS k
        JOIN bench_classes c ON c.rn = 1 + (u.id * 31 + k * 977) % (SELECT count(*) FROM bench_classes)
        WHERE u.political_status = '入团积极分子' AND (u.id + k) % 3 <> 0
    """,
        base=lines,
    )
    run("""
        INSERT INTO assignments (id, shift_id, user_id, starts_at, ends_at, status, source, override_rule,
            override_reason, created_at, updated_at)
        SELECT id, shift_id, user_id, starts_at, ends_at, 'completed', 'self', '', '', starts_at, starts_at
        FROM bench_class_attendance
    """)
    run("""
        INSERT INTO attendances (id, user_id, event_id, shift_id, assignment_id, checked_in_at, checked_out_at,
            status, check_in_method, check_out_method, offline, outside_radius, conflict, note, created_at,
            updated_at)
        SELECT id, user_id, event_id, shift_id, id, starts_at, ends_at, 'closed', 'kiosk', 'kiosk', false, false,
            false, '', starts_at, ends_at
        FROM bench_class_attendance
    """)
    for table in ("users", "events", "positions", "shifts", "assignments", "attendances", "hour_entries"):
        run(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    return {
        table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar()
        for table in ("users", "events", "shifts", "attendances", "hour_entries", "hour_entry_events")
    }
