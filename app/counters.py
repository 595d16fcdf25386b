"""Named counters reserved by a guarded UPDATE, safe under concurrent requests on both databases."""

from __future__ import annotations

from sqlalchemy import String, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model, db


class Counter(Model):
    """Named counters (volunteer numbers, certificate serials) reserved by a guarded UPDATE."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def reserve(name: str, count: int = 1) -> range:
    """Reserve `count` consecutive values of the counter; return them."""
    if count < 1:
        raise ValueError("count must be positive")
    row = db.session.execute(
        update(Counter).where(Counter.name == name).values(value=Counter.value + count).returning(Counter.value)
    ).first()
    if row is None:
        # First use: create the row, then reserve through the same guarded UPDATE.
        try:
            with db.session.begin_nested():
                db.session.execute(insert(Counter).values(name=name, value=0))
        except IntegrityError:
            pass  # another transaction created it first
        return reserve(name, count)
    end = row[0]
    return range(end - count + 1, end + 1)


def volunteer_numbers(count: int, *, year: int) -> list[str]:
    """Volunteer numbers 志愿者编号: DG + year of registration + 7-digit sequence."""
    return [f"DG{year}{n:07d}" for n in reserve("volunteer_number", count)]
