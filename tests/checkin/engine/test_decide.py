"""The check-in rules as a pure function: checkin.engine.decide.decide(request, snapshot, rules).

Hypothesis draws requests and snapshots (the volunteer, the event, their attendances, assignments, earlier scans,
the device and the token's devices, positions and fences) and checks what a coordinator would notice: one scan
never both checks in and out, nobody is checked in twice or at two events, a refusal has a known code and a
reason that is true of the snapshot, the shift chosen is open at the scan's time, a re-sent scan is answered as
before. Example-based tests pin each rule's exact answer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from checkin.engine.decide import (
    AnswerPrevious,
    CheckIn,
    CheckOut,
    Conflict,
    Refuse,
    Repeat,
    WalkIn,
    choose_open,
    decide,
)
from checkin.engine.geo import Position
from checkin.engine.geofence import Fence
from checkin.engine.request import Rules, ScanRequest
from checkin.engine.snapshot import (
    AssignmentRow,
    AttendanceRow,
    EventRow,
    LoggedScan,
    ShiftRow,
    Snapshot,
    VolunteerRow,
)
from checkin.refusals import REFUSAL_CODES

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
RULES = Rules(repeat=timedelta(minutes=2), accuracy_allowance_m=50)
EVENT_ID, OTHER_EVENT = 10, 11
VOLUNTEER = VolunteerRow(1, "陈小明", "DG20260000001", False)
EVENT = EventRow(
    id=EVENT_ID,
    title="南城文明交通劝导",
    status="published",
    kind="community",
    allow_walk_ins=False,
    checkin_opens_minutes=30,
    latitude=None,
    longitude=None,
    checkin_radius_m=None,
    geofence_mode="flag",
    grants_credential=False,
)


def shift_row(shift_id: int, start_minutes: int, hours: int = 3) -> ShiftRow:
    starts = NOW + timedelta(minutes=start_minutes)
    return ShiftRow(shift_id, starts, starts + timedelta(hours=hours), f"岗位{shift_id}")


def attendance_row(
    attendance_id: int,
    *,
    event_id: int = EVENT_ID,
    status: str = "open",
    checked_in_minutes: int = -60,
    checked_out_minutes: int | None = None,
    in_device: str | None = "gate-1",
    out_device: str | None = None,
) -> AttendanceRow:
    checked_in = NOW + timedelta(minutes=checked_in_minutes)
    return AttendanceRow(
        id=attendance_id,
        event_id=event_id,
        event_title="南城文明交通劝导" if event_id == EVENT_ID else "莞城河道巡查",
        assignment_id=100 + attendance_id,
        status=status,
        checked_in_at=checked_in,
        checked_out_at=None if checked_out_minutes is None else NOW + timedelta(minutes=checked_out_minutes),
        offline=False,
        outside_radius=False,
        conflict=False,
        in_device=in_device,
        out_device=out_device,
        shift=shift_row(attendance_id, -90),
    )


def snapshot(**fields) -> Snapshot:
    base = Snapshot(
        volunteer=VOLUNTEER,
        event=EVENT,
        previous=None,
        token_devices=frozenset(),
        attendances=(),
        assignments=(AssignmentRow(7, "assigned", shift_row(1, -60)),),
        walk_in_shifts=(),
        kiosk_shift_event_id=None,
        fence=None,
    )
    return replace(base, **fields)


def request(**fields) -> ScanRequest:
    base = ScanRequest(
        method="badge",
        event_id=EVENT_ID,
        volunteer_id=VOLUNTEER.id,
        at=NOW,
        now=NOW,
        by_id=2,
        device_id="gate-1",
        client_scan_id="c1",
        token_digest="digest",
    )
    return replace(base, **fields)


# -- each rule, by example ----------------------------------------------------------------------------


def test_a_volunteer_on_a_shift_under_way_is_checked_in_on_it():
    assert decide(request(), snapshot(), RULES) == CheckIn(snapshot().assignments[0], outside=False)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"volunteer": None}, "volunteer_unknown"),
        ({"volunteer": replace(VOLUNTEER, is_disabled=True)}, "volunteer_unknown"),
        ({"event": None}, "not_allowed"),
        ({"event": replace(EVENT, status="draft")}, "not_allowed"),
        ({"token_devices": frozenset({"phone-9"})}, "token_replayed"),
        ({"attendances": (attendance_row(1, event_id=OTHER_EVENT),)}, "already_checked_in_elsewhere"),
        ({"assignments": (AssignmentRow(7, "assigned", shift_row(1, 120)),)}, "not_open_yet"),
        ({"assignments": (AssignmentRow(7, "assigned", shift_row(1, -300, hours=2)),)}, "shift_over"),
        ({"assignments": ()}, "wrong_event"),
        (
            {"event": replace(EVENT, latitude=23.0, longitude=113.7, checkin_radius_m=100, geofence_mode="refuse")},
            "outside_radius",
        ),
    ],
)
def test_each_refusal_of_a_live_badge_scan(changes, code):
    decision = decide(request(), snapshot(**changes), RULES)
    assert isinstance(decision, Refuse) and decision.code == code


def test_the_refusals_of_kiosks_and_offline_scans():
    kiosk = request(method="kiosk", device_id=None, client_scan_id=None, token_digest=None, shift_id=5)
    assert decide(kiosk, snapshot(kiosk_shift_event_id=OTHER_EVENT), RULES) == Refuse("wrong_event")
    assert decide(replace(kiosk, shift_id=None), snapshot(assignments=()), RULES) == Refuse("no_assignment")
    future = request(offline=True, at=NOW + timedelta(minutes=5))
    assert decide(future, snapshot(), replace(RULES, clock_skew=timedelta(minutes=2))) == Refuse("scan_in_future")
    old = request(offline=True, at=NOW - timedelta(hours=25))
    assert decide(old, snapshot(), RULES) == Refuse("scan_too_old", {"hours": "24"})
    before = request(at=NOW - timedelta(hours=2))
    open_here = (attendance_row(1, checked_in_minutes=-60),)
    assert isinstance(decide(before, snapshot(attendances=open_here), RULES), Conflict)  # online: older than the stay


def test_a_second_scan_within_the_gap_repeats_and_after_it_checks_out():
    open_here = (attendance_row(1, checked_in_minutes=-1),)
    assert decide(request(), snapshot(attendances=open_here), RULES) == Repeat(open_here[0])
    later = (attendance_row(1, checked_in_minutes=-2),)  # exactly the gap: a check-out
    assert decide(request(), snapshot(attendances=later), RULES) == CheckOut(later[0], outside=False)
    early = (attendance_row(1, checked_in_minutes=-60),)
    assert decide(request(at=NOW - timedelta(hours=2)), snapshot(attendances=early), RULES) == Conflict(
        early[0], "outside"
    )


def test_an_offline_scan_from_another_device_within_the_gap_is_a_conflict():
    open_here = (attendance_row(1, checked_in_minutes=-1, in_device="gate-1"),)
    offline = request(offline=True, device_id="phone-2")
    assert decide(offline, snapshot(attendances=open_here), RULES) == Conflict(open_here[0], "check_in")
    same_device = request(offline=True, device_id="gate-1")
    assert decide(same_device, snapshot(attendances=open_here), RULES) == Repeat(open_here[0])


def test_a_resent_scan_is_answered_with_its_first_result_before_any_rule():
    previous = LoggedScan(5, "check_in", "ok", NOW, False, EVENT_ID, VOLUNTEER, None)
    assert decide(request(), snapshot(previous=previous, volunteer=None), RULES) == AnswerPrevious(previous)


def test_walk_ins_take_the_open_shift_and_a_refusing_circle_comes_first():
    walk_in = replace(EVENT, allow_walk_ins=True)
    shifts = (shift_row(3, 240), shift_row(2, -30))
    assert decide(request(), snapshot(event=walk_in, assignments=(), walk_in_shifts=shifts), RULES) == WalkIn(
        (shifts[1],), outside=False
    )
    fenced = replace(walk_in, latitude=23.0, longitude=113.7, checkin_radius_m=100, geofence_mode="refuse")
    assert decide(request(), snapshot(event=fenced, assignments=(), walk_in_shifts=shifts), RULES) == Refuse(
        "outside_radius"
    )
    assert decide(request(), snapshot(event=walk_in, assignments=(), walk_in_shifts=()), RULES) == Refuse(
        "no_assignment"
    )


def test_fences_refuse_or_flag_at_check_in_and_at_check_out_and_manual_checks_skip_them():
    far = Position(23.1, 113.8, 10)
    refusing = Fence(lambda lat, lon: 500.0, 200, "refuse")
    flagging = Fence(lambda lat, lon: 500.0, 200, "flag")
    assert decide(request(position=far), snapshot(fence=refusing), RULES) == Refuse("outside_radius")
    assert decide(request(position=far), snapshot(fence=flagging), RULES) == CheckIn(
        snapshot().assignments[0], outside=True
    )
    manual = request(position=None, check_geofence=False, method="manual")
    assert isinstance(decide(manual, snapshot(fence=refusing), RULES), CheckIn)
    open_here = (attendance_row(1, checked_in_minutes=-60),)
    assert decide(request(position=far), snapshot(fence=refusing, attendances=open_here), RULES) == Refuse(
        "outside_radius"
    )
    assert decide(request(position=None), snapshot(fence=flagging, attendances=open_here), RULES) == CheckOut(
        open_here[0], outside=True
    )


def test_the_shift_under_way_is_preferred_then_the_earliest_upcoming():
    under_way, soon, later = shift_row(1, -60), shift_row(2, 20), shift_row(3, 10)
    items = [AssignmentRow(i, "assigned", s) for i, s in ((1, soon), (2, later), (3, under_way))]
    assert [a.id for a in choose_open(EVENT, items, NOW)] == [3, 2, 1]


# -- properties over drawn snapshots -----------------------------------------------------------------


minutes = st.integers(min_value=-600, max_value=600)


@st.composite
def attendances(draw) -> tuple[AttendanceRow, ...]:
    rows = []
    open_taken = False
    for index in range(draw(st.integers(min_value=0, max_value=4))):
        checked_in = draw(minutes)
        is_open = not open_taken and draw(st.booleans())
        open_taken = open_taken or is_open
        rows.append(
            attendance_row(
                index + 1,
                event_id=draw(st.sampled_from([EVENT_ID, EVENT_ID, OTHER_EVENT])),
                status="open" if is_open else draw(st.sampled_from(["closed", "missing_checkout"])),
                checked_in_minutes=checked_in,
                checked_out_minutes=None if is_open else checked_in + draw(st.integers(min_value=0, max_value=300)),
                in_device=draw(st.sampled_from(["gate-1", "phone-2", None])),
                out_device=draw(st.sampled_from(["gate-1", "phone-2", None])),
            )
        )
    # an attendance at another event only matters when it is open (the snapshot reads no others)
    rows = [row for row in rows if row.event_id == EVENT_ID or row.status == "open"]
    return tuple(sorted(rows, key=lambda a: (a.checked_in_at, a.id), reverse=True))


@st.composite
def snapshots(draw) -> Snapshot:
    assignments = tuple(
        AssignmentRow(
            20 + i,
            draw(st.sampled_from(["assigned", "completed"])),
            shift_row(i + 1, draw(minutes), draw(st.integers(min_value=1, max_value=6))),
        )
        for i in range(draw(st.integers(min_value=0, max_value=3)))
    )
    event = replace(
        EVENT,
        status=draw(st.sampled_from(["published", "published", "draft", "cancelled"])),
        allow_walk_ins=draw(st.booleans()),
        checkin_opens_minutes=draw(st.sampled_from([0, 30, 60, None])),
        latitude=draw(st.sampled_from([None, 23.0])),
        longitude=113.7,
        checkin_radius_m=draw(st.sampled_from([None, 100])),
        geofence_mode=draw(st.sampled_from(["flag", "refuse"])),
    )
    fence = draw(
        st.sampled_from([None, Fence(lambda lat, lon: 10.0, 200, "refuse"), Fence(lambda lat, lon: 900.0, 200, "flag")])
    )
    previous = draw(st.sampled_from([None, LoggedScan(5, "none", "token_expired", NOW, False, EVENT_ID, None, None)]))
    return Snapshot(
        volunteer=draw(st.sampled_from([VOLUNTEER, VOLUNTEER, VOLUNTEER, None, replace(VOLUNTEER, is_disabled=True)])),
        event=draw(st.sampled_from([event, event, event, None])),
        previous=previous,
        token_devices=draw(st.sampled_from([frozenset(), frozenset({"gate-1"}), frozenset({"phone-9"})])),
        attendances=draw(attendances()),
        assignments=assignments,
        walk_in_shifts=tuple(a.shift for a in assignments) or (shift_row(9, draw(minutes)),),
        kiosk_shift_event_id=draw(st.sampled_from([None, EVENT_ID, OTHER_EVENT])),
        fence=fence,
    )


@st.composite
def requests(draw) -> ScanRequest:
    offline = draw(st.booleans())
    method = draw(st.sampled_from(["badge", "kiosk", "manual"]))
    return request(
        method=method,
        offline=offline,
        at=NOW + timedelta(minutes=draw(st.integers(min_value=-1500, max_value=10))) if offline else NOW,
        device_id=draw(st.sampled_from(["gate-1", "phone-2", None])) if method == "badge" else None,
        client_scan_id=draw(st.sampled_from(["c1", None])) if method == "badge" else None,
        token_digest="digest" if method == "badge" else None,
        shift_id=draw(st.sampled_from([None, 1, 2])) if method == "kiosk" else None,
        position=draw(st.sampled_from([None, Position(23.0, 113.7, 5), Position(23.2, 113.9, 5)])),
        check_geofence=method != "manual",
    )


@settings(max_examples=2000, deadline=None)
@given(requests(), snapshots())
def test_every_decision_is_true_of_its_snapshot(scan, seen):
    decision = decide(scan, seen, RULES)
    assert decide(scan, seen, RULES) == decision  # the same snapshot, the same decision
    event = seen.event
    here = [a for a in seen.attendances if event is not None and a.event_id == event.id]
    open_any = [a for a in seen.attendances if a.status == "open"]
    if seen.previous is not None and scan.client_scan_id:
        assert decision == AnswerPrevious(seen.previous)
        return
    if isinstance(decision, Refuse):
        assert decision.code in REFUSAL_CODES
        if decision.code == "volunteer_unknown":
            assert seen.volunteer is None or seen.volunteer.is_disabled
        if decision.code == "already_checked_in_elsewhere":
            assert open_any and open_any[0].event_id != EVENT_ID
        if decision.code == "token_replayed":
            assert seen.token_devices - {scan.device_key}
        return
    # anything accepted: a known, enabled volunteer at a published event
    assert seen.volunteer is not None and not seen.volunteer.is_disabled
    assert event is not None and event.status == "published"
    if isinstance(decision, CheckIn | WalkIn):
        assert not open_any  # never a second open attendance
        assert not here or abs(scan.at - max(a.checked_out_at or a.checked_in_at for a in here)) >= RULES.repeat
        shifts = [decision.assignment.shift] if isinstance(decision, CheckIn) else list(decision.shifts)
        for shift in shifts:
            opens = shift.starts_at - timedelta(minutes=event.checkin_opens_minutes or 0)
            assert opens <= scan.at < shift.ends_at  # only a shift open at the scan's time
            assert scan.shift_id is None or shift.id == scan.shift_id
        if isinstance(decision, WalkIn):
            assert event.allow_walk_ins and not [a for a in seen.assignments if scan.shift_id in (None, a.shift.id)]
    if isinstance(decision, CheckOut):
        assert decision.attendance.status == "open" and decision.attendance.event_id == EVENT_ID
        assert scan.at >= decision.attendance.checked_in_at + RULES.repeat
    if isinstance(decision, Repeat):
        last = decision.attendance.checked_out_at or decision.attendance.checked_in_at
        assert abs(scan.at - last) < RULES.repeat
    if isinstance(decision, Conflict):
        assert decision.attendance in here and decision.side in ("check_in", "check_out", "inside", "outside")
        if not scan.offline:
            last = here[0].checked_out_at or here[0].checked_in_at
            assert scan.at < last  # an online scan conflicts only with a stay after its time


@settings(max_examples=500, deadline=None)
@given(requests(), snapshots())
def test_a_refusing_circle_or_fence_never_lets_an_outside_check_in_through(scan, seen):
    assume(seen.event is not None and scan.check_geofence)
    fenced = replace(seen.event, latitude=23.0, longitude=113.7, checkin_radius_m=100, geofence_mode="refuse")
    outside = replace(scan, position=Position(23.5, 114.2, 5))
    decision = decide(outside, replace(seen, event=fenced), RULES)
    assert not isinstance(decision, CheckIn | WalkIn)
