#!/usr/bin/env python
"""Benchmark of the service-hours ledger at city scale, on PostgreSQL.

    .venv/bin/python bench/ledger.py                    # a fresh database volunteers_bench_ledger on 127.0.0.1
    .venv/bin/python bench/ledger.py --volunteers 10000 --entries 200000 --runs 5    # a quick look
    .venv/bin/python bench/ledger.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/x --reset

Builds a city of ~260 organizations (33 towns, 4 universities, their branches and teams),
100,000 volunteers (10 % membership applicants) and 2,000,000 ledger entries over 2022-2026:
each line is an attendance of a shift of an event (assignment, closed attendance, entry, and its
status events recorded → submitted → verified/rejected), about 95 % verified, 2 % rejected, 3 %
pending, and 1 % of all entries are verified corrections (-30 minutes) of verified lines; applicants also attend theory classes.
The rows are generated inside PostgreSQL by INSERT ... SELECT over generate_series (bulk
INSERTs: the ledger's append-only triggers refuse only UPDATE and DELETE), then the derived
tables are built by the ledger's own rebuild (hours.ledger.summary.rebuild).

It prints the median (and max) over --runs of:
  - one volunteer's year total       hours.ledger.services.verified_minutes(id, year=...)     target < 20 ms
  - the same over a period of dates  verified_minutes(id, period=...) (state table)  (for reference)
  - a volunteer's year chart         GET /hours/my-year.json                         (for reference)
  - a town committee's eligibility   hours.membership.progress.progress_for_subtrees([town])  target < 1 s
  - the city report for a year       hours.reports.services.build_report(city, year)          target < 2 s
  - the same page over HTTP          GET /hours/reports/?organization=city&...       (for reference)
  - a town report for a year         build_report(town, year)                        (for reference)
  - the summary rebuild              hours.ledger.summary.rebuild + commit                  (no target)
The exit status is 1 when a median misses its target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date

from common import (
    PASSWORD,
    add_database_options,
    autocommit,
    database_url,
    exit_status,
    fresh_database,
    login,
    make_app,
    prepare_schema,
    table_row,
    timed,
)
from ledger_data import build_derived, load_city

DEFAULT_DATABASE = "volunteers_bench_ledger"
TARGETS_MS = {"year_total": 20.0, "eligibility": 1000.0, "city_report": 2000.0}
#: the widths of the columns of the table of figures
COLUMNS = [36, 10, 10, 8]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_database_options(parser, fresh=DEFAULT_DATABASE)
    parser.add_argument("--volunteers", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=2_000_000, help="ledger entries in all (lines + corrections)")
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each query")
    parser.add_argument(
        "--rebuild-runs", type=int, default=1, help="timed summary rebuilds (minutes each at full size)"
    )
    parser.add_argument(
        "--measure-only",
        action="store_true",
        help="measure an already generated bench database (--database-url, or the default name)",
    )
    parser.add_argument("--year", type=int, default=2025, help="the year the reports and totals ask for")
    return parser.parse_args()


def measure(app, args, orgs: dict) -> dict[str, list[float]]:
    """Every timed query, --runs times each (the rebuild --rebuild-runs times); milliseconds."""
    import random

    from sqlalchemy import select, text

    from app.extensions import db
    from app.permissions import Role
    from app.security import hash_password
    from app.timeutil import utcnow
    from hours.ledger import summary
    from hours.ledger.services import verified_minutes
    from hours.membership.progress import progress_for_subtrees
    from hours.reports.services import build_report
    from volunteers.accounts.models import User
    from volunteers.organizations.models import Organization, RoleGrant

    rng = random.Random(2026)
    year = args.year
    period = (date(year, 1, 1), date(year, 12, 31))
    city = db.session.get(Organization, orgs["city"])
    town = db.session.get(Organization, orgs["town"])
    admin = db.session.get(User, 1)
    admin.password_hash = hash_password(PASSWORD)
    if not db.session.scalar(
        select(RoleGrant.id).where(RoleGrant.user_id == admin.id, RoleGrant.organization_id == city.id)
    ):
        db.session.add(RoleGrant(user_id=admin.id, organization_id=city.id, role=Role.ADMIN.value))
    db.session.commit()
    client = login(app, admin.mobile)
    now = utcnow()
    samples: dict[str, list[float]] = {
        name: []
        for name in (
            "year_total",
            "period_total",
            "year_chart_http",
            "eligibility",
            "city_report",
            "city_report_http",
            "town_report",
            "rebuild",
        )
    }
    applicants = []
    for _ in range(args.runs):
        volunteer_id = rng.randrange(1, args.volunteers + 1)
        db.session.rollback()
        samples["year_total"].append(timed(lambda volunteer_id=volunteer_id: verified_minutes(volunteer_id, year=year)))
        samples["period_total"].append(
            timed(lambda volunteer_id=volunteer_id: verified_minutes(volunteer_id, period=period))
        )
        samples["year_chart_http"].append(timed(lambda: assert_ok(client.get(f"/hours/my-year.json?year={year}"))))
        db.session.rollback()
        samples["eligibility"].append(
            timed(lambda: applicants.append(len(progress_for_subtrees([town.path], now=now))))
        )
        samples["city_report"].append(timed(lambda: build_report(city, period=period)))
        samples["city_report_http"].append(
            timed(
                lambda: assert_ok(
                    client.get(
                        f"/hours/reports/?organization={city.id}&period_start={period[0]}&period_end={period[1]}"
                    )
                )
            )
        )
        samples["town_report"].append(timed(lambda: build_report(town, period=period)))
    report = build_report(city, period=period)
    for _ in range(args.rebuild_runs):

        def rebuild():
            summary.rebuild(now=utcnow())
            db.session.commit()

        samples["rebuild"].append(timed(rebuild))
    differences = summary.differences(limit=5)
    print(
        f"city {year}: {report.total_minutes / 60:,.0f} verified hours, {report.active_volunteers:,} active "
        f"volunteers; 南城街道 applicants listed: {applicants[-1]}; summary check: "
        f"{differences if differences else 'agrees'}"
    )
    db.session.execute(text("SELECT 1"))
    return samples


def assert_ok(response) -> None:
    if response.status_code != 200:
        sys.exit(f"{response.request.path} answered {response.status_code}")


def main() -> int:
    args = parse_args()
    if args.measure_only:
        url = args.database_url or database_url(DEFAULT_DATABASE)
    else:
        url = args.database_url or fresh_database(DEFAULT_DATABASE)
    if not url.startswith("postgresql"):
        sys.exit("bench/ledger.py measures PostgreSQL: give a postgresql+psycopg:// URL")
    app = make_app(url, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    with app.app_context():
        if args.measure_only:
            autocommit("VACUUM ANALYZE")
            samples = measure(app, args, existing_organizations())
        else:
            samples = load_and_measure(app, args)
    return report(samples)


def existing_organizations() -> dict:
    """The city and 南城街道 of a database generated earlier."""
    from sqlalchemy import select

    from app.extensions import db
    from volunteers.organizations.models import Organization

    return {
        "city": db.session.scalar(select(Organization.id).where(Organization.kind == "city")),
        "town": db.session.scalar(select(Organization.id).where(Organization.name == "南城街道")),
    }


def load_and_measure(app, args) -> dict[str, list[float]]:
    """Generate the data, build the derived tables with the ledger's rebuild, then measure."""
    prepare_schema(args.reset)
    began = time.perf_counter()
    orgs, counts = load_city(args)
    loaded = time.perf_counter() - began
    print("loaded " + ", ".join(f"{n:,} {table}" for table, n in counts.items()) + f" in {loaded:.0f} s")
    began = time.perf_counter()
    built = build_derived()
    autocommit("VACUUM ANALYZE")
    print(
        f"derived tables: {built['states']:,} entry states, {built['summaries']:,} volunteer-year summaries "
        f"in {time.perf_counter() - began:.0f} s (first build, indexes made afterwards, + VACUUM ANALYZE)"
    )
    return measure(app, args, orgs)


def report(samples: dict[str, list[float]]) -> int:
    """Print the medians; 1 when one misses its target."""
    checks = []
    labels = {
        "year_total": "one volunteer's year total",
        "period_total": "one volunteer's total over dates",
        "year_chart_http": "GET /hours/my-year.json",
        "eligibility": "town eligibility list (南城街道)",
        "city_report": "city report for a year",
        "city_report_http": "GET city report page",
        "town_report": "town report for a year",
        "rebuild": "summary rebuild (+ commit)",
    }
    print(table_row(["measurement", "median ms", "max ms", "target"], COLUMNS))
    for name, values in samples.items():
        if not values:
            continue
        median = statistics.median(values)
        target = TARGETS_MS.get(name)
        verdict = ""
        if target is not None:
            checks.append(median < target)
            verdict = f"< {target:.0f}" + ("" if checks[-1] else "  MISSED")
        print(table_row([labels[name], float(median), float(max(values)), verdict], COLUMNS))
    return exit_status(checks)


if __name__ == "__main__":
    sys.exit(main())
