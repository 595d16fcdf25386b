"""What the benchmarks share: the paths, a fresh database and the app on it, seeding, timing, targets, servers.

A bench script runs as `.venv/bin/python bench/<script>.py`, so bench/ is on sys.path as the script's
folder and `from common import ...` finds this module; importing it puts the repository root on
sys.path too, so that the application's packages (composition, app, volunteers, ...) import. They are
imported inside the functions that use them, as in every bench module, so the scripts' --help needs
no database and load_users.py / load_chart.py (run in .venv-bench, without the app) stay apart.

- paths and shared values: ROOT, VENV_BIN, PASSWORD, UNLIMITED, SURNAMES, GIVEN
- databases: fresh_database, database_url, connect, add_database_options
- the app: make_app, new_secrets, migrate, prepare_schema, autocommit, demo_town, login
- seeding: insert_volunteers, assignment_row, add_expo
- figures: timed, table_row, met_or_missed, exit_status
- servers: free_port, wait_ready, start_process, wait_ready_or_stop, stop_server, server_env, flush_redis,
  and the CPU they use: cpu_seconds, server_pids, backend_pids
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VENV_BIN = ROOT / ".venv" / "bin"
#: every account a bench seeds logs in with this password
PASSWORD = "Bench-mark-2026"
#: the badge scanners' rate limits, raised so that they cost what they cost but never refuse
UNLIMITED = "10000000 per minute"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉晨宇轩浩然欣怡梓涵子墨雨桐思远嘉琪志豪"
#: the local PostgreSQL server's maintenance database, as its superuser (trust authentication)
ADMIN_DSN = "host=127.0.0.1 user=postgres dbname=postgres"
TICK = os.sysconf("SC_CLK_TCK")


# -- databases


def database_url(name: str) -> str:
    """The SQLAlchemy URL of database `name` on the local PostgreSQL server."""
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def fresh_database(name: str) -> str:
    """Drop and create `name` on the local PostgreSQL server; its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def connect(url: str):
    """A plain psycopg connection to the database of a SQLAlchemy URL (postgresql+psycopg://...)."""
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def add_database_options(parser, *, fresh: str | None = None, url_help: str | None = None) -> None:
    """--database-url (by default a fresh PostgreSQL database `fresh`, unless `url_help` says otherwise) and --reset."""
    if url_help is None:
        url_help = f"SQLAlchemy URL (default: a fresh PostgreSQL database {fresh} on 127.0.0.1, user postgres)"
    parser.add_argument("--database-url", help=url_help)
    parser.add_argument("--reset", action="store_true", help="drop every table of --database-url first")


# -- the app


def make_app(url: str, **config):
    """The application (development settings) on the database at `url`, with `config` on top."""
    from composition import create_app

    return create_app("development", {"SQLALCHEMY_DATABASE_URI": url, **config})


