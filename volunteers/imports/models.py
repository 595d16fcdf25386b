"""Models of the volunteers area: bulk import jobs."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.timeutil import UTCDateTime, utcnow
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization


class ImportStatus(str, enum.Enum):
    """Where a bulk import stands."""

    VALIDATING = "validating"
    IMPORTING = "importing"
    DONE = "done"
    FAILED = "failed"


class ImportJob(Model):
    """One upload of an .xlsx of volunteers: who, when, which file, what became of every row."""

    __tablename__ = "import_jobs"
    __table_args__ = (CheckConstraint("status in ('validating','importing','done','failed')", name="status"),)

    #: a running job that has not reported progress for this long was interrupted (server restart)
    STALE_AFTER = timedelta(minutes=15)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: every imported row must be affiliated with this organization or one below it
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(12), default=ImportStatus.VALIDATING.value)
    #: data rows in the file (an estimate from the sheet's dimension until reading ends)
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_processed: Mapped[int] = mapped_column(default=0)
    rows_imported: Mapped[int] = mapped_column(default=0)
    #: rows whose ID number is already registered: left alone, so a second import changes nothing
    rows_skipped: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    #: [{"row": 7, "name": "…", "problems": [{"column": "身份证号", "code": "id_check_digit", "params": {}}]}]
    rejected_rows: Mapped[list] = mapped_column(JSON, default=list)
    #: why the job failed (see volunteers.imports.messages.FAILURES); nothing was written then
    failure_code: Mapped[str] = mapped_column(String(40), default="")
    failure_detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: heartbeat: set with every progress report
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()
    organization: Mapped[Organization] = relationship()

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.DONE.value, ImportStatus.FAILED.value)

    def is_interrupted(self, now: datetime) -> bool:
        """A running job whose worker stopped reporting (e.g. the server restarted mid-import)."""
        return not self.is_finished and now - self.updated_at > self.STALE_AFTER

    @property
    def rows_valid(self) -> int:
        """Rows that passed validation and are (to be) written."""
        return max(self.rows_processed - self.rows_skipped - self.rows_rejected, 0)

    def percent(self, now: datetime) -> int | None:
        """Progress for the bar: reading and checking is most of the work, writing the rest."""
        if self.is_finished or self.is_interrupted(now):
            return 100
        if self.status == ImportStatus.IMPORTING.value:
            valid = self.rows_valid
            return 90 + (10 * self.rows_imported // valid if valid else 0)
        if not self.rows_total or self.rows_processed >= self.rows_total:
            return None  # the file did not record its size: the count only grows, the end is unknown
        return min(90 * self.rows_processed // self.rows_total, 90)

    def __repr__(self) -> str:
        return f"<ImportJob {self.id} {self.status}>"
