"""Import every model module, so metadata (Alembic) and string relationships see them all."""
from app import models  # noqa: F401
from events import models as event_models  # noqa: F401
from events import notifications as notification_models  # noqa: F401
from app import jobs as job_models  # noqa: F401
from app import scheduler_lock as scheduler_lock_models  # noqa: F401
from volunteers import models as volunteer_models  # noqa: F401
from api import models as api_models  # noqa: F401
from checkin import models as checkin_models  # noqa: F401
from hours import membership_models  # noqa: F401
from hours import models as hours_models  # noqa: F401
from hours import certificate_models  # noqa: F401
from patrols import models as patrol_models  # noqa: F401
from patrols import report_models as patrol_report_models  # noqa: F401
