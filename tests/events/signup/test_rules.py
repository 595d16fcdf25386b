"""Each sign-up rule: the refusal, with its code and readable reason, beside the success it guards."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.errors import Conflict
from app.timeutil import to_local
from events.models import Assignment, EventStatus
from events.signup.services import OVERRIDABLE_RULES, RULE_CODES, RuleViolation, SignupRefused, check_rules, sign_up
from tests import factories


def refusal(shift, volunteer, now, **kw) -> SignupRefused:
    with pytest.raises(SignupRefused) as caught:
        sign_up(shift, volunteer, now=now, **kw)
    return caught.value


def codes(shift, volunteer, now, **kw) -> list[str]:
    return [v.code for v in check_rules(shift, volunteer, now=now, **kw)]


def test_public_contract():
    assert set(RULE_CODES) == {
        "signup_not_open",
        "event_not_published",
        "shift_cancelled",
        "shift_started",
        "overlap",
        "missing_skill",
        "missing_credential",
        "under_age",
        "too_many_no_shows",
        "shift_full",
        "already_signed_up",
    }
    assert {
        "signup_not_open",
        "shift_started",
        "overlap",
        "missing_skill",
        "missing_credential",
        "under_age",
        "too_many_no_shows",
    } == OVERRIDABLE_RULES
    assert issubclass(SignupRefused, Conflict) and SignupRefused.status == 409
    assert RuleViolation("overlap", "text").code == "overlap"


def test_sign_up_takes_a_place_is_audited_and_told(db, shift, volunteer, now, notifications, audit_actions):
    assert check_rules(shift, volunteer, now=now) == []
    assignment = sign_up(shift, volunteer, now=now)
    db.session.commit()
    assert (assignment.status, assignment.source, assignment.user_id) == ("assigned", "self", volunteer.id)
    assert (assignment.starts_at, assignment.ends_at) == (shift.starts_at, shift.ends_at)
    assert shift.assigned_count == 1 and shift.open_places == 9
    assert audit_actions(assignment) == ["assignment.sign_up"]
    [told] = notifications(volunteer)
    assert told.kind == "assigned"
    assert told.params["event_title"] == shift.event.title
    assert told.params["position_name"] == shift.position.name
    assert told.params["shift_start"] == shift.starts_at.isoformat()
    assert told.link == f"/events/{shift.event_id}"


def test_event_not_published(db, make_event, make_position, make_shift, volunteer, now):
    event = make_event(status=EventStatus.DRAFT.value, published_at=None)
    shift = make_shift(make_position(event))
    refused = refusal(shift, volunteer, now)
    assert refused.code == "event_not_published" and refused.status == 409
    assert "not published" in refused.message
    assert shift.assigned_count == 0

    event.status = EventStatus.PUBLISHED.value
    db.session.commit()
    assert sign_up(shift, volunteer, now=now).status == "assigned"


def test_cancelled_event_is_not_open(db, make_event, make_position, make_shift, volunteer, now):
    shift = make_shift(make_position(make_event(status=EventStatus.CANCELLED.value)))
    assert refusal(shift, volunteer, now).code == "event_not_published"


@pytest.mark.parametrize(
    "opens, closes, allowed",
    [
        (-1, None, True),  # open, no closing time
        (-1, +1, True),  # inside the window
        (+1, +2, False),  # not yet open
        (-2, -1, False),  # closed already
        (None, None, True),  # no window at all
        (0, +1, True),  # opens exactly now
        (-1, 0, False),  # closes exactly now: [opens, closes)
    ],
)
def test_signup_window(make_event, make_position, make_shift, volunteer, now, opens, closes, allowed):
    hours = lambda h: None if h is None else now + timedelta(hours=h)  # noqa: E731 - a one-line helper beside its use
    shift = make_shift(make_position(make_event(signup_opens_at=hours(opens), signup_closes_at=hours(closes))))
    if allowed:
        assert sign_up(shift, volunteer, now=now).status == "assigned"
    else:
        refused = refusal(shift, volunteer, now)
        assert refused.code == "signup_not_open" and "not open" in refused.message


def test_shift_cancelled(db, make_shift, volunteer, now):
    cancelled = make_shift(is_cancelled=True)
    assert refusal(cancelled, volunteer, now).code == "shift_cancelled"
    assert refusal(cancelled, volunteer, now, join_waitlist=True).code == "shift_cancelled"
    assert db.session.scalar(select(Assignment.id)) is None

    cancelled.is_cancelled = False
    db.session.commit()
    assert sign_up(cancelled, volunteer, now=now).status == "assigned"


def test_shift_started(make_event, make_position, make_shift, volunteer, now):
    event = make_event(starts_at=now - timedelta(hours=2), signup_closes_at=None)
    position = make_position(event)
    started = make_shift(position, starts_at=now - timedelta(minutes=1))
    refused = refusal(started, volunteer, now)
    assert refused.code == "shift_started" and "already started" in refused.message
    later = make_shift(position, starts_at=now + timedelta(minutes=1))
    assert sign_up(later, volunteer, now=now).status == "assigned"


def test_already_signed_up(db, shift, volunteer, make_user, now):
    sign_up(shift, volunteer, now=now)
    db.session.commit()
    refused = refusal(shift, volunteer, now)
    assert refused.code == "already_signed_up"
    assert refusal(shift, volunteer, now, join_waitlist=True).code == "already_signed_up"
    db.session.rollback()
    assert shift.assigned_count == 1
    # another volunteer is not affected
    assert sign_up(shift, make_user(), now=now).status == "assigned"


def test_already_on_the_waitlist(db, make_shift, volunteer, make_user, now):
    shift = make_shift(capacity=1)
    sign_up(shift, make_user(), now=now)
    assert sign_up(shift, volunteer, now=now, join_waitlist=True).status == "waitlisted"
    db.session.commit()
    assert refusal(shift, volunteer, now, join_waitlist=True).code == "already_signed_up"


def test_overlap(db, make_position, make_shift, volunteer, now, local_time):
    position = make_position()
    first = make_shift(position, starts_at=local_time(1, 9), ends_at=local_time(1, 12))
    overlapping = make_shift(make_position(), starts_at=local_time(1, 11), ends_at=local_time(1, 14))
    inside = make_shift(position, starts_at=local_time(1, 10), ends_at=local_time(1, 11))
    adjacent = make_shift(position, starts_at=local_time(1, 12), ends_at=local_time(1, 15))
    sign_up(first, volunteer, now=now)
    db.session.commit()

    refused = refusal(overlapping, volunteer, now)
    assert refused.code == "overlap"
    assert first.event.title in refused.message
    assert to_local(first.starts_at).strftime("%H:%M") in refused.message
    assert refusal(inside, volunteer, now).code == "overlap"
    # [starts_at, ends_at): a shift ending at 12:00 does not overlap one starting at 12:00
    assert sign_up(adjacent, volunteer, now=now).status == "assigned"


def test_a_cancelled_shift_no_longer_overlaps(db, make_shift, volunteer, now, local_time):
    first = make_shift()
    sign_up(first, volunteer, now=now)
    db.session.commit()
    from events.signup.services import cancel_assignment

    later = make_shift(starts_at=local_time(1, 10))
    assert refusal(later, volunteer, now).code == "overlap"
    cancel_assignment(db.session.scalar(select(Assignment)), by=volunteer, now=now - timedelta(days=1))
    assert sign_up(later, volunteer, now=now).status == "assigned"


def test_missing_skill(db, make_position, make_shift, make_skill, volunteer, now):
    first_aid, english = make_skill("急救"), make_skill("英语", kind="language")
    shift = make_shift(make_position(skills=[first_aid, english]))
    volunteer.skills = [english]
    db.session.commit()
    refused = refusal(shift, volunteer, now)
    assert refused.code == "missing_skill" and "急救" in refused.message and "英语" not in refused.message

    volunteer.skills = [english, first_aid, make_skill("摄影")]
    db.session.commit()
    assert sign_up(shift, volunteer, now=now).status == "assigned"


def test_missing_or_expired_credential(
    db, make_position, make_shift, make_credential_type, grant_credential, volunteer, make_user, now
):
    first_aid = make_credential_type("急救培训合格", valid_days=365)
    shift = make_shift(make_position(credentials=[first_aid]))

    refused = refusal(shift, volunteer, now)
    assert refused.code == "missing_credential" and "急救培训合格" in refused.message
    # another kind of credential does not count
    grant_credential(volunteer, make_credential_type("河小青巡河培训"))
    assert refusal(shift, volunteer, now).code == "missing_credential"
    # expires before the shift starts (although still valid now)
    grant_credential(volunteer, first_aid, expires_at=shift.starts_at - timedelta(minutes=1))
    assert refusal(shift, volunteer, now).code == "missing_credential"
    # still valid at the shift's start
    grant_credential(volunteer, first_aid, expires_at=shift.starts_at + timedelta(days=1))
    assert sign_up(shift, volunteer, now=now).status == "assigned"
    # a credential that never expires
    other = make_user()
    grant_credential(other, first_aid, expires_at=None)
    assert sign_up(shift, other, now=now).status == "assigned"


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def test_under_age_on_the_shift_date(db, make_position, make_shift, make_user, now):
    shift = make_shift(make_position(min_age=18))
    shift_day = to_local(shift.starts_at).date()
    eighteen_that_day = make_user(birth=_years_before(shift_day, 18))
    eighteen_the_day_after = make_user(birth=_years_before(shift_day, 18) + timedelta(days=1))

    refused = refusal(shift, eighteen_the_day_after, now)
    assert refused.code == "under_age" and "18" in refused.message
    assert sign_up(shift, eighteen_that_day, now=now).status == "assigned"


def test_too_many_recent_no_shows(db, app, shift, make_shift, volunteer, now, local_time):
    def no_show(days_ago: int) -> None:
        past = make_shift(starts_at=now - timedelta(days=days_ago))
        factories.assignment(
            past, volunteer, status="no_show", source="self", created_at=past.starts_at, updated_at=past.starts_at
        )

    no_show(100)  # outside the 90-day window
    no_show(40)
    no_show(2)
    assert "too_many_no_shows" not in codes(shift, volunteer, now)
    no_show(89)
    refused = refusal(shift, volunteer, now)
    assert refused.code == "too_many_no_shows"
    assert "3" in refused.message and "90" in refused.message

    app.config["NO_SHOW_LIMIT"] = 4
    assert sign_up(shift, volunteer, now=now).status == "assigned"


def test_shift_full_offers_the_waitlist(db, make_shift, make_user, volunteer, now, notifications, audit_actions):
    shift = make_shift(capacity=1)
    sign_up(shift, make_user(), now=now)
    db.session.commit()

    assert codes(shift, volunteer, now) == ["shift_full"]
    refused = refusal(shift, volunteer, now)
    assert refused.code == "shift_full"
    assert refused.details == {"waitlist_available": True}
    assert refused.to_dict()["error"] == {
        "code": "shift_full",
        "message": refused.message,
        "details": {"waitlist_available": True},
    }
    db.session.rollback()

    waitlisted = sign_up(shift, volunteer, now=now, join_waitlist=True)
    db.session.commit()
    assert waitlisted.status == "waitlisted"
    assert shift.assigned_count == 1
    assert [n.kind for n in notifications(volunteer)] == ["waitlisted"]
    assert audit_actions(waitlisted) == ["assignment.waitlist"]


def test_join_waitlist_takes_a_free_place_when_there_is_one(shift, volunteer, now):
    assert sign_up(shift, volunteer, now=now, join_waitlist=True).status == "assigned"


def test_all_violations_are_reported_and_can_be_ignored(
    db, make_event, make_position, make_shift, make_skill, volunteer, now
):
    event = make_event(signup_opens_at=now + timedelta(days=1))
    shift = make_shift(make_position(event, skills=[make_skill("手语")], min_age=30), capacity=0)
    assert codes(shift, volunteer, now) == ["signup_not_open", "missing_skill", "under_age", "shift_full"]
    assert codes(shift, volunteer, now, ignore={"missing_skill", "shift_full"}) == ["signup_not_open", "under_age"]
    refused = refusal(shift, volunteer, now)
    assert refused.code == "signup_not_open"
    assert refused.details == {"violations": ["signup_not_open", "missing_skill", "under_age"]}
