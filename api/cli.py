"""`flask api ...`: create, list and revoke personal API tokens."""

from __future__ import annotations

import click
from flask.cli import AppGroup

api_cli = AppGroup("api", help="API tokens.")


def _user_by_mobile(mobile: str):
    from volunteers.accounts.services import find_by_mobile

    user = find_by_mobile(mobile)
    if user is None:
        raise click.ClickException(f"no account with mobile number {mobile}")
    return user


@api_cli.command("create-token")
@click.option("--mobile", required=True, help="Mobile number of the account the token acts as.")
@click.option("--name", required=True, help="What the token is for, e.g. 'roster sync'.")
def create_token_command(mobile: str, name: str) -> None:
    """Create a token and print its secret (shown only this once)."""
    from api.tokens import create_token
    from app.errors import DomainError
    from app.extensions import db
    from app.timeutil import utcnow

    user = _user_by_mobile(mobile)
    if not user.is_active:
        raise click.ClickException("this account is disabled or not activated")
    try:
        token, secret = create_token(user, name, by=None, now=utcnow())
    except DomainError as error:
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"token {token.id} for {user.name} ({user.mobile}): {secret}")
    click.echo("Store it now: it cannot be shown again. Send it as 'Authorization: Bearer <token>'.")


@api_cli.command("list-tokens")
@click.option("--mobile", required=True, help="Mobile number of the account.")
def list_tokens_command(mobile: str) -> None:
    """List an account's tokens (never their secrets)."""
    from api.tokens import tokens_of
    from app.timeutil import to_local

    for token in tokens_of(_user_by_mobile(mobile)):
        used = to_local(token.last_used_at).strftime("%Y-%m-%d %H:%M") if token.last_used_at else "never"
        state = "revoked" if token.is_revoked else "active"
        click.echo(f"{token.id}\t{token.prefix}…\t{token.name}\t{state}\tlast used {used}")


@api_cli.command("revoke-token")
@click.option("--id", "token_id", type=int, required=True, help="The token's id (see list-tokens).")
def revoke_token_command(token_id: int) -> None:
    """Revoke a token: requests carrying it are refused from now on."""
    from api.models import ApiToken
    from api.tokens import revoke_token
    from app.errors import DomainError
    from app.extensions import db
    from app.timeutil import utcnow

    token = db.session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    if token is None:
        raise click.ClickException(f"no token {token_id}")
    try:
        revoke_token(token, by=None, now=utcnow())
    except DomainError as error:
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"token {token.id} ({token.name}) revoked")