def new_secrets() -> dict[str, str]:
    """A generated SECRET_KEY and ID_NUMBER_KEY: the servers' environment and the seeding app share them."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ID_NUMBER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        # no SMS provider here: production's console backend allowed (sms/gateway.py config_problems)
        "SMS_CONSOLE_IN_PRODUCTION": "1",
    }


def migrate() -> None:
    """The schema from the migrations (in an app context)."""
    from flask_migrate import upgrade

    upgrade(directory=str(ROOT / "migrations"))


def prepare_schema(reset: bool) -> None:
    """The schema on an empty database; with `reset`, every table there is dropped first."""
    from sqlalchemy import MetaData, inspect

    from app.extensions import db

    if reset:
        existing = MetaData()
        existing.reflect(bind=db.engine)
        existing.drop_all(bind=db.engine)
    if inspect(db.engine).get_table_names():
        sys.exit("The database is not empty: give a fresh database, or --reset to drop its tables.")
    migrate()


def autocommit(sql: str) -> None:
    """Run a statement that cannot run in a transaction (VACUUM, ANALYZE of everything)."""
    from sqlalchemy import text

    from app.extensions import db

    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(sql))


def demo_town():
    """Load the demo data (demo/data.py); its town committee, 南城街道."""
    from sqlalchemy import select

    from app.extensions import db
    from demo.data import load_demo_data
    from volunteers.organizations.models import Organization

    load_demo_data()
    return db.session.scalar(select(Organization).where(Organization.short_name == "南城街道"))


def login(app, mobile: str, password: str = PASSWORD):
    """A test client logged in as `mobile`; the script exits when the login fails."""
    client = app.test_client()
    response = client.post("/login", data={"mobile": mobile, "password": password})
    if response.status_code != 302:
        sys.exit(f"login of {mobile} failed ({response.status_code})")
    return client


# -- seeding


def insert_volunteers(
    count: int, person: Callable[[int], dict], *, mobile_prefix: str, now, password_hash: str | None = None
) -> list[int]:
    """Bulk-insert `count` activated volunteers, all with one password hash (of PASSWORD unless given); their ids.

    person(n) gives the n-th one's name, birth_date, id_number (app.security.demo_id_number),
    political_status and organization_id; the mobile is `mobile_prefix` and n, 11 digits in all.
    """
    from sqlalchemy import insert, select

    from app import counters
    from app.extensions import db
    from app.security import encrypt_id_number, hash_id_number, hash_password
    from volunteers.accounts.models import User

    if password_hash is None:
        password_hash = hash_password(PASSWORD)
    numbers = counters.volunteer_numbers(count, year=now.year)
    digits = 11 - len(mobile_prefix)
    rows = []
    for n in range(count):
        fields = person(n)
        id_number = fields.pop("id_number")
        rows.append(
            {
                **fields,
                "volunteer_number": numbers[n],
                "mobile": f"{mobile_prefix}{n:0{digits}d}",
                "password_hash": password_hash,
                "id_number_encrypted": encrypt_id_number(id_number.value),
                "id_number_hash": hash_id_number(id_number.value),
                "id_number_head": id_number.value[:4],
                "id_number_tail": id_number.value[-4:],
                "sex": id_number.sex,
                "emergency_contact_name": "紧急联系人",
                "emergency_contact_mobile": "13700000000",
                "session_token": secrets.token_hex(16),
                "source": "registered",
                "activated_at": now,
                "calendar_token": secrets.token_urlsafe(16)[:22],
                "created_at": now,
                "updated_at": now,
            }
        )
    db.session.execute(insert(User), rows)
    return list(db.session.scalars(select(User.id).where(User.mobile.like(f"{mobile_prefix}%")).order_by(User.id)))


def assignment_row(
    shift_id: int, user_id: int, starts_at, ends_at, now, *, status: str = "assigned", source: str = "coordinator"
) -> dict:
    """One assignment for a bulk INSERT into assignments."""
    return {
        "shift_id": shift_id,
        "user_id": user_id,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "status": status,
        "source": source,
        "created_at": now,
        "updated_at": now,
    }


def add_expo(
    title: str,
    organization_id: int,
    creator_id: int,
    volunteer_ids: list[int],
    *,
    start,
    hours: int,
    signup: tuple,
    published_at,
    positions: int,
    slots: list[tuple],
    assigned: int,
    now,
) -> tuple[int, int]:
    """A published expo whose first shift starts at `start` (the event an hour before, ending `hours` after it).

    It has `positions` posts, each with a shift per (begins, ends) of `slots`; the volunteers are split
    evenly across the posts, each assigned to the first `assigned` shifts of their post. `signup` is
    (opens, closes). Returns the event's id and the number of assignments.
    """
    from sqlalchemy import insert

    from app.extensions import db
    from events.models import Assignment, Event, EventKind, EventStatus, Position, Shift

    event = Event(
        title=title,
        kind=EventKind.EXPO.value,
        organization_id=organization_id,
        starts_at=start - timedelta(hours=1),
        ends_at=start + timedelta(hours=hours),
        place="广东现代国际展览中心",
        status=EventStatus.PUBLISHED.value,
        signup_opens_at=signup[0],
        signup_closes_at=signup[1],
        published_at=published_at,
        created_by_id=creator_id,
        checkin_opens_minutes=30,
    )
    db.session.add(event)
    db.session.flush()
    per_position = -(-len(volunteer_ids) // positions)
    assignments = []
    for p in range(positions):
        people = volunteer_ids[p * per_position : (p + 1) * per_position]
        position = Position(event_id=event.id, name=f"岗位{p + 1:02d}")
        db.session.add(position)
        db.session.flush()
        for slot, (begins, ends) in enumerate(slots):
            shift = Shift(
                event_id=event.id,
                position_id=position.id,
                starts_at=begins,
                ends_at=ends,
                capacity=max(len(people), 1),
                assigned_count=len(people) if slot < assigned else 0,
                meeting_point=f"{p % 8 + 1}号馆",
            )
            db.session.add(shift)
            db.session.flush()
            if slot < assigned:
                assignments += [assignment_row(shift.id, uid, shift.starts_at, shift.ends_at, now) for uid in people]
    db.session.execute(insert(Assignment), assignments)
    return event.id, len(assignments)


# -- figures


def timed(call) -> float:
    """Milliseconds one call took."""
    begin = time.perf_counter()
    call()
    return (time.perf_counter() - begin) * 1000


def table_row(cells: list, widths: list[int], *, sep: str = " ") -> str:
    """One line of a figures table: the first cell left-aligned, the others right-aligned, floats to 0.1."""
    texts = [f"{cell:.1f}" if isinstance(cell, float) else str(cell) for cell in cells]
    return sep.join(
        [texts[0].ljust(widths[0])] + [text.rjust(width) for text, width in zip(texts[1:], widths[1:], strict=True)]
    )


def met_or_missed(ok: bool) -> str:
    return "met" if ok else "MISSED"


def exit_status(checks: Iterable[bool]) -> int:
    """A benchmark's exit status: 1 when one of its targets (or checks) is missed, else 0."""
    return 0 if all(checks) else 1


