"""The graduates' hand-over figures of each university: how many were handed over and accepted elsewhere.

The rate is accepted / handed over, withdrawn hand-overs left out; the city's plan asks at least 85 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.permissions import REVIEWER_ROLES, Person, role_paths, subtree_filter
from app.timeutil import LOCAL_TZ
from volunteers.affiliation.models import AffiliationChange, ChangeKind, ChangeStatus
from volunteers.organizations.models import Organization, OrgKind

#: the plan's target: at least 85 % of graduates handed over (docs/domain.md)
TARGET_PERCENT = 85


@dataclass
class HandoverRate:
    """One university's hand-overs in a year, by what became of them."""

    university: Organization
    accepted: int = 0
    refused: int = 0
    pending: int = 0

    @property
    def handed_over(self) -> int:
        return self.accepted + self.refused + self.pending

    @property
    def percent(self) -> int | None:
        """Accepted elsewhere as a whole percentage of those handed over; None before any hand-over."""
        if not self.handed_over:
            return None
        return round(100 * self.accepted / self.handed_over)

    @property
    def meets_target(self) -> bool:
        """At least 85 % exactly (84.6 % shows as 85 % but does not meet it)."""
        return self.handed_over > 0 and 100 * self.accepted >= TARGET_PERCENT * self.handed_over


def university_of(organization: Organization) -> Organization | None:
    """The university committee the organization is (or lies under), if any."""
    node: Organization | None = organization
    while node is not None and node.kind != OrgKind.UNIVERSITY.value:
        node = node.parent
    return node


def visible_universities(user: Person) -> list[Organization]:
    """The universities whose figures the user sees: those under a subtree they review or administer."""
    return list(
        db.session.scalars(
            select(Organization)
            .where(
                Organization.kind == OrgKind.UNIVERSITY.value,
                subtree_filter(Organization.path, role_paths(user, REVIEWER_ROLES)),
            )
            .order_by(Organization.path)
        )
    )


def _year_range(year: int) -> tuple[datetime, datetime]:
    return (
        datetime.combine(date(year, 1, 1), datetime.min.time(), tzinfo=LOCAL_TZ),
        datetime.combine(date(year + 1, 1, 1), datetime.min.time(), tzinfo=LOCAL_TZ),
    )


def handover_rates(universities: list[Organization], *, year: int) -> list[HandoverRate]:
    """Each university's hand-overs made in the local calendar `year`, counted by status (one grouped query)."""
    rates = [HandoverRate(university=university) for university in universities]
    if not rates:
        return rates
    start, end = _year_range(year)
    rows = db.session.execute(
        select(Organization.path, AffiliationChange.status, func.count(AffiliationChange.id))
        .join(Organization, Organization.id == AffiliationChange.from_organization_id)
        .where(
            AffiliationChange.kind == ChangeKind.GRADUATION.value,
            AffiliationChange.status != ChangeStatus.CANCELLED.value,
            AffiliationChange.created_at >= start,
            AffiliationChange.created_at < end,
            subtree_filter(Organization.path, [university.path for university in universities]),
        )
        .group_by(Organization.path, AffiliationChange.status)
    ).all()
    for path, status, count in rows:
        for rate in rates:
            if path.startswith(rate.university.path):
                if status == ChangeStatus.APPROVED.value:
                    rate.accepted += count
                elif status == ChangeStatus.REFUSED.value:
                    rate.refused += count
                else:
                    rate.pending += count
    return rates


def recent_handovers(university: Organization, *, limit: int = 100) -> list[AffiliationChange]:
    """The university's latest hand-overs with what became of them, newest first."""
    return list(
        db.session.scalars(
            select(AffiliationChange)
            .join(Organization, Organization.id == AffiliationChange.from_organization_id)
            .where(
                AffiliationChange.kind == ChangeKind.GRADUATION.value,
                Organization.path.startswith(university.path, autoescape=True),
            )
            .options(
                joinedload(AffiliationChange.volunteer),
                joinedload(AffiliationChange.to_organization),
                joinedload(AffiliationChange.decided_by),
            )
            .order_by(AffiliationChange.created_at.desc(), AffiliationChange.id.desc())
            .limit(limit)
        )
    )
