"""``python -m trackd_daemon`` runs the daemon in the foreground."""

from trackd_daemon.cli import main

raise SystemExit(main())
