"""Coordinators: assign, override with a reason, team quotas, unassign, move, bulk-assign, no-shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit import AuditLog
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.permissions import Role
from events.models import Assignment
from events.signup.services import (
    SignupRefused,
    assign,
    bulk_assign,
    mark_no_show,
    move,
    sign_up,
    unassign,
)


def test_coordinator_assigns_with_the_same_rules(db, shift, volunteer, coordinator, now, notifications, audit_actions):
    assignment = assign(shift, volunteer, by=coordinator, now=now)
    db.session.commit()
    assert (assignment.status, assignment.source, assignment.created_by_id) == (
        "assigned",
        "coordinator",
        coordinator.id,
    )
    assert assignment.override_rule == "" and assignment.override_reason == ""
    assert shift.assigned_count == 1
    assert [n.kind for n in notifications(volunteer)] == ["assigned"]
    assert audit_actions(assignment) == ["assignment.assign"]
    with pytest.raises(SignupRefused) as again:
        assign(shift, volunteer, by=coordinator, now=now)
    assert again.value.code == "already_signed_up"


def test_a_coordinator_higher_up_may_assign(shift, volunteer, make_user, orgs, now):
    city = make_user(organization=orgs["city"], role=Role.ADMIN, role_org=orgs["city"])
    assert assign(shift, volunteer, by=city, now=now).status == "assigned"


def test_a_volunteer_cannot_assign_others_or_themselves(db, shift, volunteer, make_user, now):
    other = make_user()
    for target in (other, volunteer):
        with pytest.raises(PermissionDenied) as denied:
            assign(shift, target, by=volunteer, now=now)
        assert denied.value.status == 403
    with pytest.raises(PermissionDenied):
        bulk_assign(shift, [other], by=volunteer, now=now)
    db.session.rollback()
    assert db.session.scalar(select(Assignment.id)) is None and shift.assigned_count == 0


def test_a_coordinator_of_another_organization_cannot_assign(db, shift, volunteer, make_user, orgs, now):
    dongcheng = make_user(organization=orgs["dongcheng"], role=Role.COORDINATOR, role_org=orgs["dongcheng"])
    reviewer = make_user(organization=orgs["nancheng"], role=Role.REVIEWER, role_org=orgs["nancheng"])
    for outsider in (dongcheng, reviewer):
        with pytest.raises(PermissionDenied) as denied:
            assign(shift, volunteer, by=outsider, now=now)
        assert denied.value.status == 403
    assignment = sign_up(shift, volunteer, now=now)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        unassign(assignment, by=dongcheng, now=now, reason="不相干")
    with pytest.raises(PermissionDenied):
        mark_no_show(assignment, by=dongcheng, now=shift.starts_at)


def test_override_needs_a_reason_and_is_recorded(
    db, make_position, make_shift, make_skill, volunteer, coordinator, now, audit_actions
):
    shift = make_shift(make_position(skills=[make_skill("急救")]))
    with pytest.raises(SignupRefused) as refused:
        assign(shift, volunteer, by=coordinator, now=now)
    assert refused.value.code == "missing_skill"
    with pytest.raises(ValidationFailed) as no_reason:
        assign(shift, volunteer, by=coordinator, now=now, override_rules={"missing_skill"}, override_reason=" ")
    assert no_reason.value.code == "override_reason_required" and no_reason.value.field == "override_reason"
    db.session.rollback()
    assert shift.assigned_count == 0

    assignment = assign(
        shift,
        volunteer,
        by=coordinator,
        now=now,
        override_rules={"missing_skill", "overlap"},
        override_reason="持有红十字会急救证，资料待补录",
    )
    db.session.commit()
    # only the rule actually broken is recorded as overridden
    assert (assignment.override_rule, assignment.override_reason) == ("missing_skill", "持有红十字会急救证，资料待补录")
    assert audit_actions(assignment) == ["assignment.assign"]
    entry = db.session.scalar(
        select(AuditLog).where(AuditLog.target_type == "Assignment", AuditLog.target_id == assignment.id)
    )
    assert "missing_skill" in entry.note and "红十字会" in entry.note
    assert entry.after["override_rule"] == "missing_skill" and entry.actor_id == coordinator.id


def test_override_covers_only_the_named_rules(make_position, make_shift, make_skill, volunteer, coordinator, now):
    shift = make_shift(make_position(skills=[make_skill("急救")], min_age=60))
    with pytest.raises(SignupRefused) as refused:
        assign(shift, volunteer, by=coordinator, now=now, override_rules={"missing_skill"}, override_reason="特批")
    assert refused.value.code == "under_age"
    assignment = assign(
        shift, volunteer, by=coordinator, now=now, override_rules={"missing_skill", "under_age"}, override_reason="特批"
    )
    assert set(assignment.override_rule.split(",")) == {"missing_skill", "under_age"}


@pytest.mark.parametrize(
    "rule", ["shift_full", "already_signed_up", "event_not_published", "shift_cancelled", "no_such_rule"]
)
def test_some_rules_are_never_overridable(shift, volunteer, coordinator, now, rule):
    with pytest.raises(ValidationFailed) as refused:
        assign(shift, volunteer, by=coordinator, now=now, override_rules={rule}, override_reason="领导同意")
    assert refused.value.code == "not_overridable" and rule in refused.value.message


def test_capacity_is_never_overridden_and_assign_never_waitlists(
    db, make_shift, make_user, volunteer, coordinator, now
):
    shift = make_shift(capacity=1)
    assign(shift, make_user(), by=coordinator, now=now)
    db.session.commit()
    with pytest.raises(SignupRefused) as refused:
        assign(
            shift,
            volunteer,
            by=coordinator,
            now=now,
            override_rules={"overlap", "signup_not_open"},
            override_reason="急需人手",
        )
    assert refused.value.code == "shift_full" and refused.value.details == {}
    db.session.rollback()
    assert shift.assigned_count == 1
    assert db.session.scalar(select(Assignment.id).where(Assignment.user_id == volunteer.id)) is None


def test_assigning_a_waitlisted_volunteer_gives_them_the_place(
    db, make_shift, make_user, volunteer, coordinator, now, statuses
):
    shift = make_shift(capacity=1)
    first = assign(shift, make_user(), by=coordinator, now=now)
    waiting = sign_up(shift, volunteer, now=now, join_waitlist=True)
    db.session.commit()
    with pytest.raises(SignupRefused) as full:
        assign(shift, volunteer, by=coordinator, now=now)
    assert full.value.code == "shift_full"
    db.session.rollback()
    shift.capacity = 3
    db.session.commit()
    promoted = assign(shift, volunteer, by=coordinator, now=now)
    db.session.commit()
    assert promoted.id == waiting.id and promoted.status == "assigned" and promoted.source == "coordinator"
    assert statuses(shift) == {first.user_id: "assigned", volunteer.id: "assigned"}
    assert shift.assigned_count == 2


def test_team_coordinator_fills_their_quota_with_their_own_members(
    db, shift, make_user, make_quota, orgs, now, audit_actions
):
    team = orgs["dgut_team"]
    make_quota(shift.position, team, quantity=2)
    leader = make_user(organization=team, role=Role.COORDINATOR, role_org=team)
    members = [make_user(organization=team) for _ in range(3)]
    outsider = make_user(organization=orgs["nancheng_team"])

    first = assign(shift, members[0], by=leader, now=now, quota_organization=team)
    db.session.commit()
    assert (first.status, first.source, first.quota_organization_id) == ("assigned", "team", team.id)
    # a volunteer of another team is refused
    with pytest.raises(PermissionDenied):
        assign(shift, outsider, by=leader, now=now, quota_organization=team)
    # without naming the quota the team coordinator has no say over the event
    with pytest.raises(PermissionDenied):
        assign(shift, members[1], by=leader, now=now)
    # nor for a team that is not theirs
    with pytest.raises(PermissionDenied):
        assign(shift, members[1], by=leader, now=now, quota_organization=orgs["dongcheng_team"])
    assign(shift, members[1], by=leader, now=now, quota_organization=team)
    db.session.commit()
    # the quota (2 per shift) is filled
    with pytest.raises(Conflict) as filled:
        assign(shift, members[2], by=leader, now=now, quota_organization=team)
    assert filled.value.code == "quota_filled"
    db.session.rollback()
    # and the leader may take their own member off again, with a reason
    unassign(first, by=leader, now=now, reason="队员考试冲突")
    db.session.commit()
    assert first.status == "cancelled" and shift.assigned_count == 1
    assert audit_actions(first) == ["assignment.assign", "assignment.unassign"]


def test_no_quota_for_the_position_means_no_team_assignments(shift, make_user, make_position, make_quota, orgs, now):
    team = orgs["dgut_team"]
    make_quota(make_position(shift.event), team)  # a quota for another position only
    leader = make_user(organization=team, role=Role.COORDINATOR, role_org=team)
    with pytest.raises(PermissionDenied):
        assign(shift, make_user(organization=team), by=leader, now=now, quota_organization=team)


def test_event_coordinator_assigning_to_a_quota(db, shift, coordinator, make_user, make_quota, orgs, now):
    team = orgs["dgut_team"]
    with pytest.raises(ValidationFailed) as no_quota:
        assign(shift, make_user(organization=team), by=coordinator, now=now, quota_organization=team)
    assert no_quota.value.code == "no_quota"
    make_quota(shift.position, team)
    with pytest.raises(ValidationFailed) as not_member:
        assign(shift, make_user(), by=coordinator, now=now, quota_organization=team)
    assert not_member.value.code == "not_team_member"
    assignment = assign(shift, make_user(organization=team), by=coordinator, now=now, quota_organization=team)
    assert (assignment.quota_organization_id, assignment.source) == (team.id, "coordinator")


def test_unassign_needs_staff_and_a_reason_and_promotes(
    db, make_shift, make_user, volunteer, coordinator, now, notifications, statuses
):
    shift = make_shift(capacity=1)
    assignment = sign_up(shift, volunteer, now=now)
    waiting = sign_up(shift, make_user(), now=now, join_waitlist=True)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        unassign(assignment, by=volunteer, now=now, reason="自己退出")
    with pytest.raises(ValidationFailed) as no_reason:
        unassign(assignment, by=coordinator, now=now, reason="")
    assert no_reason.value.code == "reason_required"
    db.session.rollback()
    unassign(assignment, by=coordinator, now=now, reason="岗位调整")
    db.session.commit()
    assert statuses(shift) == {waiting.user_id: "assigned"}
    told = notifications(volunteer, "unassigned")
    assert len(told) == 1 and told[0].params["reason"] == "岗位调整"
    with pytest.raises(Conflict):
        unassign(assignment, by=coordinator, now=now, reason="再次")


def test_move_between_shifts(
    db,
    make_position,
    make_shift,
    make_user,
    volunteer,
    coordinator,
    now,
    local_time,
    notifications,
    statuses,
    audit_actions,
):
    position = make_position()
    morning = make_shift(position, capacity=1)
    # overlaps the morning shift: allowed, because the volunteer leaves it
    noon = make_shift(position, starts_at=local_time(1, 11), ends_at=local_time(1, 14))
    assignment = assign(morning, volunteer, by=coordinator, now=now)
    waiting = sign_up(morning, make_user(), now=now, join_waitlist=True)
    db.session.commit()

    moved = move(assignment, noon, by=coordinator, now=now)
    db.session.commit()
    assert (moved.shift_id, moved.status, moved.user_id) == (noon.id, "assigned", volunteer.id)
    assert assignment.status == "cancelled"
    assert (morning.assigned_count, noon.assigned_count) == (1, 1)
    assert statuses(morning) == {waiting.user_id: "assigned"}
    [told] = notifications(volunteer, "moved")
    assert told.params["shift_start"] == noon.starts_at.isoformat()
    assert told.params["from_shift_start"] == morning.starts_at.isoformat()
    assert audit_actions(assignment)[-1] == "assignment.move"
    assert audit_actions(moved) == ["assignment.assign"]


def test_move_is_refused_without_changing_anything(
    db, make_position, make_shift, make_user, make_skill, volunteer, coordinator, orgs, now, local_time
):
    here = make_shift()
    full = make_shift(capacity=1, starts_at=local_time(2, 9))
    skilled = make_shift(make_position(skills=[make_skill("手语")]), starts_at=local_time(3, 9))
    assignment = assign(here, volunteer, by=coordinator, now=now)
    assign(full, make_user(), by=coordinator, now=now)
    db.session.commit()

    with pytest.raises(SignupRefused) as no_room:
        move(assignment, full, by=coordinator, now=now)
    assert no_room.value.code == "shift_full"
    with pytest.raises(SignupRefused) as no_skill:
        move(assignment, skilled, by=coordinator, now=now)
    assert no_skill.value.code == "missing_skill"
    with pytest.raises(ValidationFailed):
        move(assignment, here, by=coordinator, now=now)
    outsider = make_user(organization=orgs["dongcheng"], role=Role.COORDINATOR)
    with pytest.raises(PermissionDenied):
        move(assignment, full, by=outsider, now=now)
    db.session.commit()  # a view catching the refusal and committing still changes nothing
    db.session.expire_all()
    assert assignment.status == "assigned"
    assert (here.assigned_count, full.assigned_count, skilled.assigned_count) == (1, 1, 0)

    moved = move(
        assignment, skilled, by=coordinator, now=now, override_rules={"missing_skill"}, override_reason="现场配手语翻译"
    )
    assert moved.override_rule == "missing_skill"


def test_bulk_assign_reports_each_volunteer(db, make_shift, make_user, coordinator, now, local_time):
    shift = make_shift(capacity=3)
    busy = make_user(name="忙碌")
    assign(make_shift(starts_at=local_time(1, 10)), busy, by=coordinator, now=now)
    db.session.commit()
    ok = [make_user(name=f"可用{i}") for i in range(5)]
    people = [ok[0], busy, ok[1], ok[1], ok[2], ok[3], ok[4]]

    result = bulk_assign(shift, people, by=coordinator, now=now)
    db.session.commit()
    assert [a.user_id for a in result.assigned] == [ok[0].id, ok[1].id, ok[2].id]
    assert [(user.id, violation.code) for user, violation in result.refused] == [
        (busy.id, "overlap"),
        (ok[1].id, "already_signed_up"),
        (ok[3].id, "shift_full"),
        (ok[4].id, "shift_full"),
    ]
    assert all(violation.message for _, violation in result.refused)
    assert shift.assigned_count == 3


def test_bulk_assign_with_an_override(db, make_shift, make_user, coordinator, now, local_time):
    shift = make_shift(capacity=5)
    busy = make_user()
    assign(make_shift(starts_at=local_time(1, 10)), busy, by=coordinator, now=now)
    result = bulk_assign(
        shift,
        [busy, make_user()],
        by=coordinator,
        now=now,
        override_rules={"overlap"},
        override_reason="两岗位相邻，可兼顾",
    )
    assert len(result.assigned) == 2 and result.refused == []
    assert [a.override_rule for a in result.assigned] == ["overlap", ""]
    with pytest.raises(ValidationFailed):
        bulk_assign(shift, [make_user()], by=coordinator, now=now, override_rules={"overlap"})


def test_mark_no_show(db, shift, volunteer, coordinator, now, notifications, audit_actions):
    assignment = sign_up(shift, volunteer, now=now)
    db.session.commit()
    with pytest.raises(Conflict) as early:
        mark_no_show(assignment, by=coordinator, now=now)
    assert early.value.code == "shift_not_started"
    with pytest.raises(PermissionDenied):
        mark_no_show(assignment, by=volunteer, now=shift.starts_at)
    db.session.rollback()
    mark_no_show(assignment, by=coordinator, now=shift.starts_at + timedelta(minutes=30))
    db.session.commit()
    assert assignment.status == "no_show"
    assert shift.assigned_count == 1  # the place stays taken
    assert [n.kind for n in notifications(volunteer)] == ["assigned", "no_show"]
    assert audit_actions(assignment) == ["assignment.sign_up", "assignment.no_show"]
    with pytest.raises(Conflict) as twice:
        mark_no_show(assignment, by=coordinator, now=shift.starts_at + timedelta(minutes=31))
    assert twice.value.code == "not_assigned"


def test_no_shows_feed_the_limit(db, make_event, make_position, make_shift, volunteer, coordinator, now):
    for days_ago in (30, 20, 10):
        past = make_shift(starts_at=now - timedelta(days=days_ago))
        late = assign(
            past, volunteer, by=coordinator, now=now, override_rules={"shift_started"}, override_reason="补录历史排班"
        )
        mark_no_show(late, by=coordinator, now=now)
    db.session.commit()
    upcoming = make_shift()
    with pytest.raises(SignupRefused) as refused:
        sign_up(upcoming, volunteer, now=now)
    assert refused.value.code == "too_many_no_shows"
    db.session.rollback()
    # a coordinator may still take them, with a reason
    assignment = assign(
        upcoming,
        volunteer,
        by=coordinator,
        now=now,
        override_rules={"too_many_no_shows"},
        override_reason="已电话确认会到",
    )
    assert assignment.override_rule == "too_many_no_shows"
    # once the no-shows leave the window, sign-up works again
    later = make_shift(make_position(make_event(signup_closes_at=None)), starts_at=now + timedelta(days=70))
    assert sign_up(later, volunteer, now=now + timedelta(days=65)).status == "assigned"
