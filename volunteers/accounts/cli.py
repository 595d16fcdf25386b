"""`flask accounts ...`: what a league office needs before anybody can log in.

    flask accounts create-admin

asks for the administrator's name, mobile number, resident ID number (every account carries one: it gives the
birth date and sex the rules need) and a password (twice, hidden), and, on a fresh install whose tree is empty,
the city committee's name. It creates the city committee when there is none and the account with the
administrator role there. It is safe to run again: a mobile number that already has an account changes nothing.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _

accounts_cli = AppGroup("accounts", help="Accounts: the first administrator.")

#: an administrator's password guards the whole city: longer than a volunteer's, letters and digits
ADMIN_MIN_LENGTH = 10
DEFAULT_CITY = ("共青团东莞市委员会", "团市委")


def admin_password_problem(password: str, mobile: str) -> str | None:
    """Why a password is too weak for an administrator, or None."""
    from app.security import password_problem
    from volunteers.accounts.forms import password_message

    min_length = max(current_app.config["PASSWORD_MIN_LENGTH"], ADMIN_MIN_LENGTH)
    problem = password_problem(password, mobile=mobile, min_length=min_length)
    if problem:
        return password_message(problem, min_length)
    if not (any(c.isalpha() for c in password) and any(c.isdigit() for c in password)):
        return _("An administrator's password needs both letters and digits.")
    return None


def _ask(prompt: str, value: str | None, check, **options) -> str:
    """`value` when given and valid (else an error), or ask until the answer is valid."""
    while True:
        answer = value if value is not None else click.prompt(prompt, **options)
        problem = check(answer)
        if problem is None:
            return answer.strip() if isinstance(answer, str) else answer
        if value is not None:
            raise click.BadParameter(problem, param_hint=prompt)
        click.echo(f"  {problem}", err=True)


@accounts_cli.command("create-admin")
@click.option("--name", help="The administrator's name.")
@click.option("--mobile", help="Mobile number: the login name.")
@click.option("--id-number", "id_number", help="Resident ID number (18 characters).")
@click.option("--city", help="Name of the city committee, created when the tree is empty.")
def create_admin_command(name: str | None, mobile: str | None, id_number: str | None, city: str | None) -> None:
    """Create the first administrator (and the city committee on a fresh install)."""
    from app.errors import DomainError
    from app.extensions import db
    from app.security import MOBILE_PATTERN, IdNumberError, parse_id_number
    from app.timeutil import local_today, utcnow
    from volunteers.accounts import services
    from volunteers.organizations.services import create_organization, root

    now = utcnow()
    mobile = _ask(
        "Mobile number", mobile, lambda v: None if MOBILE_PATTERN.match(v.strip()) else "11 digits starting with 1."
    )
    existing = services.find_by_mobile(mobile)
    if existing is not None:
        admin_at = [g.organization.display_name for g in existing.role_grants if g.role == "admin"]
        where = f"administrator of {', '.join(admin_at)}" if admin_at else "not an administrator"
        click.echo(
            f"An account with mobile number {mobile} already exists ({existing.name}, {where}); nothing changed."
        )
        return
    name = _ask("Name", name, lambda v: None if 0 < len(v.strip()) <= 50 else "1 to 50 characters.")

    def id_problem(value: str) -> str | None:
        try:
            parse_id_number(value.strip(), today=local_today(now))
        except IdNumberError as exc:
            return str(exc)
        return None

    id_value = parse_id_number(_ask("Resident ID number", id_number, id_problem), today=local_today(now))
    password = _ask(
        "Password",
        None,
        lambda v: admin_password_problem(v, mobile),
        hide_input=True,
        confirmation_prompt=True,
    )
    organization = root()
    if organization is None:
        city_name = _ask(
            "City committee",
            city,
            lambda v: None if 0 < len(v.strip()) <= 120 else "1 to 120 characters.",
            default=DEFAULT_CITY[0],
        )
        short = DEFAULT_CITY[1] if city_name == DEFAULT_CITY[0] else ""
        organization = create_organization(city_name, "city", None, short_name=short, now=now)
        click.echo(f"Created the city committee {organization.name}.")
    try:
        user = services.create_administrator(
            name=name, mobile=mobile, id_number=id_value, password=password, organization=organization, now=now
        )
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(
        f"{user.name} ({user.mobile}, volunteer number {user.volunteer_number}) is now administrator of "
        f"{organization.name}. Log in with the mobile number and this password."
    )
