"""W&B's ``wandb.apis.public``: the public API's classes."""

from trackd._api import Api  # noqa: F401
from trackd._api import PublicRun as Run  # noqa: F401
from trackd._api_files import File  # noqa: F401
from trackd._api_projects import Project  # noqa: F401
from trackd._api_runs import Runs  # noqa: F401
