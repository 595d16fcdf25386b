"""The hours area as the application composes it (app/areas.py)."""

from app import permissions
from app.areas import Area
from hours import tasks
from hours.backfill import routes as backfill_routes
from hours.blueprint import bp
from hours.certificates import models as certificate_models
from hours.certificates import routes as certificate_routes
from hours.ledger import models as ledger_models
from hours.ledger.cli import hours_cli
from hours.membership import models as membership_models
from hours.membership import routes as membership_routes
from hours.mine import routes as mine_routes
from hours.reports import routes as report_routes
from hours.review import verification
from hours.review.routes import admin as review_admin_routes
from hours.review.routes import review as review_routes

permissions.provide("hours_recorders", verification.recorders_of)

#: every module whose views use the blueprint, imported so that they are registered
ROUTES = (
    mine_routes,
    review_routes,
    review_admin_routes,
    backfill_routes,
    membership_routes,
    certificate_routes,
    report_routes,
)

AREA = Area(
    name="hours",
    blueprints=(bp, certificate_routes.public_bp),
    cli=(hours_cli,),
    jobs=tasks.JOBS,
    models=(ledger_models, membership_models, certificate_models),
)
