"""Account and profile operations. They flush, never commit; the caller passes `now` and the actor."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import audit, counters
from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.permissions import can_reveal_id_number
from app.security import (
    IdNumber,
    decrypt_id_number,
    encrypt_id_number,
    hash_id_number,
    hash_password,
    verify_password,
)
from app.timeutil import local_today
from volunteers.accounts.models import PoliticalStatus, Skill, User
from volunteers.organizations.models import Organization, RoleGrant


@dataclass
class ProfileData:
    """What a volunteer states about themselves (registration and profile edit).

    `organization_id` is read at registration only: afterwards the affiliation changes through a move request or
    a staff move (volunteers/affiliation/), never through the profile.
    """

    name: str
    political_status: str
    organization_id: int | None
    emergency_contact_name: str
    emergency_contact_mobile: str
    activist_since: date | None = None
    skill_ids: list[int] = field(default_factory=list)
    guardian_name: str = ""
    guardian_mobile: str = ""
    guardian_consent: bool = False


def find_by_mobile(mobile: str) -> User | None:
    return db.session.scalar(select(User).where(User.mobile == mobile.strip()))


def find_by_id_number(id_number: str) -> User | None:
    return db.session.scalar(select(User).where(User.id_number_hash == hash_id_number(id_number)))


def needs_guardian(birth_date: date, today: date) -> bool:
    """A volunteer under the configured age (14) needs a guardian's consent."""
    limit = current_app.config["GUARDIAN_REQUIRED_UNDER_AGE"]
    years = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    return years < limit


def _registration_organization(data: ProfileData) -> Organization:
    """The organization a new volunteer picks; afterwards it changes only through volunteers/affiliation/."""
    organization = db.session.get(Organization, data.organization_id) if data.organization_id else None
    if organization is None or organization.is_closed:
        raise ValidationFailed(_("Choose your organization from the list."), field="organization_id")
    return organization


def _check_profile(data: ProfileData, birth_date: date, today: date) -> None:
    if needs_guardian(birth_date, today):
        if not data.guardian_name.strip():
            raise ValidationFailed(_("Volunteers under 14 need a guardian's name."), field="guardian_name")
        if not data.guardian_mobile.strip():
            raise ValidationFailed(_("Volunteers under 14 need a guardian's mobile number."), field="guardian_mobile")
        if not data.guardian_consent:
            raise ValidationFailed(_("Volunteers under 14 need their guardian's consent."), field="guardian_consent")
    if data.political_status not in {s.value for s in PoliticalStatus}:
        raise ValidationFailed(_("Choose a political status from the list."), field="political_status")
    if data.political_status == PoliticalStatus.ACTIVIST.value and data.activist_since is None:
        raise ValidationFailed(_("Enter the date you became a membership activist."), field="activist_since")


def _skills(ids: list[int]) -> list[Skill]:
    if not ids:
        return []
    return list(db.session.scalars(select(Skill).where(Skill.id.in_(ids))))


def _apply_profile(user: User, data: ProfileData, *, now: datetime) -> None:
    user.name = data.name.strip()
    user.political_status = data.political_status
    user.activist_since = (
        data.activist_since if data.political_status == PoliticalStatus.ACTIVIST.value else user.activist_since
    )
    user.emergency_contact_name = data.emergency_contact_name.strip()
    user.emergency_contact_mobile = data.emergency_contact_mobile.strip()
    user.skills = _skills(data.skill_ids)
    guardian_changed = (data.guardian_name.strip(), data.guardian_mobile.strip()) != (
        user.guardian_name,
        user.guardian_mobile,
    )
    user.guardian_name = data.guardian_name.strip()
    user.guardian_mobile = data.guardian_mobile.strip()
    if data.guardian_consent and (user.guardian_consent_at is None or guardian_changed):
        user.guardian_consent_at = now


