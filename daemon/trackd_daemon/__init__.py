"""The trackd daemon: one long-lived process per machine (or per user) that takes run data
from SDKs over gRPC, makes it durable in per-run write-ahead logs and ingests it into the store.

Importing this package does nothing; ``trackd_daemon.cli`` runs it.
"""

from trackd._version import __version__

__all__ = ["__version__"]
