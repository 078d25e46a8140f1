"""Every table, imported in one place so the metadata (and Alembic) sees them all."""

from dispatch.alerts import models as alerts_models
from dispatch.auth import models as auth_models
from dispatch.care import models as care_models
from dispatch.escalation import models as escalation_models
from dispatch.live import models as live_models
from dispatch.notify import models as notify_models
from dispatch.review import models as review_models
from dispatch.tipline import models as tipline_models

__all__ = [
    "alerts_models",
    "auth_models",
    "care_models",
    "escalation_models",
    "live_models",
    "notify_models",
    "review_models",
    "tipline_models",
]
