#!/usr/bin/env python
"""Benchmark of the bulk volunteer import: 10,000 generated rows into a fresh database.

    .venv/bin/python bench/import_volunteers.py                      # SQLite in a temporary directory
    .venv/bin/python bench/import_volunteers.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

The PostgreSQL database must exist and be empty (or pass --reset to drop its tables first).
The import runs through the same services as the upload page (volunteers.imports.importer.create_job and
volunteers.imports.jobs.run_import); then the same file is imported again, which must add nothing.
Prints rows per second, tracemalloc's peak and the process's peak resident size (ru_maxrss).
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

from common import GIVEN, PASSWORD, SURNAMES, add_database_options, exit_status, make_app, met_or_missed, prepare_schema

TARGET_SECONDS = 30.0
TEAMS = ["南城街道志愿服务队", "南城阳光社区团支部", "南城河小青护河志愿服务队"]
SKILLS = [
    ("急救", "skill"),
    ("摄影", "skill"),
    ("驾驶", "skill"),
    ("粤语", "language"),
    ("英语", "language"),
    ("手语", "language"),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows to generate (default 10,000)")
    add_database_options(parser, url_help="SQLAlchemy URL of an empty database (default: a new SQLite file)")
    parser.add_argument("--keep-file", type=Path, help="also save the generated .xlsx here")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--write-file", type=Path, help=argparse.SUPPRESS)  # child process: generate, save, exit
    return parser.parse_args()


def generate_rows(count: int, seed: int) -> list[list]:
    """`count` valid rows (GB 11643 check digits, unique mobiles and ID numbers) in template column order."""
    from app.security import demo_id_number
    from volunteers.imports.rows import COLUMNS

    rng = random.Random(seed)
    today = date.today()
    rows = []
    for n in range(count):
        birth = date(1975, 1, 1) + timedelta(days=rng.randrange(0, 365 * 35))
        minor = n % 50 == 0
        if minor:
            birth = date(today.year - 11, rng.randrange(1, 13), rng.randrange(1, 28))
        # the sequence part has three digits: the region changes every 1,000 people so numbers stay unique
        id_number = demo_id_number(birth, n % 1000, region=f"{441900 + n // 1000:06d}").value
        values = {
            "姓名": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
            "手机号": f"15{n:09d}",
            "身份证号": id_number,
            "政治面貌": rng.choice(["共青团员", "共青团员", "群众", "中共党员"]),
            "所属组织": rng.choice(TEAMS),
            "技能": "、".join(rng.sample(["急救", "摄影", "驾驶"], rng.randrange(0, 3))),
            "语言": "、".join(rng.sample(["粤语", "英语", "手语"], rng.randrange(0, 3))),
            "紧急联系人": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "紧急联系人手机": f"13{rng.randrange(10**9):09d}",
            "监护人姓名": rng.choice(SURNAMES) + rng.choice(GIVEN) if minor else "",
            "监护人手机": f"136{n:08d}" if minor else "",
        }
        rows.append([values.get(column, "") for column in COLUMNS])
    return rows


def build_file(rows: list[list]) -> bytes:
    """The rows as an .xlsx like Excel writes it (the sheet records its dimension)."""
    from openpyxl import Workbook

    from volunteers.imports.rows import COLUMNS

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "志愿者"
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def prepare_database(app, reset: bool) -> None:
    """Schema from the migrations; the organizations, skills and the administrator the import needs."""
    from app.extensions import db
    from app.permissions import Role
    from app.security import demo_id_number
    from app.timeutil import utcnow
    from volunteers.accounts.models import Skill
    from volunteers.accounts.services import ProfileData, register_volunteer
    from volunteers.organizations.models import OrgKind, RoleGrant
    from volunteers.organizations.services import create_organization

    prepare_schema(reset)
    city = create_organization("共青团东莞市委员会", OrgKind.CITY.value, None, short_name="团市委")
    town = create_organization("共青团东莞市南城街道委员会", OrgKind.TOWN.value, city, short_name="南城街道")
    for name in TEAMS:
        kind = OrgKind.BRANCH.value if "团支部" in name else OrgKind.TEAM.value
        create_organization(name, kind, town, short_name=name)
    db.session.add_all([Skill(name=name, kind=kind) for name, kind in SKILLS])
    admin = register_volunteer(
        mobile="13800000001",
        id_number=demo_id_number(date(1988, 3, 12), 1, region="441901"),
        password=PASSWORD,
        now=utcnow(),
        profile=ProfileData(
            name="管理员",
            political_status="中共党员",
            organization_id=town.id,
            emergency_contact_name="紧急联系人",
            emergency_contact_mobile="13700000000",
        ),
    )
    db.session.add(RoleGrant(user_id=admin.id, organization_id=town.id, role=Role.ADMIN.value))
    db.session.commit()


def run_once(app, data: bytes, *, trace_memory: bool) -> dict:
    """One import through the services of the upload page; its duration, counts and memory peak."""
    from sqlalchemy import select

    from app.extensions import db
    from app.timeutil import utcnow
    from volunteers.accounts.models import User
    from volunteers.imports import importer
    from volunteers.imports import jobs as import_tasks
    from volunteers.imports.models import ImportJob
    from volunteers.organizations.models import Organization

    admin = db.session.scalar(select(User).where(User.mobile == "13800000001"))
    town = db.session.scalar(select(Organization).where(Organization.short_name == "南城街道"))
    if trace_memory:
        tracemalloc.start()
    started = time.perf_counter()
    now = utcnow()
    job = importer.create_job(by=admin, scope=town, file_name="bench.xlsx", data=data, now=now)
    db.session.commit()
    status = import_tasks.run_import(job.id, data, now=now)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace_memory else None
    if trace_memory:
        tracemalloc.stop()
    db.session.expire_all()
    job = db.session.get(ImportJob, job.id)
    return {
        "status": status,
        "seconds": seconds,
        "peak": peak,
        "total": job.rows_total,
        "imported": job.rows_imported,
        "skipped": job.rows_skipped,
        "rejected": job.rows_rejected,
        "failure": job.failure_code,
    }


def count_users() -> int:
    from sqlalchemy import func, select

    from app.extensions import db
    from volunteers.accounts.models import User

    return db.session.scalar(select(func.count(User.id)))


def main() -> int:
    args = parse_args()
    from app.extensions import db

    if args.write_file:
        args.write_file.write_bytes(build_file(generate_rows(args.rows, args.seed)))
        return 0
    workdir = tempfile.TemporaryDirectory(prefix="import-bench-")
    url = args.database_url or f"sqlite:///{workdir.name}/bench.db"
    # The file is generated by a child process, so that this process's peak size is the import's.
    started = time.perf_counter()
    path = args.keep_file or Path(workdir.name) / "volunteers.xlsx"
    subprocess.run(
        [sys.executable, __file__, "--rows", str(args.rows), "--seed", str(args.seed), "--write-file", str(path)],
        check=True,
    )
    data = path.read_bytes()
    print(
        f"generated {args.rows:,} rows into a {len(data) / 1024:,.0f} KiB .xlsx in {time.perf_counter() - started:.1f} s"
    )
    # argon2's 64 MiB for the one administrator's password would otherwise be the process's peak size.
    app = make_app(
        url,
        IMPORT_SYNCHRONOUS=True,
        IMPORT_MAX_ROWS=max(args.rows, 50_000),
        PASSWORD_HASH_MEMORY_COST=1024,
        PASSWORD_HASH_TIME_COST=1,
    )
    print(f"database: {db_label(url)}")
    with app.app_context():
        prepare_database(app, args.reset)
        before = count_users()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        first = run_once(app, data, trace_memory=False)
        after_first = count_users()
        second = run_once(app, data, trace_memory=False)
        after_second = count_users()
        # Memory, measured on a run of its own: tracemalloc slows Python down, so it stays out of the timings.
        memory, traced_seconds = measure_memory(app, data)
        db.session.remove()
        db.engine.dispose()
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    report("first import", first, args.rows)
    report("second import (same file)", second, args.rows)
    print(f"users: {before:,} before, {after_first:,} after the first import, {after_second:,} after the second")
    print(
        f"peak memory of an import (tracemalloc, a third run taking {traced_seconds:.1f} s): {memory / 2**20:.1f} MiB"
    )
    print(
        f"peak resident size of the process (ru_maxrss): {rss_mib:.1f} MiB "
        f"({rss_before:.1f} MiB before the first import)"
    )
    ok = (
        first["status"] == "done"
        and first["imported"] == args.rows
        and second["imported"] == 0
        and second["skipped"] == args.rows
        and after_second == after_first
    )
    met = first["seconds"] < TARGET_SECONDS
    print(
        f"target {args.rows:,} rows in under {TARGET_SECONDS:.0f} s: {met_or_missed(met)}; "
        f"second import added nothing: {'yes' if ok else 'NO'}"
    )
    workdir.cleanup()
    return exit_status([ok, met])


def measure_memory(app, data: bytes) -> tuple[int, float]:
    """tracemalloc's peak during a first import: the imported volunteers are deleted and imported again."""
    from sqlalchemy import delete, select

    from app.audit import AuditLog
    from app.extensions import db
    from volunteers.accounts.models import User, user_skills
    from volunteers.imports.models import ImportJob

    imported = select(User.id).where(User.source == "imported").scalar_subquery()
    db.session.execute(delete(user_skills).where(user_skills.c.user_id.in_(imported)))
    db.session.execute(delete(User).where(User.source == "imported"))
    db.session.execute(delete(AuditLog))
    db.session.execute(delete(ImportJob))
    db.session.commit()
    result = run_once(app, data, trace_memory=True)
    return result["peak"], result["seconds"]


def report(label: str, result: dict, rows: int) -> None:
    rate = rows / result["seconds"] if result["seconds"] else 0
    print(
        f"{label}: {result['status']} in {result['seconds']:.2f} s ({rate:,.0f} rows/s); "
        f"rows {result['total']:,}, imported {result['imported']:,}, skipped {result['skipped']:,}, "
        f"rejected {result['rejected']:,}{', failure ' + result['failure'] if result['failure'] else ''}"
    )


def db_label(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


if __name__ == "__main__":
    raise SystemExit(main())
