"""Import every model module, so metadata (Alembic) and string relationships see them all."""
from app import models  # noqa: F401
from events import models as event_models  # noqa: F401
from events import notifications as notification_models  # noqa: F401
