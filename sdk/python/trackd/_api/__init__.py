"""The public read API (``trackd.Api``): runs, files, projects and sweeps read back from the
daemon.
"""
