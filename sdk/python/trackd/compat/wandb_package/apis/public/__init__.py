"""W&B's ``wandb.apis.public``: the public API's classes."""

from trackd._api.api import Api  # noqa: F401
from trackd._api.api import PublicRun as Run  # noqa: F401
from trackd._api.files import File  # noqa: F401
from trackd._api.projects import Project  # noqa: F401
from trackd._api.runs import Runs  # noqa: F401
