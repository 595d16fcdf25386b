"""Certificates of service hours 志愿服务证明: issuing, revoking, and the public check by serial number.

Only verified hours are certified (hours.ledger.services.verified_services_query). A certificate keeps a
snapshot of its services and total, so a later correction of the ledger does not change what an
issued certificate says; a certificate that should no longer stand is revoked.

Serial numbers read "2026-000123-K7QD9X": the issue year, a per-year counter
(app.counters), five random characters and one check character, so a serial cannot be guessed
from another and a mistyped one is recognised without looking it up.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import aliased

from app import audit, counters, permissions
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.extensions import db
from app.timeutil import local_today
from events.models import Event, Position, Shift
from hours.certificates.models import Certificate, format_hours
from hours.ledger.models import HourEntry
from hours.ledger.services import verified_services_query
from volunteers.accounts.models import User
from volunteers.organizations.models import Organization, OrgKind

#: random and check characters: no 0/O or 1/I to misread
SERIAL_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_CHECK_VALUES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: prime: a single wrong character or a swap of neighbours changes the check, unless their values differ by 31
_CHECK_MODULUS = 31
RANDOM_LENGTH = 5
COMMITTEE_KINDS = (OrgKind.CITY.value, OrgKind.TOWN.value, OrgKind.UNIVERSITY.value, OrgKind.ENTERPRISE.value)
#: longest period one certificate may cover
MAX_PERIOD_DAYS = 366 * 10


def _check_character(body: str) -> str:
    total = sum((position + 1) * _CHECK_VALUES.index(ch) for position, ch in enumerate(body))
    return SERIAL_ALPHABET[total % _CHECK_MODULUS]


def new_serial(year: int) -> str:
    """A fresh serial number for a certificate issued in `year`."""
    number = counters.reserve(f"certificate_{year}")[0]
    random_part = "".join(secrets.choice(SERIAL_ALPHABET) for _ in range(RANDOM_LENGTH))
    body = f"{year:04d}{number:06d}{random_part}"
    return f"{year:04d}-{number:06d}-{random_part}{_check_character(body)}"


def normalize_serial(text: str | None) -> str | None:
    """The canonical form of a typed serial (case, spaces and dashes forgiven); None if it cannot be one."""
    raw = "".join(ch for ch in (text or "").upper() if ch not in " -\t\r\n")
    if len(raw) < 4 + 6 + RANDOM_LENGTH + 1 or len(raw) > 28:
        return None
    year, number, tail = raw[:4], raw[4 : -(RANDOM_LENGTH + 1)], raw[-(RANDOM_LENGTH + 1) :]
    if not (year.isdigit() and number.isdigit()) or any(ch not in SERIAL_ALPHABET for ch in tail):
        return None
    if _check_character(year + number + tail[:-1]) != tail[-1]:
        return None
    return f"{year}-{number}-{tail}"


def mask_name(name: str) -> str:
    """A name as the public may see it: first and last character kept (张三桐 → 张*桐, 张三 → 张*)."""
    name = (name or "").strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def issuing_organization(volunteer: User) -> Organization:
    """Who issues a volunteer's certificate: the nearest committee at or above their affiliation."""
    org = volunteer.organization
    while org.kind not in COMMITTEE_KINDS and org.parent is not None:
        org = org.parent
    return org


def certified_services(volunteer_id: int, period: tuple[date, date]) -> list[dict]:
    """The volunteer's verified services in the period, oldest first, as a certificate lists them."""
    lines = verified_services_query(volunteer_id=volunteer_id, period=period).subquery()
    first = aliased(HourEntry)
    rows = db.session.execute(
        select(lines.c.service_date, Organization.name, Event.title, Position.name, lines.c.kind, lines.c.minutes)
        .join(Event, Event.id == lines.c.event_id)
        .join(Organization, Organization.id == lines.c.organization_id)
        .join(first, first.id == lines.c.line_id)
        .outerjoin(Shift, Shift.id == first.shift_id)
        .outerjoin(Position, Position.id == Shift.position_id)
        .order_by(lines.c.service_date, lines.c.line_id)
    ).all()
    return [
        {
            "date": service_date.isoformat(),
            "organizer": organizer,
            "content": f"{title} / {position}" if position else title,
            "kind": kind,
            "minutes": int(minutes),
        }
        for service_date, organizer, title, position, kind, minutes in rows
    ]


def _check_period(period: tuple[date, date], now: datetime) -> None:
    start, end = period
    if start > end:
        raise ValidationFailed(
            _("The period must end on or after its first day."), code="period_order", field="period_end"
        )
    if end > local_today(now):
        raise ValidationFailed(_("The period cannot end in the future."), code="period_in_future", field="period_end")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ValidationFailed(
            _("A certificate covers at most ten years."), code="period_too_long", field="period_start"
        )


