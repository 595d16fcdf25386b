"""The API as the application composes it (app/areas.py)."""

from api import auth, models, tokens
from api.blueprint import bp
from api.cli import api_cli
from api.routes import assignments, events, meta, scans, shifts
from app.areas import Area
from volunteers.recovery.services import on_password_reset

#: every module whose views use the blueprint, imported so that they are registered
ROUTES = (assignments, events, meta, shifts, scans)


bp.before_request(auth.authenticate)
# A password reset (a link or SMS) revokes the account's API tokens: they may be in the wrong hands.
on_password_reset("api_tokens", tokens.revoke_tokens_of)

AREA = Area(name="api", blueprints=(bp,), cli=(api_cli,), models=(models,))
