"""River segments an organization holds (the town they lie in, the team that adopted them), for closing it.

A closing team hands its adopted segments to another team, a closing town committee the segments in its
area to another town committee: a segment needs both.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, or_, select, update

from app.errors import ValidationFailed
from app.extensions import db, rowcount
from patrols.segments.models import RiverSegment
from volunteers.organizations.models import Organization, OrgKind
from volunteers.organizations.services import Holding, kind_label


def count_segments(org: Organization, _now: datetime) -> int:
    query = select(func.count()).where(or_(RiverSegment.team_id == org.id, RiverSegment.town_id == org.id))
    return db.session.scalar(query.select_from(RiverSegment)) or 0


def move_segments(org: Organization, target: Organization, now: datetime) -> int:
    moved = 0
    for column, kind in ((RiverSegment.team_id, OrgKind.TEAM.value), (RiverSegment.town_id, OrgKind.TOWN.value)):
        held = db.session.scalar(select(func.count()).select_from(RiverSegment).where(column == org.id)) or 0
        if not held:
            continue
        if target.kind != kind:
            raise ValidationFailed(
                _(
                    "River segments of %(name)s can only go to a %(kind)s.",
                    name=org.display_name,
                    kind=kind_label(kind),
                ),
                field="move_to",
                code="move_to_kind",
            )
        result = db.session.execute(
            update(RiverSegment)
            .where(column == org.id)
            .values({column.key: target.id})
            .execution_options(synchronize_session="fetch")
        )
        moved += rowcount(result)
    return moved


HOLDING = Holding(
    "river_segments",
    lambda n: ngettext("%(num)s river segment", "%(num)s river segments", n),
    count_segments,
    move_segments,
)