def issue_certificate(volunteer: User, *, period: tuple[date, date], by: User, now: datetime) -> Certificate:
    """Issue a certificate of the volunteer's verified hours in the period (snapshot, serial, audit)."""
    if not permissions.can_issue_certificate(by, volunteer):
        raise PermissionDenied(_("You may not issue a certificate for this volunteer."), code="not_allowed")
    _check_period(period, now)
    services = certified_services(volunteer.id, period)
    total = sum(service["minutes"] for service in services)
    if total <= 0:
        raise ValidationFailed(
            _("There are no verified hours in this period to certify."), code="no_verified_hours", field="period_start"
        )
    issuer = issuing_organization(volunteer)
    certificate = Certificate(
        serial=new_serial(local_today(now).year),
        volunteer_id=volunteer.id,
        volunteer_name=volunteer.name,
        volunteer_number=volunteer.volunteer_number,
        period_start=period[0],
        period_end=period[1],
        total_minutes=total,
        services=services,
        organization_id=issuer.id,
        issued_by_id=by.id,
        issued_at=now,
    )
    db.session.add(certificate)
    db.session.flush()
    audit.record(
        "certificate.issue",
        actor=by,
        now=now,
        target=certificate,
        organization_id=issuer.id,
        after={
            "serial": certificate.serial,
            "volunteer_id": volunteer.id,
            "period": [period[0].isoformat(), period[1].isoformat()],
            "total_minutes": total,
        },
    )
    return certificate


def revoke_certificate(certificate: Certificate, *, by: User, now: datetime, reason: str) -> Certificate:
    """Revoke a certificate with a reason; its public page shows it as invalid from now on."""
    if not permissions.can_revoke_certificate(by, certificate):
        raise PermissionDenied(_("You may not revoke this certificate."), code="not_allowed")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give a reason for revoking the certificate."), code="reason_required", field="reason")
    if certificate.revoked_at is not None:
        raise Conflict(_("This certificate was already revoked."), code="already_revoked")
    certificate.revoked_at = now
    certificate.revoked_by_id = by.id
    certificate.revoke_reason = reason[:1000]
    db.session.flush()
    audit.record(
        "certificate.revoke",
        actor=by,
        now=now,
        target=certificate,
        organization_id=certificate.organization_id,
        before={"serial": certificate.serial, "valid": True},
        after={"serial": certificate.serial, "valid": False},
        note=reason[:1000],
    )
    return certificate


@dataclass(frozen=True)
class PublicCheck:
    """What the public verification page may show: never a full name or an ID number."""

    serial: str
    found: bool
    valid: bool = False
    revoked: bool = False
    masked_name: str = ""
    period_start: date | None = None
    period_end: date | None = None
    total_hours: str = ""
    issuer: str = ""
    issued_on: date | None = None


def check_certificate(serial_text: str | None, *, name: str | None = None) -> PublicCheck:
    """Look a certificate up for the public page; with `name`, only a matching name finds it."""
    serial = normalize_serial(serial_text)
    shown = (serial_text or "").strip()[:40]
    if serial is None:
        return PublicCheck(serial=shown, found=False)
    certificate = db.session.scalar(select(Certificate).where(Certificate.serial == serial))
    if certificate is None:
        return PublicCheck(serial=serial, found=False)
    if name is not None and "".join(name.split()) != "".join(certificate.volunteer_name.split()):
        return PublicCheck(serial=serial, found=False)
    return PublicCheck(
        serial=serial,
        found=True,
        valid=certificate.is_valid,
        revoked=not certificate.is_valid,
        masked_name=mask_name(certificate.volunteer_name),
        period_start=certificate.period_start,
        period_end=certificate.period_end,
        total_hours=certificate.total_hours,
        issuer=certificate.organization.name,
        issued_on=local_today(certificate.issued_at),
    )


def certificates_of(volunteer: User) -> list[Certificate]:
    """A volunteer's certificates, newest first."""
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.volunteer_id == volunteer.id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


def certificates_for_staff(user: User, *, search: str = "") -> Select:
    """Certificates of volunteers affiliated in the user's staff subtrees, newest first, optionally searched."""
    paths = permissions.role_paths(user, permissions.STAFF_ROLES)
    volunteer_org = aliased(Organization)
    query = (
        select(Certificate)
        .join(User, User.id == Certificate.volunteer_id)
        .join(volunteer_org, volunteer_org.id == User.organization_id)
        .where(permissions.subtree_filter(volunteer_org.path, paths))
        .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
    )
    search = (search or "").strip()
    if search:
        serial = normalize_serial(search)
        conditions = [User.volunteer_number == search.upper(), User.mobile == search, User.name == search]
        if serial:
            conditions.append(Certificate.serial == serial)
        query = query.where(or_(*conditions))
    return query


def find_volunteer_for_staff(user: User, text: str) -> User | None:
    """A volunteer inside the user's staff subtrees, by volunteer number or mobile number."""
    text = (text or "").strip()
    if not text:
        return None
    paths = permissions.role_paths(user, permissions.STAFF_ROLES)
    return db.session.scalar(
        select(User)
        .join(Organization, Organization.id == User.organization_id)
        .where(
            or_(User.volunteer_number == text.upper(), User.mobile == text),
            permissions.subtree_filter(Organization.path, paths),
        )
    )


__all__ = [
    "Certificate",
    "PublicCheck",
    "certificates_for_staff",
    "certificates_of",
    "certified_services",
    "check_certificate",
    "find_volunteer_for_staff",
    "format_hours",
    "issue_certificate",
    "issuing_organization",
    "mask_name",
    "new_serial",
    "normalize_serial",
    "revoke_certificate",
]
