"""Shift reminders 24 h and 2 h before: sent once per assignment, however often the job runs."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.scheduling.jobs import JobRun
from events import tasks
from events.models import AssignmentStatus, Event, EventStatus, Shift
from notifications.models import Notification


def _run_concurrently(app, count: int, target) -> list:
    """Start `count` threads, each in its own app context (own session), at the same moment."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def worker(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=10)
                results[index] = target()
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_reminder_24h_sent_once_even_when_the_job_runs_twice(
    db, volunteer, shift_in, make_assignment, now, notifications_of
):
    shift = shift_in(20, meeting_point="鸿福路地铁站B出口")
    assignment = make_assignment(volunteer, shift)

    first = tasks.send_reminders(now)
    again_same_period = tasks.send_reminders(now)
    later_period = tasks.send_reminders(now + timedelta(minutes=5))
    forced = tasks.send_reminders(now + timedelta(minutes=6), force=True)

    assert first == {"reminder_24h": 1, "reminder_2h": 0}
    assert again_same_period is None  # the period already ran: nothing done at all
    assert later_period == {"reminder_24h": 0, "reminder_2h": 0}
    assert forced == {"reminder_24h": 0, "reminder_2h": 0}
    sent = notifications_of(volunteer)
    assert [(n.kind, n.dedupe_key) for n in sent] == [("reminder_24h", f"reminder_24h:{assignment.id}")]
    assert sent[0].params["place"] == "鸿福路地铁站B出口"
    assert sent[0].link == f"/events/{shift.event_id}"
    runs = db.session.scalars(select(JobRun).where(JobRun.job == "reminders").order_by(JobRun.id)).all()
    assert [run.status for run in runs] == ["ok", "ok", "ok"]


def test_concurrent_runs_for_the_same_period_send_each_reminder_once(
    app, db, make_user, shift_in, make_assignment, now
):
    shift = shift_in(10)
    people = [make_user() for _ in range(3)]
    for person in people:
        make_assignment(person, shift)

    results = _run_concurrently(app, 4, lambda: tasks.send_reminders(now))

    done = [r for r in results if r is not None]
    assert done == [{"reminder_24h": 3, "reminder_2h": 0}]  # exactly one run did the work
    count = db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "reminder_24h"))
    assert count == 3
    assert db.session.scalar(select(func.count(JobRun.id)).where(JobRun.job == "reminders")) == 1


def test_concurrent_forced_runs_still_send_each_reminder_once(app, db, make_user, shift_in, make_assignment, now):
    """Even bypassing the period guard, the notification's dedupe key keeps reminders single."""
    shift = shift_in(1.5)
    people = [make_user() for _ in range(3)]
    for person in people:
        make_assignment(person, shift)

    results = _run_concurrently(app, 4, lambda: tasks.send_reminders(now, force=True))

    assert sum(r["reminder_2h"] for r in results) == 3
    kinds = db.session.execute(select(Notification.kind, func.count(Notification.id)).group_by(Notification.kind)).all()
    assert dict(kinds) == {"reminder_2h": 3}


def test_two_hour_reminder_follows_the_day_before_one(volunteer, shift_in, make_assignment, now, notifications_of):
    shift = shift_in(23)
    make_assignment(volunteer, shift)

    tasks.send_reminders(now)
    tasks.send_reminders(now + timedelta(hours=21, minutes=30))  # 90 minutes before the start
    tasks.send_reminders(now + timedelta(hours=22, minutes=30))

    assert [n.kind for n in notifications_of(volunteer)] == ["reminder_24h", "reminder_2h"]


def test_late_sign_up_gets_only_the_two_hour_reminder(volunteer, shift_in, make_assignment, now, notifications_of):
    make_assignment(volunteer, shift_in(1.5))

    assert tasks.send_reminders(now) == {"reminder_24h": 0, "reminder_2h": 1}
    assert [n.kind for n in notifications_of(volunteer)] == ["reminder_2h"]


@pytest.mark.parametrize(
    "status",
    [
        AssignmentStatus.CANCELLED.value,
        AssignmentStatus.WAITLISTED.value,
        AssignmentStatus.APPLIED.value,
        AssignmentStatus.NO_SHOW.value,
    ],
)
def test_no_reminder_unless_assigned(status, volunteer, shift_in, make_assignment, now, notifications_of):
    make_assignment(volunteer, shift_in(5), status=status)

    assert tasks.send_reminders(now) == {"reminder_24h": 0, "reminder_2h": 0}
    assert notifications_of(volunteer) == []


def test_no_reminder_for_cancelled_shift_or_event(
    db, volunteer, make_user, shift_in, make_assignment, now, notifications_of
):
    cancelled_shift = shift_in(5)
    make_assignment(volunteer, cancelled_shift)
    db.session.execute(update(Shift).where(Shift.id == cancelled_shift.id).values(is_cancelled=True))
    other = make_user()
    in_cancelled_event = shift_in(6)
    make_assignment(other, in_cancelled_event)
    db.session.execute(
        update(Event).where(Event.id == in_cancelled_event.event_id).values(status=EventStatus.CANCELLED.value)
    )
    db.session.commit()

    assert tasks.send_reminders(now) == {"reminder_24h": 0, "reminder_2h": 0}
    assert notifications_of(volunteer) == [] and notifications_of(other) == []


@pytest.mark.parametrize("hours", [25, 24.01, -0.5, 0])
def test_no_reminder_outside_the_window(hours, volunteer, shift_in, make_assignment, now, notifications_of):
    make_assignment(volunteer, shift_in(hours))

    assert tasks.send_reminders(now) == {"reminder_24h": 0, "reminder_2h": 0}
    assert notifications_of(volunteer) == []


def test_reminders_only_reach_the_assigned_volunteer(
    volunteer, make_user, shift_in, make_assignment, now, notifications_of
):
    bystander = make_user()
    make_assignment(volunteer, shift_in(3))

    tasks.send_reminders(now)

    assert len(notifications_of(volunteer)) == 1
    assert notifications_of(bystander) == []


def test_run_once_from_the_command_line(app, volunteer, shift_in, make_assignment, now, notifications_of):
    make_assignment(volunteer, shift_in(3))
    runner = app.test_cli_runner()
    at = now.isoformat()

    first = runner.invoke(args=["scheduler", "run-once", "reminders", "--at", at])
    second = runner.invoke(args=["scheduler", "run-once", "reminders", "--at", at])
    unknown = runner.invoke(args=["scheduler", "run-once", "no-such-job"])

    assert first.exit_code == 0, first.output
    assert "reminder_24h" in first.output
    assert "already ran for this period" in second.output
    assert unknown.exit_code != 0 and "unknown job" in unknown.output
    assert len(notifications_of(volunteer)) == 1