def register_volunteer(
    *,
    mobile: str,
    id_number: IdNumber,
    password: str,
    profile: ProfileData,
    now: datetime,
    ip_address: str = "",
    confirm_mobile: bool = False,
) -> User:
    """Create a volunteer account with a volunteer number; refuse duplicates by mobile or ID number.

    With `confirm_mobile` (online registration) the account stays closed until the SMS code sent to the mobile
    number is entered (`confirm_registration`). A registration that never got that far holds neither its number nor
    its ID number: registering again with either replaces it."""
    today = local_today(now)
    _drop_unconfirmed(mobile, id_number)
    if find_by_mobile(mobile) is not None:
        raise ValidationFailed(_("This mobile number is already registered."), field="mobile", code="duplicate_mobile")
    if find_by_id_number(id_number.value) is not None:
        raise ValidationFailed(
            _("This ID number is already registered."), field="id_number", code="duplicate_id_number"
        )
    organization = _registration_organization(profile)
    _check_profile(profile, id_number.birth_date, today)
    user = new_account(mobile=mobile, id_number=id_number, password=password, now=now)
    user.organization_id = organization.id
    if confirm_mobile:
        user.awaiting_mobile_code, user.activated_at = True, None
    _apply_profile(user, profile, now=now)
    _insert_account(user, mobile)
    audit.record(
        "volunteer.register",
        actor=user,
        now=now,
        target=user,
        organization_id=user.organization_id,
        ip_address=ip_address,
    )
    return user


def _drop_unconfirmed(mobile: str, id_number: IdNumber) -> None:
    """Delete registrations whose mobile number was never proved that hold this number or ID number: they never
    logged in, so nothing hangs on them (a stranger's half-finished registration must not block the real owner)."""
    stale = db.session.scalars(
        select(User).where(
            User.awaiting_mobile_code.is_(True),
            (User.mobile == mobile.strip()) | (User.id_number_hash == hash_id_number(id_number.value)),
        )
    ).all()
    for user in stale:
        db.session.delete(user)
    if stale:
        db.session.flush()


def awaiting_code(user_id: int | None) -> User | None:
    """The registration waiting for its SMS code, by id (from the registering browser's session)."""
    user = db.session.get(User, user_id) if user_id else None
    return user if user is not None and user.awaiting_mobile_code else None


def unconfirmed_login(mobile: str, password: str) -> User | None:
    """The registration of this mobile number and password that still waits for its SMS code, else None."""
    user = find_by_mobile(mobile or "")
    if user is None or not user.awaiting_mobile_code or user.is_disabled:
        return None
    return user if verify_password(user.password_hash, password or "") else None


def confirm_registration(user: User, *, now: datetime, ip_address: str = "") -> User:
    """The SMS code was right: the account opens (the caller checked the code with sms.codes.verify_code)."""
    user.awaiting_mobile_code = False
    user.activated_at = now
    user.updated_at = now
    db.session.flush()
    audit.record(
        "volunteer.confirm_mobile",
        actor=user,
        now=now,
        target=user,
        organization_id=user.organization_id,
        ip_address=ip_address,
    )
    return user


def new_account(*, mobile: str, id_number: IdNumber, password: str, now: datetime) -> User:
    """A User with a volunteer number, the ID number encrypted and the password hashed; not added yet."""
    return User(
        volunteer_number=counters.volunteer_numbers(1, year=local_today(now).year)[0],
        mobile=mobile.strip(),
        password_hash=hash_password(password),
        id_number_encrypted=encrypt_id_number(id_number.value),
        id_number_hash=hash_id_number(id_number.value),
        id_number_head=id_number.value[:4],
        id_number_tail=id_number.value[-4:],
        birth_date=id_number.birth_date,
        sex=id_number.sex,
        source="registered",
        activated_at=now,
        created_at=now,
        updated_at=now,
    )


def _insert_account(user: User, mobile: str) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError as exc:
        # A concurrent registration took the mobile or ID number between the checks and the insert.
        if find_by_mobile(mobile) is not None:
            raise ValidationFailed(
                _("This mobile number is already registered."), field="mobile", code="duplicate_mobile"
            ) from exc
        raise ValidationFailed(
            _("This ID number is already registered."), field="id_number", code="duplicate_id_number"
        ) from exc


def create_administrator(
    *, name: str, mobile: str, id_number: IdNumber, password: str, organization: Organization, now: datetime
) -> User:
    """The first administrator of a fresh install (`flask accounts create-admin`): an account with the admin role
    at `organization` (the city committee), granted by nobody and audited as such."""
    if find_by_mobile(mobile) is not None:
        raise ValidationFailed(_("This mobile number is already registered."), field="mobile", code="duplicate_mobile")
    if find_by_id_number(id_number.value) is not None:
        raise ValidationFailed(
            _("This ID number is already registered."), field="id_number", code="duplicate_id_number"
        )
    user = new_account(mobile=mobile, id_number=id_number, password=password, now=now)
    user.name = name.strip()
    user.organization_id = organization.id
    _insert_account(user, mobile)
    grant = RoleGrant(user_id=user.id, organization_id=organization.id, role="admin", granted_at=now)
    db.session.add(grant)
    db.session.flush()
    audit.record("volunteer.register", actor=None, now=now, target=user, organization_id=organization.id)
    audit.record(
        "role.grant",
        actor=None,
        now=now,
        target=grant,
        organization_id=organization.id,
        after={
            "user_id": user.id,
            "user_name": user.name,
            "volunteer_number": user.volunteer_number,
            "role": "admin",
            "organization_id": organization.id,
            "organization": organization.name,
        },
        note="flask accounts create-admin",
    )
    return user


