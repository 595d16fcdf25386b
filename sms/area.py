"""The SMS area as the application composes it (app/areas.py).

Its setup hook checks the SMS configuration and builds the backend (refusing to start when it cannot send, and
in production with the console backend unless SMS_CONSOLE_IN_PRODUCTION), then registers the /dev/sms outbox
only with the console backend in development or testing.
"""

from flask import Flask

from app.areas import Area
from sms import models, routes, tasks
from sms.blueprint import bp
from sms.gateway import configure, outbox_enabled

#: every module whose views use the blueprint, imported so that they are registered
ROUTES = (routes,)


def setup(app: Flask) -> None:
    """Build the backend; the outbox only where it may be seen."""
    configure(app)
    if outbox_enabled(app):
        app.register_blueprint(bp)


AREA = Area(name="sms", jobs=tasks.JOBS, models=(models,), setup=setup)
