"""The volunteers area as the application composes it (app/areas.py)."""

from flask import Flask

from app import permissions
from app.areas import Area
from volunteers.accounts import login, roles, services
from volunteers.accounts import models as account_models
from volunteers.accounts.cli import accounts_cli
from volunteers.accounts.routes import account as account_routes
from volunteers.accounts.routes import activation as activation_routes
from volunteers.accounts.routes import mobile as mobile_routes
from volunteers.admin import routes as admin_routes
from volunteers.admin.directory import routes as directory_routes
from volunteers.admin.organizations import routes as organization_routes
from volunteers.affiliation import models as affiliation_models
from volunteers.affiliation import moves
from volunteers.affiliation.routes import mine as affiliation_mine_routes
from volunteers.affiliation.routes import moves as affiliation_move_routes
from volunteers.affiliation.routes import queue as affiliation_queue_routes
from volunteers.blueprint import admin_bp, bp
from volunteers.imports import models as import_models
from volunteers.imports.routes import tree as tree_import_routes
from volunteers.imports.routes import volunteers as import_routes
from volunteers.organizations import models as organization_models
from volunteers.organizations.services import Holding, register_holding
from volunteers.recovery import models as recovery_models
from volunteers.recovery import routes as recovery_routes
from volunteers.recovery import sms_routes as sms_reset_routes

permissions.provide("role_grants", roles.role_grants)
register_holding(Holding("members", services.describe_members, services.count_members, moves.move_members_of_closed))

#: every module whose views use the blueprints, imported so that they are registered
ROUTES = (
    account_routes,
    activation_routes,
    mobile_routes,
    admin_routes,
    organization_routes,
    directory_routes,
    import_routes,
    tree_import_routes,
    recovery_routes,
    sms_reset_routes,
    affiliation_mine_routes,
    affiliation_queue_routes,
    affiliation_move_routes,
)


def _setup(app: Flask) -> None:
    login.install()


AREA = Area(
    name="volunteers",
    setup=_setup,
    blueprints=(bp, admin_bp),
    cli=(accounts_cli,),
    models=(organization_models, account_models, import_models, recovery_models, affiliation_models),
)