def update_profile(user: User, profile: ProfileData, *, by: User, now: datetime) -> User:
    """Save a volunteer's profile; the ID number, mobile, birth date and affiliation are not editable here."""
    _check_profile(profile, user.birth_date, local_today(now))
    before = _profile_snapshot(user)
    _apply_profile(user, profile, now=now)
    user.updated_at = now
    db.session.flush()
    after = _profile_snapshot(user)
    if before != after:
        audit.record(
            "volunteer.update_profile",
            actor=by,
            now=now,
            target=user,
            organization_id=user.organization_id,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
    return user


def _profile_snapshot(user: User) -> dict:
    return {
        "name": user.name,
        "political_status": user.political_status,
        "activist_since": user.activist_since.isoformat() if user.activist_since else None,
        "emergency_contact_name": user.emergency_contact_name,
        "emergency_contact_mobile": user.emergency_contact_mobile,
        "skills": sorted(s.name for s in user.skills),
        "guardian_name": user.guardian_name,
    }


def authenticate(mobile: str, password: str) -> User | None:
    """The user whose mobile and password match and whose account is active, else None."""
    user = find_by_mobile(mobile or "")
    if user is None or not verify_password(user.password_hash, password or ""):
        return None
    if not user.is_active:
        return None
    return user


def is_disabled_login(mobile: str, password: str) -> bool:
    """True when the mobile and password are right but the account is disabled: only then is the refusal told
    (whoever does not know the password learns nothing about the account)."""
    user = find_by_mobile(mobile or "")
    return user is not None and user.is_disabled and verify_password(user.password_hash, password or "")


def end_all_sessions(user: User) -> None:
    """Rotate the session token: every session cookie issued before stops working."""
    user.session_token = secrets.token_hex(16)
    db.session.flush()


def change_password(user: User, *, current_password: str, new_password: str, now: datetime) -> None:
    """Set a new password after checking the current one; ends every other session."""
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed(_("The current password is wrong."), field="current_password")
    user.password_hash = hash_password(new_password)
    user.updated_at = now
    end_all_sessions(user)
    audit.record("account.change_password", actor=user, now=now, target=user, organization_id=user.organization_id)


def reveal_id_number(volunteer: User, *, by: User, now: datetime, ip_address: str = "") -> str:
    """The whole ID number, for its owner or an administrator; an administrator's look is recorded."""
    if not can_reveal_id_number(by, volunteer):
        raise PermissionDenied(_("You may not see this ID number."))
    if by.id != volunteer.id:
        audit.record(
            "id_number.reveal",
            actor=by,
            now=now,
            target=volunteer,
            organization_id=volunteer.organization_id,
            ip_address=ip_address,
        )
    return decrypt_id_number(volunteer.id_number_encrypted)


def organization_choices() -> list[tuple[int, str]]:
    """Every open organization as (id, "parent › name") for pickers, in tree order."""
    orgs = list(db.session.scalars(select(Organization).order_by(Organization.path)))
    by_id = {o.id: o for o in orgs}
    choices = []
    for org in orgs:
        if org.is_closed:
            continue
        parent = by_id.get(org.parent_id) if org.parent_id else None
        label = f"{parent.display_name} › {org.display_name}" if parent and parent.parent_id else org.display_name
        choices.append((org.id, label))
    return choices


def skill_choices(kind: str) -> list[tuple[int, str]]:
    rows = db.session.scalars(select(Skill).where(Skill.kind == kind).order_by(Skill.id))
    return [(s.id, s.name) for s in rows]


def count_members(org: Organization, _now: datetime) -> int:
    """People affiliated directly with `org` (for closing it)."""
    return db.session.scalar(select(func.count()).select_from(User).where(User.organization_id == org.id)) or 0


def describe_members(count: int) -> str:
    return ngettext("%(num)s member", "%(num)s members", count)