# -- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, *, seconds: float) -> bool:
    """True once GET url answers 200 (polled), False after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def start_process(command: list[str], env: dict, log, *, cwd: Path | None = None) -> subprocess.Popen:
    """A server in a process group of its own (stop_server ends the group), its output and errors to `log`."""
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready_or_stop(url: str, processes: list[subprocess.Popen], *, seconds: float, failure: str) -> None:
    """Wait until GET url answers 200; when it does not within `seconds`, stop the processes and exit with `failure`."""
    if not wait_ready(url, seconds=seconds):
        stop_server(*processes)
        sys.exit(failure)


def stop_server(*processes: subprocess.Popen) -> None:
    """SIGTERM to each process group, then wait for all (SIGKILL after 40 s)."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def server_env(url: str, keys: dict[str, str], redis_url: str) -> dict:
    """The environment of a production server on the bench database.

    APP_ENV=production with the generated `keys` (new_secrets), the rate limits counted in `redis_url`
    ("": each worker's memory) and the badge scanners' limits raised to UNLIMITED.
    """
    return {
        **os.environ,
        "APP_ENV": "production",
        **keys,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "API_SCAN_RATE_LIMIT_PER_USER": UNLIMITED,
        "API_SCAN_RATE_LIMIT_PER_ADDRESS": UNLIMITED,
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def flush_redis(db: int) -> str:
    """Empty Redis database `db` on 127.0.0.1 for the rate limits; its URL. The script exits when Redis does not answer."""
    import redis

    url = f"redis://127.0.0.1:6379/{db}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except redis.RedisError as problem:
        sys.exit(f"Redis does not answer at {url} ({problem}): the production setup keeps rate limits there")
    return url


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, ...)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pids) -> float:
    """User + system CPU time the processes have used so far (from /proc; a process gone counts 0)."""
    total = 0.0
    for pid in pids:
        try:
            fields = _stat(pid)
            total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total


def server_pids(master: int) -> list[int]:
    """A gunicorn master and its workers."""
    pids = [master]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == master:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return pids


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL server processes serving the benchmark's database."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_DSN) as conn:
        return [row[0] for row in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))]
