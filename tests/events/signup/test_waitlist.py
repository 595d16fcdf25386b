"""The waitlist (joined when full, promoted in order and told) and cancellation before and after the cut-off."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.errors import Conflict, PermissionDenied, ValidationFailed
from events.signup.services import cancel_assignment, promote_waitlist, sign_up
from events.signup.waitlist import waitlist, waitlist_position


@pytest.fixture
def full_shift(db, make_shift, make_user, now, local_time):
    """A shift in three days with 2 places, both taken, and three volunteers waitlisted a minute apart."""
    shift = make_shift(capacity=2, starts_at=local_time(3, 9))
    taken = [sign_up(shift, make_user(name=f"在岗{i}"), now=now) for i in range(2)]
    queued = [
        sign_up(shift, make_user(name=f"候补{i}"), now=now + timedelta(minutes=i), join_waitlist=True) for i in range(3)
    ]
    db.session.commit()
    assert [a.status for a in queued] == ["waitlisted"] * 3
    return shift, taken, queued


def test_raised_capacity_promotes_the_two_oldest(db, full_shift, now, notifications, statuses, audit_actions):
    shift, taken, queued = full_shift
    first, second, third = (a.user for a in queued)
    shift.capacity = 4
    db.session.commit()

    promoted = promote_waitlist(shift, now=now)
    db.session.commit()
    assert [a.user_id for a in promoted] == [first.id, second.id]
    assert statuses(shift) == {
        taken[0].user_id: "assigned",
        taken[1].user_id: "assigned",
        first.id: "assigned",
        second.id: "assigned",
        third.id: "waitlisted",
    }
    assert shift.assigned_count == 4
    assert [n.kind for n in notifications(first)] == ["waitlisted", "promoted"]
    assert [n.kind for n in notifications(second)] == ["waitlisted", "promoted"]
    assert [n.kind for n in notifications(third)] == ["waitlisted"]
    assert audit_actions(queued[0]) == ["assignment.waitlist", "assignment.promote"]
    assert [a.user_id for a in waitlist(shift)] == [third.id]
    assert waitlist_position(queued[2]) == 1 and waitlist_position(queued[0]) is None


def test_each_cancellation_promotes_the_next_in_line(db, full_shift, now, notifications, statuses):
    shift, taken, queued = full_shift
    first, second, third = (a.user for a in queued)
    cancel_assignment(taken[0], by=taken[0].user, now=now)
    db.session.commit()
    assert statuses(shift)[first.id] == "assigned"
    assert statuses(shift)[second.id] == "waitlisted"
    cancel_assignment(taken[1], by=taken[1].user, now=now)
    db.session.commit()
    current = statuses(shift)
    assert (current[first.id], current[second.id], current[third.id]) == ("assigned", "assigned", "waitlisted")
    assert shift.assigned_count == 2
    assert notifications(second, "promoted")[0].params["event_title"] == shift.event.title
    assert notifications(third, "promoted") == []


def test_order_is_by_time_joined_not_by_record(db, make_shift, make_user, now):
    shift = make_shift(capacity=1)
    sign_up(shift, make_user(), now=now)
    late = sign_up(shift, make_user(), now=now + timedelta(minutes=5), join_waitlist=True)
    early = sign_up(shift, make_user(), now=now + timedelta(minutes=1), join_waitlist=True)
    db.session.commit()
    assert early.id > late.id
    assert [a.id for a in waitlist(shift)] == [early.id, late.id]
    shift.capacity = 2
    db.session.commit()
    assert [a.id for a in promote_waitlist(shift, now=now)] == [early.id]


def test_a_volunteer_who_took_an_overlapping_shift_is_skipped(
    db, full_shift, make_shift, now, local_time, notifications, statuses
):
    shift, taken, queued = full_shift
    first, second, third = (a.user for a in queued)
    # waiting does not block other shifts; taking one that overlaps makes the promotion skip them
    other = make_shift(starts_at=local_time(3, 10), ends_at=local_time(3, 11))
    assert sign_up(other, first, now=now).status == "assigned"
    cancel_assignment(taken[0], by=taken[0].user, now=now)
    db.session.commit()
    current = statuses(shift)
    assert (current[first.id], current[second.id], current[third.id]) == ("waitlisted", "assigned", "waitlisted")
    assert notifications(first, "promoted") == []
    assert shift.assigned_count == 2


def test_no_promotion_into_a_started_shift(db, full_shift, coordinator, statuses):
    shift, taken, _queued = full_shift
    after_start = shift.starts_at + timedelta(minutes=10)
    cancel_assignment(taken[0], by=coordinator, now=after_start, reason="临时身体不适")
    db.session.commit()
    assert shift.assigned_count == 1
    assert sorted(statuses(shift).values()) == ["assigned", "waitlisted", "waitlisted", "waitlisted"]


def test_cancel_before_the_cut_off_frees_the_place(db, make_shift, volunteer, now, notifications, audit_actions):
    shift = make_shift(starts_at=now + timedelta(hours=25))  # the event's cut-off is 24 h
    assignment = sign_up(shift, volunteer, now=now)
    db.session.commit()
    cancel_assignment(assignment, by=volunteer, now=now + timedelta(minutes=59))
    db.session.commit()
    assert assignment.status == "cancelled" and assignment.cancelled_at is not None
    assert shift.assigned_count == 0
    assert [n.kind for n in notifications(volunteer)] == ["assigned", "cancelled"]
    assert audit_actions(assignment) == ["assignment.sign_up", "assignment.cancel"]
    # and the volunteer may sign up again
    assert sign_up(shift, volunteer, now=now + timedelta(minutes=59)).status == "assigned"


def test_cancel_after_the_cut_off_is_refused_for_the_volunteer(
    db, make_shift, volunteer, coordinator, now, notifications
):
    shift = make_shift(starts_at=now + timedelta(hours=25))
    assignment = sign_up(shift, volunteer, now=now)
    db.session.commit()
    too_late = now + timedelta(hours=1, minutes=1)
    with pytest.raises(Conflict) as refused:
        cancel_assignment(assignment, by=volunteer, now=too_late)
    assert refused.value.code == "cancel_cutoff_passed" and "24" in refused.value.message
    db.session.rollback()
    assert assignment.status == "assigned" and shift.assigned_count == 1

    # staff may cancel any time, but must say why
    with pytest.raises(ValidationFailed) as no_reason:
        cancel_assignment(assignment, by=coordinator, now=too_late, reason="  ")
    assert no_reason.value.code == "reason_required" and no_reason.value.field == "reason"
    db.session.rollback()
    cancel_assignment(assignment, by=coordinator, now=too_late, reason="活动场地调整")
    db.session.commit()
    assert assignment.status == "cancelled" and shift.assigned_count == 0
    assert notifications(volunteer, "cancelled")[0].params["reason"] == "活动场地调整"


def test_a_waitlist_place_can_be_left_any_time(db, make_shift, make_user, volunteer, now, statuses):
    shift = make_shift(capacity=1, starts_at=now + timedelta(hours=2))
    sign_up(shift, make_user(), now=now)
    waiting = sign_up(shift, volunteer, now=now, join_waitlist=True)
    db.session.commit()
    cancel_assignment(waiting, by=volunteer, now=now + timedelta(hours=1))
    db.session.commit()
    assert waiting.status == "cancelled"
    assert shift.assigned_count == 1 and volunteer.id not in statuses(shift)


def test_others_cannot_cancel_and_nothing_is_cancelled_twice(db, shift, volunteer, make_user, make_org, now, orgs):
    assignment = sign_up(shift, volunteer, now=now - timedelta(days=1))
    db.session.commit()
    with pytest.raises(PermissionDenied):
        cancel_assignment(assignment, by=make_user(), now=now - timedelta(days=1), reason="我替他取消")
    outsider = make_user(organization=orgs["dongcheng"], role="coordinator")
    with pytest.raises(PermissionDenied):
        cancel_assignment(assignment, by=outsider, now=now - timedelta(days=1), reason="不是我的活动")
    db.session.rollback()
    cancel_assignment(assignment, by=volunteer, now=now - timedelta(days=1))
    db.session.commit()
    with pytest.raises(Conflict) as again:
        cancel_assignment(assignment, by=volunteer, now=now - timedelta(days=1))
    assert again.value.code == "not_active"
    db.session.rollback()
    assert shift.assigned_count == 0


def test_the_promotion_notice_reads_well(db, full_shift, now, notifications):
    from app.timeutil import to_local
    from notifications.services import render

    shift, taken, queued = full_shift
    cancel_assignment(taken[0], by=taken[0].user, now=now)
    db.session.commit()
    [promoted] = notifications(queued[0].user, "promoted")
    title, body = render(promoted)
    assert title == "You got a place from the waiting list"
    assert shift.event.title in body and shift.position.name in body
    assert to_local(shift.starts_at).strftime("%Y-%m-%d %H:%M") in body
    assert promoted.params["meeting_point"] == "南城街道办事处门口"
