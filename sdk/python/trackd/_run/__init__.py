"""A run in this process: ``Run`` and its config, summary, metrics, files, console capture,
artifacts and footer.
"""
